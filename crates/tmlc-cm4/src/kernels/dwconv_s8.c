/* Index of tap t of output channel c in the depthwise weights: groups of 4
 * channels, each [taps][4] (one word per tap), then the last c_out % 4
 * channels as [taps][c_out % 4]. */
static inline int32_t tmlc_dw_widx(int32_t t, int32_t c, int32_t taps, int32_t c_out) {
    const int32_t c4 = c_out & ~3;
    return c < c4 ? (c & ~3) * taps + t * 4 + (c & 3) : c4 * taps + t * (c_out - c4) + (c - c4);
}

#if defined(__ARM_FEATURE_DSP)
/* One tap of 4 channels: input word at XADDR, weight word at [wp], post-incremented. */
#define TMLC_DW_TAP(XADDR)                                    \
    "ldr    %[t0], " XADDR "\n\t"                           \
    "ldr    %[t1], [%[wp]], #4\n\t"                          \
    "sxtb16 %[t2], %[t0]\n\t"                               \
    "sxtb16 %[t0], %[t0], ror #8\n\t"                       \
    "sxtb16 %[t3], %[t1]\n\t"                               \
    "sxtb16 %[t1], %[t1], ror #8\n\t"                       \
    "smlabb %[a0], %[t2], %[t3], %[a0]\n\t"                 \
    "smlatt %[a2], %[t2], %[t3], %[a2]\n\t"                 \
    "smlabb %[a1], %[t0], %[t1], %[a1]\n\t"                 \
    "smlatt %[a3], %[t0], %[t1], %[a3]\n\t"
#define TMLC_DW_ROW                                           \
    TMLC_DW_TAP("[%[xr]]")                                    \
    TMLC_DW_TAP("[%[xr], %[ci]]")                             \
    TMLC_DW_TAP("[%[xr], %[ci], lsl #1]")
#endif

/* tmlc_dwconv_s8: int8 depthwise convolution (groups == c_in, channel
 * multiplier dm). Weights are laid out as in tmlc_dw_widx at compile time.
 * Interior pixels (every tap in the image) use bias_in, the bias with the
 * input offset folded in (b[c] - zp_in * sum_taps w), and a plain product;
 * border pixels use the raw bias, skip the padding taps and add the input
 * offset to each tap. With dm == 1 the DSP path handles 4 channels per step
 * (SXTB16 + SMLABB/SMLATT); interior pixels walk `taps`, compile-time
 * (input, weight) byte offsets of every tap, in a hand-scheduled loop, or
 * for 3x3 kernels without horizontal dilation, a fully unrolled block.
 * A non-null `rq` selects the short requantisation (tmlc_requant_q), the
 * accumulators then starting at the bias; see tmlc_mm_s8. */
static void tmlc_dwconv_s8(const int8_t *x, int32_t batches, int32_t h, int32_t w, int32_t c_in,
                           int32_t dm, int32_t ho, int32_t wo, int32_t kh, int32_t kw,
                           int32_t sh, int32_t sw, int32_t dh, int32_t dw, int32_t pt,
                           int32_t pl, const int8_t *wts, const int32_t *taps, const int32_t *bias_in,
                           const int32_t *bias_raw, const int32_t *mult, const int32_t *shift,
                           const int32_t *rq, int8_t *y, int32_t in_off, int32_t zp, int32_t lo, int32_t hi) {
    const int32_t c_out = c_in * dm, ntaps = kh * kw;
#if defined(__ARM_FEATURE_DSP)
    const int full = lo <= -128 && hi >= 127;
    const int k33 = kh == 3 && kw == 3 && dw == 1;
    const int32_t rowstep = dh * w * c_in;
#else
    (void)taps;
#endif
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *xb = x + b * h * w * c_in;
        for (int32_t oy = 0; oy < ho; oy++) {
            const int32_t iy0 = oy * sh - pt;
            const int32_t ky0 = iy0 >= 0 ? 0 : (-iy0 + dh - 1) / dh;
            int32_t ky1 = kh;
            while (ky1 > ky0 && iy0 + (ky1 - 1) * dh >= h) ky1--;
            for (int32_t ox = 0; ox < wo; ox++) {
                const int32_t ix0 = ox * sw - pl;
                const int32_t kx0 = ix0 >= 0 ? 0 : (-ix0 + dw - 1) / dw;
                int32_t kx1 = kw;
                while (kx1 > kx0 && ix0 + (kx1 - 1) * dw >= w) kx1--;
                const int interior = ky0 == 0 && kx0 == 0 && ky1 == kh && kx1 == kw;
                const int32_t off = interior ? 0 : in_off;
                const int32_t *bias = interior ? bias_in : bias_raw;
                int8_t *yp = y + ((b * ho + oy) * wo + ox) * c_out;
                int32_t c = 0;
                if (dm == 1) {
#if defined(__ARM_FEATURE_DSP)
                    const uint32_t off2 = ((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16);
                    if (rq && interior && k33) {
                        /* The common case in one block per 4 channels: the
                         * bias loaded into the accumulators, the 9 taps,
                         * the weights walked sequentially. */
                        const int8_t *xr0 = xb + (iy0 * w + ix0) * c_in;
                        const int8_t *wp = wts;
                        for (; c + 4 <= c_in; c += 4) {
                            const int8_t *xr = xr0 + c;
                            int32_t a0, a1, a2, a3;
                            uint32_t t0, t1, t2, t3;
                            __asm__ volatile(
                                "ldrd   %[a0], %[a1], [%[b]]\n\t"
                                "ldrd   %[a2], %[a3], [%[b], #8]\n\t"
                                TMLC_DW_ROW
                                "add    %[xr], %[xr], %[rs]\n\t"
                                TMLC_DW_ROW
                                "add    %[xr], %[xr], %[rs]\n\t"
                                TMLC_DW_ROW
                                : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),
                                  [xr] "+r"(xr), [wp] "+r"(wp), [t0] "=&r"(t0), [t1] "=&r"(t1),
                                  [t2] "=&r"(t2), [t3] "=&r"(t3)
                                : [b] "r"(bias + c), [ci] "r"(c_in), [rs] "r"(rowstep)
                                : "memory");
                            tmlc_requant4_q(a0, a1, a2, a3, rq + 3 * c, yp + c, full, lo, hi);
                        }
                    }
                    for (; c + 4 <= c_in; c += 4) {
                        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                        if (rq) {
                            a0 = bias[c];
                            a1 = bias[c + 1];
                            a2 = bias[c + 2];
                            a3 = bias[c + 3];
                        }
                        const int8_t *wg = wts + c * ntaps;
                        if (interior && k33) {
                            const int8_t *xr = xb + (iy0 * w + ix0) * c_in + c;
                            const int8_t *wp = wg;
                            uint32_t t0, t1, t2, t3;
                            __asm__ volatile(
                                TMLC_DW_ROW
                                "add    %[xr], %[xr], %[rs]\n\t"
                                TMLC_DW_ROW
                                "add    %[xr], %[xr], %[rs]\n\t"
                                TMLC_DW_ROW
                                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                                  [xr] "+r"(xr), [wp] "+r"(wp), [t0] "=&r"(t0), [t1] "=&r"(t1),
                                  [t2] "=&r"(t2), [t3] "=&r"(t3)
                                : [ci] "r"(c_in), [rs] "r"(rowstep)
                                : "memory");
                        } else if (interior) {
                            const int8_t *xbase = xb + (iy0 * w + ix0) * c_in + c;
                            const int32_t *tp = taps;
                            int32_t cnt = ntaps;
                            uint32_t t0, t1, t2, t3;
                            __asm__ volatile(
                                "1:\n\t"
                                "ldrd   %[t0], %[t1], [%[tp]], #8\n\t"
                                "ldr    %[t0], [%[xb], %[t0]]\n\t"
                                "ldr    %[t1], [%[wb], %[t1]]\n\t"
                                "sxtb16 %[t2], %[t0]\n\t"
                                "sxtb16 %[t0], %[t0], ror #8\n\t"
                                "sxtb16 %[t3], %[t1]\n\t"
                                "sxtb16 %[t1], %[t1], ror #8\n\t"
                                "smlabb %[a0], %[t2], %[t3], %[a0]\n\t"
                                "smlatt %[a2], %[t2], %[t3], %[a2]\n\t"
                                "smlabb %[a1], %[t0], %[t1], %[a1]\n\t"
                                "smlatt %[a3], %[t0], %[t1], %[a3]\n\t"
                                "subs   %[cnt], %[cnt], #1\n\t"
                                "bne    1b\n\t"
                                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                                  [tp] "+r"(tp), [cnt] "+r"(cnt), [t0] "=&r"(t0), [t1] "=&r"(t1),
                                  [t2] "=&r"(t2), [t3] "=&r"(t3)
                                : [xb] "r"(xbase), [wb] "r"(wg)
                                : "cc", "memory");
                        } else {
                        for (int32_t ky = ky0; ky < ky1; ky++) {
                            const int8_t *xr = xb + ((iy0 + ky * dh) * w + ix0) * c_in + c;
                            const int8_t *wr = wg + ky * kw * 4;
                            for (int32_t kx = kx0; kx < kx1; kx++) {
                                const uint32_t xv = tmlc_load32(xr + kx * dw * c_in);
                                const uint32_t wv = tmlc_load32(wr + kx * 4);
                                const uint32_t xe = tmlc_sadd16(tmlc_sxtb16(xv), off2);
                                const uint32_t xo = tmlc_sadd16(tmlc_sxtb16_ror8(xv), off2);
                                const uint32_t we = tmlc_sxtb16(wv), wo2 = tmlc_sxtb16_ror8(wv);
                                a0 = tmlc_smlabb(xe, we, a0);
                                a2 = tmlc_smlatt(xe, we, a2);
                                a1 = tmlc_smlabb(xo, wo2, a1);
                                a3 = tmlc_smlatt(xo, wo2, a3);
                            }
                        }
                        }
                        if (rq) {
                            tmlc_requant4_q(a0, a1, a2, a3, rq + 3 * c, yp + c, full, lo, hi);
                        } else {
                            yp[c] = tmlc_requant_s8(tmlc_add_wrap(a0, bias[c]), mult[c], shift[c], zp, lo, hi);
                            yp[c + 1] = tmlc_requant_s8(tmlc_add_wrap(a1, bias[c + 1]), mult[c + 1], shift[c + 1], zp, lo, hi);
                            yp[c + 2] = tmlc_requant_s8(tmlc_add_wrap(a2, bias[c + 2]), mult[c + 2], shift[c + 2], zp, lo, hi);
                            yp[c + 3] = tmlc_requant_s8(tmlc_add_wrap(a3, bias[c + 3]), mult[c + 3], shift[c + 3], zp, lo, hi);
                        }
                    }
#endif
                    for (; c < c_in; c++) {
                        int32_t acc = rq ? bias[c] : 0;
                        for (int32_t ky = ky0; ky < ky1; ky++) {
                            const int8_t *xr = xb + ((iy0 + ky * dh) * w + ix0) * c_in + c;
                            for (int32_t kx = kx0; kx < kx1; kx++)
                                acc += wts[tmlc_dw_widx(ky * kw + kx, c, ntaps, c_out)] *
                                       (xr[kx * dw * c_in] + off);
                        }
                        yp[c] = rq ? (int8_t)tmlc_clamp_i32(tmlc_requant_q(acc, rq + 3 * c), lo, hi)
                                   : tmlc_requant_s8(tmlc_add_wrap(acc, bias[c]), mult[c], shift[c], zp, lo, hi);
                    }
                } else {
                    for (int32_t ic = 0; ic < c_in; ic++) {
                        for (int32_t m = 0; m < dm; m++) {
                            const int32_t oc = ic * dm + m;
                            int32_t acc = rq ? bias[oc] : 0;
                            for (int32_t ky = ky0; ky < ky1; ky++) {
                                const int8_t *xr = xb + ((iy0 + ky * dh) * w + ix0) * c_in + ic;
                                for (int32_t kx = kx0; kx < kx1; kx++)
                                    acc += wts[tmlc_dw_widx(ky * kw + kx, oc, ntaps, c_out)] *
                                           (xr[kx * dw * c_in] + off);
                            }
                            yp[oc] = rq ? (int8_t)tmlc_clamp_i32(tmlc_requant_q(acc, rq + 3 * oc), lo, hi)
                                        : tmlc_requant_s8(tmlc_add_wrap(acc, bias[oc]), mult[oc], shift[oc], zp, lo, hi);
                        }
                    }
                }
            }
        }
    }
}
#if defined(__ARM_FEATURE_DSP)
#undef TMLC_DW_ROW
#undef TMLC_DW_TAP
#endif
