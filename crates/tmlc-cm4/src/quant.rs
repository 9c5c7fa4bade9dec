//! Compile-time quantization parameters: the multipliers, shifts and
//! ranges of TFLite Micro's `Prepare` functions, derived from the f32 scales
//! with exactly the float/double arithmetic `spec/ir.md` §5 states for each
//! op (the same derivations as `tmlc-interp`'s `prepare` module), using the
//! shared helpers of [`tmlc_ir::arith`].
//!
//! A multiplier `(M, e)` means `M * 2^(e - 31)`; the C helper `tmlc_mbqm`
//! applies it exactly as [`tmlc_ir::arith::mbqm`].

use tmlc_ir::arith::quantize_multiplier;
use tmlc_ir::Quant;

/// `(M, e)`.
pub(crate) type Multiplier = (i32, i32);

/// The weight scale of output channel `c` (per-tensor broadcast).
fn weight_scale(w: &Quant, c: usize) -> Option<f32> {
    if w.axis.is_none() {
        w.scale.first().copied()
    } else {
        w.scale.get(c).copied()
    }
}

/// conv2d: `QM(double(s_in) * double(s_w[c]) / double(s_out))` per channel.
pub(crate) fn conv_multipliers(
    s_in: f32,
    w: &Quant,
    s_out: f32,
    channels: usize,
) -> Option<Vec<Multiplier>> {
    (0..channels)
        .map(|c| {
            weight_scale(w, c).map(|sw| quantize_multiplier(s_in as f64 * sw as f64 / s_out as f64))
        })
        .collect()
}

/// fully_connected: per tensor `QM(double(f32(s_in * s_w)) / double(s_out))`
/// (product in f32); per channel as conv2d.
pub(crate) fn fc_multipliers(
    s_in: f32,
    w: &Quant,
    s_out: f32,
    channels: usize,
) -> Option<Vec<Multiplier>> {
    if w.axis.is_none() {
        let sw = weight_scale(w, 0)?;
        let m = quantize_multiplier((s_in * sw) as f64 / s_out as f64);
        return Some(vec![m; channels]);
    }
    conv_multipliers(s_in, w, s_out, channels)
}

/// `QuantizeMultiplierSmallerThanOneExp`: `0 < d < 1` and a shift `<= 0`.
fn qm_smaller_than_one(d: f64) -> Result<Multiplier, String> {
    if d.is_nan() || d <= 0.0 || d >= 1.0 {
        return Err(format!("multiplier {d:e} is not in (0, 1)"));
    }
    let (m, e) = quantize_multiplier(d);
    if e > 0 {
        return Err(format!("multiplier {d:e} rounds to a left shift"));
    }
    Ok((m, e))
}

/// Parameters of int8 add / sub.
pub(crate) struct AddSub {
    pub(crate) input1: Multiplier,
    pub(crate) input2: Multiplier,
    pub(crate) output: Multiplier,
}

/// The left shift applied to both inputs of add / sub.
pub(crate) const ADD_LEFT_SHIFT: i32 = 20;

/// add, in double: `tw = 2 * double(max(s1, s2))`, `QM<1(s1/tw)`,
/// `QM<1(s2/tw)`, `QM<1(tw / (2^20 * double(s_out)))`.
pub(crate) fn add_params(s1: f32, s2: f32, s_out: f32) -> Result<AddSub, String> {
    let tw = 2.0 * s1.max(s2) as f64;
    Ok(AddSub {
        input1: qm_smaller_than_one(s1 as f64 / tw)?,
        input2: qm_smaller_than_one(s2 as f64 / tw)?,
        output: qm_smaller_than_one(tw / ((1 << ADD_LEFT_SHIFT) as f64 * s_out as f64))?,
    })
}

/// sub, in **f32**: `tw = 2 * max(s1, s2)`, `double(s1 / tw)`,
/// `double(s2 / tw)`, `double(tw / (2^20 * s_out))`.
pub(crate) fn sub_params(s1: f32, s2: f32, s_out: f32) -> Result<AddSub, String> {
    let tw = 2.0f32 * s1.max(s2);
    Ok(AddSub {
        input1: qm_smaller_than_one((s1 / tw) as f64)?,
        input2: qm_smaller_than_one((s2 / tw) as f64)?,
        output: qm_smaller_than_one((tw / ((1 << ADD_LEFT_SHIFT) as f32 * s_out)) as f64)?,
    })
}

/// mul: `QM(double(s1) * double(s2) / double(s_out))`.
pub(crate) fn mul_multiplier(s1: f32, s2: f32, s_out: f32) -> Multiplier {
    quantize_multiplier(s1 as f64 * s2 as f64 / s_out as f64)
}

/// matmul: `QM(double(f32(s_a * s_b)) / double(s_out))`.
pub(crate) fn matmul_multiplier(s_a: f32, s_b: f32, s_out: f32) -> Multiplier {
    quantize_multiplier((s_a * s_b) as f64 / s_out as f64)
}

/// Requantisation: `QM(double(s_in) / double(s_out))`.
pub(crate) fn requantize_multiplier(s_in: f32, s_out: f32) -> Multiplier {
    quantize_multiplier(s_in as f64 / s_out as f64)
}

/// mean over `n >= 1` elements: `t = min(floor(log2 n), 32, 31 + e0)`,
/// `M = int32((int64(M0) << t) / n)`, `e = e0 - t`.
pub(crate) fn mean_multiplier(s_in: f32, s_out: f32, n: usize) -> Multiplier {
    let (m0, e0) = requantize_multiplier(s_in, s_out);
    let n = (n as u64).clamp(1, i64::MAX as u64) as i64;
    let log2 = 63 - n.leading_zeros() as i32;
    let t = log2.min(32).min(31 + e0).max(0);
    let m = (((m0 as i64) << t) / n) as i32;
    (m, e0 - t)
}

/// int8 softmax: `(input multiplier, input left shift, diff_min)`.
pub(crate) fn softmax_params(beta: f32, s_in: f32) -> Result<(i32, i32, i32), String> {
    let real = (beta as f64 * s_in as f64 * (1u64 << 26) as f64).min(((1u64 << 31) - 1) as f64);
    if real.partial_cmp(&1.0) != Some(std::cmp::Ordering::Greater) {
        return Err(format!("multiplier {real:e} is not greater than 1"));
    }
    let (m, e) = quantize_multiplier(real);
    if e < 0 {
        return Err(format!("multiplier {real:e} rounds to a right shift"));
    }
    let radius = (31.0 * (1u64 << 26) as f64 / 2f64.powi(e)).floor();
    Ok((m, e, -(radius.min(i32::MAX as f64) as i32)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_from_the_notes() {
        assert_eq!(mean_multiplier(0.5, 0.5, 49), (701219150, -4));
        assert_eq!(softmax_params(1.0, 1.0 / 16.0), Ok((1 << 30, 23, -248)));
        let p = add_params(0.5, 0.25, 1.0).map(|p| (p.input1, p.input2, p.output));
        assert_eq!(p, Ok(((1 << 30, 0), (1 << 30, -1), (1 << 30, -19))));
    }
}
