#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! `--quantize` from the command line: calibration data files, saved
//! ranges, int8 I/O, and one-line errors for bad data.

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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A version 1.0 `.npy` file of little-endian f32 (or `descr`) data.
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| format!("{d},")).collect();
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}), }}",
        dims.join(" ")
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.bytes());
    out.extend(data);
    out
}

#[test]
fn quantize_with_saved_ranges_and_int8_io() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    let model = digits("digits_cnn.onnx");
    let calib = digits("calib.npy");
    let o = tmlc(&[
        &model,
        "--quantize",
        "int8",
        "--calibration",
        &calib,
        "--save-ranges",
        &p("r.json"),
        "-o",
        &p("a.c"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ranges = std::fs::read_to_string(p("r.json")).unwrap();
    assert!(ranges.contains("\"input\": [0.0,1.0]"), "{ranges}");
    // The same ranges from the file give the same C (bias correction
    // needs the data, so it is off in both).
    let args = |out: &str, extra: &[&str]| {
        let mut v = vec![
            model.clone(),
            "--quantize".into(),
            "int8".into(),
            "--bias-correction".into(),
            "false".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.extend(["-o".into(), p(out)]);
        v
    };
    let run = |v: Vec<String>| tmlc(&v.iter().map(String::as_str).collect::<Vec<_>>());
    std::fs::create_dir_all(p("b")).unwrap();
    std::fs::create_dir_all(p("c")).unwrap();
    assert!(run(args("b/m.c", &["--calibration", &calib]))
        .status
        .success());
    assert!(run(args("c/m.c", &["--ranges", &p("r.json")]))
        .status
        .success());
    let same = std::fs::read(p("b/m.c")).unwrap() == std::fs::read(p("c/m.c")).unwrap();
    assert!(same, "the saved ranges give different C");
    // int8 I/O: 64 input bytes and 10 output bytes.
    let o = run(args(
        "d.c",
        &["--ranges", &p("r.json"), "--io-dtype", "int8"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let h = std::fs::read_to_string(p("d.h")).unwrap();
    assert!(
        h.contains("INPUT0_BYTES 64") && h.contains("OUTPUT0_BYTES 10"),
        "{h}"
    );
}

#[test]
fn report_gives_each_layer_sqnr() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.c").display().to_string();
    let (model, calib) = (digits("digits_cnn.tflite"), digits("calib.npy"));
    let base = [
        &model[..],
        "--quantize",
        "int8",
        "--calibration",
        &calib,
        "-o",
        &out,
    ];
    let o = tmlc(&[&base[..], &["--report"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("SQNR dB") && text.contains("against the float model"),
        "{text}"
    );
    let o = tmlc(&[&base[..], &["--report", "--report-format", "json"]].concat());
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let layers = json["layers"].as_array().unwrap();
    let measured = layers
        .iter()
        .filter(|l| l["sqnr_db"].as_f64().is_some())
        .count();
    // Every conv / fully_connected / pool / mean layer of the int8 model.
    assert!(measured >= 6, "{json}");
    let out_db = json["output_sqnr_db"][0][1].as_f64().unwrap();
    assert!(out_db > 30.0, "output SQNR {out_db}");
}

#[test]
fn opt_quantizes_to_int8_text_ir() {
    let o = tmlc(&[
        "opt",
        &digits("digits_cnn.tflite"),
        "--calibration",
        &digits("calib.npy"),
        "--passes",
        "canonicalize,quantize{method=minmax}",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ir = String::from_utf8_lossy(&o.stdout);
    assert!(
        ir.contains("conv2d(") && ir.contains(": i8[1,8,8,16] q("),
        "{ir}"
    );
    assert!(
        stderr(&o).contains("calibrated on 200 samples (minmax)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_calibration_data_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    let model = digits("digits_cnn.onnx");
    let f32s = vec![0u8; 4 * 2 * 64];
    let cases = [
        (
            write("shape.npy", &npy("<f4", &[2, 64], &f32s)),
            "must have shape [N, 1, 8, 8, 1]",
        ),
        (
            write("ints.npy", &npy("<i4", &[2, 8, 8, 1], &f32s)),
            "must be float32",
        ),
        (write("junk.npy", b"not numpy"), "not a readable .npy file"),
        (
            dir.path().join("missing.npy").display().to_string(),
            "missing.npy",
        ),
    ];
    for (file, want) in &cases {
        let o = tmlc(&[
            &model,
            "--quantize",
            "int8",
            "--calibration",
            file,
            "-o",
            &dir.path().join("m.c").display().to_string(),
        ]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{file}: {e}");
        assert!(
            e.contains(want) && e.trim_end().lines().count() == 1,
            "{file}: {e}"
        );
    }
    let o = tmlc(&[
        &model,
        "--quantize",
        "int8",
        "-o",
        &dir.path().join("m.c").display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("needs calibration data"),
        "{}",
        stderr(&o)
    );
    let calib = digits("calib.npy");
    let o = tmlc(&[
        &model,
        "--quantize",
        "int8",
        "--calibration",
        &calib,
        "--keep-float",
        "nope",
        "-o",
        &dir.path().join("m.c").display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no layer named `nope`"),
        "{}",
        stderr(&o)
    );
    // A folder of one-sample files works like the stacked file.
    let one = npy("<f4", &[8, 8, 1], &vec![0u8; 256]);
    write("s0.npy", &one);
    write("s1.npy", &one);
    for bad in ["shape.npy", "ints.npy", "junk.npy"] {
        std::fs::remove_file(dir.path().join(bad)).unwrap();
    }
    let o = tmlc(&[
        &model,
        "--quantize",
        "int8",
        "--calibration",
        &dir.path().display().to_string(),
        "-o",
        &dir.path().join("m.c").display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}
