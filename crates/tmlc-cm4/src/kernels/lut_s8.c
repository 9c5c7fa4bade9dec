/* tmlc_lut_s8: y[i] = lut[(uint8_t)x[i]] for any 8-bit to 8-bit function
 * (int8 unary ops, requantisation), tabulated at compile time. */
static void tmlc_lut_s8(const uint8_t *x, uint8_t *y, int32_t n, const uint8_t *lut) {
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint8_t v0 = lut[x[i]], v1 = lut[x[i + 1]], v2 = lut[x[i + 2]], v3 = lut[x[i + 3]];
        y[i] = v0;
        y[i + 1] = v1;
        y[i + 2] = v2;
        y[i + 3] = v3;
    }
    for (; i < n; i++) y[i] = lut[x[i]];
}
