/* tmlc_conv_f32_dyn: dynamic-range ("hybrid") convolution: each image is
 * quantized at run time (tmlc_dyn_quantize, into d: h*w*c_in values), the
 * products with the int8 weights accumulate in int32, and the result is
 * f32(acc) * (s * wscale[oc]) + bias[oc], clamped. */
static void tmlc_conv_f32_dyn(const float *x, int32_t batches, int32_t h, int32_t w,
                              int32_t c_in, int32_t ho, int32_t wo, int32_t c_out, int32_t kh,
                              int32_t kw, int32_t sh, int32_t sw, int32_t dh, int32_t dw,
                              int32_t pt, int32_t pl, int32_t groups, const int8_t *wq,
                              const float *wscale, const float *bias, float *y, float lo,
                              float hi, int32_t mode, int16_t *d) {
    const int32_t cg = c_in / groups, og = c_out / groups;
    for (int32_t b = 0; b < batches; b++) {
        const float s = tmlc_dyn_quantize(x + b * h * w * c_in, h * w * c_in, mode, d);
        for (int32_t oy = 0; oy < ho; oy++)
            for (int32_t ox = 0; ox < wo; ox++)
                for (int32_t oc = 0; oc < c_out; oc++) {
                    const int32_t g = oc / og;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < kh; ky++) {
                        const int32_t iy = oy * sh - pt + ky * dh;
                        if (iy < 0 || iy >= h) continue;
                        for (int32_t kx = 0; kx < kw; kx++) {
                            const int32_t ix = ox * sw - pl + kx * dw;
                            if (ix < 0 || ix >= w) continue;
                            const int16_t *dp = d + (iy * w + ix) * c_in + g * cg;
                            const int8_t *wp = wq + ((oc * kh + ky) * kw + kx) * cg;
                            for (int32_t ic = 0; ic < cg; ic++) acc += dp[ic] * wp[ic];
                        }
                    }
                    *y++ = tmlc_clamp_f32((float)acc * (s * wscale[oc]) + bias[oc], lo, hi);
                }
    }
}
