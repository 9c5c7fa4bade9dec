/* tmlc_fc_f32_w8: float fully connected with int8 weights (weight-only
 * quantization): tmlc_fc_f32 with each weight read as
 * wscale[c] * (float)wq[c][k], the value the dequantized weight has. */
static void tmlc_fc_f32_w8(const float *x, int32_t rows, int32_t k, const int8_t *wq,
                           const float *wscale, const float *bias, int32_t n, float *y, float lo,
                           float hi) {
    for (int32_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        for (int32_t c = 0; c < n; c++) {
            const int8_t *wr = wq + c * k;
            const float s = wscale[c];
            float acc = 0.0f;
            for (int32_t i = 0; i < k; i++) acc += xr[i] * (s * (float)wr[i]);
            *y++ = tmlc_clamp_f32(acc + bias[c], lo, hi);
        }
    }
}
