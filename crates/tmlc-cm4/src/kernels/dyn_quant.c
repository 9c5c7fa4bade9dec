/* ---- run-time quantization of an f32 slice for dynamic-range ("hybrid")
 * layers (spec/ir.md 5.1.1): writes q - z for each of the n values to d
 * (int8 range, so int16 holds it) and returns the scale. mode 1:
 * asymmetric over [min(0, min x), max(0, max x)]; mode 2: symmetric over
 * max|x|, zero point 0. ---- */
static inline float tmlc_dyn_clamp(float v, float lo) {
    return !(v >= lo) ? lo : v > 127.0f ? 127.0f : v; /* NaN -> lo: never UB */
}

static inline float tmlc_dyn_quantize(const float *x, int32_t n, int32_t mode, int16_t *d) {
    if (mode == 2) {
        float r = 0.0f;
        for (int32_t i = 0; i < n; i++) r = fabsf(x[i]) > r ? fabsf(x[i]) : r;
        if (r == 0.0f || !(r <= 3.402823466e38f)) {
            for (int32_t i = 0; i < n; i++) d[i] = 0;
            return 1.0f;
        }
        const float s = r / 127.0f, inv = 127.0f / r;
        for (int32_t i = 0; i < n; i++) d[i] = (int16_t)tmlc_dyn_clamp(roundf(x[i] * inv), -127.0f);
        return s;
    }
    float lo = 0.0f, hi = 0.0f;
    for (int32_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    if (lo == hi || !(lo >= -3.402823466e38f && hi <= 3.402823466e38f)) {
        for (int32_t i = 0; i < n; i++) d[i] = 0;
        return 1.0f;
    }
    const double l = (double)lo, h = (double)hi;
    const double scale = (h - l) / 255.0;
    const double zl = -128.0 - l / scale, zh = 127.0 - h / scale;
    const double zd = 128.0 + fabs(l / scale) < 127.0 + fabs(h / scale) ? zl : zh;
    const double z = zd <= -128.0 ? -128.0 : zd >= 127.0 ? 127.0 : round(zd);
    const float s = (float)scale, inv = 1.0f / s, zf = (float)z;
    for (int32_t i = 0; i < n; i++)
        d[i] = (int16_t)((int32_t)tmlc_dyn_clamp(roundf(zf + x[i] * inv), -128.0f) - (int32_t)z);
    return s;
}
