/* tmlc_tanh_f32: tanh(x). */
static void tmlc_tanh_f32(const float *x, float *y, int32_t n) {
    for (int32_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}
