/* tmlc_lut_f32: y[i] = lut[(uint8_t)x[i]], 8-bit input, float output
 * (dequantisation tabulated at compile time). */
static void tmlc_lut_f32(const uint8_t *x, float *y, int32_t n, const float *lut) {
    for (int32_t i = 0; i < n; i++) y[i] = lut[x[i]];
}
