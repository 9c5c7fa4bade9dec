//! Pooling and reductions: `max_pool2d`, `avg_pool2d`, `mean`, `softmax`.

use super::{CType, Cx, Layer, Node, R};
use crate::kernels::reduce::{
    MeanF32, MeanS8, PoolF32, PoolGeometry, PoolS8, SoftmaxF32, SoftmaxS8,
};
use crate::kernels::{Arg, Kernel};
use tmlc_ir::arith::activation_range_i8;
use tmlc_ir::prepare;
use tmlc_ir::{numel, strides, MeanAttrs, Op, Pool2dAttrs, SoftmaxAttrs};

impl<'g> Cx<'g> {
    pub(super) fn pool2d(&mut self, nd: &Node<'_>, l: &mut Layer, a: &Pool2dAttrs) -> R<()> {
        let is_max = matches!(nd.op, Op::MaxPool2d(_));
        let xs = &nd.xt.shape;
        let geo = PoolGeometry {
            batches: xs[0],
            h: xs[1],
            w: xs[2],
            c: xs[3],
            ho: nd.yt.shape[1],
            wo: nd.yt.shape[2],
            kernel: a.kernel,
            stride: a.stride,
            pad_tl: [a.pad[0], a.pad[1]],
            is_max,
            count_pad: a.count_include_pad && !is_max,
        };
        let op = nd.op.name();
        if nd.all_f32 {
            let (lo, hi) = a.act.range();
            l.kernel_desc = format!("{op}_f32");
            let x = self.input(nd.ops[0], CType::F32);
            let y = Arg::Out(CType::F32);
            l.call(Kernel::PoolF32, PoolF32 { x, y, geo, lo, hi });
        } else if nd.q8 {
            let (_, zp_in) = nd.qparams(nd.xt, "input")?;
            let (s_out, zp_out) = nd.qparams(nd.yt, "result")?;
            let (lo, hi) = activation_range_i8(a.act, s_out, zp_out);
            l.kernel_desc = format!("{op}_s8");
            let x = self.input(nd.ops[0], CType::I8);
            let y = Arg::Out(CType::I8);
            l.call(
                Kernel::PoolS8,
                PoolS8 {
                    x,
                    y,
                    geo,
                    zp_in,
                    lo,
                    hi,
                },
            );
        } else {
            return Err(nd.unsupported(""));
        }
        Ok(())
    }

    pub(super) fn mean(&mut self, nd: &Node<'_>, l: &mut Layer, a: &MeanAttrs) -> R<()> {
        let xs = &nd.xt.shape;
        let red: Vec<bool> = (0..xs.len()).map(|i| a.axes.contains(&i)).collect();
        let kept: Vec<usize> = xs
            .iter()
            .zip(&red)
            .filter(|(_, &r)| !r)
            .map(|(&d, _)| d)
            .collect();
        let kst = strides(&kept);
        let mut ostr = Vec::with_capacity(xs.len());
        let mut ki = 0;
        for &r in &red {
            if r {
                ostr.push(0);
            } else {
                ostr.push(kst[ki]);
                ki += 1;
            }
        }
        let slots = numel(&kept);
        let n: usize = xs
            .iter()
            .zip(&red)
            .filter(|(_, &r)| r)
            .map(|(&d, _)| d)
            .product();
        let (shape, [ostr]) = self
            .iteration_arrays(
                nd,
                xs,
                "iteration shape",
                [("ostr", "output strides", ostr)],
            )
            .ok_or_else(|| nd.unsupported("reduction pattern needs more than 6 dimensions"))?;
        if nd.all_f32 {
            l.kernel_desc = "mean_f32".into();
            let x = self.input(nd.ops[0], CType::F32);
            let y = Arg::Out(CType::F32);
            l.call(
                Kernel::MeanF32,
                MeanF32 {
                    x,
                    y,
                    shape,
                    ostr,
                    slots,
                    n,
                },
            );
        } else if nd.q8 {
            if n == 0 {
                return Err(nd.unsupported("int8 mean over zero elements"));
            }
            let (s_in, zp_in) = nd.qparams(nd.xt, "input")?;
            let (s_out, zp_out) = nd.qparams(nd.yt, "result")?;
            let (m, shift) = prepare::mean_multiplier(s_in, s_out, n);
            l.kernel_desc = "mean_s8".into();
            l.scratch = slots * 4;
            if nd.xt.numel() > 0 {
                let x = self.input(nd.ops[0], CType::I8);
                let y = Arg::Out(CType::I8);
                let acc = Arg::Scratch(CType::I32);
                l.call(
                    Kernel::MeanS8,
                    MeanS8 {
                        x,
                        y,
                        shape,
                        ostr,
                        slots,
                        n,
                        zp_in,
                        m,
                        shift,
                        zp_out,
                        acc,
                    },
                );
            } else {
                l.kernels.push(Kernel::MeanS8);
            }
        } else {
            return Err(nd.unsupported(""));
        }
        Ok(())
    }

    pub(super) fn softmax(&mut self, nd: &Node<'_>, l: &mut Layer, a: &SoftmaxAttrs) -> R<()> {
        let rank = nd.xt.rank();
        if a.axis_for(rank) != Some(rank.saturating_sub(1)) {
            return Err(nd.unsupported("softmax on an axis other than the last"));
        }
        let depth = nd.xt.shape.last().copied().unwrap_or(1);
        let rows = nd.xt.numel().checked_div(depth).unwrap_or(0);
        l.in_place.push(0);
        if nd.all_f32 {
            l.kernel_desc = "softmax_f32".into();
            let x = self.input(nd.ops[0], CType::F32);
            let y = Arg::Out(CType::F32);
            l.call(
                Kernel::SoftmaxF32,
                SoftmaxF32 {
                    x,
                    y,
                    rows,
                    depth,
                    beta: a.beta,
                },
            );
        } else if nd.q8 {
            let (s_in, _) = nd.qparams(nd.xt, "input")?;
            let p = prepare::softmax_params(a.beta, s_in).map_err(|e| nd.unsupported(e.reason))?;
            if depth >= 4096 {
                return Err(nd.unsupported(format!("rows of {depth} may overflow the Q12.19 sum")));
            }
            l.kernel_desc = "softmax_s8".into();
            let x = self.input(nd.ops[0], CType::I8);
            let y = Arg::Out(CType::I8);
            l.call(
                Kernel::SoftmaxS8,
                SoftmaxS8 {
                    x,
                    y,
                    rows,
                    depth,
                    mult: p.input_multiplier,
                    left_shift: p.input_left_shift,
                    diff_min: p.diff_min,
                },
            );
        } else {
            return Err(nd.unsupported(""));
        }
        Ok(())
    }
}
