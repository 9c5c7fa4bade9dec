/* tmlc_elu_f32: x >= 0 ? x : alpha * (exp(x) - 1). */
static void tmlc_elu_f32(const float *x, float *y, int32_t n, float alpha) {
    for (int32_t i = 0; i < n; i++) y[i] = x[i] >= 0.0f ? x[i] : alpha * expm1f(x[i]);
}
