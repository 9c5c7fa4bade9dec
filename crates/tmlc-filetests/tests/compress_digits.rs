#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! Compression measured on real data: the digits models of
//! `tests/models/digits` pruned (unstructured and structured), recovered
//! from the unpruned teacher and quantized by tmlc with the 200
//! calibration images, evaluated on the 500 test images. The figures are
//! printed (`--nocapture`); `TMLC_COMPRESS_TABLE=1` prints the table of
//! `docs/compression.md`.

mod digits_data;

use digits_data::*;
use std::path::Path;
use tmlc::cm4::Artifacts;
use tmlc::ir::Graph;
use tmlc::passes::calibrate::CalibrationData;
use tmlc::passes::passes::quantize::Quantize;
use tmlc::passes::{PassContext, Pipeline, Registry};

/// `model` compiled with the canonical pipeline, then `passes`, then
/// default int8 quantization.
fn compress(path: &Path, passes: &str) -> (Graph, Artifacts) {
    let mut g = tmlc::load_model(path).unwrap_or_else(|e| panic!("{e}"));
    let mut opts = tmlc::CompileOptions::new("digits");
    opts.header_file_name = "model.h".into();
    opts.verify_each = true;
    if !passes.is_empty() {
        let extra = Pipeline::parse(passes, &Registry::builtin()).unwrap();
        opts.pipeline = opts.pipeline.then_all(extra);
    }
    if std::env::var_os("TMLC_COMPRESS_FLOAT").is_none() {
        opts.quantize = Some(Quantize::default());
    }
    let mut cx = PassContext::new(true);
    cx.insert(CalibrationData::new(samples(&g, "calib.npy")));
    let art = tmlc::compile_with(&mut g, &opts, &mut cx).unwrap_or_else(|e| panic!("{e}"));
    (g, art)
}

/// Bytes of the weight arrays (dense or sparse) of the C.
fn weight_array_bytes(art: &Artifacts) -> usize {
    art.report
        .layers
        .iter()
        .map(|l| match &l.packed {
            Some(p) => p.bytes,
            None if l.macs > 0 => l.inputs.get(1).map_or(0, |s| s.iter().product()),
            None => 0,
        })
        .sum()
}

struct Row {
    top1: f64,
    sqnr: f64,
    weights: usize,
    consts: usize,
    arena: usize,
    macs: u64,
}

fn measure(model: &str, passes: &str) -> Row {
    let path = digits_data::digits().join(format!("{model}.onnx"));
    let (g, art) = compress(&path, passes);
    let test = samples(&g, "test_x.npy");
    let labels: Vec<i64> = npy("test_y.npy");
    let float: Vec<f32> = npy(&format!("{model}_float_logits.npy"));
    let logits = interp_logits(&g, &test);
    let f = figures(&logits, &float, &labels);
    Row {
        top1: f.top1,
        sqnr: f.sqnr,
        weights: weight_array_bytes(&art),
        consts: art.report.total_weight_bytes,
        arena: art.report.arena_bytes,
        macs: art.report.total_macs,
    }
}

#[test]
fn compression_table() {
    if std::env::var_os("TMLC_COMPRESS_TABLE").is_none() {
        return;
    }
    let custom: Option<Vec<String>> = std::env::var("TMLC_COMPRESS_PASSES")
        .ok()
        .map(|v| v.split(';').map(str::to_string).collect());
    for model in ["digits_cnn", "digits_dw"] {
        let default: Vec<String> = [
            "",
            "prune,recover{mode=none}",
            "prune,recover{mode=bias}",
            "prune,recover{mode=lsq}",
            "prune{block=4},recover{mode=lsq}",
            "prune-channels{ratio=0.3},recover{mode=none}",
            "prune-channels{ratio=0.3},recover{mode=bias}",
            "prune-channels{ratio=0.3},recover{mode=lsq}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for passes in custom.as_ref().unwrap_or(&default) {
            let r = measure(model, passes);
            println!(
                "{model:10} {passes:48} top1 {:5.1} sqnr {:6.2} weights {:6} consts {:6} arena {:5} macs {}",
                100.0 * r.top1,
                r.sqnr,
                r.weights,
                r.consts,
                r.arena,
                r.macs
            );
        }
    }
}
