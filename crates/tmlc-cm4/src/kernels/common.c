/* ---- tmlc runtime helpers: TFLite Micro's fixed-point arithmetic ---- */
/* All static inline: helpers a model does not use cost nothing. */

static inline int32_t tmlc_clamp_i32(int32_t v, int32_t lo, int32_t hi) {
    int32_t m = v < lo ? lo : v;
    return hi < m ? hi : m;
}

static inline float tmlc_clamp_f32(float v, float lo, float hi) {
    float m = v < lo ? lo : v;
    return hi < m ? hi : m;
}

/* int32 addition that wraps (two's complement), as the reference does. */
static inline int32_t tmlc_add_wrap(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* SaturatingRoundingDoublingHighMul: floor((a*b + 2^30) / 2^31). */
static inline int32_t tmlc_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* RoundingDivideByPOT: x / 2^n, rounding to nearest, ties away from zero. */
static inline int32_t tmlc_rdbpot(int32_t x, int32_t n) {
    if (n < 0) n = 0;
    if (n > 31) n = 31;
    const int32_t mask = (int32_t)(((int64_t)1 << n) - 1);
    const int32_t rem = x & mask;
    const int32_t thr = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> n) + (rem > thr ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier, double rounding (as tmlc_ir::arith::mbqm):
 * rdbpot(srdhm(x * 2^max(shift,0), m), max(-shift,0)); the left shift wraps. */
static inline int32_t tmlc_mbqm(int32_t x, int32_t m, int32_t shift) {
    const int32_t left = shift > 0 ? (shift > 31 ? 31 : shift) : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return tmlc_rdbpot(tmlc_srdhm((int32_t)((uint32_t)x << left), m), right);
}

/* Requantise an int32 accumulator to int8: clamp(mbqm(acc) + zp, lo, hi).
 * m >= 0 always (multipliers come from positive scales), so srdhm cannot
 * saturate and the check is skipped. */
static inline int8_t tmlc_requant_s8(int32_t acc, int32_t m, int32_t shift, int32_t zp,
                                     int32_t lo, int32_t hi) {
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t x = (int32_t)((uint32_t)acc << left);
    const int32_t h = (int32_t)(((int64_t)x * (int64_t)m + ((int64_t)1 << 30)) >> 31);
    const int32_t v = tmlc_add_wrap(tmlc_rdbpot(h, right), zp);
    return (int8_t)tmlc_clamp_i32(v, lo, hi);
}

/* The short requantisation, for layers where the compiler proved
 * |acc| < 2^30 for every input and shift <= -1 on every channel: then
 * srdhm(acc, m) = (2*acc*m + 2^31) >> 32 (SMMULR), and with h < 2^30 the
 * round-half-away-from-zero division by 2^n needs no mask. Same result as
 * tmlc_requant_s8 under those conditions. */
static inline int8_t tmlc_requant_fast(int32_t acc, int32_t m, int32_t shift, int32_t zp,
                                       int32_t lo, int32_t hi) {
    const int32_t n = -shift;
#if defined(__ARM_FEATURE_DSP)
    int32_t h;
    __asm__("smmulr %0, %1, %2" : "=r"(h) : "r"(acc + acc), "r"(m));
#else
    const int32_t h = (int32_t)(((int64_t)(acc + acc) * (int64_t)m + ((int64_t)1 << 31)) >> 32);
#endif
    const int32_t v = ((h + ((1 << n) >> 1) - (int32_t)((uint32_t)h >> 31)) >> n) + zp;
    return (int8_t)tmlc_clamp_i32(v, lo, hi);
}

/* Saturating left shift of an int32 by n (0 <= n < 32). */
static inline int32_t tmlc_sat_shl(int32_t x, int32_t n) {
    const int64_t v = (int64_t)x * ((int64_t)1 << n);
    return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v);
}

/* An unaligned 32-bit load (one LDR on the Cortex-M4). */
static inline uint32_t tmlc_load32(const void *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#if defined(__ARM_FEATURE_DSP)
/* DSP instructions as inline asm: GCC 12's ACLE lacks __ror and does not
 * fold the rotate into SXTB16, so these are written out. */
static inline uint32_t tmlc_sxtb16(uint32_t x) {
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}
static inline uint32_t tmlc_sxtb16_ror8(uint32_t x) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
static inline int32_t tmlc_smlad(uint32_t x, uint32_t y, int32_t acc) {
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(x), "r"(y), "r"(acc));
    return r;
}
static inline int32_t tmlc_smlabb(uint32_t x, uint32_t y, int32_t acc) {
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(x), "r"(y), "r"(acc));
    return r;
}
static inline int32_t tmlc_smlatt(uint32_t x, uint32_t y, int32_t acc) {
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(x), "r"(y), "r"(acc));
    return r;
}
static inline uint32_t tmlc_sadd16(uint32_t x, uint32_t y) {
    uint32_t r;
    __asm__("sadd16 %0, %1, %2" : "=r"(r) : "r"(x), "r"(y));
    return r;
}
static inline uint32_t tmlc_sxtab16(uint32_t acc, uint32_t x) {
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}
static inline uint32_t tmlc_sxtab16_ror8(uint32_t acc, uint32_t x) {
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}
#endif

/* Walks the outer 5 dimensions of a 6-D iteration space in row-major order,
 * keeping two operand offsets (element strides sa/sb, 0 when broadcast). */
static inline void tmlc_walk5(int32_t idx[5], const int32_t *shape, const int32_t *sa,
                              const int32_t *sb, int32_t *oa, int32_t *ob) {
    for (int32_t d = 4; d >= 0; d--) {
        idx[d]++;
        *oa += sa[d];
        *ob += sb[d];
        if (idx[d] < shape[d]) return;
        *oa -= sa[d] * shape[d];
        *ob -= sb[d] * shape[d];
        idx[d] = 0;
    }
}
