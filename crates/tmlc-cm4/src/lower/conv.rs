//! `conv2d`. Int8 kernel choice: depthwise (`groups == C_in > 1`, one
//! input channel per group) -> `tmlc_dwconv_s8`; 1x1 without padding or
//! groups -> `tmlc_conv1x1_s8` (a matrix product); anything else ->
//! `tmlc_conv_s8` (im2col into a scratch of 2 rows, then the matrix
//! product). Weights with enough zeros are stored sparse (one group):
//! `tmlc_spmm_s8` for a 1x1 stride-1 convolution, `tmlc_spconv_s8`
//! otherwise. f32 -> `tmlc_conv_f32`; f32 with int8 weights ->
//! `tmlc_conv_f32_w8`.

use super::dense::{MmWeights, Product};
use super::dynamic_mode;
use super::{macs, CType, ConstData, Cx, Layer, Node, R};
use crate::kernels::conv::{
    Conv1x1S8, ConvF32, ConvF32Dyn, ConvF32W8, ConvGeometry, ConvS4, ConvS8, DwConvS8, Im2col,
    SpConvS8,
};
use crate::kernels::{Arg, Kernel};
use crate::pack::{fold_input_offset, pack_conv, pack_depthwise, pad_rows};
use tmlc_ir::prepare;
use tmlc_ir::{Conv2dAttrs, DynamicQuant};

impl<'g> Cx<'g> {
    pub(super) fn conv2d(&mut self, nd: &Node<'g>, l: &mut Layer, a: &Conv2dAttrs) -> R<()> {
        let xs = &nd.xt.shape;
        let ws = &self.ty(nd.ops[1]).shape;
        let (nb, h, w, c) = (xs[0], xs[1], xs[2], xs[3]);
        let (o, kh, kw, cg) = (ws[0], ws[1], ws[2], ws[3]);
        let (ho, wo) = (nd.yt.shape[1], nd.yt.shape[2]);
        l.macs = macs(&[nb, ho, wo, o, kh, kw, cg]);
        let geo = ConvGeometry {
            batches: nb,
            h,
            w,
            c_in: c,
            ho,
            wo,
            c_out: o,
            kh,
            kw,
            stride: a.stride,
            dilation: a.dilation,
            pad_tl: [a.pad[0], a.pad[1]],
            groups: a.groups,
        };
        if nd.all_f32 {
            l.kernel_desc = "conv_f32".into();
            let wts = self.input(nd.ops[1], CType::F32);
            let bias = self.f32_bias(nd, nd.ops.get(2).copied(), o);
            let (lo, hi) = a.act.range();
            let x = self.input(nd.ops[0], CType::F32);
            let y = Arg::Out(CType::F32);
            l.call(
                Kernel::ConvF32,
                ConvF32 {
                    x,
                    geo,
                    wts,
                    bias,
                    y,
                    lo,
                    hi,
                },
            );
            return Ok(());
        }
        if nd.w8 && a.dynamic != DynamicQuant::None {
            l.kernel_desc = format!("conv_f32_dyn {}", a.dynamic.name());
            let (wts, wscale) = self.w8_weights(nd, o)?;
            let bias = self.f32_bias(nd, nd.ops.get(2).copied(), o);
            let (lo, hi) = a.act.range();
            let x = self.input(nd.ops[0], CType::F32);
            l.scratch = 2 * h * w * c;
            l.call(
                Kernel::ConvF32Dyn,
                ConvF32Dyn {
                    x,
                    geo,
                    wts,
                    wscale,
                    bias,
                    y: Arg::Out(CType::F32),
                    lo,
                    hi,
                    mode: dynamic_mode(a.dynamic),
                    d: Arg::Scratch(CType::I16),
                },
            );
            return Ok(());
        }
        if nd.w8 {
            l.kernel_desc = "conv_f32_w8".into();
            let (wts, wscale) = self.w8_weights(nd, o)?;
            let bias = self.f32_bias(nd, nd.ops.get(2).copied(), o);
            let (lo, hi) = a.act.range();
            let x = self.input(nd.ops[0], CType::F32);
            l.call(
                Kernel::ConvF32W8,
                ConvF32W8 {
                    x,
                    geo,
                    wts,
                    wscale,
                    bias,
                    y: Arg::Out(CType::F32),
                    lo,
                    hi,
                },
            );
            return Ok(());
        }
        if !nd.q8 {
            return Err(nd.unsupported(""));
        }
        let wp = self.weighted_s8(nd, o, a.act, prepare::conv_multipliers)?;
        let off = wp.zp_in.wrapping_neg();
        let requant = self.requant(nd, &wp, kh * kw * cg);
        let name = nd.name;
        let pfx = nd.pfx.clone();
        let x = self.input(nd.ops[0], CType::I8);
        let y = Arg::Out(CType::I8);
        if a.groups == c && cg == 1 && a.groups > 1 {
            let dm = o / c;
            let taps = kh * kw;
            let wc = self.add_const(
                format!("{pfx}_w"),
                ConstData::I8(pack_depthwise(wp.w, taps, o)),
                format!("{name}: depthwise weights, [c_out/4][kh*kw][4] then [kh*kw][c_out%4]"),
            );
            let bias_in = fold_input_offset(wp.w, taps, &wp.bias, off);
            let bias_in = self.i32_array(
                nd,
                "bias_in",
                bias_in,
                "bias - zp_in * sum(w), interior pixels",
            );
            let bias_raw = self.i32_array(nd, "bias", wp.bias.clone(), "bias, border pixels");
            let mut tap_offs = Vec::with_capacity(2 * taps);
            for ky in 0..kh {
                for kx in 0..kw {
                    // Saturating: an offset beyond the input is never used by an
                    // interior pixel, and is clamped below anyway.
                    let xo = ky
                        .saturating_mul(a.dilation[0])
                        .saturating_mul(w)
                        .saturating_add(kx.saturating_mul(a.dilation[1]))
                        .saturating_mul(c);
                    tap_offs.push(xo.min(i32::MAX as usize) as i32);
                    tap_offs.push(((ky * kw + kx) * 4) as i32);
                }
            }
            let taps_arg = self.i32_array(
                nd,
                "taps",
                tap_offs,
                "(input, weight) byte offsets of each tap",
            );
            l.kernel_desc = format!("dwconv_s8 {kh}x{kw} s{} dm{dm}", a.stride[0]);
            l.call(
                Kernel::DwConvS8,
                DwConvS8 {
                    x,
                    batches: nb,
                    h,
                    w,
                    c_in: c,
                    dm,
                    ho,
                    wo,
                    kh,
                    kw,
                    stride: a.stride,
                    dilation: a.dilation,
                    pad_tl: [a.pad[0], a.pad[1]],
                    wts: Arg::Const(wc, CType::I8),
                    taps: taps_arg,
                    bias_in,
                    bias_raw,
                    requant,
                    y,
                    in_off: off,
                    zp_out: wp.zp_out,
                    lo: wp.lo,
                    hi: wp.hi,
                },
            );
            return Ok(());
        }
        let one_by_one = kh == 1 && kw == 1 && a.groups == 1 && a.pad == [0; 4];
        let k = kh * kw * cg;
        let kpad = if one_by_one { k } else { k.div_ceil(4) * 4 };
        let desc = format!("{name}: weights [c_out][{kpad}], packed by 4 columns");
        let wts = if a.groups == 1 {
            let rows = pad_rows(wp.w, o, k, kpad);
            self.mm_weights(nd, l, (&rows, wp.int4), (o, kpad), desc)
        } else {
            let wc = self.add_const(
                format!("{pfx}_w"),
                ConstData::I8(pack_conv(wp.w, o, k, kpad, a.groups)),
                desc,
            );
            MmWeights::Dense(Arg::Const(wc, CType::I8))
        };
        let be = fold_input_offset(wp.w, k, &wp.bias, off);
        let bias = self.i32_array(nd, "bias", be, "bias - zp_in * sum(w)");
        let (zp_in, zp_out, lo, hi) = (wp.zp_in, wp.zp_out, wp.lo, wp.hi);
        let col = Arg::Scratch(CType::I8);
        let (s, kk) = (a.stride[0], format!("{kh}x{kw}"));
        match wts {
            MmWeights::Dense(wts) if one_by_one => {
                l.kernel_desc = format!("conv1x1_s8 s{s}");
                l.call(
                    Kernel::Conv1x1S8,
                    Conv1x1S8 {
                        x,
                        batches: nb,
                        h,
                        w,
                        c_in: c,
                        stride: a.stride,
                        ho,
                        wo,
                        wts,
                        bias,
                        requant,
                        y,
                        c_out: o,
                        zp_out,
                        lo,
                        hi,
                    },
                );
            }
            MmWeights::Dense(wts) => {
                l.kernel_desc = format!("conv_s8 im2col {kk} s{s} g{}", a.groups);
                l.scratch = 2 * kpad;
                let conv = ConvS8 {
                    x,
                    geo,
                    kpad,
                    wts,
                    bias,
                    requant,
                    y,
                    zp_in,
                    zp_out,
                    lo,
                    hi,
                    col,
                };
                l.call(Kernel::ConvS8, conv);
            }
            // Stride 1 without padding: the pixels are the product's rows.
            wts if one_by_one && a.stride == [1, 1] => {
                let product = Product {
                    lhs: x,
                    rows: nb * h * w,
                    lhs_stride: c,
                    n: o,
                    k: c,
                    bias,
                    requant,
                    out: y,
                    out_stride: o,
                    zp_out,
                    lo,
                    hi,
                };
                l.kernel_desc = format!("{} (1x1 conv)", product.call(l, wts));
            }
            MmWeights::S4(wts) => {
                l.kernel_desc = format!("conv_s4 im2col {kk} s{s}");
                l.scratch = 2 * kpad;
                let geo = Im2col { x, geo, kpad };
                let conv = ConvS4 {
                    geo,
                    wts,
                    bias,
                    requant,
                    y,
                    zp_in,
                    zp_out,
                    lo,
                    hi,
                    col,
                };
                l.call(Kernel::ConvS4, conv);
            }
            MmWeights::Sparse(wts) => {
                l.kernel_desc = format!("spconv_s8 im2col {kk} s{s} 1x{}", wts.blk);
                l.scratch = 2 * kpad;
                let geo = Im2col { x, geo, kpad };
                let conv = SpConvS8 {
                    geo,
                    wts,
                    bias,
                    requant,
                    y,
                    zp_in,
                    zp_out,
                    lo,
                    hi,
                    col,
                };
                l.call(Kernel::SpConvS8, conv);
            }
        }
        Ok(())
    }
}
