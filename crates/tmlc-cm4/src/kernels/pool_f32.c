/* tmlc_pool_f32: float max pool (is_max) or average pool over the in-image
 * taps (divided by kh*kw when count_pad), then the activation clamp. */
static void tmlc_pool_f32(const float *x, float *y, int32_t batches, int32_t h, int32_t w,
                          int32_t c, int32_t ho, int32_t wo, int32_t kh, int32_t kw, int32_t sh,
                          int32_t sw, int32_t pt, int32_t pl, int32_t is_max, int32_t count_pad,
                          float lo, float hi) {
    for (int32_t b = 0; b < batches; b++) {
        const float *xb = x + b * h * w * c;
        for (int32_t oy = 0; oy < ho; oy++) {
            const int32_t iy0 = oy * sh - pt;
            const int32_t y0 = iy0 < 0 ? 0 : iy0;
            const int32_t y1 = iy0 + kh > h ? h : iy0 + kh;
            for (int32_t ox = 0; ox < wo; ox++) {
                const int32_t ix0 = ox * sw - pl;
                const int32_t x0 = ix0 < 0 ? 0 : ix0;
                const int32_t x1 = ix0 + kw > w ? w : ix0 + kw;
                const int32_t taps = (y1 - y0) * (x1 - x0);
                for (int32_t ch = 0; ch < c; ch++) {
                    float v;
                    if (is_max) {
                        v = -3.40282347e+38f;
                        for (int32_t iy = y0; iy < y1; iy++)
                            for (int32_t ix = x0; ix < x1; ix++) {
                                const float t = xb[(iy * w + ix) * c + ch];
                                if (v < t) v = t;
                            }
                    } else {
                        float sum = 0.0f;
                        for (int32_t iy = y0; iy < y1; iy++)
                            for (int32_t ix = x0; ix < x1; ix++) sum += xb[(iy * w + ix) * c + ch];
                        v = sum / (float)(count_pad ? kh * kw : taps);
                    }
                    *y++ = tmlc_clamp_f32(v, lo, hi);
                }
            }
        }
    }
}
