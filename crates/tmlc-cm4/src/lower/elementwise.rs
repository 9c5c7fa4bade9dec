//! Element-wise ops: `add` / `sub` / `mul` (broadcast; int8 add and sub
//! tabulate each input's stage by byte, the output stage runs in C), the
//! f32 unary ops, and `lookup` tables (every 8-bit element-wise op, made by
//! the `tabulate` pass).

use super::{CType, ConstData, Cx, Layer, Node, R};
use crate::kernels::elementwise::{
    AddS8, BinaryF32, ClampF32, EluF32, HardSwishF32, LeakyReluF32, LutF32, LutS16, LutS8, MulS8,
    SigmoidF32, TanhF32,
};
use crate::kernels::{Arg, Call, Kernel};
use tmlc_ir::arith::{activation_range_i8, mbqm};
use tmlc_ir::prepare::{self, Multiplier};
use tmlc_ir::{broadcast_strides, Activation, Op, TensorData};

impl<'g> Cx<'g> {
    pub(super) fn binary(&mut self, nd: &Node<'g>, l: &mut Layer, act: Activation) -> R<()> {
        let (xt, bt, yt) = (nd.xt, self.ty(nd.ops[1]), nd.yt);
        let out = &yt.shape;
        let (shape, [sa, sb]) = self
            .iteration_arrays(
                nd,
                out,
                "iteration shape",
                [
                    ("sa", "strides of a", broadcast_strides(out, &xt.shape)),
                    ("sb", "strides of b", broadcast_strides(out, &bt.shape)),
                ],
            )
            .ok_or_else(|| nd.unsupported("broadcast pattern needs more than 6 dimensions"))?;
        for (i, &v) in nd.ops.iter().enumerate() {
            if self.ty(v).shape == *out && self.ty(v).dtype == yt.dtype {
                l.in_place.push(i);
            }
        }
        let op = nd.op.name();
        if nd.all_f32 {
            let code = match nd.op {
                Op::Add(_) => 0,
                Op::Sub(_) => 1,
                Op::Mul(_) => 2,
                _ => 3,
            };
            let (lo, hi) = act.range();
            l.kernel_desc = format!("{op}_f32");
            let a = self.input(nd.ops[0], CType::F32);
            let b = self.input(nd.ops[1], CType::F32);
            let y = Arg::Out(CType::F32);
            l.call(
                Kernel::BinaryF32,
                BinaryF32 {
                    a,
                    b,
                    y,
                    shape,
                    sa,
                    sb,
                    op: code,
                    lo,
                    hi,
                },
            );
            return Ok(());
        }
        if !nd.q8 {
            return Err(nd.unsupported(""));
        }
        let (s1, zp_a) = nd.qparams(xt, "operand")?;
        let (s2, zp_b) = nd.qparams(bt, "operand")?;
        let (s_out, zp_out) = nd.qparams(yt, "result")?;
        let (lo, hi) = activation_range_i8(act, s_out, zp_out);
        if let Op::Mul(_) = nd.op {
            let (m, shift) = prepare::mul_multiplier(s1, s2, s_out);
            l.kernel_desc = "mul_s8".into();
            let a = self.input(nd.ops[0], CType::I8);
            let b = self.input(nd.ops[1], CType::I8);
            let y = Arg::Out(CType::I8);
            l.call(
                Kernel::MulS8,
                MulS8 {
                    a,
                    b,
                    y,
                    shape,
                    sa,
                    sb,
                    zp_a,
                    zp_b,
                    m,
                    shift,
                    zp_out,
                    lo,
                    hi,
                },
            );
            return Ok(());
        }
        let is_sub = matches!(nd.op, Op::Sub(_));
        let p = if is_sub {
            prepare::sub_params(s1, s2, s_out)
        } else {
            prepare::add_params(s1, s2, s_out)
        }
        .map_err(|e| nd.unsupported(e.reason))?;
        let table = |zp: i32, (m, e): Multiplier| -> Vec<i32> {
            (0..256u32)
                .map(|b| {
                    let x = b as u8 as i8 as i32;
                    mbqm(x.wrapping_sub(zp).wrapping_mul(1 << p.left_shift), m, e)
                })
                .collect()
        };
        let ta = self.i32_array(nd, "ta", table(zp_a, p.input1), "input 1 stage, by byte");
        let tb = self.i32_array(nd, "tb", table(zp_b, p.input2), "input 2 stage, by byte");
        l.kernel_desc = format!("{op}_s8");
        let a = self.input(nd.ops[0], CType::I8);
        let b = self.input(nd.ops[1], CType::I8);
        let y = Arg::Out(CType::I8);
        l.call(
            Kernel::AddS8,
            AddS8 {
                a,
                b,
                y,
                shape,
                sa,
                sb,
                ta,
                tb,
                is_sub,
                m: p.output.0,
                shift: p.output.1,
                zp_out,
                lo,
                hi,
            },
        );
        Ok(())
    }

    /// The f32 unary ops (8-bit ones are `lookup` tables by now).
    pub(super) fn unary(&mut self, nd: &Node<'_>, l: &mut Layer) -> R<()> {
        if !nd.all_f32 {
            return Err(nd.unsupported(
                "8-bit element-wise ops are lowered to lookup tables first (the `tabulate` pass)",
            ));
        }
        let n = nd.yt.numel();
        l.in_place.push(0);
        l.kernel_desc = format!("{}_f32", nd.op.name());
        let x = self.input(nd.ops[0], CType::F32);
        let y = Arg::Out(CType::F32);
        let clamp = |lo, hi| {
            (
                Kernel::ClampF32,
                Call::from(ClampF32 {
                    x: x.clone(),
                    y: y.clone(),
                    n,
                    lo,
                    hi,
                }),
            )
        };
        let (kernel, call) = match nd.op {
            Op::Relu => clamp(0.0, f32::INFINITY),
            Op::Relu6 => clamp(0.0, 6.0),
            Op::Clip(c) => clamp(c.min, c.max),
            Op::LeakyRelu(lr) => (
                Kernel::LeakyReluF32,
                LeakyReluF32 {
                    x,
                    y,
                    n,
                    alpha: lr.alpha,
                }
                .into(),
            ),
            Op::Elu(e) => (
                Kernel::EluF32,
                EluF32 {
                    x,
                    y,
                    n,
                    alpha: e.alpha,
                }
                .into(),
            ),
            Op::Sigmoid => (Kernel::SigmoidF32, SigmoidF32 { x, y, n }.into()),
            Op::Tanh => (Kernel::TanhF32, TanhF32 { x, y, n }.into()),
            Op::HardSwish => (Kernel::HardSwishF32, HardSwishF32 { x, y, n }.into()),
            _ => return Err(nd.unsupported("no f32 kernel")),
        };
        l.call(kernel, call);
        Ok(())
    }

    /// `lookup(x, table)`: a table kernel by the table's dtype.
    pub(super) fn lookup(&mut self, nd: &Node<'_>, l: &mut Layer) -> R<()> {
        let yt = nd.yt;
        if yt.dtype.size() == 1 {
            l.in_place.push(0);
        }
        let table = self
            .const_of(nd.ops[1])
            .ok_or_else(|| nd.unsupported("the table must be a constant"))?;
        let (pfx, what) = (&nd.pfx, format!("{}: lookup table", nd.name));
        let data = match table {
            TensorData::I8(v) => ConstData::U8(v.iter().map(|&b| b as u8).collect()),
            TensorData::U8(v) => ConstData::U8(v.clone()),
            TensorData::I16(v) => ConstData::I16(v.clone()),
            TensorData::F32(v) => ConstData::F32(v.clone()),
            d => return Err(nd.unsupported(format!("no kernel for a {} table", d.dtype()))),
        };
        let ct = data.ctype();
        let c = self.add_const(format!("{pfx}_lut"), data, what);
        l.kernel_desc = "lut".into();
        let x = self.input(nd.ops[0], CType::U8);
        let (n, lut) = (yt.numel(), Arg::Const(c, ct));
        let y = Arg::Out(ct);
        match ct {
            CType::I16 => l.call(Kernel::LutS16, LutS16 { x, y, n, lut }),
            CType::F32 => l.call(Kernel::LutF32, LutF32 { x, y, n, lut }),
            _ => l.call(Kernel::LutS8, LutS8 { x, y, n, lut }),
        }
        Ok(())
    }
}
