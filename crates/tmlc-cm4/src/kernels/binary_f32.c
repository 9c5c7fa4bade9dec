/* tmlc_binary_f32: float add (op 0), sub (op 1), mul (op 2) or div (op 3) with numpy
 * broadcasting (collapsed 6-D), then the activation clamp [lo, hi]. */
static void tmlc_binary_f32(const float *a, const float *b, float *y, const int32_t *shape,
                            const int32_t *sa, const int32_t *sb, int32_t op, float lo,
                            float hi) {
    const int32_t outer = shape[0] * shape[1] * shape[2] * shape[3] * shape[4];
    const int32_t inner = shape[5], ia = sa[5], ib = sb[5];
    int32_t idx[5] = {0, 0, 0, 0, 0};
    int32_t oa = 0, ob = 0;
    for (int32_t o = 0; o < outer; o++) {
        const float *pa = a + oa, *pb = b + ob;
        if (op == 0) {
            for (int32_t i = 0; i < inner; i++) *y++ = tmlc_clamp_f32(pa[i * ia] + pb[i * ib], lo, hi);
        } else if (op == 1) {
            for (int32_t i = 0; i < inner; i++) *y++ = tmlc_clamp_f32(pa[i * ia] - pb[i * ib], lo, hi);
        } else if (op == 2) {
            for (int32_t i = 0; i < inner; i++) *y++ = tmlc_clamp_f32(pa[i * ia] * pb[i * ib], lo, hi);
        } else {
            for (int32_t i = 0; i < inner; i++) *y++ = tmlc_clamp_f32(pa[i * ia] / pb[i * ib], lo, hi);
        }
        tmlc_walk5(idx, shape, sa, sb, &oa, &ob);
    }
}
