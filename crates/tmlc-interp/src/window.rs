//! Sliding-window loops shared by the float and int8 kernels: 2-D
//! convolution (grouped, hence also depthwise) and 2-D pooling, NHWC.
//!
//! Padding is explicit `[top, left, bottom, right]`; taps that fall outside
//! the image are skipped, exactly as TFLite's reference kernels do
//! (`origin = o * stride - pad`, tap rows/cols checked against the image).

use crate::util::{dim, internal};
use crate::InterpError;
use tmlc_ir::{Conv2dAttrs, Pool2dAttrs};

/// The geometry of one `conv2d`: input `[n,h,w,c_in]`, filter
/// `[c_out,kh,kw,c_in/groups]`, result `[n,ho,wo,c_out]`.
#[derive(Clone, Debug)]
pub(crate) struct ConvGeom {
    n: usize,
    h: usize,
    w: usize,
    c_in: usize,
    ho: usize,
    wo: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    stride: [usize; 2],
    dil: [usize; 2],
    pad_top: usize,
    pad_left: usize,
    /// Input channels per group.
    ig: usize,
    /// Output channels per group.
    opg: usize,
}

impl ConvGeom {
    /// Reads the geometry from verified shapes.
    pub(crate) fn new(
        a: &Conv2dAttrs,
        x: &[usize],
        filt: &[usize],
        out: &[usize],
    ) -> Result<ConvGeom, InterpError> {
        const OP: &str = "conv2d";
        let c_out = dim(filt, 0, OP)?;
        if a.groups == 0 {
            return Err(internal("conv2d with zero groups"));
        }
        Ok(ConvGeom {
            n: dim(x, 0, OP)?,
            h: dim(x, 1, OP)?,
            w: dim(x, 2, OP)?,
            c_in: dim(x, 3, OP)?,
            ho: dim(out, 1, OP)?,
            wo: dim(out, 2, OP)?,
            c_out,
            kh: dim(filt, 1, OP)?,
            kw: dim(filt, 2, OP)?,
            stride: a.stride,
            dil: a.dilation,
            pad_top: a.pad[0],
            pad_left: a.pad[1],
            ig: dim(filt, 3, OP)?,
            opg: c_out / a.groups,
        })
    }

    /// Number of output channels.
    pub(crate) fn out_channels(&self) -> usize {
        self.c_out
    }

    /// Evaluates the convolution: for every output element (row-major NHWC)
    /// `acc = init(oc)`, then `mac(&mut acc, x, w)` over the in-image taps in
    /// the order `ky, kx, ic`, then `finish(acc, oc)`.
    pub(crate) fn run<X: Copy, W: Copy, A, R>(
        &self,
        x: &[X],
        w: &[W],
        init: impl Fn(usize) -> A,
        mut mac: impl FnMut(&mut A, X, W),
        mut finish: impl FnMut(A, usize) -> R,
    ) -> Vec<R> {
        let total = self.n * self.ho * self.wo * self.c_out;
        let mut out = Vec::with_capacity(total);
        for b in 0..self.n {
            for oy in 0..self.ho {
                for ox in 0..self.wo {
                    for oc in 0..self.c_out {
                        // opg >= 1 whenever c_out > 0 (c_out is a multiple of groups).
                        let g = oc / self.opg.max(1);
                        let mut acc = init(oc);
                        for ky in taps(
                            oy,
                            self.stride[0],
                            self.dil[0],
                            self.pad_top,
                            self.h,
                            self.kh,
                        ) {
                            let iy = coord(oy, self.stride[0], ky, self.dil[0], self.pad_top);
                            for kx in taps(
                                ox,
                                self.stride[1],
                                self.dil[1],
                                self.pad_left,
                                self.w,
                                self.kw,
                            ) {
                                let ix = coord(ox, self.stride[1], kx, self.dil[1], self.pad_left);
                                let xb =
                                    ((b * self.h + iy) * self.w + ix) * self.c_in + g * self.ig;
                                let wb = ((oc * self.kh + ky) * self.kw + kx) * self.ig;
                                let xs = x.get(xb..xb + self.ig).unwrap_or(&[]);
                                let ws = w.get(wb..wb + self.ig).unwrap_or(&[]);
                                for (&xv, &wv) in xs.iter().zip(ws) {
                                    mac(&mut acc, xv, wv);
                                }
                            }
                        }
                        out.push(finish(acc, oc));
                    }
                }
            }
        }
        out
    }
}

/// The taps `k` of a window (size `k_size`, dilation `dil`) at output
/// position `o` that land inside the image (`0 <= o*stride + k*dil - pad <
/// size`), as a range of `k`, with a function giving the image coordinate.
/// Iterating only this range keeps the work proportional to the image even
/// for windows much larger than it.
fn taps(
    o: usize,
    stride: usize,
    dil: usize,
    pad: usize,
    size: usize,
    k_size: usize,
) -> std::ops::Range<usize> {
    let start = (o as u128) * (stride as u128);
    let dil = (dil as u128).max(1);
    let pad = pad as u128;
    // Smallest k with start + k*dil >= bound.
    let first_at_least = |bound: u128| -> u128 {
        if start >= bound {
            0
        } else {
            (bound - start).div_ceil(dil)
        }
    };
    let lo = first_at_least(pad).min(k_size as u128);
    let hi = first_at_least(pad + size as u128).min(k_size as u128);
    (lo as usize)..(hi.max(lo) as usize)
}

/// The image coordinate of an in-image tap `k` (see [`taps`]).
fn coord(o: usize, stride: usize, k: usize, dil: usize, pad: usize) -> usize {
    let pos = o as u128 * stride as u128 + k as u128 * dil as u128;
    pos.saturating_sub(pad as u128) as usize
}

/// The geometry of one pooling op: input `[n,h,w,c]`, result `[n,ho,wo,c]`.
#[derive(Clone, Debug)]
pub(crate) struct PoolGeom {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    ho: usize,
    wo: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    pad_top: usize,
    pad_left: usize,
}

impl PoolGeom {
    /// Reads the geometry from verified shapes.
    pub(crate) fn new(
        a: &Pool2dAttrs,
        x: &[usize],
        out: &[usize],
        op: &'static str,
    ) -> Result<PoolGeom, InterpError> {
        Ok(PoolGeom {
            n: dim(x, 0, op)?,
            h: dim(x, 1, op)?,
            w: dim(x, 2, op)?,
            c: dim(x, 3, op)?,
            ho: dim(out, 1, op)?,
            wo: dim(out, 2, op)?,
            kernel: a.kernel,
            stride: a.stride,
            pad_top: a.pad[0],
            pad_left: a.pad[1],
        })
    }

    /// The full window size `kh * kw`.
    pub(crate) fn window_size(&self) -> usize {
        self.kernel[0].saturating_mul(self.kernel[1])
    }

    /// For every output element (row-major NHWC), calls `f` with the
    /// in-image taps of its window (order `ky, kx`).
    pub(crate) fn run<X: Copy, R>(
        &self,
        x: &[X],
        mut f: impl FnMut(&[X]) -> Result<R, InterpError>,
    ) -> Result<Vec<R>, InterpError> {
        let mut out = Vec::with_capacity(self.n * self.ho * self.wo * self.c);
        let mut window = Vec::with_capacity(self.window_size().min(1 << 16));
        for b in 0..self.n {
            for oy in 0..self.ho {
                for ox in 0..self.wo {
                    for ch in 0..self.c {
                        window.clear();
                        for ky in taps(oy, self.stride[0], 1, self.pad_top, self.h, self.kernel[0])
                        {
                            let iy = coord(oy, self.stride[0], ky, 1, self.pad_top);
                            for kx in
                                taps(ox, self.stride[1], 1, self.pad_left, self.w, self.kernel[1])
                            {
                                let ix = coord(ox, self.stride[1], kx, 1, self.pad_left);
                                let i = ((b * self.h + iy) * self.w + ix) * self.c + ch;
                                window.push(
                                    *x.get(i).ok_or_else(|| internal("pool tap out of range"))?,
                                );
                            }
                        }
                        out.push(f(&window)?);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_ranges() {
        // 3-tap window, stride 1, pad 1, image 4: position 0 skips tap 0.
        assert_eq!(taps(0, 1, 1, 1, 4, 3), 1..3);
        assert_eq!(taps(3, 1, 1, 1, 4, 3), 0..2);
        assert_eq!(taps(1, 1, 1, 1, 4, 3), 0..3);
        // Dilation 2, pad 2: taps at -2, 0, 2 for o = 0.
        assert_eq!(taps(0, 1, 2, 2, 3, 3), 1..3);
        // A window far larger than the image only visits the image.
        assert_eq!(
            taps(0, 1, 1, 1 << 40, 2, usize::MAX),
            (1 << 40)..((1 << 40) + 2)
        );
        // Entirely in the padding.
        assert!(taps(0, 1, 5, 3, 1, 1).is_empty());
        assert!(taps(9, 1, 1, 0, 4, 3).is_empty());
        for (o, s, d, p, n, k) in [(2, 2, 3, 1, 7, 4), (0, 3, 1, 2, 5, 3), (4, 1, 2, 0, 6, 2)] {
            let want: Vec<usize> = (0..k)
                .filter(|&kk| {
                    let pos = o * s + kk * d;
                    pos >= p && pos - p < n
                })
                .collect();
            assert_eq!(taps(o, s, d, p, n, k).collect::<Vec<_>>(), want);
        }
        assert_eq!(coord(2, 2, 1, 3, 1), 6);
    }
}
