/* tmlc_requant_int: requantise int8 (kind 1), uint8 (2) or int16 (3) to
 * another of these: clamp(mbqm(x - zp_in, m, shift) + zp, lo, hi). */
static void tmlc_requant_int(const void *x, int32_t in_kind, void *y, int32_t out_kind, int32_t n,
                             int32_t zp_in, int32_t m, int32_t shift, int32_t zp, int32_t lo,
                             int32_t hi) {
    for (int32_t i = 0; i < n; i++) {
        int32_t v;
        if (in_kind == 1)
            v = ((const int8_t *)x)[i];
        else if (in_kind == 2)
            v = ((const uint8_t *)x)[i];
        else
            v = ((const int16_t *)x)[i];
        const int32_t q = tmlc_clamp_i32(tmlc_add_wrap(tmlc_mbqm(v - zp_in, m, shift), zp), lo, hi);
        if (out_kind == 1)
            ((int8_t *)y)[i] = (int8_t)q;
        else if (out_kind == 2)
            ((uint8_t *)y)[i] = (uint8_t)q;
        else
            ((int16_t *)y)[i] = (int16_t)q;
    }
}
