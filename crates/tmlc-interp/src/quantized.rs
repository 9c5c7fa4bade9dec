//! int8 kernels, bit-exact with TFLite Micro's reference kernels
//! (`spec/ir.md` §5 "Int8", `../shared/notes/int8-semantics.md`).
//!
//! Multipliers come from [`tmlc_ir::prepare`]; requantisation uses the shared
//! [`tmlc_ir::arith`] helpers (double-rounding `MBQM`). Accumulators are
//! int32 and wrap (the C code never saturates them; overflow cannot happen
//! on realistic shapes). Every result is clamped last, as
//! `min(max(v, lo), hi)`, and then cast to int8.
//!
//! Where the C code is undefined or aborts, this module follows
//! `spec/ir.md` or reports [`InterpError::Unsupported`]:
//! - SOFTMAX's final `RDBPOT(·, 35 - h)` uses the spec's RDBPOT, whose
//!   exponent is clamped to 31 (rows whose Q12.19 sum of exponentials
//!   reaches 2^28, i.e. hundreds of entries at the maximum, shift by more
//!   than 31 in C, which is undefined); a sum that overflows int32 is an
//!   error;
//! - HARD_SWISH's int16 `RDBPOT` uses the int32 definition (spec §4);
//! - MEAN over zero elements is an error (precondition `n >= 1`);
//! - Prepare-time preconditions (ADD/SUB multipliers below 1, SOFTMAX
//!   multiplier above 1, HARD_SWISH output exponent `<= 0`) are errors.

use crate::fixedpoint;
use crate::float::{Binary, MatMulShape};
use crate::util::{
    bias_view, broadcast_map, channel_of, clamp_i32, dim, int_range, operand, per_tensor,
    reduction, sat_i8, view, weights_view,
};
use crate::window::{ConvGeom, PoolGeom};
use crate::InterpError;
use tmlc_ir::arith::{activation_range_i8, mbqm, quantize_f32, rdbpot, srdhm};
use tmlc_ir::prepare::{self, Multiplier};
use tmlc_ir::Rounding;
use tmlc_ir::{
    Activation, Conv2dAttrs, DType, MeanAttrs, Pool2dAttrs, Quant, Tensor, TensorData, TensorType,
};

fn unsupported(op: &'static str, reason: impl Into<String>) -> InterpError {
    InterpError::Unsupported {
        op,
        reason: reason.into(),
    }
}

/// The weight quantization of conv2d / fully_connected.
fn weight_quant<'a>(w: &'a Tensor, op: &'static str) -> Result<&'a Quant, InterpError> {
    w.ty.quant
        .as_ref()
        .ok_or_else(|| unsupported(op, "int8 weights must be quantized"))
}

/// `conv2d` in int8 (per-channel multipliers; depthwise is the grouped case).
pub(crate) fn conv2d(
    a: &Conv2dAttrs,
    operands: &[&Tensor],
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    const OP: &str = "conv2d";
    let x = operand(operands, 0, OP)?;
    let w = operand(operands, 1, OP)?;
    let (s_in, zp_in) = per_tensor(&x.ty, OP, "input")?;
    let (s_out, zp_out) = per_tensor(out, OP, "result")?;
    let xs = view::<i8>(x, OP, "input")?;
    let ws = weights_view(w, OP, "filter")?;
    let bias = bias_view::<i32>(operands, OP)?;
    let geo = ConvGeom::new(a, &x.ty.shape, &w.ty.shape, &out.shape)?;
    let mults = prepare::conv_multipliers(s_in, weight_quant(w, OP)?, s_out, geo.out_channels())?;
    let (lo, hi) = activation_range_i8(a.act, s_out, zp_out);
    let off_in = zp_in.wrapping_neg();
    let v = geo.run(
        xs,
        ws,
        |_| 0i32,
        |acc, xv, wv| {
            *acc = acc.wrapping_add((wv as i32).wrapping_mul((xv as i32).wrapping_add(off_in)));
        },
        |acc, oc| requant(acc, bias, oc, &mults, zp_out, lo, hi),
    );
    Ok(TensorData::I8(v))
}

/// `acc + bias[c]`, requantised with channel `c`'s multiplier, plus the
/// output zero point, clamped.
fn requant(
    acc: i32,
    bias: Option<&[i32]>,
    c: usize,
    mults: &[Multiplier],
    zp_out: i32,
    lo: i32,
    hi: i32,
) -> i8 {
    let acc = acc.wrapping_add(bias.and_then(|b| b.get(c).copied()).unwrap_or(0));
    let (m, e) = mults.get(c).copied().unwrap_or((0, 0));
    sat_i8(clamp_i32(mbqm(acc, m, e).wrapping_add(zp_out), lo, hi))
}

/// `fully_connected` in int8.
pub(crate) fn fully_connected(
    act: Activation,
    operands: &[&Tensor],
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    const OP: &str = "fully_connected";
    let x = operand(operands, 0, OP)?;
    let w = operand(operands, 1, OP)?;
    let (s_in, zp_in) = per_tensor(&x.ty, OP, "input")?;
    let (s_out, zp_out) = per_tensor(out, OP, "result")?;
    let xs = view::<i8>(x, OP, "input")?;
    let ws = weights_view(w, OP, "weights")?;
    let bias = bias_view::<i32>(operands, OP)?;
    let n = dim(&w.ty.shape, 0, OP)?;
    let k = dim(&w.ty.shape, 1, OP)?.max(1);
    let mults = prepare::fully_connected_multipliers(s_in, weight_quant(w, OP)?, s_out, n)?;
    let (lo, hi) = activation_range_i8(act, s_out, zp_out);
    let off_in = zp_in.wrapping_neg();
    let mut v = Vec::with_capacity(xs.len() / k * n);
    for row in xs.chunks_exact(k) {
        for (c, wrow) in ws.chunks_exact(k).enumerate().take(n) {
            let mut acc = 0i32;
            for (&xv, &wv) in row.iter().zip(wrow) {
                acc = acc.wrapping_add((wv as i32).wrapping_mul((xv as i32).wrapping_add(off_in)));
            }
            v.push(requant(acc, bias, c, &mults, zp_out, lo, hi));
        }
    }
    Ok(TensorData::I8(v))
}

/// `matmul` in int8: `acc = Σ (a - z_a)(b - z_b)`, one per-tensor multiplier.
pub(crate) fn matmul(operands: &[&Tensor], out: &TensorType) -> Result<TensorData, InterpError> {
    const OP: &str = "matmul";
    let a = operand(operands, 0, OP)?;
    let b = operand(operands, 1, OP)?;
    let (s_a, zp_a) = per_tensor(&a.ty, OP, "lhs")?;
    let (s_b, zp_b) = per_tensor(&b.ty, OP, "rhs")?;
    let (s_out, zp_out) = per_tensor(out, OP, "result")?;
    let (m, e) = prepare::matmul_multiplier(s_a, s_b, s_out);
    let shape = MatMulShape::new(&a.ty.shape, &b.ty.shape, &out.shape)?;
    let v = shape.run(
        view::<i8>(a, OP, "lhs")?,
        view::<i8>(b, OP, "rhs")?,
        || 0i32,
        |acc, x, y| {
            let p = (x as i32)
                .wrapping_sub(zp_a)
                .wrapping_mul((y as i32).wrapping_sub(zp_b));
            *acc = acc.wrapping_add(p);
        },
        |acc| sat_i8(clamp_i32(mbqm(acc, m, e).wrapping_add(zp_out), -128, 127)),
    );
    Ok(TensorData::I8(v))
}

/// `add` / `sub` / `mul` in int8, broadcasting.
pub(crate) fn binary(
    kind: Binary,
    act: Activation,
    operands: &[&Tensor],
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    let op = kind.name();
    let a = operand(operands, 0, op)?;
    let b = operand(operands, 1, op)?;
    let (s1, zp1) = per_tensor(&a.ty, op, "lhs")?;
    let (s2, zp2) = per_tensor(&b.ty, op, "rhs")?;
    let (s_out, zp_out) = per_tensor(out, op, "result")?;
    let (lo, hi) = activation_range_i8(act, s_out, zp_out);
    let xs = view::<i8>(a, op, "lhs")?;
    let ys = view::<i8>(b, op, "rhs")?;
    let finish = move |v: i32| sat_i8(clamp_i32(v.wrapping_add(zp_out), lo, hi));
    let v = match kind {
        Binary::Mul => {
            let (m, e) = prepare::mul_multiplier(s1, s2, s_out);
            broadcast_map(xs, &a.ty.shape, ys, &b.ty.shape, &out.shape, |x, y| {
                let p = (x as i32)
                    .wrapping_sub(zp1)
                    .wrapping_mul((y as i32).wrapping_sub(zp2));
                finish(mbqm(p, m, e))
            })?
        }
        Binary::Div => return Err(unsupported(op, "an int8 division")),
        Binary::Add | Binary::Sub => {
            let p = if matches!(kind, Binary::Add) {
                prepare::add_params(s1, s2, s_out)?
            } else {
                prepare::sub_params(s1, s2, s_out)?
            };
            let shift = 1i32 << p.left_shift;
            let is_add = matches!(kind, Binary::Add);
            broadcast_map(xs, &a.ty.shape, ys, &b.ty.shape, &out.shape, |x, y| {
                let sx = mbqm(
                    (x as i32).wrapping_sub(zp1).wrapping_mul(shift),
                    p.input1.0,
                    p.input1.1,
                );
                let sy = mbqm(
                    (y as i32).wrapping_sub(zp2).wrapping_mul(shift),
                    p.input2.0,
                    p.input2.1,
                );
                let raw = if is_add {
                    sx.wrapping_add(sy)
                } else {
                    sx.wrapping_sub(sy)
                };
                finish(mbqm(raw, p.output.0, p.output.1))
            })?
        }
    };
    Ok(TensorData::I8(v))
}

/// `relu` / `relu6` / `clip` in int8: requantise, then clamp to the
/// quantized bounds `[lo, hi]` (real values).
pub(crate) fn clamp_op(
    op: &'static str,
    lo: f32,
    hi: f32,
    x: &Tensor,
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    let (s_in, zp_in) = per_tensor(&x.ty, op, "input")?;
    let (s_out, zp_out) = per_tensor(out, op, "result")?;
    let (m, e) = prepare::requantize_multiplier(s_in, s_out);
    let (qlo, qhi) = prepare::clamp_range_i8(lo, hi, s_out, zp_out);
    let v = view::<i8>(x, op, "input")?
        .iter()
        .map(|&x| {
            let v = zp_out.wrapping_add(mbqm((x as i32).wrapping_sub(zp_in), m, e));
            sat_i8(clamp_i32(v, qlo, qhi))
        })
        .collect();
    Ok(TensorData::I8(v))
}

/// `leaky_relu` in int8.
pub(crate) fn leaky_relu(
    alpha: f32,
    x: &Tensor,
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    const OP: &str = "leaky_relu";
    let (s_in, zp_in) = per_tensor(&x.ty, OP, "input")?;
    let (s_out, zp_out) = per_tensor(out, OP, "result")?;
    let p = prepare::leaky_relu_params(s_in, s_out, alpha);
    let v = view::<i8>(x, OP, "input")?
        .iter()
        .map(|&x| {
            let d = (x as i32).wrapping_sub(zp_in);
            let (m, e) = if d >= 0 { p.identity } else { p.alpha };
            sat_i8(clamp_i32(zp_out.wrapping_add(mbqm(d, m, e)), -128, 127))
        })
        .collect();
    Ok(TensorData::I8(v))
}

/// An int8 element-wise op defined through f32 (TFLite's table-built
/// kernels): `Quantize(f(Dequantize(x)))`, ties away from zero.
pub(crate) fn through_f32(
    op: &'static str,
    x: &Tensor,
    out: &TensorType,
    f: impl Fn(f32) -> f32,
) -> Result<TensorData, InterpError> {
    let (s_in, zp_in) = per_tensor(&x.ty, op, "input")?;
    let (s_out, zp_out) = per_tensor(out, op, "result")?;
    let v = view::<i8>(x, op, "input")?
        .iter()
        .map(|&q| {
            let real = (s_in as f64 * (q as i32 - zp_in) as f64) as f32;
            quantize_f32(Rounding::HalfAway, f(real), s_out, zp_out, -128, 127) as i8
        })
        .collect();
    Ok(TensorData::I8(v))
}

/// `sigmoid` (`is_tanh == false`) or `tanh` in int8 (gemmlowp fixed point).
pub(crate) fn sigmoid_tanh(is_tanh: bool, x: &Tensor) -> Result<TensorData, InterpError> {
    let op = if is_tanh { "tanh" } else { "sigmoid" };
    let (s_in, zp_in) = per_tensor(&x.ty, op, "input")?;
    let p = prepare::sigmoid_tanh_params(op, s_in)?;
    let r = p.input_range_radius;
    let v = view::<i8>(x, op, "input")?
        .iter()
        .map(|&x| {
            let d = (x as i32).wrapping_sub(zp_in);
            if d <= r.wrapping_neg() {
                return -128;
            }
            if d >= r {
                return 127;
            }
            let z = mbqm(d, p.input_multiplier, p.input_left_shift);
            let y = if is_tanh {
                rdbpot(fixedpoint::tanh(z, 4), 24)
            } else {
                rdbpot(fixedpoint::logistic(z, 4), 23).wrapping_sub(128)
            };
            sat_i8(clamp_i32(y, -128, 127))
        })
        .collect();
    Ok(TensorData::I8(v))
}

/// `hard_swish` in int8 (TFLM reference, int16 fixed point).
pub(crate) fn hard_swish(x: &Tensor, out: &TensorType) -> Result<TensorData, InterpError> {
    use fixedpoint::{rdbpot16, sat_shl16, sdhm16, srdhm16};
    const OP: &str = "hard_swish";
    let (s_in, zp_in) = per_tensor(&x.ty, OP, "input")?;
    let (s_out, zp_out) = per_tensor(out, OP, "result")?;
    let p = prepare::hard_swish_params(s_in, s_out)?;
    let re = p.reluish_exponent;
    let v = view::<i8>(x, OP, "input")?
        .iter()
        .map(|&x| {
            // |x - zp_in| <= 255, so both fit int16 and 128 * v does too.
            let v = (x as i32 - zp_in) as i16;
            let hires = v.wrapping_mul(128);
            let preshift = srdhm16(hires, p.output_multiplier);
            let mut reluish = hires;
            if re > 0 {
                reluish = sat_shl16(reluish, (re - 1).unsigned_abs());
            }
            reluish = srdhm16(reluish, p.reluish_multiplier);
            if re > 0 {
                reluish = sat_shl16(reluish, 1);
            }
            if re < 0 {
                reluish = rdbpot16(reluish, -re);
            }
            reluish = ((reluish as i32 + (1 << 15)) >> 1) as i16;
            let pre = sdhm16(reluish, preshift);
            // |pre| <= 32640, so adding the zero point cannot leave int16 (the C
            // code stores the sum into an int16 before clamping).
            let y = rdbpot16(pre, -p.output_exponent) as i32 + zp_out;
            sat_i8(clamp_i32(y, -128, 127))
        })
        .collect();
    Ok(TensorData::I8(v))
}

/// `max_pool2d` / `avg_pool2d` in int8 (raw values; equal quantizations).
pub(crate) fn pool2d(
    a: &Pool2dAttrs,
    is_max: bool,
    x: &Tensor,
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    let op = if is_max { "max_pool2d" } else { "avg_pool2d" };
    let (_, zp_in) = per_tensor(&x.ty, op, "input")?;
    let (s_out, zp_out) = per_tensor(out, op, "result")?;
    let (lo, hi) = activation_range_i8(a.act, s_out, zp_out);
    let geo = PoolGeom::new(a, &x.ty.shape, &out.shape, op)?;
    let full = geo.window_size();
    let xs = view::<i8>(x, op, "input")?;
    let v = geo.run(xs, |taps| {
        if is_max {
            let m = taps.iter().fold(i8::MIN, |m, &t| m.max(t));
            return Ok(sat_i8(clamp_i32(m as i32, lo, hi)));
        }
        let mut sum = taps.iter().fold(0i32, |s, &t| s.wrapping_add(t as i32));
        let n = if a.count_include_pad {
            // Each padding tap counts as z_in (real 0).
            let pad_taps = full.saturating_sub(taps.len());
            let pad_taps =
                i32::try_from(pad_taps).map_err(|_| unsupported(op, "window too large"))?;
            sum = sum.wrapping_add(pad_taps.wrapping_mul(zp_in));
            full
        } else {
            taps.len()
        };
        let n = i32::try_from(n).map_err(|_| unsupported(op, "window too large"))?;
        if n == 0 {
            return Err(unsupported(op, "a window without in-image taps"));
        }
        let avg = if sum > 0 {
            sum.wrapping_add(n / 2) / n
        } else {
            sum.wrapping_sub(n / 2) / n
        };
        Ok(sat_i8(clamp_i32(avg, lo, hi)))
    })?;
    Ok(TensorData::I8(v))
}

/// `mean` in int8 (`QuantizedMeanOrSum`).
pub(crate) fn mean(a: &MeanAttrs, x: &Tensor, out: &TensorType) -> Result<TensorData, InterpError> {
    const OP: &str = "mean";
    let (s_in, zp_in) = per_tensor(&x.ty, OP, "input")?;
    let (s_out, zp_out) = per_tensor(out, OP, "result")?;
    let xs = view::<i8>(x, OP, "input")?;
    let (slots, n, walk) = reduction(&x.ty.shape, &a.axes);
    if n == 0 {
        return Err(unsupported(
            OP,
            "int8 mean over zero elements (precondition n >= 1)",
        ));
    }
    let (m, e) = prepare::mean_multiplier(s_in, s_out, n);
    let mut sums = vec![0i32; slots];
    for (&v, o) in xs.iter().zip(walk) {
        if let Some(s) = sums.get_mut(o) {
            *s = s.wrapping_add(v as i32);
        }
    }
    let n64 = i64::try_from(n).unwrap_or(i64::MAX);
    let v = sums
        .into_iter()
        .map(|s| {
            // int64 in C (`temp_sum - zp * num_elements`), then cast to int32.
            let shifted = (s as i64).wrapping_sub((zp_in as i64).wrapping_mul(n64)) as i32;
            sat_i8(clamp_i32(
                mbqm(shifted, m, e).wrapping_add(zp_out),
                -128,
                127,
            ))
        })
        .collect();
    Ok(TensorData::I8(v))
}

/// `softmax` in int8 over the last axis (gemmlowp fixed point).
pub(crate) fn softmax(beta: f32, x: &Tensor) -> Result<TensorData, InterpError> {
    const OP: &str = "softmax";
    let (s_in, _) = per_tensor(&x.ty, OP, "input")?;
    let p = prepare::softmax_params(beta, s_in)?;
    let xs = view::<i8>(x, OP, "input")?;
    let depth = x.ty.shape.last().copied().unwrap_or(1);
    if depth == 0 {
        return Ok(TensorData::I8(Vec::new()));
    }
    // exp of a scaled difference (Q5.26 in, Q0.31 out).
    let exp_of = |d: i32| {
        let scaled = mbqm(d, p.input_multiplier, p.input_left_shift);
        fixedpoint::exp_on_negative_values(scaled, 5)
    };
    let mut out = Vec::with_capacity(xs.len());
    for row in xs.chunks_exact(depth) {
        let max = row.iter().fold(i8::MIN, |m, &v| m.max(v)) as i32;
        let mut sum = 0i32;
        for &v in row {
            let d = v as i32 - max;
            if d >= p.diff_min {
                sum = sum.checked_add(rdbpot(exp_of(d), 12)).ok_or_else(|| {
                    unsupported(
                        OP,
                        format!("the Q12.19 sum of exponentials overflows int32 (row of {depth})"),
                    )
                })?;
            }
        }
        let (r, bits_over_unit) = fixedpoint::get_reciprocal(sum, 12);
        for &v in row {
            let d = v as i32 - max;
            let y = if d >= p.diff_min {
                let unsat = rdbpot(srdhm(r, exp_of(d)), bits_over_unit + 31 - 8);
                clamp_i32(unsat.wrapping_sub(128), -128, 127)
            } else {
                -128
            };
            out.push(sat_i8(y));
        }
    }
    Ok(TensorData::I8(out))
}

/// `quantize`: f32 to a quantized integer type (per tensor or per axis), or
/// a per-tensor requantisation between quantized integer types.
pub(crate) fn quantize(
    round: Rounding,
    x: &Tensor,
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    const OP: &str = "quantize";
    let q = out
        .quant
        .as_ref()
        .ok_or_else(|| unsupported(OP, "the result must be quantized"))?;
    let (lo, hi) = int_range(out.dtype, OP)?;
    let vals: Vec<i64> = match &x.data {
        TensorData::F32(v) => {
            let chan = channel_of(&out.shape, q.axis.unwrap_or(0));
            let per_axis = q.axis.is_some();
            let mut res = Vec::with_capacity(v.len());
            for (i, &f) in v.iter().enumerate() {
                let c = if per_axis { chan(i) } else { 0 };
                let (Some(&s), Some(&zp)) = (q.scale.get(c), q.zero_point.get(c)) else {
                    return Err(unsupported(
                        OP,
                        format!("no quantization parameters for channel {c}"),
                    ));
                };
                res.push(quantize_f32(round, f, s, zp, lo, hi));
            }
            res
        }
        data => {
            let (s_in, zp_in) = per_tensor(&x.ty, OP, "input")?;
            let (s_out, zp_out) = per_tensor(out, OP, "result")?;
            if !matches!(x.ty.dtype, DType::I8 | DType::U8 | DType::I16) {
                return Err(unsupported(
                    OP,
                    format!("cannot requantize from {}", x.ty.dtype),
                ));
            }
            let (m, e) = prepare::requantize_multiplier(s_in, s_out);
            (0..data.len())
                .map(|i| {
                    let v = data.get_i64(i) as i32;
                    let r = mbqm(v.wrapping_sub(zp_in), m, e).wrapping_add(zp_out) as i64;
                    r.clamp(lo, hi)
                })
                .collect()
        }
    };
    Ok(TensorData::from_i64(out.dtype, vals))
}

/// `dequantize`: `f32(double(s[c]) * (x - z[c]))`.
pub(crate) fn dequantize(x: &Tensor) -> Result<TensorData, InterpError> {
    const OP: &str = "dequantize";
    let q =
        x.ty.quant
            .as_ref()
            .ok_or_else(|| unsupported(OP, "the operand must be quantized"))?;
    if !matches!(
        x.ty.dtype,
        DType::I8 | DType::I4 | DType::U8 | DType::I16 | DType::I32
    ) {
        return Err(unsupported(OP, format!("cannot dequantize {}", x.ty.dtype)));
    }
    let chan = channel_of(&x.ty.shape, q.axis.unwrap_or(0));
    let per_axis = q.axis.is_some();
    let mut out = Vec::with_capacity(x.data.len());
    for i in 0..x.data.len() {
        let c = if per_axis { chan(i) } else { 0 };
        let (Some(&s), Some(&zp)) = (q.scale.get(c), q.zero_point.get(c)) else {
            return Err(unsupported(
                OP,
                format!("no quantization parameters for channel {c}"),
            ));
        };
        let d = x.data.get_i64(i) - zp as i64;
        out.push((s as f64 * d as f64) as f32);
    }
    Ok(TensorData::F32(out))
}
