//! `quantize` (from f32, or a 16-bit requantisation) and `dequantize`;
//! an 8-bit requantisation is a `lookup` table by now, and so is the
//! dequantisation of a large 8-bit tensor.

use super::{CType, Cx, Layer, Node, R};
use crate::kernels::convert::{int_kind, Dequantize, QuantizeF32, RequantInt};
use crate::kernels::{Arg, Kernel};
use crate::pack::axis_layout;
use tmlc_ir::prepare;
use tmlc_ir::{DType, Op, Rounding};

const TABULATED: &str =
    "8-bit element-wise ops are lowered to lookup tables first (the `tabulate` pass)";

impl<'g> Cx<'g> {
    pub(super) fn quantize(&mut self, nd: &Node<'_>, l: &mut Layer) -> R<()> {
        let (xt, yt) = (nd.xt, nd.yt);
        let n = yt.numel();
        let q = yt
            .quant
            .as_ref()
            .ok_or_else(|| nd.unsupported("unquantized result"))?;
        let out_kind = match yt.dtype {
            DType::I8 | DType::U8 | DType::I16 => int_kind(yt.dtype).unwrap_or(0),
            _ => return Err(nd.unsupported("")),
        };
        let (lo, hi) = yt.dtype.int_range().unwrap_or((0, 0));
        if xt.dtype == DType::F32 {
            let (inner, channels) = axis_layout(&yt.shape, q);
            let (scale, zp) = self.qparam_arrays(nd, q);
            l.kernel_desc = "quantize_f32".into();
            let x = self.input(nd.ops[0], CType::F32);
            let y = Arg::Out(CType::Void);
            l.call(
                Kernel::QuantizeF32,
                QuantizeF32 {
                    x,
                    y,
                    kind: out_kind,
                    half_even: matches!(nd.op, Op::Quantize(a) if a.round == Rounding::HalfEven),
                    n,
                    inner,
                    channels,
                    scale,
                    zp,
                    lo,
                    hi,
                },
            );
        } else if matches!(xt.dtype, DType::I8 | DType::U8) && xt.qparams().is_some() {
            return Err(nd.unsupported(TABULATED));
        } else if xt.dtype == DType::I16 && xt.qparams().is_some() {
            let (s_in, zp_in) = nd.qparams(xt, "operand")?;
            let (s_out, zp_out) = nd.qparams(yt, "result")?;
            let (m, shift) = prepare::requantize_multiplier(s_in, s_out);
            if yt.dtype == DType::I16 {
                l.in_place.push(0);
            }
            l.kernel_desc = "requant_int".into();
            let x = self.input(nd.ops[0], CType::Void);
            let y = Arg::Out(CType::Void);
            l.call(
                Kernel::RequantInt,
                RequantInt {
                    x,
                    in_kind: 3,
                    y,
                    out_kind,
                    n,
                    zp_in,
                    m,
                    shift,
                    zp_out,
                    lo,
                    hi,
                },
            );
        } else {
            return Err(nd.unsupported_for(xt.dtype, "quantize operand"));
        }
        Ok(())
    }

    pub(super) fn dequantize(&mut self, nd: &Node<'_>, l: &mut Layer) -> R<()> {
        let xt = nd.xt;
        let q = xt
            .quant
            .as_ref()
            .ok_or_else(|| nd.unsupported("unquantized operand"))?;
        let kind = int_kind(xt.dtype).ok_or_else(|| nd.unsupported_for(xt.dtype, ""))?;
        if xt.dtype.size() == 4 {
            l.in_place.push(0);
        }
        let (inner, channels) = axis_layout(&xt.shape, q);
        let (scale, zp) = self.qparam_arrays(nd, q);
        l.kernel_desc = "dequantize".into();
        let x = self.input(nd.ops[0], CType::Void);
        let y = Arg::Out(CType::F32);
        let n = nd.yt.numel();
        l.call(
            Kernel::Dequantize,
            Dequantize {
                x,
                kind,
                y,
                n,
                inner,
                channels,
                scale,
                zp,
            },
        );
        Ok(())
    }
}
