//! Randomized agreement between the int8 kernels and the real-valued
//! semantics: for random shapes, attributes, scales and zero points, every
//! int8 result must lie within 1 LSB of the exact real result (computed with
//! the f32 kernels on dequantized operands, or directly in f64), after the
//! same clamp. Double-rounding requantisation is off by at most 1 LSB, so a
//! larger difference means a wrong formula, index or zero-point handling.

#![allow(clippy::panic, clippy::unwrap_used)]

mod common;
use common::Rng;
use tmlc_interp::eval_op;
use tmlc_ir::{
    Activation, BinaryAttrs, Conv2dAttrs, DType, FullyConnectedAttrs, MeanAttrs, Op, Pool2dAttrs,
    Quant, SoftmaxAttrs, Tensor, TensorData, TensorType,
};

fn qi8(shape: &[usize], s: f32, zp: i32, data: Vec<i8>) -> Tensor {
    Tensor {
        ty: TensorType::quantized(DType::I8, shape, Quant::per_tensor(s, zp)),
        data: TensorData::I8(data),
    }
}

fn f32t(shape: &[usize], data: Vec<f32>) -> Tensor {
    Tensor {
        ty: TensorType::new(DType::F32, shape),
        data: TensorData::F32(data),
    }
}

/// Dequantizes an i8 tensor (per tensor or per axis 0 / last axis).
fn deq(t: &Tensor) -> Tensor {
    let q = t.ty.quant.as_ref().unwrap();
    let TensorData::I8(v) = &t.data else { panic!() };
    let stride: usize = t.ty.shape.iter().skip(q.axis.unwrap_or(0) + 1).product();
    let n = q.scale.len();
    let data = v
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let c = if n == 1 { 0 } else { (i / stride) % n };
            q.scale[c] * (x as i32 - q.zero_point[c]) as f32
        })
        .collect();
    f32t(&t.ty.shape, data)
}

fn scale(rng: &mut Rng, lo: f64, hi: f64) -> f32 {
    let u = rng.int(0, 1_000_000) as f64 / 1_000_000.0;
    (lo * (hi / lo).powf(u)) as f32
}

fn act(rng: &mut Rng) -> Activation {
    [
        Activation::None,
        Activation::Relu,
        Activation::Relu6,
        Activation::ReluN1To1,
    ][rng.int(0, 3) as usize]
}

/// Runs `op` on the int8 operands and `fop` on the f32 ones, and checks
/// every int8 output against the real result in output units.
fn check(op: &Op, q_ops: &[&Tensor], f_ops: &[&Tensor], out: &TensorType, tol: f64, what: &str) {
    let q = eval_op(op, q_ops, out).unwrap_or_else(|e| panic!("{what}: {e}"));
    let fout = TensorType::new(DType::F32, out.shape.clone());
    let f = eval_op(op, f_ops, &fout).unwrap_or_else(|e| panic!("{what}: {e}"));
    let (TensorData::I8(q), TensorData::F32(f)) = (q, f) else {
        panic!("{what}: dtypes")
    };
    let (s, zp) = out.qparams().unwrap();
    for (i, (&a, &b)) in q.iter().zip(&f).enumerate() {
        let real = (b as f64 / s as f64 + zp as f64).clamp(-128.0, 127.0);
        assert!(
            (a as f64 - real).abs() <= tol,
            "{what}: element {i}: int8 {a}, real {real}\nint8 {q:?}\nf32 {f:?}"
        );
    }
}

#[test]
fn conv2d_matches_real_semantics() {
    let mut rng = Rng::new(7);
    let mut done = 0;
    while done < 60 {
        let (h, w) = (rng.int(1, 6) as usize, rng.int(1, 6) as usize);
        let (kh, kw) = (rng.int(1, 3) as usize, rng.int(1, 3) as usize);
        let stride = [rng.int(1, 2) as usize, rng.int(1, 2) as usize];
        let dilation = [rng.int(1, 2) as usize, rng.int(1, 2) as usize];
        let pad = [0, 1, 2, 3].map(|_| rng.int(0, 2) as usize);
        let depthwise = rng.int(0, 2) == 0;
        let c_in = rng.int(1, 4) as usize;
        let groups = if depthwise {
            c_in
        } else if c_in.is_multiple_of(2) && rng.int(0, 1) == 0 {
            2
        } else {
            1
        };
        let o = groups * rng.int(1, 3) as usize;
        let ig = c_in / groups;
        let eff = |k: usize, d: usize| (k - 1) * d + 1;
        if h + pad[0] + pad[2] < eff(kh, dilation[0]) || w + pad[1] + pad[3] < eff(kw, dilation[1])
        {
            continue;
        }
        let ho = (h + pad[0] + pad[2] - eff(kh, dilation[0])) / stride[0] + 1;
        let wo = (w + pad[1] + pad[3] - eff(kw, dilation[1])) / stride[1] + 1;
        let (s_in, zp_in) = (scale(&mut rng, 0.01, 0.2), rng.int(-128, 127) as i32);
        let per_channel = rng.int(0, 1) == 0;
        let sw: Vec<f32> = (0..if per_channel { o } else { 1 })
            .map(|_| scale(&mut rng, 0.002, 0.05))
            .collect();
        let wq = if per_channel {
            Quant::per_axis(0, sw.clone(), vec![0; o])
        } else {
            Quant::per_tensor(sw[0], 0)
        };
        let k = (kh * kw * ig) as f64;
        let s_out = (s_in as f64 * sw[0] as f64 * 128.0 * 128.0 * k.sqrt()
            / scale(&mut rng, 20.0, 200.0) as f64) as f32;
        let zp_out = rng.int(-100, 100) as i32;
        let x = qi8(&[1, h, w, c_in], s_in, zp_in, rng.i8s(h * w * c_in));
        let wt = Tensor {
            ty: TensorType::quantized(DType::I8, [o, kh, kw, ig], wq),
            data: TensorData::I8(rng.i8s(o * kh * kw * ig)),
        };
        let bias: Vec<i32> = (0..o).map(|_| rng.int(-3000, 3000) as i32).collect();
        let fb: Vec<f32> = bias
            .iter()
            .enumerate()
            .map(|(c, &b)| b as f32 * s_in * sw[if per_channel { c } else { 0 }])
            .collect();
        let attrs = Conv2dAttrs {
            stride,
            dilation,
            pad,
            groups,
            act: act(&mut rng),
            ..Default::default()
        };
        let out =
            TensorType::quantized(DType::I8, [1, ho, wo, o], Quant::per_tensor(s_out, zp_out));
        let qb = Tensor {
            ty: TensorType::new(DType::I32, [o]),
            data: TensorData::I32(bias),
        };
        check(
            &Op::Conv2d(attrs.clone()),
            &[&x, &wt, &qb],
            &[&deq(&x), &deq(&wt), &f32t(&[o], fb)],
            &out,
            1.0 + 1e-3,
            &format!("conv2d {attrs:?}"),
        );
        done += 1;
    }
}

#[test]
fn fully_connected_and_matmul_match_real_semantics() {
    let mut rng = Rng::new(11);
    for case in 0..40 {
        let (b, k, n) = (
            rng.int(1, 3) as usize,
            rng.int(1, 20) as usize,
            rng.int(1, 5) as usize,
        );
        let (s_in, zp_in) = (scale(&mut rng, 0.01, 0.2), rng.int(-128, 127) as i32);
        let per_channel = case % 2 == 0;
        let sw: Vec<f32> = (0..if per_channel { n } else { 1 })
            .map(|_| scale(&mut rng, 0.002, 0.05))
            .collect();
        let wq = if per_channel {
            Quant::per_axis(0, sw.clone(), vec![0; n])
        } else {
            Quant::per_tensor(sw[0], 0)
        };
        let s_out = (s_in as f64 * sw[0] as f64 * 128.0 * 128.0 * (k as f64).sqrt() / 60.0) as f32;
        let zp_out = rng.int(-50, 50) as i32;
        let x = qi8(&[b, k], s_in, zp_in, rng.i8s(b * k));
        let w = Tensor {
            ty: TensorType::quantized(DType::I8, [n, k], wq),
            data: TensorData::I8(rng.i8s(n * k)),
        };
        let out = TensorType::quantized(DType::I8, [b, n], Quant::per_tensor(s_out, zp_out));
        let a = act(&mut rng);
        check(
            &Op::FullyConnected(FullyConnectedAttrs {
                keep_dims: false,
                act: a,
                ..Default::default()
            }),
            &[&x, &w],
            &[&deq(&x), &deq(&w)],
            &out,
            1.0 + 1e-3,
            "fully_connected",
        );
        // matmul: [b, m, k] x [k, n] with zero points on both sides.
        let m = rng.int(1, 3) as usize;
        let (sa, za) = (scale(&mut rng, 0.01, 0.2), rng.int(-128, 127) as i32);
        let (sb, zb) = (scale(&mut rng, 0.01, 0.2), rng.int(-128, 127) as i32);
        let lhs = qi8(&[b, m, k], sa, za, rng.i8s(b * m * k));
        let rhs = qi8(&[k, n], sb, zb, rng.i8s(k * n));
        let s_out = (sa as f64 * sb as f64 * 128.0 * 128.0 * (k as f64).sqrt() / 40.0) as f32;
        let out = TensorType::quantized(DType::I8, [b, m, n], Quant::per_tensor(s_out, zp_out));
        check(
            &Op::MatMul,
            &[&lhs, &rhs],
            &[&deq(&lhs), &deq(&rhs)],
            &out,
            1.0 + 1e-3,
            "matmul",
        );
    }
}

#[test]
fn binary_ops_match_real_semantics() {
    let mut rng = Rng::new(13);
    let shapes: [(&[usize], &[usize], &[usize]); 4] = [
        (&[2, 3], &[2, 3], &[2, 3]),
        (&[2, 3], &[3], &[2, 3]),
        (&[4, 1], &[1, 5], &[4, 5]),
        (&[], &[3, 2], &[3, 2]),
    ];
    for case in 0..120 {
        let (sa_shape, sb_shape, so) = shapes[case % 4];
        let na: usize = sa_shape.iter().product();
        let nb: usize = sb_shape.iter().product();
        let (sa, za) = (scale(&mut rng, 0.005, 0.5), rng.int(-128, 127) as i32);
        let (sb, zb) = (scale(&mut rng, 0.005, 0.5), rng.int(-128, 127) as i32);
        let a = qi8(sa_shape, sa, za, rng.i8s(na));
        let b = qi8(sb_shape, sb, zb, rng.i8s(nb));
        let attrs = BinaryAttrs { act: act(&mut rng) };
        let (op, s_out) = match case % 3 {
            0 => (
                Op::Add(attrs),
                (sa.max(sb) * 256.0 / scale(&mut rng, 60.0, 250.0)),
            ),
            1 => (
                Op::Sub(attrs),
                (sa.max(sb) * 256.0 / scale(&mut rng, 60.0, 250.0)),
            ),
            _ => (
                Op::Mul(attrs),
                (sa * sb * 128.0 * 128.0 / scale(&mut rng, 30.0, 250.0)),
            ),
        };
        let out = TensorType::quantized(
            DType::I8,
            so,
            Quant::per_tensor(s_out, rng.int(-60, 60) as i32),
        );
        check(
            &op,
            &[&a, &b],
            &[&deq(&a), &deq(&b)],
            &out,
            1.0 + 1e-3,
            op.name(),
        );
    }
}

#[test]
fn pools_and_mean_match_real_semantics() {
    let mut rng = Rng::new(17);
    for case in 0..40 {
        let (h, w, c) = (
            rng.int(1, 6) as usize,
            rng.int(1, 6) as usize,
            rng.int(1, 3) as usize,
        );
        let kernel = [rng.int(1, 3) as usize, rng.int(1, 3) as usize];
        let pad =
            [kernel[0], kernel[1], kernel[0], kernel[1]].map(|k| rng.int(0, k as i64 - 1) as usize);
        if h + pad[0] + pad[2] < kernel[0] || w + pad[1] + pad[3] < kernel[1] {
            continue;
        }
        let stride = [rng.int(1, 2) as usize, rng.int(1, 2) as usize];
        let ho = (h + pad[0] + pad[2] - kernel[0]) / stride[0] + 1;
        let wo = (w + pad[1] + pad[3] - kernel[1]) / stride[1] + 1;
        let q = Quant::per_tensor(scale(&mut rng, 0.01, 0.5), rng.int(-128, 127) as i32);
        let x = Tensor {
            ty: TensorType::quantized(DType::I8, [1, h, w, c], q.clone()),
            data: TensorData::I8(rng.i8s(h * w * c)),
        };
        let out = TensorType::quantized(DType::I8, [1, ho, wo, c], q.clone());
        let attrs = Pool2dAttrs {
            kernel,
            stride,
            pad,
            count_include_pad: case % 3 == 0,
            act: act(&mut rng),
        };
        // Max pool is exact up to the rounded activation bounds (Q(6) = zp +
        // round(6 / s)); avg pool rounds once, to nearest.
        let max_attrs = Pool2dAttrs {
            count_include_pad: false,
            ..attrs.clone()
        };
        check(
            &Op::MaxPool2d(max_attrs),
            &[&x],
            &[&deq(&x)],
            &out,
            0.5 + 1e-3,
            "max_pool2d",
        );
        check(
            &Op::AvgPool2d(attrs),
            &[&x],
            &[&deq(&x)],
            &out,
            0.5 + 1e-3,
            "avg_pool2d",
        );
        // mean over H and W, and over C, with other output parameters.
        let out_q = Quant::per_tensor(scale(&mut rng, 0.005, 0.5), rng.int(-100, 100) as i32);
        let m = MeanAttrs {
            axes: vec![1, 2],
            keep_dims: true,
        };
        let out = TensorType::quantized(DType::I8, [1, 1, 1, c], out_q.clone());
        check(&Op::Mean(m), &[&x], &[&deq(&x)], &out, 1.0 + 1e-3, "mean");
        let m = MeanAttrs {
            axes: vec![3],
            keep_dims: false,
        };
        let out = TensorType::quantized(DType::I8, [1, h, w], out_q);
        check(&Op::Mean(m), &[&x], &[&deq(&x)], &out, 1.0 + 1e-3, "mean");
    }
}

#[test]
fn activations_match_real_semantics() {
    let mut rng = Rng::new(19);
    let all: Vec<i8> = (-128..=127).map(|v| v as i8).collect();
    for _ in 0..30 {
        let (s_in, zp_in) = (scale(&mut rng, 0.005, 0.3), rng.int(-128, 127) as i32);
        let x = qi8(&[256], s_in, zp_in, all.clone());
        let fx = deq(&x);
        let q = |s: f32, zp: i32| TensorType::quantized(DType::I8, [256], Quant::per_tensor(s, zp));
        let s_out = s_in * scale(&mut rng, 0.5, 2.0);
        let zp_out = rng.int(-128, 127) as i32;
        for op in [
            Op::Relu,
            Op::Relu6,
            Op::Clip(tmlc_ir::ClipAttrs {
                min: -1.5,
                max: 2.25,
            }),
            Op::LeakyRelu(tmlc_ir::LeakyReluAttrs { alpha: 0.1 }),
            Op::HardSwish,
        ] {
            check(&op, &[&x], &[&fx], &q(s_out, zp_out), 1.0 + 1e-3, op.name());
        }
        check(
            &Op::Sigmoid,
            &[&x],
            &[&fx],
            &q(1.0 / 256.0, -128),
            1.0 + 1e-3,
            "sigmoid",
        );
        check(
            &Op::Tanh,
            &[&x],
            &[&fx],
            &q(1.0 / 128.0, 0),
            1.0 + 1e-3,
            "tanh",
        );
        // softmax over rows of 8 with random beta.
        let x8 = qi8(&[32, 8], s_in * 8.0, zp_in, all.clone());
        let beta = scale(&mut rng, 0.5, 2.0);
        let out = TensorType::quantized(DType::I8, [32, 8], Quant::per_tensor(1.0 / 256.0, -128));
        check(
            &Op::Softmax(SoftmaxAttrs::last_axis(beta)),
            &[&x8],
            &[&deq(&x8)],
            &out,
            1.0 + 1e-3,
            "softmax",
        );
    }
}
