//! Arguments of the convolution kernels: `conv_f32.c`, `conv_s8.c`
//! (im2col), `conv_s4.c` and `spconv_s8.c` (im2col, 4-bit or sparse
//! weights), `conv1x1_s8.c`, `dwconv_s8.c`.

use super::args::{kernel_args, Arg, IntoArgs, Requant, SparseWeights};

/// The window geometry `conv_f32.c` and `conv_s8.c` take: `batches, h, w,
/// c_in, ho, wo, c_out, kh, kw, sh, sw, dh, dw, pt, pl, groups`.
#[derive(Clone, Debug)]
pub(crate) struct ConvGeometry {
    pub(crate) batches: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) c_in: usize,
    pub(crate) ho: usize,
    pub(crate) wo: usize,
    pub(crate) c_out: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) stride: [usize; 2],
    pub(crate) dilation: [usize; 2],
    /// Top and left padding.
    pub(crate) pad_tl: [usize; 2],
    pub(crate) groups: usize,
}

impl IntoArgs for ConvGeometry {
    const COUNT: usize = 16;
    fn push_args(self, out: &mut Vec<Arg>) {
        [
            self.batches,
            self.h,
            self.w,
            self.c_in,
            self.ho,
            self.wo,
            self.c_out,
            self.kh,
            self.kw,
        ]
        .push_args(out);
        self.stride.push_args(out);
        self.dilation.push_args(out);
        self.pad_tl.push_args(out);
        self.groups.push_args(out);
    }
}

/// The input and window of a one-group convolution by im2col rows of
/// `kpad` bytes (`conv_s4.c`, `spconv_s8.c`): `x, batches, h, w, c_in, ho,
/// wo, c_out, kh, kw, sh, sw, dh, dw, pt, pl, kpad`.
#[derive(Clone, Debug)]
pub(crate) struct Im2col {
    pub(crate) x: Arg,
    pub(crate) geo: ConvGeometry,
    pub(crate) kpad: usize,
}

impl IntoArgs for Im2col {
    const COUNT: usize = 17;
    fn push_args(self, out: &mut Vec<Arg>) {
        let g = self.geo;
        out.push(self.x);
        [g.batches, g.h, g.w, g.c_in, g.ho, g.wo, g.c_out, g.kh, g.kw].push_args(out);
        g.stride.push_args(out);
        g.dilation.push_args(out);
        g.pad_tl.push_args(out);
        self.kpad.push_args(out);
    }
}

kernel_args! {
    /// `tmlc_conv_f32`.
    struct ConvF32 = "tmlc_conv_f32" {
        x: Arg,
        geo: ConvGeometry,
        wts: Arg,
        bias: Arg,
        y: Arg,
        lo: f32,
        hi: f32,
    }

    /// `tmlc_conv_f32_w8`: f32 activations, int8 weights with a scale per
    /// output channel.
    struct ConvF32W8 = "tmlc_conv_f32_w8" {
        x: Arg,
        geo: ConvGeometry,
        wts: Arg,
        wscale: Arg,
        bias: Arg,
        y: Arg,
        lo: f32,
        hi: f32,
    }

    /// `tmlc_conv_f32_dyn`: f32 input quantized per image at run time
    /// into `d` (`mode` 1 asymmetric, 2 symmetric), int8 weights.
    struct ConvF32Dyn = "tmlc_conv_f32_dyn" {
        x: Arg,
        geo: ConvGeometry,
        wts: Arg,
        wscale: Arg,
        bias: Arg,
        y: Arg,
        lo: f32,
        hi: f32,
        mode: i32,
        d: Arg,
    }

    /// `tmlc_conv_s8`: im2col rows of `kpad` bytes into `col`, then the
    /// matrix product.
    struct ConvS8 = "tmlc_conv_s8" {
        x: Arg,
        geo: ConvGeometry,
        kpad: usize,
        wts: Arg,
        bias: Arg,
        requant: Requant,
        y: Arg,
        zp_in: i32,
        zp_out: i32,
        lo: i32,
        hi: i32,
        col: Arg,
    }

    /// `tmlc_conv_s4`: [`ConvS8`] of one group with 4-bit weights.
    struct ConvS4 = "tmlc_conv_s4" {
        geo: Im2col,
        wts: Arg,
        bias: Arg,
        requant: Requant,
        y: Arg,
        zp_in: i32,
        zp_out: i32,
        lo: i32,
        hi: i32,
        col: Arg,
    }

    /// `tmlc_spconv_s8`: [`ConvS8`] of one group with sparse weights.
    struct SpConvS8 = "tmlc_spconv_s8" {
        geo: Im2col,
        wts: SparseWeights,
        bias: Arg,
        requant: Requant,
        y: Arg,
        zp_in: i32,
        zp_out: i32,
        lo: i32,
        hi: i32,
        col: Arg,
    }

    /// `tmlc_conv1x1_s8`.
    struct Conv1x1S8 = "tmlc_conv1x1_s8" {
        x: Arg,
        batches: usize,
        h: usize,
        w: usize,
        c_in: usize,
        stride: [usize; 2],
        ho: usize,
        wo: usize,
        wts: Arg,
        bias: Arg,
        requant: Requant,
        y: Arg,
        c_out: usize,
        zp_out: i32,
        lo: i32,
        hi: i32,
    }

    /// `tmlc_dwconv_s8`.
    struct DwConvS8 = "tmlc_dwconv_s8" {
        x: Arg,
        batches: usize,
        h: usize,
        w: usize,
        c_in: usize,
        dm: usize,
        ho: usize,
        wo: usize,
        kh: usize,
        kw: usize,
        stride: [usize; 2],
        dilation: [usize; 2],
        pad_tl: [usize; 2],
        wts: Arg,
        taps: Arg,
        bias_in: Arg,
        bias_raw: Arg,
        requant: Requant,
        y: Arg,
        in_off: i32,
        zp_out: i32,
        lo: i32,
        hi: i32,
    }
}
