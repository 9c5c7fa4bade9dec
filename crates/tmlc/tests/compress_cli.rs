#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! `--prune` and `--recover` from the command line: the passes they run,
//! the report's sparse weights, and one-line errors.

use std::path::PathBuf;
use std::process::{Command, Output};

fn tmlc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tmlc"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tmlc: {e}"))
}

fn digits(file: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/models/digits");
    p.join(file).display().to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn prune_recover_quantize_in_one_call() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("m.c").display().to_string();
    let (model, calib) = (digits("digits_dw.onnx"), digits("calib.npy"));
    let o = tmlc(&[
        &model,
        "--prune",
        "sparsity=0.5,block=4",
        "--prune",
        "channels=0.25",
        "--quantize",
        "int8",
        "--calibration",
        &calib,
        "--calibration-labels",
        &digits("calib_y.npy"),
        "--report",
        "-o",
        &c,
    ]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("note: top-1 on the 200 calibration samples: "),
        "{err}"
    );
    // The passes ran in order and said what they did.
    let notes: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("note: "))
        .collect();
    let passes: Vec<&str> = notes.iter().filter_map(|l| l.split(':').next()).collect();
    assert_eq!(
        passes,
        [
            "prune-channels",
            "prune",
            "recover",
            "quantize",
            "top-1 on the 200 calibration samples"
        ],
        "{err}"
    );
    assert!(notes[2].starts_with("recover: full: "), "{err}");
    // Sparse layers show their dense and sparse bytes; the output SQNR is
    // against the unpruned model.
    assert!(out.contains("packed weights"), "{out}");
    assert!(out.contains("sparse 1x4: "), "{out}");
    assert!(out.contains("spmm_s8 1x4"), "{out}");
    assert!(out.contains("output %logits: SQNR"), "{out}");
    assert!(std::fs::read_to_string(&c)
        .unwrap()
        .contains("tmlc_spmm_s8("));
}

#[test]
fn prune_errors_are_one_line() {
    let (model, calib) = (digits("digits_dw.onnx"), digits("calib.npy"));
    for (args, want) in [
        (
            vec!["--prune", "sparsity=0.5"],
            "recovering pruned layers needs calibration data (--calibration DATA), or --recover none",
        ),
        (
            vec!["--prune", "sparsity", "--recover", "none"],
            "--prune: `sparsity` is not KEY=VALUE (e.g. sparsity=0.5, channels=0.25)",
        ),
        (
            vec!["--prune", "sparsity=2", "--recover", "none"],
            "pass `prune`: option `sparsity`: `2` is not a fraction between 0 and 1",
        ),
        (
            vec!["--prune", "nosuchlayer=0.5", "--recover", "none"],
            "pass `prune` failed: `nosuchlayer` is not a conv2d / fully_connected layer with constant weights",
        ),
        (
            vec!["--prune", "channels=0.3,score=activation", "--recover", "none"],
            "pass `prune-channels` failed: score=activation needs calibration data (--calibration)",
        ),
        (
            vec!["--calibration", &calib],
            "--calibration and --ranges are for --quantize, --prune and the budgets",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("m.c").display().to_string();
        let mut all = vec![model.as_str(), "-o", &c];
        all.extend(args.iter().copied());
        let o = tmlc(&all);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn budgets_fit_or_say_what_the_best_needs() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("m.c").display().to_string();
    let (model, calib) = (digits("digits_cnn.onnx"), digits("calib.npy"));
    // Half of the dense int8 constants (10504 B): fits, and says how.
    let o = tmlc(&[
        &model,
        "--flash-budget",
        "5252",
        "--calibration",
        &calib,
        "-o",
        &c,
        "--report",
    ]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{err}");
    assert!(err.contains("note: budget: flash: constants "), "{err}");
    assert!(err.contains("note: budget: output %logits: SQNR "), "{err}");
    let total: usize = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("total: ")?
                .split(", ")
                .nth(2)?
                .strip_suffix(" weight bytes")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{out}"));
    assert!(total <= 5252, "{total}");
    // Too small: one line saying what the smallest setting needs.
    for (flag, size, want) in [
        ("--flash-budget", "1K", "no setting fits --flash-budget 1024: the smallest tried needs "),
        ("--ram-budget", "100", "no setting fits --ram-budget 100: with 90% of the channels removed the arena still needs "),
    ] {
        let o = tmlc(&[&model, flag, size, "--calibration", &calib, "-o", &c]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{err}");
    }
    // Without calibration data, and with a bad size.
    let o = tmlc(&[&model, "--ram-budget", "16K", "-o", &c]);
    assert!(
        text(&o.stderr).contains("choose the compression on calibration data"),
        "{}",
        text(&o.stderr)
    );
    let o = tmlc(&[&model, "--ram-budget", "16Q", "-o", &c]);
    assert!(
        text(&o.stderr).contains("`16Q` is not a size (e.g. 16K, 1M, 4096)"),
        "{}",
        text(&o.stderr)
    );
}
