/* tmlc_matmul_f32: batched float matrix product (broadcast batch offsets). */
static void tmlc_matmul_f32(const float *a, const float *b, float *y, int32_t batches,
                            const int32_t *aoff, const int32_t *boff, int32_t m, int32_t k,
                            int32_t n) {
    for (int32_t bt = 0; bt < batches; bt++) {
        const float *ab = a + aoff[bt], *bb = b + boff[bt];
        for (int32_t i = 0; i < m; i++)
            for (int32_t j = 0; j < n; j++) {
                float acc = 0.0f;
                for (int32_t kk = 0; kk < k; kk++) acc += ab[i * k + kk] * bb[kk * n + j];
                *y++ = acc;
            }
    }
}
