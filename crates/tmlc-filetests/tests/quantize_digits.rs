#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! Post-training quantization measured on real data: the digits models of
//! `tests/models/digits` (float ONNX and float TFLite, made by
//! `scripts/make_digits_models.py`), quantized by tmlc with the 200
//! calibration images and evaluated on the 500 test images.
//!
//! For each model and frontend, with the default settings: the generated C
//! on the host and on the emulated Cortex-M4 gives exactly the reference
//! interpreter's logits on every test image; top-1 is within 1 point of
//! the float model's; the logits' SQNR against the float model is at least
//! that of the TFLite converter's and onnxruntime's `quantize_static`
//! (figures in `reference.json`); the constants take at most 35% of the
//! float model's bytes. The figures are printed (`--nocapture`).
//!
//! `TMLC_QUANT_TABLE=1` also prints the table of every calibration method
//! with and without bias correction (interpreter and host C), and the
//! instructions per inference of the float and int8 C under qemu; that is
//! the table of `docs/quantization.md`.

mod digits_data;

use digits_data::*;
use std::path::Path;
use tmlc::cm4::Artifacts;
use tmlc::ir::Graph;
use tmlc::passes::calibrate::{CalibrationData, Method};
use tmlc::passes::passes::equalize::Equalize;
use tmlc::passes::passes::quantize::Quantize;
use tmlc::passes::passes::quantize_weights::QuantizeWeights;
use tmlc::passes::PassContext;

/// The model compiled with `quantize` (float when `None`), after
/// `equalize` if asked; the lowered graph, the artifacts and the quantize
/// pass's wall time (calibration included).
fn build_with(path: &Path, quantize: Option<Quantize>, equalize: bool) -> (Graph, Artifacts, f64) {
    let mut g = tmlc::load_model(path).unwrap_or_else(|e| panic!("{e}"));
    let mut opts = tmlc::CompileOptions::new("digits");
    opts.header_file_name = "model.h".into();
    opts.verify_each = true;
    opts.quantize = quantize;
    if equalize {
        opts.pipeline = opts.pipeline.then(Equalize::default());
    }
    let mut cx = PassContext::new(true);
    cx.insert(CalibrationData::new(samples(&g, "calib.npy")));
    let art = tmlc::compile_with(&mut g, &opts, &mut cx).unwrap_or_else(|e| panic!("{e}"));
    let calibration = cx
        .runs
        .iter()
        .find(|r| r.pass == "quantize")
        .map_or(0.0, |r| r.time.as_secs_f64());
    (g, art, calibration)
}

fn build(path: &Path, quantize: Option<Quantize>) -> (Graph, Artifacts, f64) {
    build_with(path, quantize, false)
}

/// The acceptance checks for `model` through `frontend` (`onnx`,
/// `tflite`), default settings.
fn check(model: &str, frontend: &str) {
    let path = digits().join(format!("{model}.{frontend}"));
    let labels: Vec<i64> = npy("test_y.npy");
    let float: Vec<f32> = npy(&format!("{model}_float_logits.npy"));
    let (fg, fart, _) = build(&path, None);
    let test = samples(&fg, "test_x.npy");
    let f = figures(&interp_logits(&fg, &test), &float, &labels);
    let (g, art, secs) = build(&path, Some(Quantize::default()));
    let tag = format!("{model}.{frontend}");
    let reference = interp_logits(&g, &test);
    for target in ["host", "m4"] {
        let c = c_logits(&art, &test, target, &tag);
        assert!(
            c == reference,
            "{tag}: the C on {target} differs from the interpreter"
        );
    }
    let q = figures(&reference, &float, &labels);
    let (tfl, ort) = (
        reference_figures(model, "tflite_int8"),
        reference_figures(model, "ort_qdq"),
    );
    let ratio = art.report.total_weight_bytes as f64 / fart.report.total_weight_bytes as f64;
    println!(
        "{tag}: float top-1 {:.3}; tmlc int8 top-1 {:.3}, SQNR {:.2} dB (C bit-exact on host and m4); \
         TFLite converter {:.3} / {:.2} dB; onnxruntime quantize_static {:.3} / {:.2} dB; \
         constants {} of {} bytes ({:.1}%); quantize pass (calibration, bias correction) {secs:.2} s",
        f.top1, q.top1, q.sqnr, tfl.top1, tfl.sqnr, ort.top1, ort.sqnr,
        art.report.total_weight_bytes, fart.report.total_weight_bytes, 100.0 * ratio
    );
    assert!(
        q.top1 >= f.top1 - 0.01,
        "{tag}: top-1 {} vs float {}",
        q.top1,
        f.top1
    );
    assert!(
        q.sqnr >= tfl.sqnr && q.sqnr >= ort.sqnr,
        "{tag}: SQNR {} below a reference",
        q.sqnr
    );
    assert!(
        ratio <= 0.35,
        "{tag}: constants are {:.1}% of float's",
        100.0 * ratio
    );
}

fn reference_figures(model: &str, which: &str) -> Figures {
    Figures {
        top1: reference(model, &format!("{which}_top1")),
        sqnr: reference(model, &format!("{which}_sqnr_db")),
    }
}

/// Float outputs agree within 1e-5 relative (1e-6 absolute).
fn float_close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-5 * y.abs().max(x.abs()) + 1e-6)
}

/// Weight-only int8 (`--quantize int8-weights`): the C on the host and the
/// M4 agrees with the interpreter (float tolerance), and the flash for
/// constants shrinks. TFLite's dynamic-range ("hybrid") models import as
/// weight-only layers that quantize their input at run time as TFLite's
/// kernels do (`dynamic`): their outputs match the TFLite interpreter's
/// within 1e-4 relative (1e-5 absolute), through the interpreter and the C.
#[test]
fn weight_only_int8() {
    let labels: Vec<i64> = npy("test_y.npy");
    for model in ["digits_cnn", "digits_dw"] {
        let float: Vec<f32> = npy(&format!("{model}_float_logits.npy"));
        let path = digits().join(format!("{model}.onnx"));
        let (_, fart, _) = build(&path, None);
        let mut g = tmlc::load_model(&path).unwrap();
        let mut opts = tmlc::CompileOptions::new("digits");
        opts.header_file_name = "model.h".into();
        opts.pipeline = opts.pipeline.then(QuantizeWeights);
        let art = tmlc::compile(&mut g, &opts).unwrap_or_else(|e| panic!("{e}"));
        let test = samples(&g, "test_x.npy");
        let reference = interp_logits(&g, &test);
        for target in ["host", "m4"] {
            let c = c_logits(&art, &test, target, &format!("{model}-w8"));
            assert!(
                float_close(&c, &reference),
                "{model} int8-weights on {target}"
            );
        }
        let f = figures(&reference, &float, &labels);
        println!(
            "{model} int8-weights: top-1 {:.3}, SQNR {:.2} dB, constants {} of {} bytes",
            f.top1, f.sqnr, art.report.total_weight_bytes, fart.report.total_weight_bytes
        );
        assert!(art.report.total_weight_bytes * 2 < fart.report.total_weight_bytes);

        let hybrid = digits().join(format!("{model}_tflite_hybrid.tflite"));
        let (g, art, _) = build(&hybrid, None);
        let tflite: Vec<f32> = npy(&format!("{model}_tflite_hybrid_out.npy"));
        let test = &test[..tflite.len() / 10];
        let reference = interp_logits(&g, test);
        for target in ["host", "m4"] {
            let c = c_logits(&art, test, target, &format!("{model}-hybrid"));
            assert!(float_close(&c, &reference), "{model} hybrid on {target}");
        }
        let worst = reference
            .iter()
            .zip(&tflite)
            .map(|(a, b)| (a - b).abs() / (b.abs() + 0.1))
            .fold(0.0f32, f32::max);
        println!(
            "{model} TFLite hybrid: against the TFLite interpreter, largest difference {worst:.2e} relative (to |x| + 0.1)"
        );
        for (i, (a, b)) in reference.iter().zip(&tflite).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * b.abs() + 1e-5,
                "{model} hybrid: logit {i} is {a}, the TFLite interpreter gives {b}"
            );
        }
    }
}

/// After `canonicalize` the digits CNN (four BatchNorms, relus, a
/// depthwise-separable block) is conv / pool / mean / fully_connected
/// only: no standalone batch_norm, bias add, scale, activation or pad.
/// Both frontends; the ONNX export writes three of its BatchNorms as a mul
/// and an add and converts the input layout with reshapes.
#[test]
fn canonical_digits_cnn() {
    for frontend in ["onnx", "tflite"] {
        let mut g = tmlc::load_model(&digits().join(format!("digits_cnn.{frontend}"))).unwrap();
        tmlc::passes::canonical_pipeline()
            .run(&mut g, &mut PassContext::new(true))
            .unwrap();
        let ops: Vec<&str> = g
            .topo_order()
            .unwrap()
            .iter()
            .map(|&n| g.node(n).op.name())
            .collect();
        for op in [
            "batch_norm",
            "add",
            "mul",
            "relu",
            "relu6",
            "clip",
            "pad",
            "transpose",
        ] {
            assert!(!ops.contains(&op), "{frontend}: `{op}` is left: {ops:?}");
        }
        let text = tmlc::ir::print(&g);
        let ir: String = text
            .lines()
            .filter(|l| !l.contains("= const "))
            .map(|l| format!("{l}\n"))
            .collect();
        insta::assert_snapshot!(format!("canonical_digits_cnn_{frontend}"), ir);
    }
}

#[test]
fn digits_cnn_onnx() {
    check("digits_cnn", "onnx");
}

#[test]
fn digits_cnn_tflite() {
    check("digits_cnn", "tflite");
}

#[test]
fn digits_dw_onnx() {
    check("digits_dw", "onnx");
}

#[test]
fn digits_dw_tflite() {
    check("digits_dw", "tflite");
}

/// The table of `docs/quantization.md` (opt-in: `TMLC_QUANT_TABLE=1`):
/// every calibration method, with and without bias correction and
/// cross-layer equalization, on both models (ONNX); top-1 and SQNR from
/// the C on the host (checked equal to the interpreter), and instructions
/// per inference of the float and default int8 C under qemu.
#[test]
fn quantization_table() {
    if std::env::var_os("TMLC_QUANT_TABLE").is_none() {
        println!("skipped: set TMLC_QUANT_TABLE=1 to print the quantization table");
        return;
    }
    let labels: Vec<i64> = npy("test_y.npy");
    for model in ["digits_cnn", "digits_dw"] {
        let path = digits().join(format!("{model}.onnx"));
        let float: Vec<f32> = npy(&format!("{model}_float_logits.npy"));
        let (fg, fart, _) = build(&path, None);
        let test = samples(&fg, "test_x.npy");
        let f = figures(&c_logits(&fart, &test, "host", model), &float, &labels);
        println!(
            "| {model} | float (tmlc C) | {:.1} | - | {} |",
            100.0 * f.top1,
            fart.report.total_weight_bytes
        );
        for which in ["tflite_int8", "ort_qdq"] {
            let r = reference_figures(model, which);
            println!(
                "| {model} | {which} | {:.1} | {:.2} | - |",
                100.0 * r.top1,
                r.sqnr
            );
        }
        for method in [Method::MinMax, Method::Percentile(99.99), Method::Mse] {
            for (bias_correction, equalize) in
                [(false, false), (true, false), (false, true), (true, true)]
            {
                let q = Quantize {
                    method,
                    bias_correction,
                    ..Quantize::default()
                };
                let (g, art, secs) = build_with(&path, Some(q), equalize);
                let c = c_logits(&art, &test, "host", model);
                assert!(
                    c == interp_logits(&g, &test),
                    "{model}: C differs from the interpreter"
                );
                let m = figures(&c, &float, &labels);
                println!(
                    "| {model} | tmlc {method}{}{} | {:.1} | {:.2} | {} | {secs:.2} s |",
                    if bias_correction { " +bias-corr" } else { "" },
                    if equalize { " +equalize" } else { "" },
                    100.0 * m.top1,
                    m.sqnr,
                    art.report.total_weight_bytes
                );
            }
        }
        let (_, art, _) = build(&path, Some(Quantize::default()));
        println!(
            "{model}: instructions per inference on the emulated Cortex-M4: float {}, int8 {}",
            instructions(&fart, &test, &format!("{model}-f")),
            instructions(&art, &test, &format!("{model}-q"))
        );
    }
}
