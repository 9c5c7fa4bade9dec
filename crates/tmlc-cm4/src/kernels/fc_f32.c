/* tmlc_fc_f32: float fully connected: y[r][c] = clamp(sum_k x[r][k] w[c][k] + bias[c]). */
static void tmlc_fc_f32(const float *x, int32_t rows, int32_t k, const float *wts,
                        const float *bias, int32_t n, float *y, float lo, float hi) {
    for (int32_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        for (int32_t c = 0; c < n; c++) {
            const float *wr = wts + c * k;
            float acc = 0.0f;
            for (int32_t i = 0; i < k; i++) acc += xr[i] * wr[i];
            *y++ = tmlc_clamp_f32(acc + bias[c], lo, hi);
        }
    }
}
