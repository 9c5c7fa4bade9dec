/* tmlc_conv_f32_w8: float convolution with int8 weights (weight-only
 * quantization): tmlc_conv_f32 with each weight read as
 * wscale[oc] * (float)wq[...], the value the dequantized weight has. */
static void tmlc_conv_f32_w8(const float *x, int32_t batches, int32_t h, int32_t w, int32_t c_in,
                             int32_t ho, int32_t wo, int32_t c_out, int32_t kh, int32_t kw,
                             int32_t sh, int32_t sw, int32_t dh, int32_t dw, int32_t pt, int32_t pl,
                             int32_t groups, const int8_t *wq, const float *wscale,
                             const float *bias, float *y, float lo, float hi) {
    const int32_t cg = c_in / groups, og = c_out / groups;
    for (int32_t b = 0; b < batches; b++)
        for (int32_t oy = 0; oy < ho; oy++)
            for (int32_t ox = 0; ox < wo; ox++)
                for (int32_t oc = 0; oc < c_out; oc++) {
                    const int32_t g = oc / og;
                    const float s = wscale[oc];
                    float acc = 0.0f;
                    for (int32_t ky = 0; ky < kh; ky++) {
                        const int32_t iy = oy * sh - pt + ky * dh;
                        if (iy < 0 || iy >= h) continue;
                        for (int32_t kx = 0; kx < kw; kx++) {
                            const int32_t ix = ox * sw - pl + kx * dw;
                            if (ix < 0 || ix >= w) continue;
                            const float *xp = x + ((b * h + iy) * w + ix) * c_in + g * cg;
                            const int8_t *wp = wq + ((oc * kh + ky) * kw + kx) * cg;
                            for (int32_t ic = 0; ic < cg; ic++) acc += xp[ic] * (s * (float)wp[ic]);
                        }
                    }
                    *y++ = tmlc_clamp_f32(acc + bias[oc], lo, hi);
                }
}
