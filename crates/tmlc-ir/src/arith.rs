//! Fixed-point helpers of TFLite Micro's integer kernels (gemmlowp and
//! `quantization_util`), shared by the interpreter and the backend so that
//! both derive the same multipliers bit for bit. `spec/ir.md` ("Integer
//! arithmetic") states each formula.

/// `frexp`: `d = q * 2^e` with `|q|` in `[0.5, 1)`; `(0, 0)` for zero and
/// non-finite inputs.
pub fn frexp(d: f64) -> (f64, i32) {
    if d == 0.0 || !d.is_finite() {
        return (d, 0);
    }
    let bits = d.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // Subnormal: scale up first.
        let (q, e) = frexp(d * f64::powi(2.0, 64));
        return (q, e - 64);
    }
    let e = exp - 1022;
    let q = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (q, e)
}

/// `QuantizeMultiplier(d)`: `(M, e)` with `d ~= M * 2^(e - 31)`, `M` in
/// `[2^30, 2^31)` for positive `d`. Rounds half away from zero.
pub fn quantize_multiplier(d: f64) -> (i32, i32) {
    if d == 0.0 || !d.is_finite() {
        return (0, 0);
    }
    let (q, mut e) = frexp(d);
    let mut m = (q * 2147483648.0).round() as i64;
    if m == 1i64 << 31 {
        m /= 2;
        e += 1;
    }
    if e < -31 {
        return (0, 0);
    }
    (m as i32, e)
}

/// TFLite `DownScaleInt32ToInt16Multiplier`: rounds a non-negative Q31
/// multiplier to Q15 (`32767` when rounding would overflow).
pub fn downscale_multiplier_to_i16(m: i32) -> i16 {
    const ROUNDING_OFFSET: i32 = 1 << 15;
    if m >= i32::MAX - ROUNDING_OFFSET {
        return i16::MAX;
    }
    ((m + ROUNDING_OFFSET) >> 16) as i16
}

/// `SaturatingRoundingDoublingHighMul`: `floor((a*b + 2^30) / 2^31)`,
/// saturating only for `a == b == i32::MIN`.
pub fn srdhm(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    ((a as i64 * b as i64 + (1i64 << 30)) >> 31) as i32
}

/// `RoundingDivideByPOT`: `x / 2^n` rounded to nearest, ties away from zero.
pub fn rdbpot(x: i32, n: i32) -> i32 {
    let n = n.clamp(0, 31);
    let mask = ((1i64 << n) - 1) as i32;
    let rem = x & mask;
    let thr = (mask >> 1) + (x < 0) as i32;
    (x >> n) + (rem > thr) as i32
}

/// `MultiplyByQuantizedMultiplier` with double rounding (TFLite Micro's
/// default): `rdbpot(srdhm(x * 2^max(e,0), M), max(-e,0))`. The left shift
/// is an int32 multiply (wrapping, as the C code does in practice).
pub fn mbqm(x: i32, m: i32, e: i32) -> i32 {
    let left = e.clamp(0, 31);
    let right = (-e).max(0);
    rdbpot(srdhm(x.wrapping_mul(1i32 << left), m), right)
}

/// Saturating left shift of an int32 by `n` (gemmlowp `ShiftLeft` with
/// saturation), used by the fixed-point exp/logistic helpers.
pub fn sat_shl(x: i32, n: u32) -> i32 {
    let v = (x as i64) << n.min(32);
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// `round` as TFLite does for quantization: half away from zero, in f32.
pub fn round_f32(x: f32) -> f32 {
    x.round()
}

/// Quantizes a real value: `clamp(zp + round(x / scale), lo, hi)`, with the
/// division in f32 as TFLite Micro and onnxruntime do, ties rounded as
/// `round` says.
pub fn quantize_f32(round: crate::Rounding, x: f32, scale: f32, zp: i32, lo: i64, hi: i64) -> i64 {
    let q = round.round(x / scale);
    let q = if q.is_nan() { 0.0 } else { q as f64 };
    let v = (q + zp as f64).clamp(lo as f64, hi as f64);
    v as i64
}

/// The int8 clamp range of a fused activation for an output quantized with
/// `(scale, zp)` (`CalculateActivationRangeQuantized`).
pub fn activation_range_i8(act: crate::Activation, scale: f32, zp: i32) -> (i32, i32) {
    activation_range(act, scale, zp, -128, 127)
}

/// The clamp range of a fused activation in an integer range `[lo, hi]`.
pub fn activation_range(
    act: crate::Activation,
    scale: f32,
    zp: i32,
    lo: i32,
    hi: i32,
) -> (i32, i32) {
    let q = |f: f32| -> i32 {
        let r = (f / scale).round();
        let r = r.clamp(i32::MIN as f32, i32::MAX as f32) as i64;
        (zp as i64 + r).clamp(i32::MIN as i64, i32::MAX as i64) as i32
    };
    use crate::Activation::*;
    match act {
        None => (lo, hi),
        Relu => (lo.max(q(0.0)), hi),
        Relu6 => (lo.max(q(0.0)), hi.min(q(6.0))),
        ReluN1To1 => (lo.max(q(-1.0)), hi.min(q(1.0))),
        Clamp { lo: a, hi: b } => (lo.max(q(a)), hi.min(q(b))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplier_examples() {
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        // 0.75 = 0.75 * 2^0 -> M = 0.75 * 2^31
        assert_eq!(quantize_multiplier(0.75), (1610612736, 0));
        // Rounding up to 2^31 renormalises.
        let just_below_one = 1.0 - 1e-12;
        assert_eq!(quantize_multiplier(just_below_one), (1 << 30, 1));
    }

    #[test]
    fn downscale_to_q15() {
        assert_eq!(downscale_multiplier_to_i16(1 << 30), 1 << 14);
        assert_eq!(downscale_multiplier_to_i16(i32::MAX - 10), i16::MAX);
        assert_eq!(
            downscale_multiplier_to_i16((1 << 30) + (1 << 15)),
            (1 << 14) + 1
        );
    }

    #[test]
    fn srdhm_ties_go_up() {
        // a*b = 2^30 -> 0.5 -> 1 ; a*b = -2^30 -> -0.5 -> 0
        assert_eq!(srdhm(1 << 15, 1 << 15), 1);
        assert_eq!(srdhm(-(1 << 15), 1 << 15), 0);
        assert_eq!(srdhm(-(3 << 15), 1 << 15), -1); // -1.5 -> -1
        assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
    }

    #[test]
    fn rdbpot_ties_away_from_zero() {
        assert_eq!(rdbpot(1, 1), 1);
        assert_eq!(rdbpot(-1, 1), -1);
        assert_eq!(rdbpot(-3, 1), -2);
        assert_eq!(rdbpot(3, 1), 2);
        assert_eq!(rdbpot(5, 2), 1);
        assert_eq!(rdbpot(6, 2), 2);
        assert_eq!(rdbpot(-6, 2), -2);
        assert_eq!(rdbpot(7, 0), 7);
    }

    #[test]
    fn frexp_matches_definition() {
        for d in [1.0, 0.3, 1e-30, 123456.0, 5e-300] {
            let (q, e) = frexp(d);
            assert!((0.5..1.0).contains(&q), "{d}");
            assert_eq!(q * 2f64.powi(e), d);
        }
        let (q, e) = frexp(5e-310); // subnormal
        assert!((0.5..1.0).contains(&q));
        assert_eq!(e, -1027); // as C frexp
    }

    #[test]
    fn mbqm_double_rounding() {
        let (m, e) = quantize_multiplier(0.5);
        assert_eq!(mbqm(3, m, e), 2); // 1.5 -> 2
                                      // With no right shift, SRDHM's tie rule decides: -1.5 -> -1.
        assert_eq!(mbqm(-3, m, e), -1);
        // With a right shift, RDBPOT's rule decides the final tie:
        // -6 * 0.25 = -1.5: srdhm gives -3 (from -2.5), rdbpot(-3, 1) = -2.
        let (m, e) = quantize_multiplier(0.25);
        assert_eq!(mbqm(-6, m, e), -2);
        assert_eq!(mbqm(6, m, e), 2);
        assert_eq!(mbqm(-2, m, e), -1);
        let (m, e) = quantize_multiplier(2.0);
        assert_eq!(mbqm(5, m, e), 10);
    }

    #[test]
    fn activation_ranges() {
        assert_eq!(
            activation_range_i8(crate::Activation::None, 0.1, 3),
            (-128, 127)
        );
        assert_eq!(
            activation_range_i8(crate::Activation::Relu, 0.1, -5),
            (-5, 127)
        );
        assert_eq!(
            activation_range_i8(crate::Activation::Relu6, 0.1, -128),
            (-128, -68)
        );
    }
}
