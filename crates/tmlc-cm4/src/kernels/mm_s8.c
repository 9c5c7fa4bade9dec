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
 * step is 1 + 4 loads, 10 SXTB16 and 8 SMLAD (16 MACs). `fast` selects the
 * short requantisation (see tmlc_requant_fast), proven exact at compile
 * time. int32 sums wrap identically in both paths. */
static void tmlc_mm_s8(const int8_t *lhs, int32_t rows, int32_t lhs_stride, const int8_t *rhs,
                       int32_t n, int32_t k, const int32_t *bias, const int32_t *mult,
                       const int32_t *shift, int32_t fast, int8_t *out, int32_t out_stride,
                       int32_t zp, int32_t lo, int32_t hi) {
    const int32_t k4 = k >> 2, kt = k & 3;
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *x = lhs + r * lhs_stride;
        int8_t *o = out + r * out_stride;
        const int8_t *w = rhs;
        int32_t c = 0;
        for (; c + 4 <= n; c += 4) {
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            const int8_t *xp = x;
#if defined(__ARM_FEATURE_DSP)
            if (k4 > 0) {
                /* Hand-scheduled: 23 instructions per 16 MACs, no spills
                 * whatever surrounds the kernel after inlining. The packed
                 * weights are 4-byte aligned here (LDRD). */
                uint32_t t0, t1, t2, t3, t4;
                int32_t cnt = k4;
                __asm__ volatile(
                    "1:\n\t"
                    "ldr    %[t0], [%[xp]], #4\n\t"
                    "sxtb16 %[t1], %[t0]\n\t"
                    "sxtb16 %[t0], %[t0], ror #8\n\t"
                    "ldrd   %[t2], %[t3], [%[w]], #8\n\t"
                    "sxtb16 %[t4], %[t2]\n\t"
                    "sxtb16 %[t2], %[t2], ror #8\n\t"
                    "smlad  %[a0], %[t1], %[t4], %[a0]\n\t"
                    "smlad  %[a0], %[t0], %[t2], %[a0]\n\t"
                    "sxtb16 %[t4], %[t3]\n\t"
                    "sxtb16 %[t3], %[t3], ror #8\n\t"
                    "smlad  %[a1], %[t1], %[t4], %[a1]\n\t"
                    "smlad  %[a1], %[t0], %[t3], %[a1]\n\t"
                    "ldrd   %[t2], %[t3], [%[w]], #8\n\t"
                    "sxtb16 %[t4], %[t2]\n\t"
                    "sxtb16 %[t2], %[t2], ror #8\n\t"
                    "smlad  %[a2], %[t1], %[t4], %[a2]\n\t"
                    "smlad  %[a2], %[t0], %[t2], %[a2]\n\t"
                    "sxtb16 %[t4], %[t3]\n\t"
                    "sxtb16 %[t3], %[t3], ror #8\n\t"
                    "smlad  %[a3], %[t1], %[t4], %[a3]\n\t"
                    "smlad  %[a3], %[t0], %[t3], %[a3]\n\t"
                    "subs   %[cnt], %[cnt], #1\n\t"
                    "bne    1b\n\t"
                    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xp),
                      [w] "+r"(w), [cnt] "+r"(cnt), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2),
                      [t3] "=&r"(t3), [t4] "=&r"(t4)
                    :
                    : "cc", "memory");
            }
#else
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
            if (fast) {
                o[c] = tmlc_requant_fast(tmlc_add_wrap(a0, bias[c]), mult[c], shift[c], zp, lo, hi);
                o[c + 1] = tmlc_requant_fast(tmlc_add_wrap(a1, bias[c + 1]), mult[c + 1], shift[c + 1], zp, lo, hi);
                o[c + 2] = tmlc_requant_fast(tmlc_add_wrap(a2, bias[c + 2]), mult[c + 2], shift[c + 2], zp, lo, hi);
                o[c + 3] = tmlc_requant_fast(tmlc_add_wrap(a3, bias[c + 3]), mult[c + 3], shift[c + 3], zp, lo, hi);
            } else {
                o[c] = tmlc_requant_s8(tmlc_add_wrap(a0, bias[c]), mult[c], shift[c], zp, lo, hi);
                o[c + 1] = tmlc_requant_s8(tmlc_add_wrap(a1, bias[c + 1]), mult[c + 1], shift[c + 1], zp, lo, hi);
                o[c + 2] = tmlc_requant_s8(tmlc_add_wrap(a2, bias[c + 2]), mult[c + 2], shift[c + 2], zp, lo, hi);
                o[c + 3] = tmlc_requant_s8(tmlc_add_wrap(a3, bias[c + 3]), mult[c + 3], shift[c + 3], zp, lo, hi);
            }
        }
        for (; c < n; c++) {
            int32_t a0 = 0;
            int32_t i = 0;
#if defined(__ARM_FEATURE_DSP)
            for (; i + 4 <= k; i += 4) {
                const uint32_t xv = tmlc_load32(x + i), y0 = tmlc_load32(w + i);
                a0 = tmlc_smlad(tmlc_sxtb16(xv), tmlc_sxtb16(y0), a0);
                a0 = tmlc_smlad(tmlc_sxtb16_ror8(xv), tmlc_sxtb16_ror8(y0), a0);
            }
#endif
            for (; i < k; i++) a0 += x[i] * w[i];
            w += k;
            o[c] = fast ? tmlc_requant_fast(tmlc_add_wrap(a0, bias[c]), mult[c], shift[c], zp, lo, hi)
                        : tmlc_requant_s8(tmlc_add_wrap(a0, bias[c]), mult[c], shift[c], zp, lo, hi);
        }
    }
}
