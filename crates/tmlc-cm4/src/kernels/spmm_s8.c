/* One output column of tmlc_spmm_s8 for one or two rows (two is a
 * constant at each call, so each inlined copy is specialised): walks the
 * column's bitmap `m` (`words` words) and multiplies each set block of
 * `blk` weights (read from *wp, advanced) with the rows' values. */
__attribute__((always_inline)) static inline void
tmlc_spmm_col(const int8_t *x0, const int8_t *x1, int two, const uint32_t *m, int32_t words,
              int32_t blk, const int8_t **wp, int32_t *a0, int32_t *a1) {
    const int8_t *w = *wp;
    int32_t s0 = *a0, s1 = *a1;
    for (int32_t i = 0; i < words; i++) {
        uint32_t bits = m[i];
        const int8_t *p0 = x0 + 32 * blk * i, *p1 = x1 + 32 * blk * i;
        if (blk == 4) {
            while (bits) {
                const int32_t j = 4 * __builtin_ctz(bits);
                bits &= bits - 1;
#if defined(__ARM_FEATURE_DSP)
                const uint32_t wv = tmlc_load32(w);
                const uint32_t wl = tmlc_sxtb16(wv), wh = tmlc_sxtb16_ror8(wv);
                const uint32_t v0 = tmlc_load32(p0 + j);
                s0 = tmlc_smlad(tmlc_sxtb16(v0), wl, s0);
                s0 = tmlc_smlad(tmlc_sxtb16_ror8(v0), wh, s0);
                if (two) {
                    const uint32_t v1 = tmlc_load32(p1 + j);
                    s1 = tmlc_smlad(tmlc_sxtb16(v1), wl, s1);
                    s1 = tmlc_smlad(tmlc_sxtb16_ror8(v1), wh, s1);
                }
#else
                for (int32_t t = 0; t < 4; t++) {
                    s0 += p0[j + t] * w[t];
                    if (two) s1 += p1[j + t] * w[t];
                }
#endif
                w += 4;
            }
        } else {
            while (bits) {
                const int32_t j = __builtin_ctz(bits);
                bits &= bits - 1;
                const int32_t wv = *w++;
                s0 += p0[j] * wv;
                if (two) s1 += p1[j] * wv;
            }
        }
    }
    *wp = w;
    *a0 = s0;
    *a1 = s1;
}

/* tmlc_spmm_s8: tmlc_mm_s8 with sparse weights, for weights with many
 * zeros. Each column (output channel) is cut into blocks of `blk` (1 or 4)
 * consecutive weights; bit j of word i of the column's bitmap
 * (map[c*words + i], words = ceil(ceil(k/blk)/32)) says block 32*i + j has
 * a non-zero weight, and the values of the set blocks follow each other in
 * `nz`, column after column. Zero blocks are neither stored nor multiplied.
 * With blk 4 (k a multiple of 4) a block is two SMLADs. Two rows at a time
 * share the decoding. Bias, requantisation and output as tmlc_mm_s8. */
static void tmlc_spmm_s8(const int8_t *lhs, int32_t rows, int32_t lhs_stride, const uint32_t *map,
                         const int8_t *nz, int32_t blk, int32_t n, int32_t k, const int32_t *bias,
                         const int32_t *mult, const int32_t *shift, const int32_t *rq, int8_t *out,
                         int32_t out_stride, int32_t zp, int32_t lo, int32_t hi) {
    const int32_t words = ((k + blk - 1) / blk + 31) >> 5;
    for (int32_t r = 0; r < rows; r += 2) {
        const int two = rows - r >= 2;
        const int8_t *x0 = lhs + r * lhs_stride, *x1 = x0 + (two ? lhs_stride : 0);
        int8_t *o0 = out + r * out_stride, *o1 = o0 + out_stride;
        const int8_t *w = nz;
        const uint32_t *m = map;
        for (int32_t c = 0; c < n; c++, m += words) {
            int32_t a0 = rq ? bias[c] : 0, a1 = a0;
            if (two)
                tmlc_spmm_col(x0, x1, 1, m, words, blk, &w, &a0, &a1);
            else
                tmlc_spmm_col(x0, x1, 0, m, words, blk, &w, &a0, &a1);
            if (rq) {
                o0[c] = (int8_t)tmlc_clamp_i32(tmlc_requant_q(a0, rq + 3 * c), lo, hi);
                if (two) o1[c] = (int8_t)tmlc_clamp_i32(tmlc_requant_q(a1, rq + 3 * c), lo, hi);
            } else {
                o0[c] = tmlc_requant_s8(tmlc_add_wrap(a0, bias[c]), mult[c], shift[c], zp, lo, hi);
                if (two)
                    o1[c] = tmlc_requant_s8(tmlc_add_wrap(a1, bias[c]), mult[c], shift[c], zp, lo, hi);
            }
        }
    }
}
