/* tmlc_matmul_s8: batched int8 matrix product y = (a - zpa)(b - zpb),
 * requantised per tensor. aoff/boff give each batch's element offset
 * (broadcast batch dimensions resolved at compile time). */
static void tmlc_matmul_s8(const int8_t *a, const int8_t *b, int8_t *y, int32_t batches,
                           const int32_t *aoff, const int32_t *boff, int32_t m, int32_t k,
                           int32_t n, int32_t zpa, int32_t zpb, int32_t mult, int32_t shift,
                           int32_t zp) {
    for (int32_t bt = 0; bt < batches; bt++) {
        const int8_t *ab = a + aoff[bt], *bb = b + boff[bt];
        for (int32_t i = 0; i < m; i++)
            for (int32_t j = 0; j < n; j++) {
                int32_t acc = 0;
                for (int32_t kk = 0; kk < k; kk++)
                    acc += (ab[i * k + kk] - zpa) * (bb[kk * n + j] - zpb);
                *y++ = (int8_t)tmlc_clamp_i32(tmlc_add_wrap(tmlc_mbqm(acc, mult, shift), zp), -128, 127);
            }
    }
}
