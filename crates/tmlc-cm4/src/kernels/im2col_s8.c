/* Copies n bytes, a word at a time (unaligned LDR/STR on the M4). Written
 * out rather than memcpy: the lengths are a few bytes, below the cost of
 * a library call. */
static inline void tmlc_copy_i8(int8_t *dst, const int8_t *src, int32_t n) {
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t v = tmlc_load32(src + i);
        memcpy(dst + i, &v, 4);
    }
    for (; i < n; i++) dst[i] = src[i];
}

/* Sets n bytes to v, a word at a time. */
static inline void tmlc_fill_i8(int8_t *dst, int32_t v, int32_t n) {
    const uint32_t v4 = (uint32_t)(uint8_t)v * 0x01010101u;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) memcpy(dst + i, &v4, 4);
    for (; i < n; i++) dst[i] = (int8_t)v;
}

/* Fills `rows` (1 or 2) im2col rows of `kpad` bytes at `col` for output
 * pixels p, p+1 of group g of image xb: the taps in (ky, kx, c) order,
 * padding taps set to zp_in, then zeros from k = kh*kw*cg to kpad. */
__attribute__((always_inline)) static inline void
tmlc_im2col_s8(const int8_t *xb, int32_t h, int32_t w, int32_t c_in, int32_t wo, int32_t kh,
               int32_t kw, int32_t sh, int32_t sw, int32_t dh, int32_t dw, int32_t pt, int32_t pl,
               int32_t cg, int32_t g, int32_t kpad, int32_t zp_in, int32_t p, int32_t rows,
               int8_t *col) {
    const int32_t k = kh * kw * cg;
    /* The taps of one kernel row are adjacent in the input. */
    const int contiguous = dw == 1 && cg == c_in;
    for (int32_t r = 0; r < rows; r++) {
        const int32_t oy = (p + r) / wo, ox = (p + r) % wo;
        int8_t *dst = col + r * kpad;
        const int32_t ix0 = ox * sw - pl;
        int32_t kx0 = ix0 >= 0 ? 0 : (-ix0 + dw - 1) / dw;
        if (kx0 > kw) kx0 = kw;
        int32_t kx1 = kw;
        while (kx1 > kx0 && ix0 + (kx1 - 1) * dw >= w) kx1--;
        for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= h) {
                tmlc_fill_i8(dst, zp_in, kw * cg);
                dst += kw * cg;
                continue;
            }
            const int32_t src = (iy * w + ix0) * c_in + g * cg;
            tmlc_fill_i8(dst, zp_in, kx0 * cg);
            dst += kx0 * cg;
            if (contiguous) {
                tmlc_copy_i8(dst, xb + src + kx0 * c_in, (kx1 - kx0) * cg);
                dst += (kx1 - kx0) * cg;
            } else {
                for (int32_t kx = kx0; kx < kx1; kx++) {
                    tmlc_copy_i8(dst, xb + src + kx * dw * c_in, cg);
                    dst += cg;
                }
            }
            tmlc_fill_i8(dst, zp_in, (kw - kx1) * cg);
            dst += (kw - kx1) * cg;
        }
        tmlc_fill_i8(dst, 0, kpad - k);
    }
}
