/* tmlc_conv_s8: general int8 convolution (any kernel, stride, dilation,
 * padding, groups) by im2col into `col` (2 rows of kpad bytes) and
 * tmlc_mm_s8. Padding taps are filled with zp_in, which contributes
 * w * (zp_in - zp_in) = 0, so the folded bias is exact; the row is padded
 * with zeros from k = kh*kw*cg to kpad (the weights are zero there too). */
static void tmlc_conv_s8(const int8_t *x, int32_t batches, int32_t h, int32_t w, int32_t c_in,
                         int32_t ho, int32_t wo, int32_t c_out, int32_t kh, int32_t kw,
                         int32_t sh, int32_t sw, int32_t dh, int32_t dw, int32_t pt, int32_t pl,
                         int32_t groups, int32_t kpad, const int8_t *wts, const int32_t *bias,
                         const int32_t *mult, const int32_t *shift, const int32_t *rq, int8_t *y, int32_t zp_in,
                         int32_t zp, int32_t lo, int32_t hi, int8_t *col) {
    const int32_t cg = c_in / groups;
    const int32_t og = c_out / groups;
    const int32_t pixels = ho * wo;
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *xb = x + b * h * w * c_in;
        int8_t *yb = y + b * pixels * c_out;
        for (int32_t p = 0; p < pixels; p += 2) {
            const int32_t rows = pixels - p >= 2 ? 2 : 1;
            for (int32_t g = 0; g < groups; g++) {
                tmlc_im2col_s8(xb, h, w, c_in, wo, kh, kw, sh, sw, dh, dw, pt, pl, cg, g, kpad,
                               zp_in, p, rows, col);
                tmlc_mm_s8(col, rows, kpad, wts + g * og * kpad, og, kpad, bias + g * og,
                           mult + g * og, shift + g * og, rq ? rq + 3 * g * og : rq, yb + p * c_out + g * og, c_out, zp, lo,
                           hi);
            }
        }
    }
}
