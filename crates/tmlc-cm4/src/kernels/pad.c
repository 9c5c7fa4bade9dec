/* Fills count elements of esize bytes with the element at fill. */
static inline void tmlc_fill(uint8_t *dst, int32_t count, const uint8_t *fill, int32_t esize) {
    if (esize == 1) {
        memset(dst, fill[0], (size_t)count);
        return;
    }
    for (int32_t i = 0; i < count; i++) memcpy(dst + (size_t)i * (size_t)esize, fill, (size_t)esize);
}

/* tmlc_pad: constant padding over a collapsed 6-D shape. ishape/before/after
 * are per dimension (elements); fill is one element of esize bytes. */
static void tmlc_pad(const uint8_t *x, uint8_t *y, const int32_t *ishape, const int32_t *before,
                     const int32_t *after, int32_t esize, const uint8_t *fill) {
    int32_t oshape[6];
    for (int32_t d = 0; d < 6; d++) oshape[d] = before[d] + ishape[d] + after[d];
    const int32_t row = oshape[5] * esize;
    const int32_t outer = oshape[0] * oshape[1] * oshape[2] * oshape[3] * oshape[4];
    int32_t idx[5] = {0, 0, 0, 0, 0};
    for (int32_t o = 0; o < outer; o++) {
        int32_t inside = 1, src = 0;
        for (int32_t d = 0; d < 5; d++) {
            const int32_t i = idx[d] - before[d];
            if (i < 0 || i >= ishape[d]) inside = 0;
            src = src * ishape[d] + i;
        }
        if (inside) {
            tmlc_fill(y, before[5], fill, esize);
            memcpy(y + before[5] * esize, x + (size_t)src * (size_t)ishape[5] * (size_t)esize,
                   (size_t)(ishape[5] * esize));
            tmlc_fill(y + (before[5] + ishape[5]) * esize, after[5], fill, esize);
        } else {
            tmlc_fill(y, oshape[5], fill, esize);
        }
        y += row;
        for (int32_t d = 4; d >= 0; d--) {
            if (++idx[d] < oshape[d]) break;
            idx[d] = 0;
        }
    }
}
