/* tmlc_mean_s8: int8 mean over reduced axes (QuantizedMeanOrSum). The input
 * is walked row-major over a collapsed 6-D shape; ostr gives each
 * dimension's stride into the int32 sums (0 on reduced dimensions). */
static void tmlc_mean_s8(const int8_t *x, int8_t *y, const int32_t *shape, const int32_t *ostr,
                         int32_t slots, int32_t n, int32_t zp_in, int32_t m, int32_t shift,
                         int32_t zp, int32_t *acc) {
    for (int32_t s = 0; s < slots; s++) acc[s] = 0;
    const int32_t outer = shape[0] * shape[1] * shape[2] * shape[3] * shape[4];
    const int32_t inner = shape[5], is = ostr[5];
    int32_t idx[5] = {0, 0, 0, 0, 0};
    int32_t oo = 0, dummy = 0;
    for (int32_t o = 0; o < outer; o++) {
        int32_t *pa = acc + oo;
        if (is == 1) {
            for (int32_t i = 0; i < inner; i++) pa[i] = tmlc_add_wrap(pa[i], *x++);
        } else {
            int32_t s = pa[0];
            for (int32_t i = 0; i < inner; i++) s = tmlc_add_wrap(s, *x++);
            pa[0] = s;
        }
        tmlc_walk5(idx, shape, ostr, ostr, &oo, &dummy);
    }
    const int64_t zn = (int64_t)zp_in * (int64_t)n;
    for (int32_t s = 0; s < slots; s++) {
        const int32_t shifted = (int32_t)(uint32_t)((uint64_t)(int64_t)acc[s] - (uint64_t)zn);
        y[s] = (int8_t)tmlc_clamp_i32(tmlc_add_wrap(tmlc_mbqm(shifted, m, shift), zp), -128, 127);
    }
}
