/* tmlc_quantize_f32: float to int8 (kind 1), uint8 (2) or int16 (3):
 * clamp(zp[c] + round(x / scale[c]), lo, hi), c = (i / inner) % channels
 * (per tensor: channels 1), ties half away from zero (roundf) or, when
 * half_even, to even (rintf in the default rounding mode). NaN quantizes
 * to zp. */
static void tmlc_quantize_f32(const float *x, void *y, int32_t kind, int32_t half_even, int32_t n,
                              int32_t inner, int32_t channels, const float *scale,
                              const int32_t *zp, int32_t lo, int32_t hi) {
    for (int32_t i = 0; i < n; i++) {
        const int32_t c = (i / inner) % channels;
        const float v = x[i] / scale[c];
        float r = half_even ? rintf(v) : roundf(v);
        if (r != r) r = 0.0f;
        const float flo = (float)(lo - zp[c]), fhi = (float)(hi - zp[c]);
        if (r < flo) r = flo;
        if (r > fhi) r = fhi;
        const int32_t q = (int32_t)r + zp[c];
        if (kind == 1)
            ((int8_t *)y)[i] = (int8_t)q;
        else if (kind == 2)
            ((uint8_t *)y)[i] = (uint8_t)q;
        else
            ((int16_t *)y)[i] = (int16_t)q;
    }
}
