#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! End-to-end tests of the `tmlc` binary: exit codes, one-line errors,
//! `opt` and `run` on real files.

use std::path::PathBuf;
use std::process::{Command, Output};

fn tmlc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tmlc"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tmlc: {e}"))
}

/// A scratch directory per test, removed when the test ends.
struct Tmp(tempfile::TempDir);

impl Tmp {
    fn new() -> Tmp {
        Tmp(tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")))
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    fn write(&self, name: &str, text: &[u8]) -> String {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        p.display().to_string()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const MLP: &str = "graph @mlp(%x: i8[1,4] q(0.5, -3)) -> (%y) {
  %w = const i8[2,4] q(0.25, 0) [1, 2, 3, 4, -1, -2, -3, -4]
  %b = const i32[2] [10, -10]
  %y = fully_connected(%x, %w, %b) {act = relu} : i8[1,2] q(1.0, 5)
}
";

#[test]
fn help_explains_every_command() {
    let o = tmlc(&["--help"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    for word in ["opt", "run", "model.c", "--output"] {
        assert!(out.contains(word), "--help lacks {word}:\n{out}");
    }
    for sub in ["opt", "run"] {
        let o = tmlc(&[sub, "--help"]);
        assert!(o.status.success(), "{sub} --help");
    }
}

#[test]
fn opt_runs_a_pipeline() {
    let t = Tmp::new();
    let src = "graph @t(%x: f32[2]) -> (%y) {
  %a = const f32[2] [1.0, 2.0]
  %b = relu(%a) : f32[2]
  %y = add(%x, %b) : f32[2]
}
";
    let f = t.write("fold.tir", src.as_bytes());
    let o = tmlc(&["opt", &f, "--passes", "fold-constants,dce", "-v"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "graph @t(%x: f32[2]) -> (%y) {
  %b = const f32[2] [1.0, 2.0]
  %y = add(%x, %b) : f32[2]
}
"
    );
    assert!(stderr(&o).contains("pass fold-constants"), "{}", stderr(&o));
}

#[test]
fn opt_pass_options_and_listing() {
    let t = Tmp::new();
    // relu of 2 constant elements folds with max-elems=2, not with 1.
    let src = "graph @t(%x: f32[2]) -> (%y) {
  %a = const f32[2] [1.0, -2.0]
  %b = relu(%a) : f32[2]
  %y = add(%x, %b) : f32[2]
}
";
    let f = t.write("fold.tir", src.as_bytes());
    let o = tmlc(&["opt", &f, "--passes", "fold-constants{max-elems=1},dce"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("relu(%a)"));
    let o = tmlc(&["opt", &f, "--passes", "fold-constants{max-elems=16},dce"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("%b = const f32[2] [1.0, 0.0]"));
    // Bad options: one line naming the pass and the option.
    for (p, want) in [
        (
            "fold-constants{max-elem=16}",
            "pass `fold-constants`: option `max-elem`: unknown option (known: max-elems)",
        ),
        (
            "fold-constants{max-elems=x}",
            "option `max-elems`: invalid value `x`",
        ),
        ("dce{a=1}", "option `a`: unknown option (the pass has none)"),
        ("fold-constants{max-elems=1", "`{` without `}`"),
    ] {
        let o = tmlc(&["opt", &f, "--passes", p]);
        assert_eq!(o.status.code(), Some(1), "{p}");
        assert!(stderr(&o).contains(want), "{p}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    }
    let o = tmlc(&["opt", "--list-passes"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("{max-elems=N}  largest result folded, in elements (default 1048576)"),
        "{out}"
    );
    for pass in [
        "dce",
        "fold-batchnorm",
        "fold-constants",
        "remove-identity",
        "tabulate",
    ] {
        assert!(out.contains(&format!("  {pass} ")), "{out}");
    }
}

#[test]
fn opt_print_after_all_and_output_file() {
    let t = Tmp::new();
    let f = t.write("mlp.tir", MLP.as_bytes());
    let out = t.path("mlp.out.tir");
    let o = tmlc(&[
        "opt",
        &f,
        "--passes",
        "dce",
        "--print-after-all",
        "-o",
        &out.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("# after dce"));
    assert_eq!(std::fs::read_to_string(&out).unwrap_or_default(), MLP);
}

#[test]
fn errors_are_one_line_with_location_and_exit_1() {
    let t = Tmp::new();
    let f = t.write(
        "bad.tir",
        b"graph @t(%x: f32[2]) -> (%y) {\n  %y = gelu(%x) : f32[2]\n}\n",
    );
    let o = tmlc(&["opt", &f]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with("error: ") && e.contains("bad.tir:2:8: unknown op `gelu`"),
        "{e}"
    );

    let o = tmlc(&[
        "opt",
        &t.write("mlp2.tir", MLP.as_bytes()),
        "--passes",
        "dce,nope",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown pass `nope`"), "{}", stderr(&o));

    let o = tmlc(&["opt", "/nonexistent/x.tir"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/x.tir"));

    let o = tmlc(&["opt", &t.write("bin.tir", &[0xff, 0xfe, 0x00])]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not UTF-8"));
}

#[test]
fn run_executes_the_interpreter() {
    let t = Tmp::new();
    let f = t.write("run.tir", MLP.as_bytes());
    // x = [1, 2, 3, 4] raw int8.
    let x = t.write("x.bin", &[1, 2, 3, 4]);
    let y = t.path("y.bin");
    let o = tmlc(&[
        "run",
        &f,
        "--input",
        &x,
        "--output",
        &y.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // acc0 = sum w*(x+3) + 10 = 1*4+2*5+3*6+4*7 + 10 = 70;
    // real multiplier 0.5*0.25/1.0 = 0.125 -> 8.75 -> 9, + zp 5 = 14.
    // acc1 = -60 - 10 = -70 -> -8.75 -> -9 + 5 = -4, relu clamps at zp 5.
    assert_eq!(std::fs::read(&y).unwrap_or_default(), vec![14u8, 5]);

    let short = t.write("short.bin", &[1, 2]);
    let o = tmlc(&[
        "run",
        &f,
        "--input",
        &short,
        "--output",
        &y.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("needs 4 bytes, the file has 2"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn main_job_reports_unsupported_formats_clearly() {
    let t = Tmp::new();
    let m = t.write("m.tflite", b"TFL3");
    let o = tmlc(&[&m, "-o", "model.c"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = tmlc(&[&t.write("m.xyz", b""), "-o", "model.c"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown model format"));
}

#[test]
fn main_job_compiles_the_onnx_example() {
    let t = Tmp::new();
    let model = repo().join("examples/tiny_cnn.onnx");
    let dir = t.path("onnx_example");
    let c = dir.join("model.c");
    let o = tmlc(&[
        model.to_str().unwrap(),
        "-o",
        c.to_str().unwrap(),
        "--report",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = String::from_utf8_lossy(&o.stdout);
    // BatchNormalization folded, Relu and Clip fused: 8 layers, no transpose.
    assert!(report.contains("total: 8 layers, 31296 MACs"), "{report}");
    assert!(!report.contains("transpose"), "{report}");
    // Built on the host with the harness: onnxruntime's answer.
    let got = run_example_on_host(&dir, "tiny_cnn");
    let want = std::fs::read(repo().join("examples/tiny_cnn.out0.bin")).unwrap();
    assert_eq!(got.len(), want.len());
    for (a, b) in got.chunks_exact(4).zip(want.chunks_exact(4)) {
        let a = f32::from_le_bytes([a[0], a[1], a[2], a[3]]);
        let b = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        assert!(
            (a - b).abs() <= 1e-4 * b.abs() + 1e-5,
            "{a} vs onnxruntime {b}"
        );
    }
}

#[test]
fn main_job_compiles_an_onnx_model() {
    let t = Tmp::new();
    let m = repo().join("../shared/models/onnx2c/mnist-8.onnx");
    let c = t.path("mnist.c");
    let o = tmlc(&[
        &m.display().to_string(),
        "-o",
        &c.display().to_string(),
        "--report",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(report.contains("conv_f32"), "{report}");
    let h = std::fs::read_to_string(t.path("mnist.h")).unwrap_or_default();
    // The input keeps ONNX's NCHW shape.
    assert!(
        h.contains("#define mnist_8_INPUT0_SHAPE {1, 1, 28, 28}"),
        "{h}"
    );
    // A bad --input-shape is a usage error.
    let o = tmlc(&[&m.display().to_string(), "--input-shape", "Input3=1xAx3"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("`A` in `Input3=1xAx3` is not a dimension"),
        "{}",
        stderr(&o)
    );
    // A truncated model: one line.
    let bytes = std::fs::read(&m).unwrap_or_default();
    let bad = t.write("bad.onnx", &bytes[..bytes.len() / 3]);
    let o = tmlc(&[&bad, "-o", &t.path("bad.c").display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not a valid ONNX model"),
        "{}",
        stderr(&o)
    );
}

/// Builds `dir/model.{c,h}` (symbols `name_`) on the host with the harness
/// and runs it on `examples/NAME.in0.bin`; returns the output bytes.
fn run_example_on_host(dir: &std::path::Path, name: &str) -> Vec<u8> {
    let out = dir.join("out.bin");
    let input = repo().join(format!("examples/{name}.in0.bin"));
    let r = Command::new("bash")
        .arg(repo().join("harness/run-model.sh"))
        .arg(dir)
        .arg(name)
        .arg(&input)
        .arg(&out)
        .arg("host")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    std::fs::read(&out).unwrap()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The README's main job on the repository's own example: writes model.c
/// and model.h, prints the report, is deterministic, and the C built with
/// the host harness reproduces TFLite Micro's output for the example input.
#[test]
fn main_job_compiles_the_example() {
    let t = Tmp::new();
    let model = repo().join("examples/kws_int8.tflite");
    let dir = t.path("example");
    let c = dir.join("model.c");
    let o = tmlc(&[
        model.to_str().unwrap(),
        "-o",
        c.to_str().unwrap(),
        "--report",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(report.contains("34064 MACs"), "{report}");
    let first = std::fs::read(&c).unwrap();
    let header = std::fs::read_to_string(dir.join("model.h")).unwrap();
    assert!(
        header.contains("int kws_int8_invoke(const void *const inputs[], void *const outputs[]);")
    );

    // Byte-identical on a second run.
    let o = tmlc(&[model.to_str().unwrap(), "-o", c.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(
        std::fs::read(&c).unwrap(),
        first,
        "output is not deterministic"
    );

    // JSON report.
    let o = tmlc(&[
        model.to_str().unwrap(),
        "-o",
        c.to_str().unwrap(),
        "--report",
        "--report-format",
        "json",
    ]);
    assert!(o.status.success());
    let json = String::from_utf8_lossy(&o.stdout);
    assert!(
        json.trim_start().starts_with('{') && json.contains("\"layers\""),
        "{json}"
    );

    // Built on the host with the harness: TFLite Micro's answer.
    assert_eq!(
        run_example_on_host(&dir, "kws_int8"),
        std::fs::read(repo().join("examples/kws_int8.out0.bin")).unwrap()
    );
}

#[test]
fn main_job_errors_name_the_problem() {
    let t = Tmp::new();
    // An unsupported TFLite operator names itself and its node.
    let lstm = repo().join("../shared/models/tflite-micro/micro_speech_lstm.tflite");
    let o = tmlc(&[
        lstm.to_str().unwrap(),
        "-o",
        t.path("lstm.c").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("unsupported operator UNIDIRECTIONAL_SEQUENCE_LSTM (node 0)"),
        "{e}"
    );
    // A bad --name.
    let model = repo().join("examples/kws_int8.tflite");
    let o = tmlc(&[
        model.to_str().unwrap(),
        "-o",
        t.path("x.c").to_str().unwrap(),
        "--name",
        "9 bad",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a C identifier"), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_1() {
    let o = tmlc(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("MODEL"), "{}", stderr(&o));
    let o = tmlc(&["opt", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(1));
    let o = tmlc(&["--version"]);
    assert!(o.status.success());
}

/// Hostile but verifiable geometry: the backend reports it (or compiles a
/// zero-sized layer), it never panics (exit 101) or emits overflowing C.
#[test]
fn main_job_survives_extreme_geometry() {
    let t = Tmp::new();
    let cases = [
        // Zero output channels with huge other dims (MAC count overflow).
        "graph @t(%x: i8[2147483647,1,1,1] q(0.5, 0)) -> (%y) {\n  %w = const i8[0,1,1,1] q(0.5, 0) []\n  %y = conv2d(%x, %w) {pad = [2147483640, 2147483640, 0, 0]} : i8[2147483647,2147483641,2147483641,0] q(0.5, 0)\n}\n",
        // Depthwise with a dilation near 2^62.
        "graph @t(%x: i8[1,1,1,4] q(0.5, 0)) -> (%y) {\n  %w = const i8[4,2,1,1] q(0.5, 0) [1, 2, 3, 4, 5, 6, 7, 8]\n  %y = conv2d(%x, %w) {dilation = [4611686018427387904, 1], pad = [4611686018427387904, 0, 0, 0], groups = 4} : i8[1,1,1,4] q(0.5, 0)\n}\n",
        // A pool window beyond int32.
        "graph @t(%x: f32[1,1,1,1]) -> (%y) {\n  %y = avg_pool2d(%x) {kernel = [4294967297, 1], pad = [4294967296, 0, 0, 0], count_include_pad = true} : f32[1,1,1,1]\n}\n",
    ];
    for (i, src) in cases.iter().enumerate() {
        let f = t.write(&format!("g{i}.tir"), src.as_bytes());
        let o = tmlc(&[&f, "-o", t.path(&format!("g{i}.c")).to_str().unwrap()]);
        let e = stderr(&o);
        assert!(
            matches!(o.status.code(), Some(0) | Some(1)),
            "case {i}: {e}"
        );
        if o.status.code() == Some(1) {
            assert!(
                e.contains("int32") && e.lines().count() == 1,
                "case {i}: {e}"
            );
        }
    }
}
