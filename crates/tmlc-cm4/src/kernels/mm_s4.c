/* Weight t (0..7) of a group of 4 packed bytes (tmlc_mm_s4's layout). */
static inline int32_t tmlc_s4_at(const uint8_t *w, int32_t t) {
    const int32_t b = t < 4 ? w[t] & 15 : w[t - 4] >> 4;
    return (b ^ 8) - 8;
}

/* sum_i x[i] * w[i] over k 4-bit weights packed as in tmlc_mm_s4. */
static inline int32_t tmlc_dot_s4(const int8_t *x, const uint8_t *w, int32_t k) {
    int32_t acc = 0, g = 0;
    const int32_t groups = k >> 3;
#if defined(__ARM_FEATURE_DSP)
    /* Masked to the high half of each byte, the nibbles sign-extend by
     * SXTB16 to 16 * w; the low nibbles (weights 0..3) are shifted there
     * first. Pairs line up with SXTB16 of the inputs: (x0, x2) with (w0,
     * w2), (x1, x3) with (w1, w3), and so on. The sum of 16 * x * w is a
     * multiple of 16, shifted back exactly every 2047 groups (no
     * overflow: 2047 * 8 * 128 * 128 < 2^31). */
    while (g < groups) {
        const int32_t end = groups - g > 2047 ? g + 2047 : groups;
        int32_t acc16 = 0;
        for (; g < end; g++) {
            const uint32_t wv = tmlc_load32(w);
            const uint32_t hi = wv & 0xF0F0F0F0u, lo = (wv << 4) & 0xF0F0F0F0u;
            const uint32_t x0 = tmlc_load32(x), x1 = tmlc_load32(x + 4);
            acc16 = tmlc_smlad(tmlc_sxtb16(x0), tmlc_sxtb16(lo), acc16);
            acc16 = tmlc_smlad(tmlc_sxtb16_ror8(x0), tmlc_sxtb16_ror8(lo), acc16);
            acc16 = tmlc_smlad(tmlc_sxtb16(x1), tmlc_sxtb16(hi), acc16);
            acc16 = tmlc_smlad(tmlc_sxtb16_ror8(x1), tmlc_sxtb16_ror8(hi), acc16);
            x += 8;
            w += 4;
        }
        acc += acc16 >> 4;
    }
#endif
    for (; g < groups; g++) {
        for (int32_t t = 0; t < 8; t++) acc += x[t] * tmlc_s4_at(w, t);
        x += 8;
        w += 4;
    }
    for (int32_t t = 0; t < (k & 7); t++) acc += x[t] * tmlc_s4_at(w, t);
    return acc;
}

/* tmlc_mm_s4: tmlc_mm_s8 with 4-bit weights (int8 inputs and outputs,
 * the same bias, requantisation and results). Each column's k weights are
 * packed in groups of 8 into 4 bytes: byte j holds weight j in its low
 * nibble and weight j + 4 in its high nibble (two's complement); a last
 * group of k % 8 weights is padded with zeros, so a column takes
 * 4 * ceil(k / 8) bytes. */
static void tmlc_mm_s4(const int8_t *lhs, int32_t rows, int32_t lhs_stride, const uint8_t *rhs,
                       int32_t n, int32_t k, const int32_t *bias, const int32_t *mult,
                       const int32_t *shift, const int32_t *rq, int8_t *out, int32_t out_stride,
                       int32_t zp, int32_t lo, int32_t hi) {
    const int32_t col_bytes = 4 * ((k + 7) >> 3);
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *x = lhs + r * lhs_stride;
        int8_t *o = out + r * out_stride;
        for (int32_t c = 0; c < n; c++) {
            const int32_t acc = tmlc_dot_s4(x, rhs + c * col_bytes, k);
            if (rq)
                o[c] = (int8_t)tmlc_clamp_i32(tmlc_requant_q(acc + bias[c], rq + 3 * c), lo, hi);
            else
                o[c] = tmlc_requant_s8(tmlc_add_wrap(acc, bias[c]), mult[c], shift[c], zp, lo, hi);
        }
    }
}
