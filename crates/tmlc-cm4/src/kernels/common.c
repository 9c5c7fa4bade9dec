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
 * srdhm(acc, m) = (2*acc*m + 2^31) >> 32 (SMMULR), and with |h| <= 2^30 the
 * round-half-away-from-zero division by 2^n needs no mask. Same result as
 * tmlc_requant_s8 under those conditions. The parameters are precomputed
 * at compile time, q = (m, rz, n) with n = -shift and
 * rz = 2^(n-1) + (zp << n), and the result is saturated to int8 (SSAT) but
 * not yet clamped to the activation range: the caller clamps to [lo, hi]
 * unless lo <= -128 and hi >= 127 (lo >= -128 and hi <= 127 always, so
 * saturating first changes nothing).
 * With h = srdhm(acc, m) = (2*acc*m + 2^31) >> 32 this is
 * ((h + rz - (h < 0)) >> n), i.e. rdbpot(h, n) + zp: adding zp << n before
 * the arithmetic shift equals adding zp after it, and the compiler checked
 * that |rz| < 2^30 - 1, so with |h| <= 2^30 nothing overflows. The sign
 * test uses acc instead of h: they differ only when acc < 0 and h == 0,
 * where (rz - 1) >> n == rz >> n == zp (n >= 1). On the M4, SMMLAR
 * computes h + rz in one instruction (rz * 2^32 + 2*acc*m + 2^31) >> 32. */
static inline int32_t tmlc_requant_q(int32_t acc, const int32_t *q) {
#if defined(__ARM_FEATURE_DSP)
    int32_t h, v;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(h) : "r"(acc + acc), "r"(q[0]), "r"(q[1]));
    h = (h - (int32_t)((uint32_t)acc >> 31)) >> q[2];
    __asm__("ssat %0, #8, %1" : "=r"(v) : "r"(h));
    return v;
#else
    const int32_t h = (int32_t)(((int64_t)(acc + acc) * (int64_t)q[0] + ((int64_t)1 << 31)) >> 32);
    return tmlc_clamp_i32((h + q[1] - (int32_t)((uint32_t)acc >> 31)) >> q[2], -128, 127);
#endif
}

/* tmlc_requant_q of 4 accumulators (q: 4 consecutive triples), stored to
 * o[0..3] and clamped to [lo, hi] unless `full` (lo <= -128, hi >= 127). */
static inline void tmlc_requant4_q(int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                   const int32_t *q, int8_t *o, int full, int32_t lo, int32_t hi) {
#if defined(__ARM_FEATURE_DSP)
    if (full) {
        uint32_t t0, t1, t2, t3;
#define TMLC_RQ1(A, QOFF, OOFF)                                    \
    "ldrd   %[t0], %[t1], [%[q], #" QOFF "]\n\t"                 \
    "ldr    %[t2], [%[q], #" QOFF "+8]\n\t"                      \
    "add    %[t3], %[" A "], %[" A "]\n\t"                       \
    "smmlar %[t3], %[t3], %[t0], %[t1]\n\t"                      \
    "sub    %[t3], %[t3], %[" A "], lsr #31\n\t"                 \
    "asr    %[t3], %[t3], %[t2]\n\t"                             \
    "ssat   %[t3], #8, %[t3]\n\t"                                \
    "strb   %[t3], [%[o], #" OOFF "]\n\t"
        __asm__ volatile(TMLC_RQ1("a0", "0", "0") TMLC_RQ1("a1", "12", "1")
                             TMLC_RQ1("a2", "24", "2") TMLC_RQ1("a3", "36", "3")
                         : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)
                         : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), [q] "r"(q),
                           [o] "r"(o)
                         : "memory");
        return;
    }
    {
        /* Clamped: pack the 4 saturated bytes, clamp them with SSUB8 + SEL
         * (GE[i] is set where the exact signed difference is >= 0). */
        const uint32_t lo4 = (uint32_t)(uint8_t)lo * 0x01010101u;
        const uint32_t hi4 = (uint32_t)(uint8_t)hi * 0x01010101u;
        uint32_t t0, t1, t2, t3;
#define TMLC_RQ2(A, QOFF)                                          \
    "ldrd   %[t0], %[t1], [%[q], #" QOFF "]\n\t"                 \
    "ldr    %[t2], [%[q], #" QOFF "+8]\n\t"                      \
    "add    %[t3], %[" A "], %[" A "]\n\t"                       \
    "smmlar %[t3], %[t3], %[t0], %[t1]\n\t"                      \
    "sub    %[t3], %[t3], %[" A "], lsr #31\n\t"                 \
    "asr    %[t3], %[t3], %[t2]\n\t"                             \
    "ssat   %[" A "], #8, %[t3]\n\t"
        __asm__ volatile(TMLC_RQ2("a0", "0") TMLC_RQ2("a1", "12") TMLC_RQ2("a2", "24")
                             TMLC_RQ2("a3", "36")
                         "bfi    %[a0], %[a1], #8, #8\n\t"
                         "bfi    %[a0], %[a2], #16, #8\n\t"
                         "bfi    %[a0], %[a3], #24, #8\n\t"
                         "ssub8  %[t1], %[a0], %[lo4]\n\t"
                         "sel    %[a0], %[a0], %[lo4]\n\t"
                         "ssub8  %[t1], %[hi4], %[a0]\n\t"
                         "sel    %[a0], %[a0], %[hi4]\n\t"
                         "str    %[a0], [%[o]]\n\t"
                         : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3),
                           [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3)
                         : [q] "r"(q), [o] "r"(o), [lo4] "r"(lo4), [hi4] "r"(hi4)
                         : "memory");
#undef TMLC_RQ2
        return;
    }
#undef TMLC_RQ1
#endif
    int32_t v0 = tmlc_requant_q(a0, q), v1 = tmlc_requant_q(a1, q + 3);
    int32_t v2 = tmlc_requant_q(a2, q + 6), v3 = tmlc_requant_q(a3, q + 9);
    if (!full) {
        v0 = tmlc_clamp_i32(v0, lo, hi);
        v1 = tmlc_clamp_i32(v1, lo, hi);
        v2 = tmlc_clamp_i32(v2, lo, hi);
        v3 = tmlc_clamp_i32(v3, lo, hi);
    }
    o[0] = (int8_t)v0;
    o[1] = (int8_t)v1;
    o[2] = (int8_t)v2;
    o[3] = (int8_t)v3;
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
