//! Bit-exactness of the generated C against the reference interpreter, on
//! the host (gcc with AddressSanitizer/UBSan, through harness/host_main.c),
//! one or a few ops per graph, int8 and f32. Every model is also compiled
//! for the Cortex-M4 with -Werror.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
use common::*;
use tmlc_ir::*;

#[test]
fn conv1x1_int8() {
    for (i, (h, w, cin, cout, s, per_ch)) in [
        (4, 5, 8, 6, 1, true),
        (5, 7, 13, 5, 2, false),
        (3, 3, 16, 17, 1, true),
        (1, 1, 3, 1, 1, false),
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = B::new(i as u64);
        let x = b.qin(&[1, h, w, cin], 0.05, -3);
        let wt = b.qw(&[cout, 1, 1, cin], per_ch);
        let bias = b.bias(cout);
        // Case 3 has a multiplier above 1: the exact (slow) requantisation.
        let out_scale = if i == 3 { 0.0001 } else { 0.04 };
        let y = b.op(
            conv2d([s, s], [1, 1], [0; 4], 1, Activation::Relu6),
            &[x, wt, bias],
            qt(out_scale, -20),
        );
        let g = b.out(&[y]);
        check_host(&g, 3, i == 0);
    }
}

#[test]
fn conv_general_int8() {
    let cases = [
        // (h, w, cin, cout, kh, kw, stride, dil, pad, groups)
        (6, 6, 3, 5, 3, 3, [1, 1], [1, 1], [1, 1, 1, 1], 1),
        (9, 8, 3, 8, 3, 3, [2, 2], [1, 1], [0, 0, 1, 1], 1),
        (7, 7, 4, 6, 3, 2, [1, 2], [2, 1], [2, 0, 1, 1], 2),
        (5, 6, 1, 8, 4, 3, [2, 1], [1, 1], [1, 1, 2, 1], 1),
        (4, 4, 6, 4, 1, 1, [1, 1], [1, 1], [1, 0, 0, 1], 1),
    ];
    for (i, (h, w, cin, cout, kh, kw, s, d, p, gr)) in cases.into_iter().enumerate() {
        let mut b = B::new(10 + i as u64);
        let x = b.qin(&[1, h, w, cin], 0.02, 5);
        let wt = b.qw(&[cout, kh, kw, cin / gr], i % 2 == 0);
        let mut ops = vec![x, wt];
        if i != 1 {
            ops.push(b.bias(cout));
        }
        let y = b.op(conv2d(s, d, p, gr, Activation::None), &ops, qt(0.03, 7));
        let g = b.out(&[y]);
        check_host(&g, 2, i == 0);
    }
}

/// Weights with many zeros are stored sparse (bitmaps of blocks of 1 or 4)
/// and multiplied by `tmlc_spmm_s8`: 1x1 stride 1 directly, other
/// convolutions through `tmlc_spconv_s8`, fully connected layers with one
/// or several rows; the kernel each case must choose is checked.
#[test]
fn sparse_weights_int8() {
    let cases = [
        // (h, w, cin, cout, k, stride, pad, blk, keep 1 in, fast requant, kernel)
        (
            4,
            5,
            16,
            6,
            1,
            1,
            [0; 4],
            4,
            3,
            true,
            "spmm_s8 1x4 (1x1 conv)",
        ),
        (
            3,
            3,
            40,
            9,
            1,
            1,
            [0; 4],
            1,
            3,
            false,
            "spmm_s8 1x1 (1x1 conv)",
        ),
        (
            5,
            7,
            32,
            5,
            1,
            2,
            [0; 4],
            4,
            4,
            true,
            "spconv_s8 im2col 1x1 s2 1x4",
        ),
        (
            6,
            6,
            3,
            8,
            3,
            1,
            [1; 4],
            1,
            3,
            true,
            "spconv_s8 im2col 3x3 s1 1x1",
        ),
        (
            7,
            6,
            8,
            7,
            3,
            2,
            [0, 0, 1, 1],
            4,
            2,
            false,
            "spconv_s8 im2col 3x3 s2 1x4",
        ),
        (
            5,
            5,
            33,
            4,
            2,
            1,
            [1, 0, 0, 1],
            4,
            5,
            true,
            "spconv_s8 im2col 2x2 s1 1x4",
        ),
    ];
    for (i, (h, w, cin, cout, k, s, p, blk, keep, fast, kernel)) in cases.into_iter().enumerate() {
        let mut b = B::new(60 + i as u64);
        let x = b.qin(&[1, h, w, cin], 0.05, -3);
        let wt = b.qw(&[cout, k, k, cin], i % 2 == 0);
        b.sparsify(wt, blk, keep);
        let bias = b.bias(cout);
        let out_scale = if fast { 0.04 } else { 0.0001 };
        let y = b.op(
            conv2d([s, s], [1, 1], p, 1, Activation::Relu6),
            &[x, wt, bias],
            qt(out_scale, -20),
        );
        let g = b.out(&[y]);
        let a = check_host(&g, 3, i == 0);
        let row = &a.report.layers[0];
        assert_eq!(row.kernel, kernel, "case {i}");
        let sp = row.packed.as_ref().expect("sparse");
        assert!(4 * sp.bytes <= 3 * sp.int8_bytes, "case {i}: {sp:?}");
    }
    for (i, (batch, k, n, blk, kernel)) in [
        (1, 64, 10, 4, "spmm_s8 1x4"),
        (3, 50, 7, 1, "spmm_s8 1x1"),
        (2, 132, 5, 4, "spmm_s8 1x4"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = B::new(70 + i as u64);
        let x = b.qin(&[batch, k], 0.1, 10);
        let wt = b.qw(&[n, k], i == 1);
        b.sparsify(wt, blk, 3);
        let y = b.op(
            Op::FullyConnected(FullyConnectedAttrs::default()),
            &[x, wt],
            qt(0.08, -5),
        );
        let g = b.out(&[y]);
        let a = check_host(&g, 3, i == 0);
        assert_eq!(a.report.layers[0].kernel, kernel, "fc case {i}");
    }
}

/// 4-bit weights (`i4`), two per byte, multiplied by `tmlc_mm_s4`: 1x1
/// stride 1 directly, other convolutions through `tmlc_conv_s4`, fully
/// connected layers; row lengths with and without a short last group of
/// 8, fast and full requantisation.
#[test]
fn int4_weights() {
    let cases = [
        // (h, w, cin, cout, k, stride, pad, fast requant, kernel)
        (4, 5, 16, 6, 1, 1, [0; 4], true, "mm_s4 (1x1 conv)"),
        (3, 3, 13, 5, 1, 1, [0; 4], false, "mm_s4 (1x1 conv)"),
        (5, 7, 8, 5, 1, 2, [0; 4], true, "conv_s4 im2col 1x1 s2"),
        (6, 6, 3, 8, 3, 1, [1; 4], true, "conv_s4 im2col 3x3 s1"),
        (
            7,
            6,
            5,
            7,
            3,
            2,
            [0, 0, 1, 1],
            false,
            "conv_s4 im2col 3x3 s2",
        ),
    ];
    for (i, (h, w, cin, cout, k, s, p, fast, kernel)) in cases.into_iter().enumerate() {
        let mut b = B::new(80 + i as u64);
        let x = b.qin(&[1, h, w, cin], 0.05, -3);
        let wt = b.qw4(&[cout, k, k, cin]);
        let bias = b.bias(cout);
        let out_scale = if fast { 0.2 } else { 0.0005 };
        let y = b.op(
            conv2d([s, s], [1, 1], p, 1, Activation::Relu6),
            &[x, wt, bias],
            qt(out_scale, -20),
        );
        let g = b.out(&[y]);
        let a = check_host(&g, 3, i == 0);
        assert_eq!(a.report.layers[0].kernel, kernel, "case {i}");
    }
    for (i, (batch, k, n)) in [(1, 64, 10), (3, 21, 7), (2, 5, 3)].into_iter().enumerate() {
        let mut b = B::new(90 + i as u64);
        let x = b.qin(&[batch, k], 0.1, 10);
        let wt = b.qw4(&[n, k]);
        let y = b.op(
            Op::FullyConnected(FullyConnectedAttrs::default()),
            &[x, wt],
            qt(0.3, -5),
        );
        let g = b.out(&[y]);
        let a = check_host(&g, 3, i == 0);
        assert_eq!(a.report.layers[0].kernel, "mm_s4", "fc case {i}");
        // Two weights per byte: a row of k takes 4 * ceil(k / 8) bytes.
        let decl = format!("uint8_t m_l0_w[{}] ", n * 4 * k.div_ceil(8));
        assert!(a.c.contains(&decl), "fc case {i}: no `{decl}`");
    }
}

#[test]
fn depthwise_int8() {
    let cases = [
        // (h, w, c, dm, k, stride, pad)
        (6, 6, 8, 1, 3, 1, [1, 1, 1, 1]),
        (7, 9, 12, 1, 3, 2, [0, 0, 1, 1]),
        (5, 5, 6, 1, 3, 1, [1, 1, 1, 1]),
        (6, 5, 3, 2, 3, 1, [1, 1, 1, 1]),
        (8, 8, 16, 1, 5, 2, [2, 2, 2, 2]),
        (4, 4, 4, 1, 3, 1, [0, 0, 0, 0]),
    ];
    for (i, (h, w, c, dm, k, s, p)) in cases.into_iter().enumerate() {
        let mut b = B::new(20 + i as u64);
        let x = b.qin(&[1, h, w, c], 0.05, -7);
        let wt = b.qw(&[c * dm, k, k, 1], true);
        let bias = b.bias(c * dm);
        let y = b.op(
            conv2d([s, s], [1, 1], p, c, Activation::Relu),
            &[x, wt, bias],
            qt(0.06, -10),
        );
        let g = b.out(&[y]);
        check_host(&g, 3, i == 0);
    }
}

#[test]
fn fully_connected_int8() {
    for (i, (batch, k, n, per_ch)) in [
        (1, 16, 10, false),
        (3, 13, 7, true),
        (2, 40, 4, false),
        (1, 5, 1, true),
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = B::new(30 + i as u64);
        let x = b.qin(&[batch, k], 0.1, 10);
        let wt = b.qw(&[n, k], per_ch);
        let bias = b.bias(n);
        let y = b.op(
            Op::FullyConnected(FullyConnectedAttrs {
                keep_dims: false,
                act: Activation::Relu,
                ..Default::default()
            }),
            &[x, wt, bias],
            qt(0.08, -128),
        );
        let g = b.out(&[y]);
        check_host(&g, 3, i == 0);
    }
}

#[test]
fn binary_int8() {
    let mut b = B::new(40);
    let x = b.qin(&[1, 4, 5, 6], 0.05, -3);
    let y = b.qin(&[1, 4, 5, 6], 0.07, 4);
    let z = b.qin(&[6], 0.03, 0);
    let a = b.op(
        Op::Add(BinaryAttrs {
            act: Activation::None,
        }),
        &[x, y],
        qt(0.1, 2),
    );
    let s = b.op(
        Op::Sub(BinaryAttrs {
            act: Activation::Relu,
        }),
        &[a, z],
        qt(0.1, -5),
    );
    let m = b.op(
        Op::Mul(BinaryAttrs {
            act: Activation::None,
        }),
        &[s, x],
        qt(0.02, 1),
    );
    let k = b.qc(&[4, 1, 1], 0.04, 3);
    let m2 = b.op(
        Op::Mul(BinaryAttrs {
            act: Activation::Relu6,
        }),
        &[k, m],
        qt(0.05, -1),
    );
    let a2 = b.op(
        Op::Add(BinaryAttrs {
            act: Activation::None,
        }),
        &[m2, m2],
        qt(0.1, 0),
    );
    let g = b.out(&[a2, s]);
    check_host(&g, 3, true);
}

#[test]
fn unary_int8_luts() {
    let mut b = B::new(50);
    let x = b.qin(&[2, 3, 7], 0.05, -3);
    let ops = [
        (Op::Relu, qt(0.03, -128)),
        (Op::Relu6, qt(0.03, -100)),
        (
            Op::Clip(ClipAttrs {
                min: -1.0,
                max: 0.5,
            }),
            qt(0.01, 3),
        ),
        (Op::LeakyRelu(LeakyReluAttrs { alpha: 0.2 }), qt(0.05, 0)),
        (Op::Sigmoid, qt(1.0 / 256.0, -128)),
        (Op::Tanh, qt(1.0 / 128.0, 0)),
        (Op::HardSwish, qt(0.04, -60)),
        (Op::Quantize(Default::default()), qt(0.02, 9)),
    ];
    let mut outs = Vec::new();
    for (op, t) in ops {
        outs.push(b.op(op, &[x], t));
    }
    let g = b.out(&outs);
    check_host(&g, 2, true);
}

#[test]
fn pools_mean_softmax_int8() {
    let mut b = B::new(60);
    let x = b.qin(&[1, 7, 6, 5], 0.05, -3);
    let mut a = Pool2dAttrs::new([3, 3]);
    a.stride = [2, 2];
    a.pad = [1, 1, 1, 1];
    let mp = b.op(Op::MaxPool2d(a.clone()), &[x], qt(0.05, -3));
    let mut a2 = a.clone();
    a2.act = Activation::Relu;
    let ap = b.op(Op::AvgPool2d(a2), &[x], qt(0.05, -3));
    let mut a3 = a.clone();
    a3.count_include_pad = true;
    let ap2 = b.op(Op::AvgPool2d(a3), &[x], qt(0.05, -3));
    let me = b.op(
        Op::Mean(MeanAttrs {
            axes: vec![1, 2],
            keep_dims: true,
        }),
        &[x],
        qt(0.03, 2),
    );
    let me2 = b.op(
        Op::Mean(MeanAttrs {
            axes: vec![0, 3],
            keep_dims: false,
        }),
        &[x],
        qt(0.05, -3),
    );
    let me3 = b.op(
        Op::Mean(MeanAttrs {
            axes: vec![1],
            keep_dims: false,
        }),
        &[x],
        qt(0.02, 0),
    );
    let sm = b.op(
        Op::Softmax(SoftmaxAttrs::last_axis(1.0)),
        &[x],
        qt(1.0 / 256.0, -128),
    );
    let g = b.out(&[mp, ap, ap2, me, me2, me3, sm]);
    check_host(&g, 3, true);
}

#[test]
fn movement_int8() {
    let mut b = B::new(70);
    let x = b.qin(&[1, 4, 3, 5], 0.05, -3);
    let y = b.qin(&[1, 4, 2, 5], 0.05, -3);
    let c = b.op(
        Op::Concat(ConcatAttrs { axis: 2 }),
        &[x, y, x],
        qt(0.05, -3),
    );
    let t = b.op(
        Op::Transpose(TransposeAttrs {
            perm: vec![0, 3, 1, 2],
        }),
        &[c],
        qt(0.05, -3),
    );
    let p = b.op(
        Op::Pad(PadAttrs {
            before: vec![0, 1, 0, 2],
            after: vec![0, 0, 1, 1],
            value: 0.3,
        }),
        &[t],
        qt(0.05, -3),
    );
    let mut rt = qt(0.05, -3);
    rt.shape = vec![6, 55];
    let r = b.op(
        Op::Reshape(tmlc_ir::ReshapeAttrs {
            shape: rt.shape.clone(),
        }),
        &[p],
        rt,
    );
    let k = b.qc(&[1, 4, 1, 5], 0.05, -3);
    let c2 = b.op(Op::Concat(ConcatAttrs { axis: 2 }), &[k, y], qt(0.05, -3));
    let g = b.out(&[r, c2, x]);
    check_host(&g, 2, true);
}

#[test]
fn matmul_and_quantize() {
    let mut b = B::new(80);
    let x = b.qin(&[2, 3, 4], 0.05, -3);
    let w = b.qc(&[4, 5], 0.04, 2);
    let m = b.op(Op::MatMul, &[x, w], qt(0.1, 1));
    let y = b.qin(&[1, 5, 3], 0.05, 3);
    let m2 = b.op(Op::MatMul, &[m, y], qt(0.2, 0));
    let f = b.fin(&[3, 8]);
    let q = b.op(Op::Quantize(Default::default()), &[f], qt(0.02, -5));
    let qa = b.op(
        Op::Quantize(Default::default()),
        &[f],
        TensorType::quantized(
            DType::I8,
            vec![],
            Quant::per_axis(
                1,
                (0..8).map(|i| 0.01 + 0.003 * i as f32).collect(),
                vec![0, 1, 2, 3, -1, -2, 5, 9],
            ),
        ),
    );
    let dq = b.op(Op::Dequantize, &[qa], ft());
    let dq2 = b.op(Op::Dequantize, &[m2], ft());
    let rq = b.op(
        Op::Quantize(Default::default()),
        &[q],
        TensorType::quantized(DType::U8, vec![], Quant::per_tensor(0.03, 128)),
    );
    let rq16 = b.op(
        Op::Quantize(Default::default()),
        &[q],
        TensorType::quantized(DType::I16, vec![], Quant::per_tensor(0.001, 10)),
    );
    let rq8 = b.op(Op::Quantize(Default::default()), &[rq16], qt(0.05, -1));
    let dq16 = b.op(Op::Dequantize, &[rq16], ft());
    let g = b.out(&[m2, q, dq, dq2, rq, rq8, dq16]);
    check_host(&g, 3, true);
}

#[test]
fn float_ops() {
    let mut b = B::new(90);
    let x = b.fin(&[1, 6, 5, 4]);
    let w = b.fc(&[6, 3, 3, 2]);
    let bias = b.fc(&[6]);
    let c = b.op(
        conv2d([1, 2], [1, 1], [1, 1, 1, 0], 2, Activation::Relu6),
        &[x, w, bias],
        ft(),
    );
    let wd = b.fc(&[4, 3, 3, 1]);
    let d = b.op(
        conv2d([1, 1], [2, 1], [2, 1, 2, 1], 4, Activation::None),
        &[x, wd],
        ft(),
    );
    let mut pa = Pool2dAttrs::new([2, 3]);
    pa.pad = [1, 1, 0, 1];
    let mp = b.op(Op::MaxPool2d(pa.clone()), &[d], ft());
    pa.count_include_pad = true;
    let ap = b.op(Op::AvgPool2d(pa), &[d], ft());
    let s = b.op(
        Op::Add(BinaryAttrs {
            act: Activation::ReluN1To1,
        }),
        &[mp, ap],
        ft(),
    );
    let k = b.fc(&[4]);
    let s2 = b.op(
        Op::Sub(BinaryAttrs {
            act: Activation::None,
        }),
        &[s, k],
        ft(),
    );
    let s3 = b.op(
        Op::Mul(BinaryAttrs {
            act: Activation::Relu,
        }),
        &[s2, s],
        ft(),
    );
    let mut rt = ft();
    rt.shape = vec![6 * 5, 4];
    let r = b.op(
        Op::Reshape(tmlc_ir::ReshapeAttrs {
            shape: rt.shape.clone(),
        }),
        &[s3],
        rt,
    );
    let fw = b.fc(&[3, 4]);
    let fcv = b.op(
        Op::FullyConnected(FullyConnectedAttrs {
            keep_dims: false,
            act: Activation::None,
            ..Default::default()
        }),
        &[r, fw],
        ft(),
    );
    let sm = b.op(Op::Softmax(SoftmaxAttrs::last_axis(0.5)), &[fcv], ft());
    let g = b.out(&[c, sm]);
    check_host(&g, 2, true);
    let mut outs = vec![];
    for op in [
        Op::Relu,
        Op::Relu6,
        Op::Clip(ClipAttrs {
            min: -0.5,
            max: 1.5,
        }),
        Op::LeakyRelu(LeakyReluAttrs { alpha: 0.1 }),
        Op::Elu(EluAttrs { alpha: 0.5 }),
        Op::Sigmoid,
        Op::Tanh,
        Op::HardSwish,
    ] {
        outs.push(b.op(op, &[x], ft()));
    }
    let g = b.out(&outs);
    check_host(&g, 2, true);
    let mut outs = vec![];
    outs.push(b.op(
        Op::Mean(MeanAttrs {
            axes: vec![1, 2],
            keep_dims: false,
        }),
        &[x],
        ft(),
    ));
    let mm = b.fc(&[4, 2]);
    outs.push(b.op(Op::MatMul, &[x, mm], ft()));
    outs.push(b.op(
        Op::Transpose(TransposeAttrs {
            perm: vec![2, 0, 3, 1],
        }),
        &[x],
        ft(),
    ));
    outs.push(b.op(
        Op::Pad(PadAttrs {
            before: vec![0, 0, 1, 0],
            after: vec![1, 0, 0, 2],
            value: -1.5,
        }),
        &[x],
        ft(),
    ));
    let g = b.out(&outs);
    check_host(&g, 2, true);
}
