/* tmlc_conv_s4: tmlc_conv_s8 (one group) with 4-bit weights: im2col into
 * `col` (2 rows of kpad bytes), then tmlc_mm_s4 over rows of kpad. */
static void tmlc_conv_s4(const int8_t *x, int32_t batches, int32_t h, int32_t w, int32_t c_in,
                         int32_t ho, int32_t wo, int32_t c_out, int32_t kh, int32_t kw,
                         int32_t sh, int32_t sw, int32_t dh, int32_t dw, int32_t pt, int32_t pl,
                         int32_t kpad, const uint8_t *wts, const int32_t *bias,
                         const int32_t *mult, const int32_t *shift, const int32_t *rq, int8_t *y,
                         int32_t zp_in, int32_t zp, int32_t lo, int32_t hi, int8_t *col) {
    const int32_t pixels = ho * wo;
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *xb = x + b * h * w * c_in;
        int8_t *yb = y + b * pixels * c_out;
        for (int32_t p = 0; p < pixels; p += 2) {
            const int32_t rows = pixels - p >= 2 ? 2 : 1;
            tmlc_im2col_s8(xb, h, w, c_in, wo, kh, kw, sh, sw, dh, dw, pt, pl, c_in, 0, kpad,
                           zp_in, p, rows, col);
            tmlc_mm_s4(col, rows, kpad, wts, c_out, kpad, bias, mult, shift, rq, yb + p * c_out,
                       c_out, zp, lo, hi);
        }
    }
}
