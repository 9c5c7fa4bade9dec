#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! The ONNX frontend against onnxruntime's outputs on the shared ONNX
//! models: the interpreter on the imported graph and on the graph after
//! the default pipeline, and the generated C on the host and on the
//! emulated Cortex-M4. Float outputs agree within 1e-4 relative (1e-5
//! absolute); an output that the compiled graph dequantizes from int8
//! within one unit of its scale (1 LSB: the integer ops requantize in fixed
//! point where onnxruntime rounds in float, `spec/ir.md` §6.1).

use std::path::{Path, PathBuf};
use std::process::Command;
use tmlc::ir::Graph;
use tmlc_filetests::golden::{models_dir, samples, samples_in, split_inputs, Sample};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Absolute tolerance of output `i` against the reference value `b`.
#[derive(Clone, Copy)]
enum Tol {
    Float,
    /// One LSB of this scale.
    Lsb(f32),
}

impl Tol {
    fn of(g: &Graph) -> Vec<Tol> {
        let lsb = tmlc_filetests::output_lsb(g);
        lsb.into_iter()
            .map(|s| s.map_or(Tol::Float, Tol::Lsb))
            .collect()
    }

    fn allows(self, a: f32, b: f32) -> bool {
        match self {
            Tol::Float => (a - b).abs() <= 1e-4 * b.abs() + 1e-5,
            Tol::Lsb(s) => (a - b).abs() <= s * 1.0001,
        }
    }
}

fn close(got: &[u8], want: &[u8], tols: &[Tol], g: &Graph, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: output sizes differ");
    let mut off = 0;
    for (k, &v) in g.outputs().iter().enumerate() {
        let n = g.value(v).ty.byte_size();
        let (a, b) = (&got[off..off + n], &want[off..off + n]);
        for (i, (a, b)) in a.chunks_exact(4).zip(b.chunks_exact(4)).enumerate() {
            let a = f32::from_le_bytes([a[0], a[1], a[2], a[3]]);
            let b = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            assert!(
                tols[k].allows(a, b),
                "{what}: output {k} element {i} is {a}, onnxruntime gives {b}"
            );
        }
        off += n;
    }
}

/// The input shapes the reference was run with (`run_shape` in the
/// model's JSON description), for symbolic dimensions.
fn run_shapes(base: &Path, stem: &str) -> Vec<(String, Vec<usize>)> {
    let p = base.join(format!("{stem}.json"));
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    j["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let shape = i["run_shape"].as_array().unwrap();
            let shape = shape.iter().map(|d| d.as_u64().unwrap() as usize);
            (i["name"].as_str().unwrap().to_string(), shape.collect())
        })
        .collect()
}

fn interp(g: &Graph, tols: &[Tol], input: &[u8], want: &[u8], what: &str) {
    let outs = tmlc_interp::run(g, &split_inputs(g, input)).unwrap();
    let got: Vec<u8> = outs.iter().flat_map(|t| t.data.to_le_bytes()).collect();
    close(&got, want, tols, g, what);
}

/// A shared model `dir/stem`, on the host and the M4.
fn check(dir: &str, stem: &str) {
    let base = models_dir().join(dir);
    let load = tmlc::LoadOptions {
        input_shapes: run_shapes(&base, stem),
        ..Default::default()
    };
    if dir == "onnx2c" {
        // The CNNs and MLPs keep no transpose: NHWC inside, folded weights.
        let mut g = tmlc::load_model_with(&base.join(format!("{stem}.onnx")), &load).unwrap();
        let art = tmlc::compile(&mut g, &tmlc::CompileOptions::new("m")).unwrap();
        let text = art.report.to_text();
        assert!(
            art.report.layers.iter().all(|l| l.op != "transpose"),
            "{text}"
        );
    }
    check_at(&base, stem, load, &samples(dir, stem), &["host", "m4"]);
}

/// The model `base/stem.onnx` on `samples`, through the interpreter and
/// the generated C on `targets`.
fn check_at(
    base: &Path,
    stem: &str,
    load: tmlc::LoadOptions,
    samples: &[Sample],
    targets: &[&str],
) {
    let path = base.join(format!("{stem}.onnx"));
    let g = tmlc::load_model_with(&path, &load).unwrap_or_else(|e| panic!("{e}"));
    let mut canonical = g.clone();
    let mut cx = tmlc::passes::PassContext::new(true);
    tmlc::passes::canonical_pipeline()
        .run(&mut canonical, &mut cx)
        .unwrap_or_else(|e| panic!("{stem}: {e}"));
    let tols = Tol::of(&canonical);
    for s in samples {
        let what = format!("{stem} (interpreter), sample {}", s.index);
        interp(&g, &tols, &s.input, &s.output, &what);
        let what = format!(
            "{stem} (interpreter, after the pipeline), sample {}",
            s.index
        );
        interp(&canonical, &tols, &s.input, &s.output, &what);
    }
    // The generated C, host and M4.
    let out_dir = std::env::temp_dir().join(format!("tmlc-onnx-{}-{stem}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut opts = tmlc::CompileOptions::new(&tmlc::c_identifier(stem));
    opts.header_file_name = "model.h".into();
    opts.verify_each = true;
    let art = tmlc::compile(&mut g.clone(), &opts).unwrap_or_else(|e| panic!("{stem}: {e}"));
    tmlc::write_c(&art, &out_dir.join("model.c")).unwrap();
    for &target in targets {
        for s in samples {
            let inp = out_dir.join(format!("in{}.bin", s.index));
            let out = out_dir.join(format!("out-{target}{}.bin", s.index));
            std::fs::write(&inp, &s.input).unwrap();
            let r = Command::new("bash")
                .arg(repo().join("harness/run-model.sh"))
                .arg(&out_dir)
                .arg(&opts.name)
                .arg(&inp)
                .arg(&out)
                .arg(target)
                .output()
                .unwrap();
            assert!(
                r.status.success(),
                "{stem} on {target}: {}{}",
                String::from_utf8_lossy(&r.stdout),
                String::from_utf8_lossy(&r.stderr)
            );
            let got = std::fs::read(&out).unwrap();
            let what = format!("{stem} on {target}, sample {}", s.index);
            close(&got, &s.output, &tols, &canonical, &what);
        }
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn mnist_8() {
    check("onnx2c", "mnist-8");
}

#[test]
fn atmega_mnist_simplified() {
    check("onnx2c", "atmega_mnist_simplified");
}

#[test]
fn tfl_helloworld() {
    check("onnx2c", "tfl_helloworld");
}

#[test]
fn velardo_lesson9() {
    check("onnx2c", "velardo_lesson9");
}

#[test]
fn tract_qrelu() {
    check("tract", "qrelu_1");
}

#[test]
fn tract_qsigmoid() {
    check("tract", "qsigmoid_1");
}

#[test]
fn tract_qtanh() {
    check("tract", "qtanh_1");
}

#[test]
fn tract_qtdnn() {
    check("tract", "qtdnn_10x5_101_i32_biases");
}

#[test]
fn tract_averagepool_count_include_pad() {
    check("tract", "averagepool_count_include_pad");
}

#[test]
fn tract_deconv_group() {
    check("tract", "deconv_group");
}

/// The project's own QDQ models (`tests/models/qdq`, made by
/// `scripts/make_qdq_models.py` from two shared float CNNs with
/// onnxruntime's `quantize_static`): every conv and dense layer must
/// become an int8 kernel, and the outputs stay within 1 LSB.
fn check_qdq(stem: &str) {
    let base = repo().join("tests/models/qdq");
    let shapes = run_shapes(&base, stem);
    let path = base.join(format!("{stem}.onnx"));
    let load = tmlc::LoadOptions {
        input_shapes: shapes,
        ..Default::default()
    };
    let mut g = tmlc::load_model_with(&path, &load).unwrap();
    let art = tmlc::compile(&mut g, &tmlc::CompileOptions::new("m")).unwrap();
    let layers = &art.report.layers;
    let weighted = layers
        .iter()
        .filter(|l| matches!(l.op.as_str(), "conv2d" | "fully_connected"));
    assert!(
        weighted.clone().count() > 0,
        "{stem}: no conv or dense layer"
    );
    for l in weighted {
        assert!(
            !l.kernel.ends_with("f32"),
            "{stem}: {} runs {}",
            l.result,
            l.kernel
        );
    }
    check_at(&base, stem, load, &samples_in(&base, stem), &["host", "m4"]);
}

#[test]
fn qdq_mnist_8() {
    check_qdq("mnist-8_qdq");
}

#[test]
fn qdq_atmega_mnist_uint8() {
    check_qdq("atmega_mnist_simplified_qdq_u8");
}

/// Runs `script --out DIR` with the Python in `$var` (default `python3`)
/// if it can import `modules`; `None`, with the reason printed, if not.
fn export(var: &str, modules: &str, script: &str) -> Option<PathBuf> {
    let python = std::env::var(var).unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: {python} cannot import {modules} (set {var} to a Python that can)");
        return None;
    }
    let stem = script.trim_end_matches(".py");
    let dir = std::env::temp_dir().join(format!("tmlc-{stem}-{}", std::process::id()));
    let r = Command::new(&python)
        .arg(repo().join("scripts").join(script))
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    Some(dir)
}

fn read_json(p: PathBuf) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Checks an exported model `dir/name` whose committed description is
/// `kept`: the same op counts, and onnxruntime's output through the
/// interpreter and the C on the host (host only: in float, several
/// exceed the emulated board's 4 MB).
fn check_export(dir: &Path, name: &str, kept: &serde_json::Value, made: &serde_json::Value) {
    assert_eq!(kept["ops"], made["ops"], "{name}: op counts changed");
    if kept["sha256_out0"] != made["sha256_out0"] {
        eprintln!("note: {name}: reference output differs from the committed hash");
    }
    let sample = Sample {
        index: 0,
        input: std::fs::read(dir.join(format!("{name}.in0.bin"))).unwrap(),
        output: std::fs::read(dir.join(format!("{name}.out0.bin"))).unwrap(),
    };
    check_at(
        dir,
        name,
        tmlc::LoadOptions::default(),
        &[sample],
        &["host"],
    );
}

/// torchvision architectures exported by `scripts/export_torchvision.py`
/// (too big to commit): regenerated when a Python with torch,
/// torchvision and onnxruntime is found (`TMLC_PYTHON`, default
/// `python3`), else skipped with the reason printed. Their op counts must
/// be those committed in `tests/models/torchvision/summary.json`; each
/// compiles and matches onnxruntime.
#[test]
fn torchvision_exports() {
    let modules = "torch, torchvision, onnxruntime";
    let Some(dir) = export("TMLC_PYTHON", modules, "export_torchvision.py") else {
        return;
    };
    let made = read_json(dir.join("summary.json"));
    let kept = read_json(repo().join("tests/models/torchvision/summary.json"));
    for (name, m) in kept["models"].as_object().unwrap() {
        check_export(&dir, name, m, &made["models"][name]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Keras CNN converted by tf2onnx (`scripts/export_keras.py`), as
/// [`torchvision_exports`] with `TMLC_TF_PYTHON` (tensorflow, tf2onnx,
/// onnxruntime); description in `tests/models/keras/summary.json`. Its
/// input stays NHWC: the exporter's transpose to NCHW costs nothing.
#[test]
fn keras_export() {
    let modules = "tensorflow, tf2onnx, onnxruntime";
    let Some(dir) = export("TMLC_TF_PYTHON", modules, "export_keras.py") else {
        return;
    };
    let made = read_json(dir.join("keras_cnn.json"));
    let kept = read_json(repo().join("tests/models/keras/summary.json"));
    check_export(&dir, "keras_cnn", &kept, &made);
    let mut g = tmlc::load_model(&dir.join("keras_cnn.onnx")).unwrap();
    let art = tmlc::compile(&mut g, &tmlc::CompileOptions::new("k")).unwrap();
    let layers = &art.report.layers;
    assert!(
        layers.iter().all(|l| l.op != "transpose"),
        "{}",
        art.report.to_text()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `io_layout = Nhwc`: the shared average-pool model (input [1, 3, 2, 2])
/// takes NHWC input; fed the reference inputs transposed, the interpreter
/// and the C on the host give onnxruntime's outputs ([1, 3, 1, 1] and
/// [1, 1, 1, 3] have the same bytes).
#[test]
fn nhwc_io_layout() {
    let base = models_dir().join("tract");
    let stem = "averagepool_count_include_pad";
    let load = tmlc::LoadOptions {
        io_layout: tmlc::onnx::IoLayout::Nhwc,
        ..Default::default()
    };
    let g = tmlc::load_model_with(&base.join(format!("{stem}.onnx")), &load).unwrap();
    assert_eq!(g.value(g.inputs()[0]).ty.shape, vec![1, 2, 2, 3]);
    assert_eq!(g.value(g.outputs()[0]).ty.shape, vec![1, 1, 1, 3]);
    let to_nhwc = |b: &[u8]| -> Vec<u8> {
        let (c, hw) = (3, 4);
        let mut out = vec![0; b.len()];
        for ch in 0..c {
            for p in 0..hw {
                let (src, dst) = ((ch * hw + p) * 4, (p * c + ch) * 4);
                out[dst..dst + 4].copy_from_slice(&b[src..src + 4]);
            }
        }
        out
    };
    let samples: Vec<Sample> = samples("tract", stem)
        .into_iter()
        .map(|s| Sample {
            input: to_nhwc(&s.input),
            ..s
        })
        .collect();
    check_at(&base, stem, load, &samples, &["host", "m4"]);
}
