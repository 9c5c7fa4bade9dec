/* tmlc_pool_s8: int8 max pool (is_max) or average pool over the in-image
 * taps of each window (NHWC). Average: raw sum, plus zp_in per padding tap
 * when count_pad, divided by the tap count rounding half away from zero. */
static void tmlc_pool_s8(const int8_t *x, int8_t *y, int32_t batches, int32_t h, int32_t w,
                         int32_t c, int32_t ho, int32_t wo, int32_t kh, int32_t kw, int32_t sh,
                         int32_t sw, int32_t pt, int32_t pl, int32_t is_max, int32_t count_pad,
                         int32_t zp_in, int32_t lo, int32_t hi) {
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *xb = x + b * h * w * c;
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
                    int32_t v;
                    if (is_max) {
                        v = -128;
                        for (int32_t iy = y0; iy < y1; iy++)
                            for (int32_t ix = x0; ix < x1; ix++) {
                                const int32_t t = xb[(iy * w + ix) * c + ch];
                                if (t > v) v = t;
                            }
                    } else {
                        int32_t sum = 0, n = taps;
                        for (int32_t iy = y0; iy < y1; iy++)
                            for (int32_t ix = x0; ix < x1; ix++) sum += xb[(iy * w + ix) * c + ch];
                        if (count_pad) {
                            sum += (kh * kw - taps) * zp_in;
                            n = kh * kw;
                        }
                        v = sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
                    }
                    *y++ = (int8_t)tmlc_clamp_i32(v, lo, hi);
                }
            }
        }
    }
}
