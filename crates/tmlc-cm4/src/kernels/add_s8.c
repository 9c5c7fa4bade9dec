/* tmlc_add_s8: int8 add (sub when is_sub) with numpy broadcasting over a
 * collapsed 6-D iteration space. ta/tb are the per-input stages,
 * mbqm((x - zp) * 2^20, M_i, e_i), tabulated at compile time for all 256
 * byte values; the sum (difference) is requantised with (m, shift). */
static void tmlc_add_s8(const int8_t *a, const int8_t *b, int8_t *y, const int32_t *shape,
                        const int32_t *sa, const int32_t *sb, const int32_t *ta,
                        const int32_t *tb, int32_t is_sub, int32_t m, int32_t shift, int32_t zp,
                        int32_t lo, int32_t hi) {
    const int32_t outer = shape[0] * shape[1] * shape[2] * shape[3] * shape[4];
    const int32_t inner = shape[5], ia = sa[5], ib = sb[5];
    int32_t idx[5] = {0, 0, 0, 0, 0};
    int32_t oa = 0, ob = 0;
    for (int32_t o = 0; o < outer; o++) {
        const int8_t *pa = a + oa, *pb = b + ob;
        for (int32_t i = 0; i < inner; i++) {
            const int32_t va = ta[(uint8_t)pa[i * ia]], vb = tb[(uint8_t)pb[i * ib]];
            const int32_t raw = is_sub ? (int32_t)((uint32_t)va - (uint32_t)vb) : tmlc_add_wrap(va, vb);
            *y++ = (int8_t)tmlc_clamp_i32(tmlc_add_wrap(tmlc_mbqm(raw, m, shift), zp), lo, hi);
        }
        tmlc_walk5(idx, shape, sa, sb, &oa, &ob);
    }
}
