//! The generated C on the Cortex-M4 (arm-none-eabi-gcc, QEMU mps2-an386 via
//! harness/run-model.sh): the DSP paths (SMLAD matrix product, depthwise
//! SMLABB/SMLATT, ...) must give the interpreter's bits, like the portable
//! paths the host tests check.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
use common::*;
use tmlc_ir::*;

/// Runs `g` on the M4 and on the host for `seeds` inputs; both must equal
/// the interpreter.
fn check_m4(g: &Graph, seeds: u64) {
    tmlc_ir::verify(g).unwrap();
    let a = check_host(g, seeds, false);
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path(), &a);
    for seed in 0..seeds {
        let ins = sample_inputs(g, seed);
        let want = tmlc_interp::run(g, &ins).unwrap();
        let (got, _) = run_m4(dir.path(), "m", g, &ins, false);
        compare(g, &want, &got, &format!("m4 seed {seed}"));
    }
}

#[test]
fn m4_int8_network() {
    // A small MobileNet-like block: conv 3x3 s2 (im2col), depthwise 3x3,
    // 1x1 expand/project, add, mean, fully connected, softmax.
    let mut b = B::new(1);
    let x = b.qin(&[1, 15, 13, 3], 0.02, -5);
    let w0 = b.qw(&[16, 3, 3, 3], true);
    let b0 = b.bias(16);
    let c0 = b.op(
        conv([2, 2], [1, 1, 1, 1], 1, Activation::Relu6),
        &[x, w0, b0],
        qt(0.05, -128),
    );
    let wd = b.qw(&[16, 3, 3, 1], true);
    let bd = b.bias(16);
    let d1 = b.op(
        conv([1, 1], [1, 1, 1, 1], 16, Activation::Relu6),
        &[c0, wd, bd],
        qt(0.04, -128),
    );
    let wp = b.qw(&[13, 1, 1, 16], true);
    let bp = b.bias(13);
    let p1 = b.op(
        conv([1, 1], [0; 4], 1, Activation::None),
        &[d1, wp, bp],
        qt(0.06, 3),
    );
    let we = b.qw(&[13, 1, 1, 16], false);
    let p2 = b.op(
        conv([1, 1], [0; 4], 1, Activation::None),
        &[c0, we],
        qt(0.05, -2),
    );
    let s = b.op(
        Op::Add(BinaryAttrs {
            act: Activation::None,
        }),
        &[p1, p2],
        qt(0.08, 1),
    );
    let wd2 = b.qw(&[13, 3, 3, 1], true);
    let d2 = b.op(
        conv([2, 2], [0, 0, 1, 1], 13, Activation::Relu),
        &[s, wd2],
        qt(0.05, -128),
    );
    let m = b.op(
        Op::Mean(MeanAttrs {
            axes: vec![1, 2],
            keep_dims: false,
        }),
        &[d2],
        qt(0.03, -100),
    );
    let wf = b.qw(&[10, 13], false);
    let bf = b.bias(10);
    let f = b.op(
        Op::FullyConnected(FullyConnectedAttrs {
            keep_dims: false,
            act: Activation::None,
            ..Default::default()
        }),
        &[m, wf, bf],
        qt(0.1, 0),
    );
    let sm = b.op(
        Op::Softmax(SoftmaxAttrs::last_axis(1.0)),
        &[f],
        qt(1.0 / 256.0, -128),
    );
    let g = b.out(&[sm, s]);
    check_m4(&g, 2);
}

#[test]
fn m4_int8_kernels_edge_shapes() {
    // Odd row counts and channel tails in the matrix product, depthwise
    // channel tails and multipliers, grouped conv, pools, LUTs.
    let mut b = B::new(2);
    let x = b.qin(&[1, 5, 7, 11], 0.05, 7);
    let w1 = b.qw(&[7, 1, 1, 11], true);
    // A multiplier above 1: the exact (slow) requantisation on the DSP path.
    let c1 = b.op(
        conv([1, 1], [0; 4], 1, Activation::None),
        &[x, w1],
        qt(0.0001, 0),
    );
    let w2 = b.qw(&[22, 3, 3, 1], true);
    let b2 = b.bias(22);
    let d = b.op(
        conv([1, 2], [1, 1, 1, 1], 11, Activation::None),
        &[x, w2, b2],
        qt(0.05, -3),
    );
    let w3 = b.qw(&[6, 2, 2, 7], false);
    let c3 = b.op(
        conv([1, 1], [1, 0, 0, 1], 1, Activation::Relu),
        &[c1, w3],
        qt(0.05, -128),
    );
    let mut pa = Pool2dAttrs::new([2, 2]);
    pa.stride = [2, 2];
    let mp = b.op(Op::MaxPool2d(pa.clone()), &[c3], qt(0.05, -128));
    let ap = b.op(Op::AvgPool2d(pa), &[d], qt(0.05, -3));
    let sg = b.op(Op::Sigmoid, &[ap], qt(1.0 / 256.0, -128));
    let wf = b.qw(&[9, 7 * 11], true);
    let mut rt = qt(0.05, 7);
    rt.shape = vec![5, 77];
    let r = b.op(
        Op::Reshape(tmlc_ir::ReshapeAttrs {
            shape: rt.shape.clone(),
        }),
        &[x],
        rt,
    );
    let f = b.op(
        Op::FullyConnected(FullyConnectedAttrs {
            keep_dims: false,
            act: Activation::Relu6,
            ..Default::default()
        }),
        &[r, wf],
        qt(0.2, -20),
    );
    let g = b.out(&[mp, sg, f]);
    check_m4(&g, 2);
}

#[test]
fn m4_int8_clamped_requant_paths() {
    // The short requantisation with an activation range narrower than int8
    // (SSUB8/SEL clamp), odd and tail k in the matrix product, and the
    // unrolled 3x3 depthwise block with a channel tail and dilation.
    let mut b = B::new(3);
    let x = b.qin(&[1, 9, 8, 14], 0.03, 4);
    let wd = b.qw(&[14, 3, 3, 1], true);
    let bd = b.bias(14);
    let d = b.op(
        conv([1, 1], [1, 1, 1, 1], 14, Activation::Relu6),
        &[x, wd, bd],
        qt(0.02, 10),
    );
    let dil = conv2d([1, 1], [2, 1], [2, 2, 1, 1], 14, Activation::Relu);
    let wd2 = b.qw(&[14, 3, 3, 1], false);
    let d2 = b.op(dil, &[x, wd2], qt(0.03, -20));
    let w1 = b.qw(&[12, 1, 1, 14], true);
    let b1 = b.bias(12);
    let c1 = b.op(
        conv([1, 1], [0; 4], 1, Activation::Relu6),
        &[d, w1, b1],
        qt(0.03, -30),
    );
    let w2 = b.qw(&[8, 1, 1, 12], true);
    let c2 = b.op(
        conv([1, 1], [0; 4], 1, Activation::Relu),
        &[c1, w2],
        qt(0.05, 5),
    );
    let g = b.out(&[c2, d2]);
    check_m4(&g, 2);
}

#[test]
fn m4_float_network() {
    let mut b = B::new(3);
    let x = b.fin(&[1, 6, 6, 3]);
    let w = b.fc(&[4, 3, 3, 3]);
    let bias = b.fc(&[4]);
    let c = b.op(
        conv([1, 1], [1, 1, 1, 1], 1, Activation::Relu),
        &[x, w, bias],
        ft(),
    );
    let mut pa = Pool2dAttrs::new([2, 2]);
    pa.stride = [2, 2];
    let p = b.op(Op::AvgPool2d(pa), &[c], ft());
    let mut rt = ft();
    rt.shape = vec![1, 36];
    let r = b.op(
        Op::Reshape(tmlc_ir::ReshapeAttrs {
            shape: rt.shape.clone(),
        }),
        &[p],
        rt,
    );
    let fw = b.fc(&[5, 36]);
    let f = b.op(
        Op::FullyConnected(FullyConnectedAttrs {
            keep_dims: false,
            act: Activation::None,
            ..Default::default()
        }),
        &[r, fw],
        ft(),
    );
    let sm = b.op(Op::Softmax(SoftmaxAttrs::last_axis(1.0)), &[f], ft());
    let q = b.op(Op::Quantize(Default::default()), &[f], qt(0.05, 3));
    let sg = b.op(Op::Sigmoid, &[f], ft());
    let th = b.op(Op::Tanh, &[f], ft());
    let dq = b.op(Op::Dequantize, &[q], ft());
    let g = b.out(&[sm, q, sg, th, dq]);
    check_m4(&g, 2);
}

#[test]
fn m4_sparse_weights() {
    // Sparse weights on the DSP path: blocks of 4 (SMLAD pairs) and of 1,
    // one and two rows at a time, fast and full requantisation.
    let mut b = B::new(3);
    let x = b.qin(&[1, 7, 6, 16], 0.05, -3);
    let w1 = b.qw(&[12, 1, 1, 16], true);
    b.sparsify(w1, 4, 3);
    let c1 = b.op(
        conv([1, 1], [0; 4], 1, Activation::Relu),
        &[x, w1],
        qt(0.05, -128),
    );
    let w2 = b.qw(&[9, 3, 3, 12], false);
    b.sparsify(w2, 1, 3);
    let c2 = b.op(
        conv([2, 2], [1, 1, 1, 1], 1, Activation::None),
        &[c1, w2],
        qt(0.0001, 4),
    );
    let w3 = b.qw(&[8, 3, 3, 12], true);
    b.sparsify(w3, 4, 2);
    let b3 = b.bias(8);
    let c3 = b.op(
        conv([1, 1], [1, 1, 1, 1], 1, Activation::Relu6),
        &[c1, w3, b3],
        qt(0.04, -20),
    );
    let mut rt = qt(0.04, -20);
    rt.shape = vec![1, 7 * 6 * 8];
    let r = b.op(
        Op::Reshape(tmlc_ir::ReshapeAttrs {
            shape: rt.shape.clone(),
        }),
        &[c3],
        rt,
    );
    let wf = b.qw(&[10, 7 * 6 * 8], true);
    b.sparsify(wf, 4, 3);
    let f = b.op(
        Op::FullyConnected(FullyConnectedAttrs::default()),
        &[r, wf],
        qt(0.1, 2),
    );
    let g = b.out(&[c2, f]);
    let a = check_host(&g, 1, false);
    let kernels: Vec<&str> = a.report.layers.iter().map(|l| l.kernel.as_str()).collect();
    assert_eq!(
        kernels,
        [
            "spmm_s8 1x4 (1x1 conv)",
            "spconv_s8 im2col 3x3 s2 1x1",
            "spconv_s8 im2col 3x3 s1 1x4",
            "alias",
            "spmm_s8 1x4"
        ]
    );
    check_m4(&g, 2);
}

#[test]
fn m4_int4_weights() {
    // 4-bit weights on the DSP path (nibbles unpacked by mask and SXTB16):
    // 1x1 direct, im2col 3x3 with a short last group, fully connected.
    let mut b = B::new(4);
    let x = b.qin(&[1, 6, 5, 16], 0.05, -3);
    let w1 = b.qw4(&[12, 1, 1, 16]);
    let c1 = b.op(
        conv([1, 1], [0; 4], 1, Activation::Relu),
        &[x, w1],
        qt(0.2, -128),
    );
    let w2 = b.qw4(&[9, 3, 3, 12]);
    let b2 = b.bias(9);
    let c2 = b.op(
        conv([2, 2], [1, 1, 1, 1], 1, Activation::None),
        &[c1, w2, b2],
        qt(0.0005, 4),
    );
    let mut rt = qt(0.2, -128);
    rt.shape = vec![1, 6 * 5 * 12];
    let r = b.op(
        Op::Reshape(tmlc_ir::ReshapeAttrs {
            shape: rt.shape.clone(),
        }),
        &[c1],
        rt,
    );
    let wf = b.qw4(&[10, 6 * 5 * 12]);
    let f = b.op(
        Op::FullyConnected(FullyConnectedAttrs::default()),
        &[r, wf],
        qt(0.5, 2),
    );
    let g = b.out(&[c2, f]);
    check_m4(&g, 2);
}
