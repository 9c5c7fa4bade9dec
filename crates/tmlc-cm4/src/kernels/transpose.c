/* tmlc_transpose: y (row-major over the collapsed 6-D shape oshape) takes
 * x[sum_d i_d * istr_d] (istr: the input strides, permuted, in elements);
 * elements of esize bytes (1, 2, 4 or 8). */
static void tmlc_transpose(const uint8_t *x, uint8_t *y, const int32_t *oshape,
                           const int32_t *istr, int32_t esize) {
    const int32_t outer = oshape[0] * oshape[1] * oshape[2] * oshape[3] * oshape[4];
    const int32_t inner = oshape[5], is = istr[5];
    int32_t idx[5] = {0, 0, 0, 0, 0};
    int32_t oi = 0, dummy = 0;
    for (int32_t o = 0; o < outer; o++) {
        if (esize == 1) {
            const uint8_t *p = x + oi;
            for (int32_t i = 0; i < inner; i++) *y++ = p[i * is];
        } else {
            for (int32_t i = 0; i < inner; i++) {
                memcpy(y, x + (size_t)(oi + i * is) * (size_t)esize, (size_t)esize);
                y += esize;
            }
        }
        tmlc_walk5(idx, oshape, istr, istr, &oi, &dummy);
    }
}
