/* tmlc_hard_swish_f32: x * min(6, max(0, x + 3)) / 6. */
static void tmlc_hard_swish_f32(const float *x, float *y, int32_t n) {
    for (int32_t i = 0; i < n; i++) y[i] = x[i] * tmlc_clamp_f32(x[i] + 3.0f, 0.0f, 6.0f) / 6.0f;
}
