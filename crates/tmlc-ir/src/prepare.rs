//! Prepare-time parameters of the int8 kernels: multipliers, shifts, radii
//! and clamp ranges, derived from the float32 scales with exactly the
//! float/double arithmetic of TFLite Micro's `Prepare` functions
//! (`spec/ir.md` §4-5, `../shared/notes/int8-semantics.md`). Where a step
//! uses float32 instead of double, the function says so: it changes
//! multiplier bits.
//!
//! The reference interpreter and the backend both take their constants
//! from here, so they agree bit for bit. A [`Multiplier`] `(M, e)` means
//! `M * 2^(e - 31)` and is applied with [`crate::arith::mbqm`].

use crate::arith::{downscale_multiplier_to_i16, frexp, quantize_multiplier};
use crate::Quant;

/// A quantized multiplier `(M, e)`: real value `M * 2^(e - 31)`.
pub type Multiplier = (i32, i32);

/// A Prepare-time precondition on the quantization parameters does not
/// hold (TFLite Micro rejects the op).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{op}`: {reason}")]
pub struct PrepareError {
    /// Op name.
    pub op: &'static str,
    /// Which precondition fails.
    pub reason: String,
}

fn unsupported(op: &'static str, reason: String) -> PrepareError {
    PrepareError { op, reason }
}

/// `QuantizeMultiplierSmallerThanOneExp`: requires `0 < d < 1` and a
/// resulting shift `<= 0` (TFLM aborts otherwise; here it is an error).
pub fn qm_smaller_than_one(op: &'static str, d: f64) -> Result<Multiplier, PrepareError> {
    if !(d > 0.0 && d < 1.0) {
        return Err(unsupported(
            op,
            format!("multiplier {d:e} is not in (0, 1)"),
        ));
    }
    let (m, e) = quantize_multiplier(d);
    if e > 0 {
        return Err(unsupported(
            op,
            format!("multiplier {d:e} rounds to a left shift"),
        ));
    }
    Ok((m, e))
}

/// `QuantizeMultiplierGreaterThanOne`: requires `d > 1` (hence a shift
/// `>= 0`).
pub fn qm_greater_than_one(op: &'static str, d: f64) -> Result<Multiplier, PrepareError> {
    if d.is_nan() || d <= 1.0 {
        return Err(unsupported(
            op,
            format!("multiplier {d:e} is not greater than 1"),
        ));
    }
    let (m, e) = quantize_multiplier(d);
    if e < 0 {
        return Err(unsupported(
            op,
            format!("multiplier {d:e} rounds to a right shift"),
        ));
    }
    Ok((m, e))
}

/// The weight scale of output channel `c` (a per-tensor scale broadcast).
fn weight_scale(op: &'static str, w: &Quant, c: usize) -> Result<f32, PrepareError> {
    let s = if w.axis.is_none() {
        w.scale.first()
    } else {
        w.scale.get(c)
    };
    s.copied()
        .ok_or_else(|| unsupported(op, format!("no weight scale for output channel {c}")))
}

/// CONV_2D / DEPTHWISE_CONV_2D (always per channel):
/// `QM(double(s_in) * double(s_w[c]) / double(s_out))` for each of the
/// `channels` output channels; a per-tensor weight scale is broadcast.
pub fn conv_multipliers(
    s_in: f32,
    w: &Quant,
    s_out: f32,
    channels: usize,
) -> Result<Vec<Multiplier>, PrepareError> {
    per_channel_multipliers("conv2d", s_in, w, s_out, channels)
}

/// `QM(double(s_in) * double(s_w[c]) / double(s_out))` for each output
/// channel `c`.
fn per_channel_multipliers(
    op: &'static str,
    s_in: f32,
    w: &Quant,
    s_out: f32,
    channels: usize,
) -> Result<Vec<Multiplier>, PrepareError> {
    (0..channels)
        .map(|c| {
            let sw = weight_scale(op, w, c)?;
            Ok(quantize_multiplier(s_in as f64 * sw as f64 / s_out as f64))
        })
        .collect()
}

/// FULLY_CONNECTED. Per tensor: `QM(double(float32(s_in * s_w)) /
/// double(s_out))` — the product is formed in **float32**. Per channel:
/// `QM(double(s_in) * double(s_w[c]) / double(s_out))`. One entry per
/// output channel.
pub fn fully_connected_multipliers(
    s_in: f32,
    w: &Quant,
    s_out: f32,
    channels: usize,
) -> Result<Vec<Multiplier>, PrepareError> {
    if w.axis.is_none() {
        let sw = weight_scale("fully_connected", w, 0)?;
        let m = quantize_multiplier((s_in * sw) as f64 / s_out as f64);
        return Ok(vec![m; channels]);
    }
    per_channel_multipliers("fully_connected", s_in, w, s_out, channels)
}

/// Parameters of int8 ADD and SUB: inputs are shifted left by
/// `left_shift` (20), scaled by `input1` / `input2`, combined, and the
/// result scaled by `output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddSubParams {
    /// Left shift applied to both zero-point-adjusted inputs (20 for int8).
    pub left_shift: i32,
    /// Multiplier of input 1.
    pub input1: Multiplier,
    /// Multiplier of input 2.
    pub input2: Multiplier,
    /// Multiplier of the sum / difference.
    pub output: Multiplier,
}

/// ADD prepare, in double: `tw = 2 * double(max(s1, s2))`,
/// `QM<1(s1/tw)`, `QM<1(s2/tw)`, `QM<1(tw / (2^20 * double(s_out)))`.
pub fn add_params(s1: f32, s2: f32, s_out: f32) -> Result<AddSubParams, PrepareError> {
    const LEFT_SHIFT: i32 = 20;
    let tw = 2.0 * s1.max(s2) as f64;
    Ok(AddSubParams {
        left_shift: LEFT_SHIFT,
        input1: qm_smaller_than_one("add", s1 as f64 / tw)?,
        input2: qm_smaller_than_one("add", s2 as f64 / tw)?,
        output: qm_smaller_than_one("add", tw / ((1 << LEFT_SHIFT) as f64 * s_out as f64))?,
    })
}

/// SUB prepare, in **float32** (TFLM `sub_common.cc`): `tw = 2 * max(s1,
/// s2)`, `double(s1 / tw)`, `double(s2 / tw)`, `double(tw / (2^20 * s_out))`,
/// each then `QM<1`.
pub fn sub_params(s1: f32, s2: f32, s_out: f32) -> Result<AddSubParams, PrepareError> {
    const LEFT_SHIFT: i32 = 20;
    let tw = 2.0f32 * s1.max(s2);
    Ok(AddSubParams {
        left_shift: LEFT_SHIFT,
        input1: qm_smaller_than_one("sub", (s1 / tw) as f64)?,
        input2: qm_smaller_than_one("sub", (s2 / tw) as f64)?,
        output: qm_smaller_than_one("sub", (tw / ((1 << LEFT_SHIFT) as f32 * s_out)) as f64)?,
    })
}

/// MUL: `QM(double(s1) * double(s2) / double(s_out))`.
pub fn mul_multiplier(s1: f32, s2: f32, s_out: f32) -> Multiplier {
    quantize_multiplier(s1 as f64 * s2 as f64 / s_out as f64)
}

/// MATMUL: `QM(double(float32(s_a * s_b)) / double(s_out))` (product in
/// float32, as FULLY_CONNECTED per tensor).
pub fn matmul_multiplier(s_a: f32, s_b: f32, s_out: f32) -> Multiplier {
    quantize_multiplier((s_a * s_b) as f64 / s_out as f64)
}

/// Requantization (QUANTIZE int->int, RELU, RELU6, CLIP, MEAN before the
/// `1/n` adjustment): `QM(double(s_in) / double(s_out))`.
pub fn requantize_multiplier(s_in: f32, s_out: f32) -> Multiplier {
    quantize_multiplier(s_in as f64 / s_out as f64)
}

/// MEAN over `n > 0` elements (`QuantizedMeanOrSum`): starting from
/// `(M0, e0) = QM(double(s_in)/double(s_out))`, `t = min(floor(log2 n), 32,
/// 31 + e0)`, `M = int32((int64(M0) << t) / n)`, `e = e0 - t`.
pub fn mean_multiplier(s_in: f32, s_out: f32, n: usize) -> Multiplier {
    let (m0, e0) = requantize_multiplier(s_in, s_out);
    let n = (n as u64).clamp(1, i64::MAX as u64) as i64;
    let log2 = 63 - n.leading_zeros() as i32;
    let t = log2.min(32).min(31 + e0).max(0);
    let m = (((m0 as i64) << t) / n) as i32;
    (m, e0 - t)
}

/// Parameters of the int8 SOFTMAX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftmaxParams {
    /// Multiplier of `beta * s_in` into Q5.26 (applied to `x - max`).
    pub input_multiplier: i32,
    /// Its left shift (`>= 0`).
    pub input_left_shift: i32,
    /// Differences below this contribute nothing (output `-128`).
    pub diff_min: i32,
}

/// SOFTMAX prepare (`PreprocessSoftmaxScaling`, 5 integer bits):
/// `real = min(double(beta) * double(s_in) * 2^26, 2^31 - 1)`,
/// `(M, e) = QM>1(real)`, `diff_min = -floor(31 * 2^26 / 2^e)`.
pub fn softmax_params(beta: f32, s_in: f32) -> Result<SoftmaxParams, PrepareError> {
    let real = (beta as f64 * s_in as f64 * (1u64 << 26) as f64).min(((1u64 << 31) - 1) as f64);
    let (m, e) = qm_greater_than_one("softmax", real)?;
    let radius = (31.0 * (1u64 << 26) as f64 / 2f64.powi(e)).floor();
    Ok(SoftmaxParams {
        input_multiplier: m,
        input_left_shift: e,
        diff_min: -(radius.min(i32::MAX as f64) as i32),
    })
}

/// Parameters of the int8 LOGISTIC and TANH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigmoidTanhParams {
    /// Multiplier of `x - zp_in` into Q4.27.
    pub input_multiplier: i32,
    /// Its shift (`e` of `MBQM`; positive is a left shift).
    pub input_left_shift: i32,
    /// `|x - zp_in| >= radius` saturates the output.
    pub input_range_radius: i32,
}

/// LOGISTIC / TANH prepare: `(q, e) = frexp(double(s_in) * 2^27)`,
/// `M = round(q * 2^31)` (no `2^31` fix-up), `R = floor(15 * 2^27 / 2^e)`.
pub fn sigmoid_tanh_params(op: &'static str, s_in: f32) -> Result<SigmoidTanhParams, PrepareError> {
    let real = s_in as f64 * (1u64 << 27) as f64;
    let (q, e) = frexp(real);
    let m = (q * (1u64 << 31) as f64).round();
    if !(m >= 0.0 && m <= i32::MAX as f64) {
        return Err(unsupported(
            op,
            format!("input scale {s_in:e} gives multiplier {m}"),
        ));
    }
    let radius = (15.0 * (1u64 << 27) as f64 * 2f64.powi(-e)).floor();
    Ok(SigmoidTanhParams {
        input_multiplier: m as i32,
        input_left_shift: e,
        input_range_radius: radius.min(i32::MAX as f64) as i32,
    })
}

/// Parameters of the int8 LEAKY_RELU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeakyReluParams {
    /// Multiplier for `x - zp_in >= 0`.
    pub identity: Multiplier,
    /// Multiplier for `x - zp_in < 0`.
    pub alpha: Multiplier,
}

/// LEAKY_RELU prepare, products and quotients in **float32**:
/// `identity = QM(double(s_in / s_out))`,
/// `alpha = QM(double(s_in * alpha / s_out))`.
pub fn leaky_relu_params(s_in: f32, s_out: f32, alpha: f32) -> LeakyReluParams {
    LeakyReluParams {
        identity: quantize_multiplier((s_in / s_out) as f64),
        alpha: quantize_multiplier((s_in * alpha / s_out) as f64),
    }
}

/// Parameters of the int8 HARD_SWISH (int16 fixed point).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HardSwishParams {
    /// Q15 multiplier from the high-resolution input scale to the output scale.
    pub output_multiplier: i16,
    /// Its exponent (`<= 0`).
    pub output_exponent: i32,
    /// Q15 multiplier from the high-resolution input scale to the "reluish"
    /// scale (3.0 maps to 32768).
    pub reluish_multiplier: i16,
    /// Its exponent.
    pub reluish_exponent: i32,
}

/// HARD_SWISH prepare, in **float32**: `hires = s_in / 128`,
/// `output = hires / s_out`, `reluish = hires / (3 / 32768)`; each is
/// `QM(double(...))` and downscaled to Q15
/// ([`downscale_multiplier_to_i16`]). An output exponent `> 0` is
/// rejected, as TFLM does.
pub fn hard_swish_params(s_in: f32, s_out: f32) -> Result<HardSwishParams, PrepareError> {
    let hires_input_scale = (1.0f32 / 128.0) * s_in;
    let reluish_scale = 3.0f32 / 32768.0;
    let (om, oe) = quantize_multiplier((hires_input_scale / s_out) as f64);
    if oe > 0 {
        return Err(unsupported(
            "hard_swish",
            format!("output multiplier exponent {oe} > 0 (s_in {s_in:e}, s_out {s_out:e}); TFLM rejects it"),
        ));
    }
    let (rm, re) = quantize_multiplier((hires_input_scale / reluish_scale) as f64);
    Ok(HardSwishParams {
        output_multiplier: downscale_multiplier_to_i16(om),
        output_exponent: oe,
        reluish_multiplier: downscale_multiplier_to_i16(rm),
        reluish_exponent: re,
    })
}

/// `Q(f) = zp + (int32)roundf(f / s)` with the division in float32,
/// widened to int64 so that huge values saturate instead of wrapping.
fn q_bound(f: f32, s: f32, zp: i32) -> i64 {
    let r = (f / s).round();
    let r = if r.is_nan() {
        0
    } else {
        r.clamp(i64::MIN as f32, i64::MAX as f32) as i64
    };
    (zp as i64).saturating_add(r)
}

/// The int8 clamp range of RELU (`0..inf`), RELU6 (`0..6`) and CLIP
/// (`lo..hi`): `[max(-128, Q(lo)), min(127, Q(hi))]`; an infinite bound is
/// no bound.
pub fn clamp_range_i8(lo: f32, hi: f32, s_out: f32, zp_out: i32) -> (i32, i32) {
    let qmin = if lo == f32::NEG_INFINITY {
        -128
    } else {
        q_bound(lo, s_out, zp_out).max(-128)
    };
    let qmax = if hi == f32::INFINITY {
        127
    } else {
        q_bound(hi, s_out, zp_out).min(127)
    };
    (
        qmin.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        qmax.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
    )
}

/// The padding element of `pad` (spec §5.18) for result type `out`, as
/// one-element data: `value` itself for f32, quantized with the result's
/// per-tensor parameters (ties away from zero), or rounded and saturated
/// for an unquantized integer type. `None` for a per-axis quantized result.
pub fn pad_element(value: f32, out: &crate::TensorType) -> Option<crate::TensorData> {
    use crate::arith::quantize_f32;
    use crate::{DType, Rounding, TensorData};
    let d = out.dtype;
    Some(match (d, out.qparams()) {
        (DType::F32, _) => TensorData::F32(vec![value]),
        (DType::Bool, _) => TensorData::Bool(vec![value != 0.0]),
        (_, Some((s, zp))) => {
            let (lo, hi) = d.int_range()?;
            TensorData::from_i64(d, [quantize_f32(Rounding::HalfAway, value, s, zp, lo, hi)])
        }
        (_, None) if out.quant.is_some() => return None,
        (_, None) => {
            let (lo, hi) = d.int_range().unwrap_or((i64::MIN, i64::MAX));
            TensorData::from_i64(d, [quantize_f32(Rounding::HalfAway, value, 1.0, 0, lo, hi)])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_example_from_the_note() {
        // mobilenet_v2: 7x7 mean with equal qparams gives M = 701219150, e = -4.
        assert_eq!(mean_multiplier(0.5, 0.5, 49), (701219150, -4));
        assert_eq!(mean_multiplier(0.5, 0.5, 1), (1 << 30, 1));
    }

    #[test]
    fn softmax_prepare() {
        // beta * s_in * 2^26 = 2^26 / 16 = 2^22 -> QM = (2^30, 23), diff_min = -floor(31*2^26/2^23) = -248.
        let p = softmax_params(1.0, 1.0 / 16.0).unwrap_or(SoftmaxParams {
            input_multiplier: 0,
            input_left_shift: 0,
            diff_min: 0,
        });
        assert_eq!(
            p,
            SoftmaxParams {
                input_multiplier: 1 << 30,
                input_left_shift: 23,
                diff_min: -248
            }
        );
        assert!(softmax_params(1.0, 1e-9).is_err());
    }

    #[test]
    fn sigmoid_prepare() {
        // s_in = 1/16: 2^23 = 0.5 * 2^24 -> M = 2^30, e = 24, R = floor(15 * 2^3) = 120.
        let p = sigmoid_tanh_params("sigmoid", 1.0 / 16.0).ok();
        assert_eq!(
            p,
            Some(SigmoidTanhParams {
                input_multiplier: 1 << 30,
                input_left_shift: 24,
                input_range_radius: 120
            })
        );
    }

    #[test]
    fn add_and_sub_prepare() {
        let p = add_params(0.5, 0.25, 1.0).ok();
        assert_eq!(
            p,
            Some(AddSubParams {
                left_shift: 20,
                input1: (1 << 30, 0),
                input2: (1 << 30, -1),
                output: (1 << 30, -19)
            })
        );
        assert!(add_params(1.0, 1.0, 1e-9).is_err());
        assert!(sub_params(0.5, 0.25, 1.0).is_ok());
    }

    #[test]
    fn clamp_ranges() {
        assert_eq!(clamp_range_i8(0.0, f32::INFINITY, 0.5, -10), (-10, 127));
        assert_eq!(clamp_range_i8(0.0, 6.0, 0.5, -10), (-10, 2));
        assert_eq!(
            clamp_range_i8(f32::NEG_INFINITY, 1.0, 0.5, 120),
            (-128, 122)
        );
        assert_eq!(clamp_range_i8(-1e30, 1e30, 0.5, 0), (-128, 127));
    }
}
