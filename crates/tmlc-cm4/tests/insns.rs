//! Instruction counts of single-layer models on the Cortex-M4 (QEMU TCG
//! plugin through harness/run-model.sh --count), against the TFLM/CMSIS-NN
//! baselines of shared/notes/baseline-tflm.md. Each layer must also match
//! the interpreter. The counts are printed (`cargo test -- --nocapture`)
//! and bounded, so a slower kernel fails the test.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
use common::*;
use tmlc_ir::*;

/// Runs `g` on the M4 with counting; checks the output; returns insns.
fn count(g: &Graph) -> u64 {
    let a = emit_c(g, &opts("m")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path(), &a);
    let ins = sample_inputs(g, 0);
    let want = tmlc_interp::run(g, &ins).unwrap();
    let (got, report) = run_m4(dir.path(), "m", g, &ins, true);
    compare(g, &want, &got, "m4 count run");
    report
        .lines()
        .find_map(|l| l.strip_prefix("insns_per_inference="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {report}"))
}

fn per_mac(name: &str, g: &Graph, bound: f64, baseline: f64) {
    let macs: u64 = emit_c(g, &opts("m")).unwrap().report.total_macs;
    let n = count(g);
    let r = n as f64 / macs as f64;
    println!("{name}: {n} insns, {macs} MACs, {r:.3} insns/MAC (CMSIS-NN {baseline})");
    assert!(r < bound, "{name}: {r:.3} insns/MAC exceeds {bound}");
}

#[test]
fn insns_conv1x1() {
    let mut b = B::new(1);
    let x = b.qin(&[1, 14, 14, 64], 0.05, -3);
    let w = b.qw(&[384, 1, 1, 64], true);
    let bias = b.bias(384);
    let y = b.op(
        conv([1, 1], [0; 4], 1, Activation::Relu6),
        &[x, w, bias],
        qt(0.05, -128),
    );
    per_mac("conv 1x1 14x14x64->384", &b.out(&[y]), 2.06, 2.06);
}

#[test]
fn insns_conv1x1_small_k() {
    let mut b = B::new(2);
    let x = b.qin(&[1, 28, 28, 16], 0.05, -3);
    let w = b.qw(&[96, 1, 1, 16], true);
    let bias = b.bias(96);
    let y = b.op(
        conv([1, 1], [0; 4], 1, Activation::Relu6),
        &[x, w, bias],
        qt(0.05, -128),
    );
    per_mac("conv 1x1 28x28x16->96", &b.out(&[y]), 3.95, 3.95);
}

#[test]
fn insns_depthwise3x3() {
    let mut b = B::new(3);
    let x = b.qin(&[1, 28, 28, 144], 0.05, -3);
    let w = b.qw(&[144, 3, 3, 1], true);
    let bias = b.bias(144);
    let y = b.op(
        conv([1, 1], [1, 1, 1, 1], 144, Activation::Relu6),
        &[x, w, bias],
        qt(0.05, -128),
    );
    per_mac("depthwise 3x3 s1 28x28x144", &b.out(&[y]), 8.18, 8.18);
}

#[test]
fn insns_depthwise3x3_s2() {
    let mut b = B::new(4);
    let x = b.qin(&[1, 28, 28, 96], 0.05, -3);
    let w = b.qw(&[96, 3, 3, 1], true);
    let bias = b.bias(96);
    let y = b.op(
        conv([2, 2], [0, 0, 1, 1], 96, Activation::Relu6),
        &[x, w, bias],
        qt(0.05, -128),
    );
    per_mac("depthwise 3x3 s2 28x28x96", &b.out(&[y]), 8.17, 8.17);
}

#[test]
fn insns_conv3x3_rgb() {
    let mut b = B::new(5);
    let x = b.qin(&[1, 64, 64, 3], 0.02, -5);
    let w = b.qw(&[32, 3, 3, 3], true);
    let bias = b.bias(32);
    let y = b.op(
        conv([2, 2], [0, 0, 1, 1], 1, Activation::Relu6),
        &[x, w, bias],
        qt(0.05, -128),
    );
    per_mac("conv 3x3 s2 64x64x3->32", &b.out(&[y]), 4.09, 4.09);
}

#[test]
fn insns_fully_connected() {
    let mut b = B::new(6);
    let x = b.qin(&[1, 1280], 0.05, -3);
    let w = b.qw(&[1000, 1280], false);
    let bias = b.bias(1000);
    let y = b.op(
        Op::FullyConnected(FullyConnectedAttrs {
            keep_dims: false,
            act: Activation::None,
            ..Default::default()
        }),
        &[x, w, bias],
        qt(0.1, 2),
    );
    per_mac("fully connected 1280->1000", &b.out(&[y]), 1.91, 1.91);
}

#[test]
fn insns_add_and_mean() {
    let mut b = B::new(7);
    let x = b.qin(&[1, 16, 16, 64], 0.05, -3);
    let y = b.qin(&[1, 16, 16, 64], 0.07, 5);
    let s = b.op(
        Op::Add(BinaryAttrs {
            act: Activation::None,
        }),
        &[x, y],
        qt(0.1, 1),
    );
    let g = b.out(&[s]);
    let n = count(&g);
    let per = n as f64 / 16384.0;
    println!("add 16384 elements: {n} insns, {per:.1} per element (CMSIS-NN 81.6)");
    assert!(per < 81.6);

    let mut b = B::new(8);
    let x = b.qin(&[1, 7, 7, 1280], 0.05, -3);
    let m = b.op(
        Op::Mean(MeanAttrs {
            axes: vec![1, 2],
            keep_dims: true,
        }),
        &[x],
        qt(0.05, -3),
    );
    let n = count(&b.out(&[m]));
    println!("mean 7x7x1280: {n} insns (TFLM reference 8,713,400)");
    assert!(n < 8_713_400);
}
