/* tmlc_mul_s8: int8 multiply with numpy broadcasting (collapsed 6-D). */
static void tmlc_mul_s8(const int8_t *a, const int8_t *b, int8_t *y, const int32_t *shape,
                        const int32_t *sa, const int32_t *sb, int32_t zpa, int32_t zpb,
                        int32_t m, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
    const int32_t outer = shape[0] * shape[1] * shape[2] * shape[3] * shape[4];
    const int32_t inner = shape[5], ia = sa[5], ib = sb[5];
    int32_t idx[5] = {0, 0, 0, 0, 0};
    int32_t oa = 0, ob = 0;
    for (int32_t o = 0; o < outer; o++) {
        const int8_t *pa = a + oa, *pb = b + ob;
        for (int32_t i = 0; i < inner; i++) {
            const int32_t p = (pa[i * ia] - zpa) * (pb[i * ib] - zpb);
            *y++ = (int8_t)tmlc_clamp_i32(tmlc_add_wrap(tmlc_mbqm(p, m, shift), zp), lo, hi);
        }
        tmlc_walk5(idx, shape, sa, sb, &oa, &ob);
    }
}
