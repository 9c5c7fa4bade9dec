#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! Runs every `tests/filetests/**/*.tir` and snapshots the result.
//!
//! The first comment lines of a file name the test:
//! - `# test: opt PIPELINE` — parse, verify, check that the file is in
//!   canonical form (printing the parsed graph gives the file back, comments
//!   aside), run the pipeline with the verifier after every pass, check
//!   that the interpreter gives the same outputs before and after on
//!   deterministic inputs (integers bit-identical, f32 within 1e-5
//!   relative), and snapshot the printed result.
//!   Lines `# expect: %NAME = [v, ...]` give the output `%NAME` of the
//!   input graph (which has no inputs), computed independently of tmlc
//!   (`tests/filetests/expectations.py`, from the ops' real-valued
//!   definitions): integers must match exactly, f32 within 1e-5 relative;
//!   `# expect~1:` allows integer results one unit off (TFLite's
//!   fixed-point rounding against the ideal real-valued one).
//!   A line `# tolerance: K lsb` lets each f32 output that the result
//!   graph dequantizes differ by K units of its scale before and after
//!   (a pass that moves float arithmetic to fixed-point integers, or
//!   quantizes). A line `# calibrate` gives the pipeline the same inputs
//!   as calibration data (for `quantize`). Lines `# expect-after: %NAME =
//!   [v, ...]` give the outputs of the result graph instead, by hand, for
//!   a pass that changes results by design (pruning); the before/after
//!   comparison is then skipped.
//! - `# test: error` — parsing or verification must fail; the one-line
//!   error (with line:col) is the snapshot.

use std::path::Path;
use tmlc_passes::{PassContext, Pipeline, Registry};

fn strip_comments(t: &str) -> String {
    t.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

fn header(t: &str) -> &str {
    t.lines()
        .find_map(|l| l.trim().strip_prefix("# test:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("missing `# test:` header"))
}

/// The `# expect:` lines (of the result graph, `# expect-after:`, when
/// `after`): (output name, values, integer tolerance).
fn expectations(text: &str, after: bool) -> Vec<(String, Vec<f64>, f64)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let (tol, rest) = if after {
                (0.0, l.strip_prefix("# expect-after:")?)
            } else if let Some(r) = l.strip_prefix("# expect~1:") {
                (1.0, r)
            } else {
                (0.0, l.strip_prefix("# expect:")?)
            };
            let (name, list) = rest
                .split_once('=')
                .unwrap_or_else(|| panic!("bad expect line: {l}"));
            let list = list.trim().trim_start_matches('[').trim_end_matches(']');
            let values = list
                .split(',')
                .filter(|v| !v.trim().is_empty())
                .map(|v| {
                    v.trim()
                        .parse::<f64>()
                        .unwrap_or_else(|e| panic!("{l}: {e}"))
                })
                .collect();
            Some((name.trim().trim_start_matches('%').to_string(), values, tol))
        })
        .collect()
}

/// Checks the `# expect:` (`# expect-after:`, when `after`) lines of
/// `text` against the interpreter's outputs of `g`; returns how many were
/// checked.
fn check_expectations(path: &Path, text: &str, g: &tmlc_ir::Graph, after: bool) -> usize {
    let exp = expectations(text, after);
    if exp.is_empty() {
        return 0;
    }
    assert!(
        g.inputs().is_empty(),
        "{}: expectations need a graph without inputs",
        path.display()
    );
    let outs = tmlc_interp::run(g, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (name, want, tol) in &exp {
        let k = g
            .outputs()
            .iter()
            .position(|&o| g.value(o).name == *name)
            .unwrap_or_else(|| panic!("{}: no output %{name}", path.display()));
        let got: Vec<f64> = match &outs[k].data {
            tmlc_ir::TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            d => (0..d.len()).map(|i| d.get_f64(i)).collect(),
        };
        assert_eq!(
            got.len(),
            want.len(),
            "{}: %{name} has {} elements",
            path.display(),
            got.len()
        );
        let float = matches!(outs[k].data, tmlc_ir::TensorData::F32(_));
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let ok = if float {
                (g.is_nan() && w.is_nan())
                    || g == w
                    || (g - w).abs() <= 1e-5 * w.abs().max(g.abs()) + 1e-6
            } else {
                (g - w).abs() <= *tol
            };
            assert!(ok, "{}: %{name}[{i}] is {g}, expected {w}", path.display());
        }
    }
    exp.len()
}

fn run_opt(path: &Path, text: &str, pipeline: &str) -> String {
    let g0 = tmlc_ir::parse(text).unwrap_or_else(|e| panic!("{}:{e}", path.display()));
    tmlc_ir::verify(&g0).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        tmlc_ir::print(&g0),
        strip_comments(text),
        "{} is not in canonical form",
        path.display()
    );
    check_expectations(path, text, &g0, false);
    let mut g = g0.clone();
    let p = Pipeline::parse(pipeline, &Registry::builtin()).unwrap_or_else(|e| panic!("{e}"));
    let mut cx = PassContext::new(true);
    let seeds = 0..3;
    if text.lines().any(|l| l.trim() == "# calibrate") {
        let samples = seeds
            .clone()
            .map(|s| tmlc_filetests::sample_inputs(&g0, s))
            .collect();
        cx.insert(tmlc_passes::calibrate::CalibrationData::new(samples));
    }
    p.run(&mut g, &mut cx)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lsbs: f32 = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("# tolerance:")?
                .strip_suffix("lsb")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0);
    let lsb: Vec<Option<f32>> = tmlc_filetests::output_lsb(&g)
        .into_iter()
        .map(|s| s.filter(|_| lsbs > 0.0).map(|s| s * lsbs * 1.0001))
        .collect();
    let changed_by_design = check_expectations(path, text, &g, true) > 0;
    for seed in seeds.filter(|_| !changed_by_design) {
        let ins = tmlc_filetests::sample_inputs(&g0, seed);
        let before =
            tmlc_interp::run(&g0, &ins).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let after =
            tmlc_interp::run(&g, &ins).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(d) = tmlc_filetests::results_differ_by(&before, &after, &lsb) {
            panic!("{}: the pipeline changed the results: {d}", path.display());
        }
    }
    let out = tmlc_ir::print(&g);
    // The result round-trips too.
    let again = tmlc_ir::parse(&out).unwrap_or_else(|e| panic!("reparse: {e}"));
    assert_eq!(tmlc_ir::print(&again), out);
    out
}

fn run_error(path: &Path, text: &str) -> String {
    let msg = match tmlc_ir::parse(text) {
        Err(e) => e.to_string(),
        Ok(g) => match tmlc_ir::verify(&g) {
            Err(e) => e.to_string(),
            Ok(()) => panic!("{}: expected an error, the file is valid", path.display()),
        },
    };
    assert!(!msg.contains('\n'), "error is not one line: {msg}");
    let (line, rest) = msg.split_once(':').unwrap_or(("", ""));
    let col = rest.split(':').next().unwrap_or("");
    assert!(
        line.parse::<u32>().is_ok() && col.parse::<u32>().is_ok(),
        "{}: error lacks line:col: {msg}",
        path.display()
    );
    msg
}

#[test]
fn filetests() {
    insta::glob!("../../../tests/filetests", "**/*.tir", |path| {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
        let h = header(&text);
        let out = if let Some(p) = h.strip_prefix("opt") {
            run_opt(path, &text, p.trim())
        } else if h == "error" {
            run_error(path, &text)
        } else {
            panic!("{}: unknown test kind `{h}`", path.display())
        };
        insta::assert_snapshot!(out);
    });
}

#[test]
fn enough_filetests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/filetests");
    let count = |dir: &str| {
        std::fs::read_dir(root.join(dir))
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "tir"))
                })
                .count()
            })
            .unwrap_or(0)
    };
    assert!(
        count("ops") + count("passes") >= 30,
        "at least 30 op/pass filetests"
    );
    assert!(count("errors") >= 15, "at least 15 malformed-IR filetests");
    // Every op test carries expectations computed outside tmlc.
    for e in std::fs::read_dir(root.join("ops")).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        assert!(
            !expectations(&text, false).is_empty(),
            "{}: no `# expect:` line",
            e.path().display()
        );
    }
}
