/* tmlc_mean_f32: float mean over reduced axes: sums in input row-major
 * order (as the reference), then divided by n. */
static void tmlc_mean_f32(const float *x, float *y, const int32_t *shape, const int32_t *ostr,
                          int32_t slots, int32_t n) {
    for (int32_t s = 0; s < slots; s++) y[s] = 0.0f;
    const int32_t outer = shape[0] * shape[1] * shape[2] * shape[3] * shape[4];
    const int32_t inner = shape[5], is = ostr[5];
    int32_t idx[5] = {0, 0, 0, 0, 0};
    int32_t oo = 0, dummy = 0;
    for (int32_t o = 0; o < outer; o++) {
        float *pa = y + oo;
        for (int32_t i = 0; i < inner; i++) pa[i * is] += *x++;
        tmlc_walk5(idx, shape, ostr, ostr, &oo, &dummy);
    }
    const float fn = (float)n;
    for (int32_t s = 0; s < slots; s++) y[s] = y[s] / fn;
}
