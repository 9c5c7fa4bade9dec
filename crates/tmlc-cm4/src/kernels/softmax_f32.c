/* tmlc_softmax_f32: float softmax over rows of `depth`. */
static void tmlc_softmax_f32(const float *x, float *y, int32_t rows, int32_t depth, float beta) {
    for (int32_t r = 0; r < rows; r++) {
        const float *xr = x + r * depth;
        float *yr = y + r * depth;
        float max = -3.40282347e+38f;
        for (int32_t c = 0; c < depth; c++)
            if (max < xr[c]) max = xr[c];
        float sum = 0.0f;
        for (int32_t c = 0; c < depth; c++) {
            const float e = expf((xr[c] - max) * beta);
            yr[c] = e;
            sum += e;
        }
        for (int32_t c = 0; c < depth; c++) yr[c] = yr[c] / sum;
    }
}
