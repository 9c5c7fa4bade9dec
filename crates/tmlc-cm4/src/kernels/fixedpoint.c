/* ---- gemmlowp fixed-point exp and reciprocal (fixedpoint.h), as the
 * reference int8 SOFTMAX uses them. Values are raw int32 Qk.(31-k). ---- */

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor series around -1/8. */
static inline int32_t tmlc_exp_quarter(int32_t a) {
    const int32_t constant_term = 1895147668; /* exp(-1/8) */
    const int32_t one_third = 715827883;
    const int32_t x = tmlc_add_wrap(a, 1 << 28);
    const int32_t x2 = tmlc_srdhm(x, x);
    const int32_t x3 = tmlc_srdhm(x2, x);
    const int32_t x4 = tmlc_srdhm(x2, x2);
    const int32_t x4_over_4 = tmlc_rdbpot(x4, 2);
    const int32_t t = tmlc_rdbpot(
        tmlc_add_wrap(tmlc_srdhm(tmlc_add_wrap(x4_over_4, x3), one_third), x2), 1);
    return tmlc_add_wrap(constant_term, tmlc_srdhm(constant_term, tmlc_add_wrap(x, t)));
}

/* exp(a) for a <= 0 with k integer bits (k <= 29); result Q0.31. */
static inline int32_t tmlc_exp_on_negative_values(int32_t a, int32_t k) {
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308,
                                      39332535,   720401,     242};
    const int32_t frac_bits = 31 - k;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod = (int32_t)((uint32_t)(a & mask) - (uint32_t)one_quarter);
    int32_t result = tmlc_exp_quarter(tmlc_sat_shl(a_mod, k));
    const int32_t remainder = (int32_t)((uint32_t)a_mod - (uint32_t)a);
    for (int32_t i = 0; i < 7; i++) {
        const int32_t exponent = i - 2;
        if (k > exponent) {
            const int32_t shift = frac_bits + exponent;
            if (remainder & (int32_t)((uint32_t)1 << shift)) result = tmlc_srdhm(result, barrel[i]);
        }
    }
    if (k > 5) {
        const int32_t clamp = -((int32_t)1 << (36 - k));
        if (a < clamp) result = 0;
    }
    if (a == 0) result = INT32_MAX;
    return result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out (3 Newton-Raphson steps). */
static inline int32_t tmlc_one_over_one_plus_x(int32_t a) {
    const int64_t sum = (int64_t)a + (int64_t)INT32_MAX;
    const int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = tmlc_add_wrap(1515870810, tmlc_srdhm(half_den, -1010580540));
    for (int32_t i = 0; i < 3; i++) {
        const int32_t hx = tmlc_srdhm(half_den, x);
        const int32_t one_minus = (int32_t)((uint32_t)((int32_t)1 << 29) - (uint32_t)hx);
        x = tmlc_add_wrap(x, tmlc_sat_shl(tmlc_srdhm(x, one_minus), 2));
    }
    return tmlc_sat_shl(x, 1);
}
