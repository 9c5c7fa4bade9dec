/* tmlc_fc_f32_dyn: dynamic-range ("hybrid") fully connected: each input row
 * is quantized at run time (tmlc_dyn_quantize, into d: k values), the
 * products with the int8 weights accumulate in int32, and the result is
 * f32(acc) * (s * wscale[c]) + bias[c], clamped. */
static void tmlc_fc_f32_dyn(const float *x, int32_t rows, int32_t k, const int8_t *wq,
                            const float *wscale, const float *bias, int32_t n, float *y, float lo,
                            float hi, int32_t mode, int16_t *d) {
    for (int32_t r = 0; r < rows; r++) {
        const float s = tmlc_dyn_quantize(x + r * k, k, mode, d);
        for (int32_t c = 0; c < n; c++) {
            const int8_t *wr = wq + c * k;
            int32_t acc = 0;
            for (int32_t i = 0; i < k; i++) acc += d[i] * wr[i];
            *y++ = tmlc_clamp_f32((float)acc * (s * wscale[c]) + bias[c], lo, hi);
        }
    }
}
