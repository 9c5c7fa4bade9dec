/* tmlc_dequantize: int8 (kind 1), uint8 (2), int16 (3) or int32 (4) to
 * float: f32(double(scale[c]) * (x - zp[c])), c = (i / inner) % channels.
 * For 8/16-bit inputs |x - zp| < 2^24, so the float product is the same
 * correctly rounded value; int32 inputs use double. */
static void tmlc_dequantize(const void *x, int32_t kind, float *y, int32_t n, int32_t inner,
                            int32_t channels, const float *scale, const int32_t *zp) {
    for (int32_t i = 0; i < n; i++) {
        const int32_t c = (i / inner) % channels;
        if (kind == 4) {
            const int64_t d = (int64_t)((const int32_t *)x)[i] - zp[c];
            y[i] = (float)((double)scale[c] * (double)d);
        } else {
            int32_t v;
            if (kind == 1)
                v = ((const int8_t *)x)[i];
            else if (kind == 2)
                v = ((const uint8_t *)x)[i];
            else
                v = ((const int16_t *)x)[i];
            y[i] = scale[c] * (float)(v - zp[c]);
        }
    }
}
