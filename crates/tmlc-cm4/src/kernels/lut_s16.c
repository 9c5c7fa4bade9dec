/* tmlc_lut_s16: y[i] = lut[(uint8_t)x[i]], 8-bit input, 16-bit output. */
static void tmlc_lut_s16(const uint8_t *x, int16_t *y, int32_t n, const int16_t *lut) {
    for (int32_t i = 0; i < n; i++) y[i] = lut[x[i]];
}
