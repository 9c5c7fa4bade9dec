//! gemmlowp fixed-point math (`fixedpoint/fixedpoint.h`) as TFLite Micro's
//! int8 SOFTMAX, LOGISTIC and TANH use it, plus the int16 helpers of the
//! reference int8 HARD_SWISH.
//!
//! Written from gemmlowp's definitions. A `FixedPoint<int32, k>` value is
//! represented by its raw `i32` (`k` integer bits, `31 - k` fractional bits);
//! the `k` of every argument is stated in each function's doc. Products are
//! SRDHM ([`tmlc_ir::arith::srdhm`]) of the raws, with the integer bits
//! adding up; sums and differences are plain (wrapping) int32 operations,
//! as gemmlowp's scalar `Add`/`Sub` are; `Rescale` and
//! `SaturatingRoundingMultiplyByPOT` are a saturating left shift or a
//! rounding right shift ([`sat_rounding_mul_by_pot`]).
//!
//! These functions are `pub` because the backend must derive and evaluate
//! exactly the same values.

use tmlc_ir::arith::{rdbpot, sat_shl, srdhm};

/// gemmlowp `SaturatingRoundingMultiplyByPOT<exponent>`: `x * 2^exponent`,
/// saturating for `exponent > 0`, rounding to nearest (ties away from zero)
/// for `exponent < 0`.
pub fn sat_rounding_mul_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent >= 0 {
        sat_shl(x, exponent.unsigned_abs())
    } else {
        rdbpot(x, -exponent)
    }
}

/// gemmlowp `RoundingHalfSum(a, b)`: `(a + b) / 2` rounded to nearest,
/// ties away from zero, computed in int64.
pub fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = a as i64 + b as i64;
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// `exp(a)` for `a` in `[-1/4, 0)`; argument and result Q0.31
/// (`exp_on_interval_between_negative_one_quarter_and_0_excl`): a Taylor
/// expansion around `-1/8`.
pub fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    // exp(-1/8) and 1/3 in Q0.31.
    const CONSTANT_TERM: i32 = 1895147668;
    const CONSTANT_1_OVER_3: i32 = 715827883;
    // x = a + 1/8 (1/8 is 1 << 28 in Q0.31).
    let x = a.wrapping_add(1 << 28);
    let x2 = srdhm(x, x);
    let x3 = srdhm(x2, x);
    let x4 = srdhm(x2, x2);
    let x4_over_4 = sat_rounding_mul_by_pot(x4, -2);
    let x4_over_24_plus_x3_over_6_plus_x2_over_2 = sat_rounding_mul_by_pot(
        srdhm(x4_over_4.wrapping_add(x3), CONSTANT_1_OVER_3).wrapping_add(x2),
        -1,
    );
    CONSTANT_TERM.wrapping_add(srdhm(
        CONSTANT_TERM,
        x.wrapping_add(x4_over_24_plus_x3_over_6_plus_x2_over_2),
    ))
}

/// `exp(a)` for `a <= 0` (`exp_on_negative_values`): `a` has `integer_bits`
/// integer bits (clamped to `0..=29`), the result is Q0.31. `a == 0` gives
/// `i32::MAX` (gemmlowp's `One()` of Q0.31).
pub fn exp_on_negative_values(a: i32, integer_bits: u32) -> i32 {
    let k = integer_bits.min(29) as i32;
    let frac_bits = 31 - k;
    let one_quarter = 1i32 << (frac_bits - 2);
    let mask = one_quarter - 1;
    let a_mod_quarter_minus_one_quarter = (a & mask).wrapping_sub(one_quarter);
    // Rescale<0> from `k` integer bits: a saturating left shift by `k`.
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        sat_rounding_mul_by_pot(a_mod_quarter_minus_one_quarter, k),
    );
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);
    // exp(-2^e) in Q0.31 for the barrel shifter.
    const BARREL: [(i32, i32); 7] = [
        (-2, 1672461947),
        (-1, 1302514674),
        (0, 790015084),
        (1, 290630308),
        (2, 39332535),
        (3, 720401),
        (4, 242),
    ];
    for (exponent, multiplier) in BARREL {
        if k > exponent {
            let shift = frac_bits + exponent;
            if remainder & (1i32 << shift) != 0 {
                result = srdhm(result, multiplier);
            }
        }
    }
    if k > 5 {
        // -32 in Qk.(31-k).
        let clamp = -(1i32 << (36 - k));
        if a < clamp {
            result = 0;
        }
    }
    if a == 0 {
        result = i32::MAX;
    }
    result
}

/// The three Newton-Raphson steps shared by the two divisions below: `x`
/// approximates `1 / half_denominator` in Q2.29.
fn newton_reciprocal_q2_29(half_denominator: i32) -> i32 {
    // 48/17 and -32/17 in Q2.29.
    const C48_OVER_17: i32 = 1515870810;
    const CNEG32_OVER_17: i32 = -1010580540;
    const ONE_Q2_29: i32 = 1 << 29;
    let mut x = C48_OVER_17.wrapping_add(srdhm(half_denominator, CNEG32_OVER_17));
    for _ in 0..3 {
        let half_denominator_times_x = srdhm(half_denominator, x);
        let one_minus = ONE_Q2_29.wrapping_sub(half_denominator_times_x);
        // Q2.29 * Q2.29 is Q4.27; Rescale<2> is a saturating shift left by 2.
        x = x.wrapping_add(sat_rounding_mul_by_pot(srdhm(x, one_minus), 2));
    }
    x
}

/// `1 / (1 + a)` for `a` in `[0, 1)`; argument and result Q0.31
/// (`one_over_one_plus_x_for_x_in_0_1`).
pub fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let half_denominator = rounding_half_sum(a, i32::MAX);
    let x = newton_reciprocal_q2_29(half_denominator);
    // ExactMulByPot<-1> turns Q2.29 into Q1.30 (same raw), Rescale<0>
    // shifts left by 1, saturating.
    sat_rounding_mul_by_pot(x, 1)
}

/// `(1 - a) / (1 + a)` for `a` in `[0, 1)`; argument and result Q0.31
/// (`one_minus_x_over_one_plus_x_for_x_in_0_1`).
pub fn one_minus_x_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let half_denominator = rounding_half_sum(a, i32::MAX);
    let x = newton_reciprocal_q2_29(half_denominator);
    sat_rounding_mul_by_pot(x.wrapping_sub(1 << 29), 2)
}

/// gemmlowp `logistic(a)`: `a` has `integer_bits` integer bits, the result
/// is Q0.31 (`0.5` for `a == 0`).
pub fn logistic(a: i32, integer_bits: u32) -> i32 {
    if a == 0 {
        return 1 << 30;
    }
    let abs = if a > 0 { a } else { a.wrapping_neg() };
    let positive =
        one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(abs.wrapping_neg(), integer_bits));
    if a > 0 {
        positive
    } else {
        i32::MAX.wrapping_sub(positive)
    }
}

/// gemmlowp `tanh(a)`: `a` has `integer_bits` integer bits, the result is
/// Q0.31 (`0` for `a == 0`).
pub fn tanh(a: i32, integer_bits: u32) -> i32 {
    if a == 0 {
        return 0;
    }
    let n = if a < 0 { a } else { a.wrapping_neg() };
    // neg_tanh_on_negative_values: ExactMulByPot<1> doubles the value by
    // adding an integer bit to the same raw.
    let t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1));
    if a < 0 {
        t.wrapping_neg()
    } else {
        t
    }
}

/// TFLite `GetReciprocal(x, x_integer_digits)`: for `x > 0` with
/// `x_integer_digits` integer bits, returns `(shifted_scale,
/// num_bits_over_unit)` with `shifted_scale` (Q0.31) `≈ 2^num_bits_over_unit
/// / x`.
pub fn get_reciprocal(x: i32, x_integer_digits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros();
    let num_bits_over_unit = x_integer_digits - headroom_plus_one as i32;
    let shifted = (x as u32).checked_shl(headroom_plus_one).unwrap_or(0);
    let shifted_sum_minus_one = shifted.wrapping_sub(1u32 << 31) as i32;
    (
        one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one),
        num_bits_over_unit,
    )
}

/// gemmlowp `SaturatingRoundingDoublingHighMul` on int16:
/// `(a*b + nudge) / 2^15` with C truncating division, `nudge = 2^14` for
/// `a*b >= 0` and `1 - 2^14` otherwise; `i16::MAX` for `a == b == i16::MIN`.
pub fn srdhm16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    let ab = a as i32 * b as i32;
    let nudge = if ab >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((ab + nudge) / (1 << 15)) as i16
}

/// TFLite `SaturatingDoublingHighMul` on int16 (HARD_SWISH):
/// `a*b / 2^15` with C truncating division; `i16::MAX` for
/// `a == b == i16::MIN`.
pub fn sdhm16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    ((a as i32 * b as i32) / (1 << 15)) as i16
}

/// `RoundingDivideByPOT` on an int16 value: [`tmlc_ir::arith::rdbpot`]
/// on the value widened to int32 (`n` clamped to `0..=31`). gemmlowp's
/// int16 template truncates its mask for `n >= 16`; `spec/ir.md` §4 uses
/// the int32 definition, and so does this function.
pub fn rdbpot16(x: i16, n: i32) -> i16 {
    rdbpot(x as i32, n) as i16
}

/// Saturating left shift of an int16 by `n` (TFLite's
/// `SaturatingLeftShift` in the reference HARD_SWISH).
pub fn sat_shl16(x: i16, n: u32) -> i16 {
    let v = (x as i64) << n.min(48);
    v.clamp(i16::MIN as i64, i16::MAX as i64) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(raw: i32, integer_bits: i32) -> f64 {
        raw as f64 / 2f64.powi(31 - integer_bits)
    }

    #[test]
    fn exp_matches_float() {
        for k in [0u32, 4, 5, 6, 12] {
            let mut a = 0i64;
            let step = (1i64 << 31) / 997;
            while a >= i32::MIN as i64 {
                let raw = a as i32;
                let got = q(exp_on_negative_values(raw, k), 0);
                let want = q(raw, k as i32).exp();
                assert!(
                    (got - want).abs() < 2e-7 * 8.0,
                    "k={k} a={raw}: {got} vs {want}"
                );
                a -= step;
            }
        }
        assert_eq!(exp_on_negative_values(0, 5), i32::MAX);
    }

    #[test]
    fn reciprocal_matches_float() {
        for i in 0..1000 {
            let a = (i as i64 * (i32::MAX as i64) / 1000) as i32;
            let got = q(one_over_one_plus_x_for_x_in_0_1(a), 0);
            let want = 1.0 / (1.0 + q(a, 0));
            assert!((got - want).abs() < 1e-8, "{a}: {got} vs {want}");
            let got = q(one_minus_x_over_one_plus_x_for_x_in_0_1(a), 0);
            let x = q(a, 0);
            let want = (1.0 - x) / (1.0 + x);
            assert!((got - want).abs() < 1e-8, "{a}: {got} vs {want}");
        }
    }

    #[test]
    fn logistic_and_tanh_match_float() {
        let mut a = -(15i64 << 27);
        while a < 15i64 << 27 {
            let raw = a as i32;
            let x = q(raw, 4);
            let got = q(logistic(raw, 4), 0);
            assert!((got - 1.0 / (1.0 + (-x).exp())).abs() < 1e-6, "{x}");
            let got = q(tanh(raw, 4), 0);
            assert!((got - x.tanh()).abs() < 2e-6, "{x}");
            a += 1_234_567;
        }
        assert_eq!(logistic(0, 4), 1 << 30);
        assert_eq!(tanh(0, 4), 0);
    }

    #[test]
    fn get_reciprocal_scale() {
        // x in Q12.19: shifted_scale / 2^num_bits_over_unit ~ 1 / x.
        for (raw, bits) in [(3 << 18, 0), (3 << 19, 1), (1 << 19, 0), (5 << 25, 8)] {
            let (s, b) = get_reciprocal(raw, 12);
            assert_eq!(b, bits, "{raw}");
            let x = q(raw, 12);
            assert!((q(s, 0) / 2f64.powi(b) - 1.0 / x).abs() < 1e-8, "{raw}");
        }
    }

    #[test]
    fn rounding_half_sum_ties_away() {
        assert_eq!(rounding_half_sum(1, 2), 2);
        assert_eq!(rounding_half_sum(-1, -2), -2);
        assert_eq!(rounding_half_sum(i32::MAX, i32::MAX), i32::MAX);
        assert_eq!(rounding_half_sum(0, i32::MAX), 1 << 30);
    }

    #[test]
    fn int16_helpers() {
        // 2^14 * 2^14 = 2^28 -> /2^15 = 2^13 exactly.
        assert_eq!(srdhm16(1 << 14, 1 << 14), 1 << 13);
        // Ties go towards +inf, as in the int32 SRDHM: 1.5 -> 2, -1.5 -> -1,
        // 0.5 -> 1, -0.5 -> 0.
        assert_eq!(srdhm16(3, 1 << 14), 2);
        assert_eq!(srdhm16(-3, 1 << 14), -1);
        assert_eq!(srdhm16(1, 1 << 14), 1);
        assert_eq!(srdhm16(-1, 1 << 14), 0);
        assert_eq!(srdhm16(-5, 1 << 14), -2); // -2.5 -> -2
        assert_eq!(srdhm16(i16::MIN, i16::MIN), i16::MAX);
        assert_eq!(sdhm16(3, 1 << 14), 1);
        assert_eq!(sdhm16(-3, 1 << 14), -1);
        assert_eq!(sdhm16(i16::MIN, i16::MIN), i16::MAX);
        assert_eq!(rdbpot16(5, 1), 3);
        assert_eq!(rdbpot16(-5, 1), -3);
        assert_eq!(rdbpot16(-6, 2), -2);
        assert_eq!(rdbpot16(7, 0), 7);
        assert_eq!(rdbpot16(i16::MIN, 15), -1);
        assert_eq!(rdbpot16(i16::MAX, 16), 0);
        assert_eq!(rdbpot16(-16384, 16), 0);
        assert_eq!(rdbpot16(-16385, 15), -1);
        assert_eq!(sat_shl16(20000, 1), i16::MAX);
        assert_eq!(sat_shl16(-20000, 1), i16::MIN);
        assert_eq!(sat_shl16(-3, 2), -12);
    }
}
