/* tmlc_conv1x1_s8: 1x1 convolution without padding (any stride) as a
 * matrix product: pixels are the rows, output channels the columns. */
static void tmlc_conv1x1_s8(const int8_t *x, int32_t batches, int32_t h, int32_t w, int32_t c_in,
                            int32_t sh, int32_t sw, int32_t ho, int32_t wo, const int8_t *wts,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift,
                            const int32_t *rq, int8_t *y, int32_t c_out, int32_t zp, int32_t lo, int32_t hi) {
    if (sh == 1 && sw == 1) {
        tmlc_mm_s8(x, batches * h * w, c_in, wts, c_out, c_in, bias, mult, shift, rq, y, c_out, zp,
                   lo, hi);
        return;
    }
    for (int32_t b = 0; b < batches; b++) {
        for (int32_t oy = 0; oy < ho; oy++) {
            const int8_t *row = x + ((b * h + oy * sh) * w) * c_in;
            int8_t *orow = y + ((b * ho + oy) * wo) * c_out;
            tmlc_mm_s8(row, wo, sw * c_in, wts, c_out, c_in, bias, mult, shift, rq, orow, c_out, zp,
                       lo, hi);
        }
    }
}
