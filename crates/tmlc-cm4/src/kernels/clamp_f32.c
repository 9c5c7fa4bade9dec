/* tmlc_clamp_f32_op: relu, relu6 and clip in float: min(max(x, lo), hi). */
static void tmlc_clamp_f32_op(const float *x, float *y, int32_t n, float lo, float hi) {
    for (int32_t i = 0; i < n; i++) y[i] = tmlc_clamp_f32(x[i], lo, hi);
}
