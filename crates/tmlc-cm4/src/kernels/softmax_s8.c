/* tmlc_softmax_s8: int8 softmax over rows of `depth` (gemmlowp fixed point,
 * output q(1/256, -128)). */
static void tmlc_softmax_s8(const int8_t *x, int8_t *y, int32_t rows, int32_t depth, int32_t mult,
                            int32_t left_shift, int32_t diff_min) {
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *xr = x + r * depth;
        int8_t *yr = y + r * depth;
        int32_t max = -128;
        for (int32_t c = 0; c < depth; c++)
            if (xr[c] > max) max = xr[c];
        int32_t sum = 0;
        for (int32_t c = 0; c < depth; c++) {
            const int32_t d = xr[c] - max;
            if (d >= diff_min)
                sum += tmlc_rdbpot(tmlc_exp_on_negative_values(tmlc_mbqm(d, mult, left_shift), 5), 12);
        }
        const int32_t headroom = __builtin_clz((uint32_t)sum);
        const int32_t bits_over_unit = 12 - headroom;
        const int32_t shifted = (int32_t)(((uint32_t)sum << headroom) - ((uint32_t)1 << 31));
        const int32_t recip = tmlc_one_over_one_plus_x(shifted);
        for (int32_t c = 0; c < depth; c++) {
            const int32_t d = xr[c] - max;
            int32_t v = -128;
            if (d >= diff_min) {
                const int32_t e = tmlc_exp_on_negative_values(tmlc_mbqm(d, mult, left_shift), 5);
                v = tmlc_clamp_i32(tmlc_rdbpot(tmlc_srdhm(recip, e), bits_over_unit + 31 - 8) - 128,
                                   -128, 127);
            }
            yr[c] = (int8_t)v;
        }
    }
}
