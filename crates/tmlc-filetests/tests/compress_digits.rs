#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! Compression measured on real data: the digits models of
//! `tests/models/digits` pruned (unstructured and structured), given 4-bit
//! weights, recovered from the uncompressed teacher and quantized by tmlc
//! with the 200 calibration images, evaluated on the 500 test images
//! against the unpruned int8 model. The acceptance checks run on
//! `digits_dw` (MobileNet-style, 66K parameters); every compressed model's
//! C must give the interpreter's logits exactly on the host and on qemu.
//! The figures are printed (`--nocapture`); `TMLC_COMPRESS_TABLE=1` prints
//! the table of `docs/compression.md` for both models
//! (`TMLC_COMPRESS_PASSES='p1;p2'` for other pipelines).

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
    opts.quantize = Some(Quantize::default());
    let mut cx = PassContext::new(true);
    cx.insert(CalibrationData::new(samples(&g, "calib.npy")));
    let art = tmlc::compile_with(&mut g, &opts, &mut cx).unwrap_or_else(|e| panic!("{e}"));
    (g, art)
}

/// Bytes of the weight arrays (dense int8, sparse or 4-bit) of the C.
fn weight_array_bytes(art: &Artifacts) -> usize {
    art.report
        .layers
        .iter()
        .map(|l| match &l.packed {
            Some(p) => p.bytes,
            None if l.macs > 0 && l.op != "matmul" => {
                l.inputs.get(1).map_or(0, |s| s.iter().product())
            }
            None => 0,
        })
        .sum()
}

struct Row {
    graph: Graph,
    art: Artifacts,
    top1: f64,
    sqnr: f64,
    weights: usize,
}

impl Row {
    fn print(&self, model: &str, what: &str) {
        let r = &self.art.report;
        println!(
            "{model:10} {what:48} top1 {:5.1}  SQNR {:6.2} dB  weights {:6} B  constants {:6} B  arena {:5} B  MACs {}",
            100.0 * self.top1,
            self.sqnr,
            self.weights,
            r.total_weight_bytes,
            r.arena_bytes,
            r.total_macs
        );
    }
}

fn measure(model: &str, passes: &str) -> Row {
    let path = digits().join(format!("{model}.onnx"));
    let (graph, art) = compress(&path, passes);
    let test = samples(&graph, "test_x.npy");
    let labels: Vec<i64> = npy("test_y.npy");
    let float: Vec<f32> = npy(&format!("{model}_float_logits.npy"));
    let logits = interp_logits(&graph, &test);
    let f = figures(&logits, &float, &labels);
    Row {
        weights: weight_array_bytes(&art),
        graph,
        art,
        top1: f.top1,
        sqnr: f.sqnr,
    }
}

/// The C of `row` gives the interpreter's logits on every test image, on
/// the host and on qemu.
fn check_c(row: &Row, tag: &str) {
    let test = samples(&row.graph, "test_x.npy");
    let want = interp_logits(&row.graph, &test);
    for target in ["host", "m4"] {
        let got = c_logits(&row.art, &test, target, tag);
        assert!(
            got.iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{tag}: the C on {target} differs from the interpreter"
        );
    }
}

const MODEL: &str = "digits_dw";

#[test]
fn unstructured_pruning_shrinks_flash() {
    let dense = measure(MODEL, "");
    let pruned = measure(MODEL, "prune{block=4},recover{mode=lsq}");
    dense.print(MODEL, "int8");
    pruned.print(MODEL, "prune 50% (1x4 blocks) + lsq + int8");
    let down = 1.0 - pruned.weights as f64 / dense.weights as f64;
    println!("weight flash down {:.1}%", 100.0 * down);
    assert!(down >= 0.35, "weight flash down only {:.1}%", 100.0 * down);
    assert!(
        pruned.top1 >= dense.top1 - 0.010 - 1e-9,
        "top-1 {} vs {}",
        pruned.top1,
        dense.top1
    );
    assert!(pruned
        .art
        .report
        .layers
        .iter()
        .any(|l| l.kernel.starts_with("spmm_s8")));
    check_c(&pruned, "unstructured");
}

#[test]
fn structured_pruning_shrinks_macs_and_ram() {
    let dense = measure(MODEL, "");
    dense.print(MODEL, "int8");
    let mut rows = Vec::new();
    for mode in ["none", "bias", "lsq"] {
        let r = measure(
            MODEL,
            &format!("prune-channels{{ratio=0.3}},recover{{mode={mode}}}"),
        );
        r.print(MODEL, &format!("channels 30% + recover {mode} + int8"));
        rows.push(r);
    }
    let lsq = &rows[2];
    let (d, p) = (&dense.art.report, &lsq.art.report);
    let macs_down = 1.0 - p.total_macs as f64 / d.total_macs as f64;
    println!(
        "MACs down {:.1}%, arena {} -> {} B",
        100.0 * macs_down,
        d.arena_bytes,
        p.arena_bytes
    );
    assert!(
        macs_down >= 0.35,
        "MACs down only {:.1}%",
        100.0 * macs_down
    );
    assert!(p.arena_bytes < d.arena_bytes);
    let test = samples(&dense.graph, "test_x.npy");
    let (i0, i1) = (
        instructions(&dense.art, &test, "dense"),
        instructions(&lsq.art, &test, "channels"),
    );
    let insns_down = 1.0 - i1 as f64 / i0 as f64;
    println!(
        "instructions per inference {i0} -> {i1} (down {:.1}%)",
        100.0 * insns_down
    );
    assert!(
        insns_down >= 0.30,
        "instructions down only {:.1}%",
        100.0 * insns_down
    );
    assert!(
        lsq.top1 >= dense.top1 - 0.020 - 1e-9,
        "top-1 {} vs {}",
        lsq.top1,
        dense.top1
    );
    // Each recovery step is measured; least squares beats none.
    assert!(
        lsq.sqnr > rows[0].sqnr + 3.0,
        "lsq {} dB vs none {} dB",
        lsq.sqnr,
        rows[0].sqnr
    );
    check_c(lsq, "structured");
}

#[test]
fn int4_weights_by_reconstruction() {
    let dense = measure(MODEL, "");
    let nearest = measure(MODEL, "int4-weights{method=nearest}");
    let recon = measure(MODEL, "int4-weights");
    dense.print(MODEL, "int8");
    nearest.print(MODEL, "int4 weights, round to nearest");
    recon.print(MODEL, "int4 weights, reconstruction rounding");
    let ratio = recon.weights as f64 / dense.weights as f64;
    println!("int4 weight flash {:.1}% of int8", 100.0 * ratio);
    assert!(
        ratio <= 0.55,
        "int4 weights take {:.1}% of int8",
        100.0 * ratio
    );
    assert!(
        recon.top1 >= dense.top1 - 0.020 - 1e-9,
        "top-1 {} vs {}",
        recon.top1,
        dense.top1
    );
    assert!(
        recon.sqnr > nearest.sqnr,
        "reconstruct {} dB vs nearest {} dB",
        recon.sqnr,
        nearest.sqnr
    );
    assert!(recon
        .art
        .report
        .layers
        .iter()
        .any(|l| l.kernel.starts_with("mm_s4")));
    check_c(&recon, "int4");
}

/// `model` compiled within `budget`, the compression chosen on the first
/// `n` calibration images.
fn fit(model: &str, budget: tmlc::Budget, n: usize) -> (Row, tmlc::Fitted) {
    let path = digits().join(format!("{model}.onnx"));
    let mut g = tmlc::load_model(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut opts = tmlc::CompileOptions::new("digits");
    opts.header_file_name = "model.h".into();
    opts.verify_each = true;
    opts.quantize = Some(Quantize::default());
    let calib: Vec<_> = samples(&g, "calib.npy").into_iter().take(n).collect();
    let mode = tmlc::passes::passes::recover::Mode::Full;
    let fitted =
        tmlc::compile_within(&mut g, &opts, &calib, budget, mode).unwrap_or_else(|e| panic!("{e}"));
    for n in &fitted.notes {
        println!("{model}: {n}");
    }
    let (graph, art) = (fitted.graph.clone(), fitted.artifacts.clone());
    let test = samples(&graph, "test_x.npy");
    let labels: Vec<i64> = npy("test_y.npy");
    let float: Vec<f32> = npy(&format!("{model}_float_logits.npy"));
    let f = figures(&interp_logits(&graph, &test), &float, &labels);
    let row = Row {
        weights: weight_array_bytes(&art),
        graph,
        art,
        top1: f.top1,
        sqnr: f.sqnr,
    };
    (row, fitted)
}

#[test]
fn flash_budget_of_half_the_int8_constants() {
    let dense = measure(MODEL, "");
    let budget = dense.art.report.total_weight_bytes / 2;
    let flash = tmlc::Budget {
        flash: Some(budget),
        ram: None,
    };
    let (row, fitted) = fit(MODEL, flash, 200);
    dense.print(MODEL, "int8");
    row.print(MODEL, &format!("--flash-budget {budget}"));
    println!("passes: {}", fitted.passes);
    assert!(row.art.report.total_weight_bytes <= budget);
    assert!(
        row.top1 >= dense.top1 - 0.020 - 1e-9,
        "top-1 {} vs {}",
        row.top1,
        dense.top1
    );
    check_c(&row, "flash-budget");
}

#[test]
fn ram_budget_of_16k() {
    let model = "digits_wide";
    let dense = measure(model, "");
    assert!(dense.art.report.arena_bytes > 16 * 1024);
    let ram = tmlc::Budget {
        flash: None,
        ram: Some(16 * 1024),
    };
    // The search on 64 images (the figures of docs/compression.md use all
    // 200: `TMLC_COMPRESS_TABLE=1`).
    let (row, fitted) = fit(model, ram, 64);
    dense.print(model, "int8");
    row.print(model, "--ram-budget 16K");
    println!("passes: {}", fitted.passes);
    assert!(row.art.report.arena_bytes <= 16 * 1024);
    assert!(
        row.top1 >= dense.top1 - 0.020 - 1e-9,
        "top-1 {} vs {}",
        row.top1,
        dense.top1
    );
    check_c(&row, "ram-budget");
}

#[test]
fn compression_table() {
    if std::env::var_os("TMLC_COMPRESS_TABLE").is_none() {
        println!("skipped: set TMLC_COMPRESS_TABLE=1 to print the compression table");
        return;
    }
    let custom: Option<Vec<String>> = std::env::var("TMLC_COMPRESS_PASSES")
        .ok()
        .map(|v| v.split(';').map(str::to_string).collect());
    let default: Vec<String> = [
        "",
        "prune,recover{mode=none}",
        "prune,recover{mode=bias}",
        "prune,recover{mode=lsq}",
        "prune{block=4},recover{mode=none}",
        "prune{block=4},recover{mode=lsq}",
        "prune-channels{ratio=0.3},recover{mode=none}",
        "prune-channels{ratio=0.3},recover{mode=bias}",
        "prune-channels{ratio=0.3},recover{mode=lsq}",
        "int4-weights{method=nearest}",
        "int4-weights",
        "prune-channels{ratio=0.3},recover{mode=lsq},int4-weights",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for model in ["digits_cnn", "digits_dw"] {
        for passes in custom.as_ref().unwrap_or(&default) {
            let r = measure(model, passes);
            let test = samples(&r.graph, "test_x.npy");
            let insns = instructions(&r.art, &test, "table");
            r.print(model, passes);
            println!("{:59} instructions/inference {insns}", "");
        }
    }
}
