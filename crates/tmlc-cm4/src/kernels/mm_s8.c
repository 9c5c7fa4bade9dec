/* One group of 4 packed columns of tmlc_mm_s8: acc[j] = b[j] + sum_i x[i] * w_j[i];
 * returns w advanced past the group. Always inlined: the loop state must
 * stay in registers. */
__attribute__((always_inline)) static inline const int8_t *
tmlc_mm_dot4(const int8_t *x, const int8_t *w, int32_t k4, int32_t kt, const int32_t *b,
             int32_t acc[4]) {
    int32_t a0, a1, a2, a3;
    const int8_t *xp = x;
#if defined(__ARM_FEATURE_DSP)
    /* Hand-scheduled: 21 instructions per 16 MACs, plus 2 per 32 MACs for
     * the loop (unrolled twice); no spills whatever surrounds the kernel
     * after inlining. The packed weights and the bias are 4-byte aligned
     * here (LDRD). */
#define TMLC_MM_STEP                                   \
    "ldr    %[t0], [%[xp]], #4\n\t"                   \
    "sxtb16 %[t1], %[t0]\n\t"                         \
    "sxtb16 %[t0], %[t0], ror #8\n\t"                 \
    "ldrd   %[t2], %[t3], [%[w]], #8\n\t"             \
    "sxtb16 %[t4], %[t2]\n\t"                         \
    "sxtb16 %[t2], %[t2], ror #8\n\t"                 \
    "smlad  %[a0], %[t1], %[t4], %[a0]\n\t"           \
    "smlad  %[a0], %[t0], %[t2], %[a0]\n\t"           \
    "sxtb16 %[t4], %[t3]\n\t"                         \
    "sxtb16 %[t3], %[t3], ror #8\n\t"                 \
    "smlad  %[a1], %[t1], %[t4], %[a1]\n\t"           \
    "smlad  %[a1], %[t0], %[t3], %[a1]\n\t"           \
    "ldrd   %[t2], %[t3], [%[w]], #8\n\t"             \
    "sxtb16 %[t4], %[t2]\n\t"                         \
    "sxtb16 %[t2], %[t2], ror #8\n\t"                 \
    "smlad  %[a2], %[t1], %[t4], %[a2]\n\t"           \
    "smlad  %[a2], %[t0], %[t2], %[a2]\n\t"           \
    "sxtb16 %[t4], %[t3]\n\t"                         \
    "sxtb16 %[t3], %[t3], ror #8\n\t"                 \
    "smlad  %[a3], %[t1], %[t4], %[a3]\n\t"           \
    "smlad  %[a3], %[t0], %[t3], %[a3]\n\t"
    {
        /* One block: load the bias, an odd step if k4 is odd (LSRS puts
         * bit 0 in C and sets Z when no pair remains; the steps leave the
         * flags alone), then the pairs. */
        uint32_t t0, t1, t2, t3, t4;
        int32_t cnt = k4;
        __asm__ volatile("ldrd   %[a0], %[a1], [%[b]]\n\t"
                         "ldrd   %[a2], %[a3], [%[b], #8]\n\t"
                         "lsrs   %[cnt], %[cnt], #1\n\t"
                         "bcc    2f\n\t"
                         TMLC_MM_STEP
                         "2:\n\t"
                         "beq    3f\n\t"
                         "1:\n\t"
                         TMLC_MM_STEP TMLC_MM_STEP
                         "subs   %[cnt], %[cnt], #1\n\t"
                         "bne    1b\n\t"
                         "3:\n\t"
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),
                           [xp] "+r"(xp), [w] "+r"(w), [cnt] "+r"(cnt), [t0] "=&r"(t0),
                           [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4)
                         : [b] "r"(b)
                         : "cc", "memory");
    }
#undef TMLC_MM_STEP
#else
    a0 = b[0];
    a1 = b[1];
    a2 = b[2];
    a3 = b[3];
    for (int32_t i = 0; i < k4; i++) {
        for (int32_t t = 0; t < 4; t++) {
            const int32_t xv = xp[t];
            a0 += xv * w[t];
            a1 += xv * w[4 + t];
            a2 += xv * w[8 + t];
            a3 += xv * w[12 + t];
        }
        xp += 4;
        w += 16;
    }
#endif
    for (int32_t t = 0; t < kt; t++) {
        const int32_t xv = xp[t];
        a0 += xv * w[t];
        a1 += xv * w[kt + t];
        a2 += xv * w[2 * kt + t];
        a3 += xv * w[3 * kt + t];
    }
    w += 4 * kt;
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    return w;
}

/* One unpacked column of tmlc_mm_s8: acc + sum_i x[i] * w[i]. */
static inline int32_t tmlc_mm_dot1(const int8_t *x, const int8_t *w, int32_t k, int32_t a0) {
    int32_t i = 0;
#if defined(__ARM_FEATURE_DSP)
    for (; i + 4 <= k; i += 4) {
        const uint32_t xv = tmlc_load32(x + i), y0 = tmlc_load32(w + i);
        a0 = tmlc_smlad(tmlc_sxtb16(xv), tmlc_sxtb16(y0), a0);
        a0 = tmlc_smlad(tmlc_sxtb16_ror8(xv), tmlc_sxtb16_ror8(y0), a0);
    }
#endif
    for (; i < k; i++) a0 += x[i] * w[i];
    return a0;
}

/* tmlc_mm_s8: int8 matrix product with per-channel requantisation.
 *   out[r*out_stride + c] = clamp(mbqm(bias[c] + sum_i lhs[r*lhs_stride + i] * w[c][i]) + zp,
 *                                 lo, hi)
 * for r < rows, c < n. The input offset is folded into bias at compile time
 * (bias[c] = b[c] - zp_in * sum_i w[c][i]), so the inner loop is a plain
 * int8 dot product. The weights are packed at compile time: for each group
 * of 4 columns, the first 4*(k & ~3) bytes interleave the columns 4 bytes at
 * a time (c0[0..3] c1[0..3] c2[0..3] c3[0..3] c0[4..7] ...), followed by
 * each column's k % 4 tail bytes; the last n % 4 columns follow as plain
 * rows. One row of 4 columns per pass: with the DSP extension each 4-byte
 * step is 1 + 4 loads, 10 SXTB16 and 8 SMLAD (16 MACs). A non-null `rq`
 * selects the short requantisation (tmlc_requant_q, its (m, rz, n) per
 * column), proven exact at compile time: the accumulators then start at
 * the bias (no int32 overflow is possible). Otherwise mult/shift give the
 * full requantisation and the bias is added (wrapping) at the end. */
static void tmlc_mm_s8(const int8_t *lhs, int32_t rows, int32_t lhs_stride, const int8_t *rhs,
                       int32_t n, int32_t k, const int32_t *bias, const int32_t *mult,
                       const int32_t *shift, const int32_t *rq, int8_t *out, int32_t out_stride,
                       int32_t zp, int32_t lo, int32_t hi) {
    const int32_t k4 = k >> 2, kt = k & 3, n4 = n & ~3;
    if (rq) {
        const int full = lo <= -128 && hi >= 127;
        for (int32_t r = 0; r < rows; r++) {
            const int8_t *x = lhs + r * lhs_stride;
            int8_t *o = out + r * out_stride;
            int8_t *const o4 = o + n4;
            const int8_t *w = rhs;
            const int32_t *b = bias, *q = rq;
            while (o != o4) {
                int32_t acc[4];
                w = tmlc_mm_dot4(x, w, k4, kt, b, acc);
                tmlc_requant4_q(acc[0], acc[1], acc[2], acc[3], q, o, full, lo, hi);
                o += 4;
                b += 4;
                q += 12;
            }
            for (int32_t c = n4; c < n; c++) {
                const int32_t a0 = tmlc_mm_dot1(x, w, k, bias[c]);
                w += k;
                o[c - n4] = (int8_t)tmlc_clamp_i32(tmlc_requant_q(a0, rq + 3 * c), lo, hi);
            }
        }
        return;
    }
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *x = lhs + r * lhs_stride;
        int8_t *o = out + r * out_stride;
        const int8_t *w = rhs;
        int32_t c = 0;
        for (; c < n4; c += 4) {
            static const int32_t zero[4] = {0, 0, 0, 0};
            int32_t acc[4];
            w = tmlc_mm_dot4(x, w, k4, kt, zero, acc);
            for (int32_t j = 0; j < 4; j++)
                o[c + j] = tmlc_requant_s8(tmlc_add_wrap(acc[j], bias[c + j]), mult[c + j],
                                           shift[c + j], zp, lo, hi);
        }
        for (; c < n; c++) {
            const int32_t a0 = tmlc_mm_dot1(x, w, k, 0);
            w += k;
            o[c] = tmlc_requant_s8(tmlc_add_wrap(a0, bias[c]), mult[c], shift[c], zp, lo, hi);
        }
    }
}
