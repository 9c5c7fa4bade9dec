/* tmlc_sigmoid_f32: 1 / (1 + exp(-x)). */
static void tmlc_sigmoid_f32(const float *x, float *y, int32_t n) {
    for (int32_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}
