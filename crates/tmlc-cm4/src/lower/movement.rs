//! Data movement, any dtype: `reshape` (an alias, no code), `transpose`
//! and `slice` (strided gathers), `concat` (block copies), `pad`.

use super::{CType, ConstData, Cx, Layer, Node, R};
use crate::kernels::movement::{CopyBlocks, Pad, Transpose};
use crate::kernels::{Arg, Kernel};
use tmlc_ir::{
    strides, ConcatAttrs, Op, PadAttrs, SliceAttrs, TensorType, TransposeAttrs, ValueDef,
};

/// The padding element of `pad` as little-endian bytes (spec §5.18).
fn pad_element(value: f32, out: &TensorType) -> Option<Vec<u8>> {
    tmlc_ir::prepare::pad_element(value, out).map(|d| d.to_le_bytes())
}

impl<'g> Cx<'g> {
    /// Lowers a movement-family op.
    pub(super) fn movement(&mut self, nd: &Node<'_>, l: &mut Layer) -> R<()> {
        match nd.op {
            Op::Reshape(_) => self.reshape(nd, l),
            Op::Transpose(a) => self.transpose(nd, l, a)?,
            Op::Concat(a) => self.concat(nd, l, a),
            Op::Pad(a) => self.pad(nd, l, a)?,
            Op::Slice(a) => self.slice(nd, l, a)?,
            _ => return Err(nd.unsupported("no kernel")),
        }
        Ok(())
    }

    fn reshape(&mut self, nd: &Node<'_>, l: &mut Layer) {
        l.alias = true;
        l.kernel_desc = "alias".into();
        if let ValueDef::Const(_) = &self.g.value(nd.ops[0]).def {
            self.input(nd.ops[0], CType::Void);
        }
    }

    /// A strided gather of the operand (starting `start` elements in) with
    /// `istr` per output dimension.
    fn gather(
        &mut self,
        nd: &Node<'_>,
        l: &mut Layer,
        start: usize,
        istr: Vec<usize>,
        what: &str,
    ) -> R<()> {
        let (oshape, [istr]) = self
            .iteration_arrays(nd, &nd.yt.shape, "output shape", [("istr", what, istr)])
            .ok_or_else(|| {
                nd.unsupported(format!("{} needs more than 6 dimensions", nd.op.name()))
            })?;
        let esize = nd.yt.dtype.size();
        let Arg::In(v, ct) = self.input(nd.ops[0], CType::U8) else {
            return Err(nd.unsupported("operand"));
        };
        let x = if start == 0 {
            Arg::In(v, ct)
        } else {
            Arg::InAt(v, ct, start * esize)
        };
        let y = Arg::Out(CType::U8);
        l.call(
            Kernel::Transpose,
            Transpose {
                x,
                y,
                oshape,
                istr,
                esize,
            },
        );
        Ok(())
    }

    fn transpose(&mut self, nd: &Node<'_>, l: &mut Layer, a: &TransposeAttrs) -> R<()> {
        let ist = strides(&nd.xt.shape);
        let pst: Vec<usize> = a.perm.iter().map(|&p| ist[p]).collect();
        l.kernel_desc = "transpose".into();
        self.gather(nd, l, 0, pst, "permuted input strides")
    }

    fn slice(&mut self, nd: &Node<'_>, l: &mut Layer, a: &SliceAttrs) -> R<()> {
        let ist = strides(&nd.xt.shape);
        let start: usize = a.begin.iter().zip(&ist).map(|(b, s)| b * s).sum();
        let st: Vec<usize> = a.step.iter().zip(&ist).map(|(t, s)| t * s).collect();
        l.kernel_desc = "slice (strided copy)".into();
        self.gather(nd, l, start, st, "input strides times steps")
    }

    fn concat(&mut self, nd: &Node<'_>, l: &mut Layer, a: &ConcatAttrs) {
        let yt = nd.yt;
        let es = yt.dtype.size();
        let outer: usize = yt.shape[..a.axis].iter().product();
        let inner: usize = yt.shape[a.axis + 1..].iter().product();
        let dst_stride = yt.shape[a.axis] * inner * es;
        let mut off = 0usize;
        l.kernel_desc = "copy_blocks".into();
        l.kernels.push(Kernel::CopyBlocks);
        for &v in nd.ops {
            let block = self.ty(v).shape[a.axis] * inner * es;
            let x = self.input(v, CType::U8);
            if block > 0 {
                let y = Arg::OutAt(CType::U8, off);
                l.call(
                    Kernel::CopyBlocks,
                    CopyBlocks {
                        y,
                        dst_stride,
                        x,
                        block,
                        outer,
                    },
                );
            }
            off += block;
        }
    }

    fn pad(&mut self, nd: &Node<'_>, l: &mut Layer, a: &PadAttrs) -> R<()> {
        let (xt, yt) = (nd.xt, nd.yt);
        let esize = yt.dtype.size();
        let fill =
            pad_element(a.value, yt).ok_or_else(|| nd.unsupported("per-axis quantized result"))?;
        // Collapse: a dimension without padding merges into the one before.
        let mut s: Vec<[usize; 3]> = Vec::new();
        for (i, &d) in xt.shape.iter().enumerate() {
            let (b, e) = (a.before[i], a.after[i]);
            if b == 0 && e == 0 && !s.is_empty() {
                if let Some(last) = s.last_mut() {
                    *last = [last[0] * d, last[1] * d, last[2] * d];
                }
            } else {
                s.push([d, b, e]);
            }
        }
        if s.len() > 6 {
            return Err(nd.unsupported("padding pattern needs more than 6 dimensions"));
        }
        while s.len() < 6 {
            s.insert(0, [1, 0, 0]);
        }
        let col = |k: usize| {
            s.iter()
                .map(|v| v[k].min(i32::MAX as usize) as i32)
                .collect()
        };
        let ishape = self.i32_array(nd, "ishape", col(0), "input shape");
        let before = self.i32_array(nd, "before", col(1), "padding before");
        let after = self.i32_array(nd, "after", col(2), "padding after");
        let fc = self.add_const(
            format!("{}_fill", nd.pfx),
            ConstData::U8(fill),
            format!("{}: padding element", nd.name),
        );
        l.kernel_desc = "pad".into();
        let x = self.input(nd.ops[0], CType::U8);
        let y = Arg::Out(CType::U8);
        let fill = Arg::Const(fc, CType::U8);
        l.call(
            Kernel::Pad,
            Pad {
                x,
                y,
                ishape,
                before,
                after,
                esize,
                fill,
            },
        );
        Ok(())
    }
}
