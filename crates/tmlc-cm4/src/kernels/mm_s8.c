/* tmlc_mm_s8: int8 matrix product with per-channel requantisation.
 *   out[r*out_stride + c] = clamp(mbqm(bias[c] + sum_k lhs[r*lhs_stride + k] * rhs[c*k + k'])
 *                                 + zp, lo, hi)
 * for r < rows, c < n. The input offset is folded into bias at compile time
 * (bias[c] = b[c] - zp_in * sum_k w[c][k]), so the inner loop is a plain
 * int8 dot product: 2 rows x 2 columns per pass, 4 k per step with SMLAD on
 * SXTB16-unpacked words when the DSP extension is there. int32 sums wrap
 * identically in both paths. */
static void tmlc_mm_s8(const int8_t *lhs, int32_t rows, int32_t lhs_stride, const int8_t *rhs,
                       int32_t n, int32_t k, const int32_t *bias, const int32_t *mult,
                       const int32_t *shift, int8_t *out, int32_t out_stride, int32_t zp,
                       int32_t lo, int32_t hi) {
    int32_t r = 0;
    for (; r + 2 <= rows; r += 2) {
        const int8_t *l0 = lhs + r * lhs_stride;
        const int8_t *l1 = l0 + lhs_stride;
        int8_t *o0 = out + r * out_stride;
        int8_t *o1 = o0 + out_stride;
        int32_t c = 0;
        for (; c + 2 <= n; c += 2) {
            const int8_t *w0 = rhs + c * k;
            const int8_t *w1 = w0 + k;
            int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
            int32_t i = 0;
#if defined(__ARM_FEATURE_DSP)
            for (; i + 4 <= k; i += 4) {
                const uint32_t x0 = tmlc_load32(l0 + i), x1 = tmlc_load32(l1 + i);
                const uint32_t y0 = tmlc_load32(w0 + i), y1 = tmlc_load32(w1 + i);
                const uint32_t x0e = tmlc_sxtb16(x0), x0o = tmlc_sxtb16_ror8(x0);
                const uint32_t x1e = tmlc_sxtb16(x1), x1o = tmlc_sxtb16_ror8(x1);
                const uint32_t y0e = tmlc_sxtb16(y0), y0o = tmlc_sxtb16_ror8(y0);
                const uint32_t y1e = tmlc_sxtb16(y1), y1o = tmlc_sxtb16_ror8(y1);
                a00 = tmlc_smlad(x0e, y0e, a00);
                a00 = tmlc_smlad(x0o, y0o, a00);
                a01 = tmlc_smlad(x0e, y1e, a01);
                a01 = tmlc_smlad(x0o, y1o, a01);
                a10 = tmlc_smlad(x1e, y0e, a10);
                a10 = tmlc_smlad(x1o, y0o, a10);
                a11 = tmlc_smlad(x1e, y1e, a11);
                a11 = tmlc_smlad(x1o, y1o, a11);
            }
#endif
            for (; i < k; i++) {
                const int32_t x0 = l0[i], x1 = l1[i], y0 = w0[i], y1 = w1[i];
                a00 += x0 * y0;
                a01 += x0 * y1;
                a10 += x1 * y0;
                a11 += x1 * y1;
            }
            const int32_t m0 = mult[c], s0 = shift[c], m1 = mult[c + 1], s1 = shift[c + 1];
            const int32_t b0 = bias[c], b1 = bias[c + 1];
            o0[c] = tmlc_requant_s8(tmlc_add_wrap(a00, b0), m0, s0, zp, lo, hi);
            o0[c + 1] = tmlc_requant_s8(tmlc_add_wrap(a01, b1), m1, s1, zp, lo, hi);
            o1[c] = tmlc_requant_s8(tmlc_add_wrap(a10, b0), m0, s0, zp, lo, hi);
            o1[c + 1] = tmlc_requant_s8(tmlc_add_wrap(a11, b1), m1, s1, zp, lo, hi);
        }
        for (; c < n; c++) {
            const int8_t *w0 = rhs + c * k;
            int32_t a0 = 0, a1 = 0;
            int32_t i = 0;
#if defined(__ARM_FEATURE_DSP)
            for (; i + 4 <= k; i += 4) {
                const uint32_t x0 = tmlc_load32(l0 + i), x1 = tmlc_load32(l1 + i);
                const uint32_t y0 = tmlc_load32(w0 + i);
                const uint32_t y0e = tmlc_sxtb16(y0), y0o = tmlc_sxtb16_ror8(y0);
                a0 = tmlc_smlad(tmlc_sxtb16(x0), y0e, a0);
                a0 = tmlc_smlad(tmlc_sxtb16_ror8(x0), y0o, a0);
                a1 = tmlc_smlad(tmlc_sxtb16(x1), y0e, a1);
                a1 = tmlc_smlad(tmlc_sxtb16_ror8(x1), y0o, a1);
            }
#endif
            for (; i < k; i++) {
                a0 += l0[i] * w0[i];
                a1 += l1[i] * w0[i];
            }
            o0[c] = tmlc_requant_s8(tmlc_add_wrap(a0, bias[c]), mult[c], shift[c], zp, lo, hi);
            o1[c] = tmlc_requant_s8(tmlc_add_wrap(a1, bias[c]), mult[c], shift[c], zp, lo, hi);
        }
    }
    for (; r < rows; r++) {
        /* One row (fully connected, or the odd last row): 4 columns per pass. */
        const int8_t *l0 = lhs + r * lhs_stride;
        int8_t *o0 = out + r * out_stride;
        int32_t c = 0;
        for (; c + 4 <= n; c += 4) {
            const int8_t *w0 = rhs + c * k;
            const int8_t *w1 = w0 + k;
            const int8_t *w2 = w1 + k;
            const int8_t *w3 = w2 + k;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            int32_t i = 0;
#if defined(__ARM_FEATURE_DSP)
            for (; i + 4 <= k; i += 4) {
                const uint32_t x0 = tmlc_load32(l0 + i);
                const uint32_t xe = tmlc_sxtb16(x0), xo = tmlc_sxtb16_ror8(x0);
                const uint32_t y0 = tmlc_load32(w0 + i), y1 = tmlc_load32(w1 + i);
                const uint32_t y2 = tmlc_load32(w2 + i), y3 = tmlc_load32(w3 + i);
                a0 = tmlc_smlad(xe, tmlc_sxtb16(y0), a0);
                a0 = tmlc_smlad(xo, tmlc_sxtb16_ror8(y0), a0);
                a1 = tmlc_smlad(xe, tmlc_sxtb16(y1), a1);
                a1 = tmlc_smlad(xo, tmlc_sxtb16_ror8(y1), a1);
                a2 = tmlc_smlad(xe, tmlc_sxtb16(y2), a2);
                a2 = tmlc_smlad(xo, tmlc_sxtb16_ror8(y2), a2);
                a3 = tmlc_smlad(xe, tmlc_sxtb16(y3), a3);
                a3 = tmlc_smlad(xo, tmlc_sxtb16_ror8(y3), a3);
            }
#endif
            for (; i < k; i++) {
                const int32_t x0 = l0[i];
                a0 += x0 * w0[i];
                a1 += x0 * w1[i];
                a2 += x0 * w2[i];
                a3 += x0 * w3[i];
            }
            o0[c] = tmlc_requant_s8(tmlc_add_wrap(a0, bias[c]), mult[c], shift[c], zp, lo, hi);
            o0[c + 1] = tmlc_requant_s8(tmlc_add_wrap(a1, bias[c + 1]), mult[c + 1], shift[c + 1], zp, lo, hi);
            o0[c + 2] = tmlc_requant_s8(tmlc_add_wrap(a2, bias[c + 2]), mult[c + 2], shift[c + 2], zp, lo, hi);
            o0[c + 3] = tmlc_requant_s8(tmlc_add_wrap(a3, bias[c + 3]), mult[c + 3], shift[c + 3], zp, lo, hi);
        }
        for (; c < n; c++) {
            const int8_t *w0 = rhs + c * k;
            int32_t a0 = 0;
            int32_t i = 0;
#if defined(__ARM_FEATURE_DSP)
            for (; i + 4 <= k; i += 4) {
                const uint32_t x0 = tmlc_load32(l0 + i), y0 = tmlc_load32(w0 + i);
                a0 = tmlc_smlad(tmlc_sxtb16(x0), tmlc_sxtb16(y0), a0);
                a0 = tmlc_smlad(tmlc_sxtb16_ror8(x0), tmlc_sxtb16_ror8(y0), a0);
            }
#endif
            for (; i < k; i++) a0 += l0[i] * w0[i];
            o0[c] = tmlc_requant_s8(tmlc_add_wrap(a0, bias[c]), mult[c], shift[c], zp, lo, hi);
        }
    }
}
