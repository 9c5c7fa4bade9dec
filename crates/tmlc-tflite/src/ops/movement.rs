//! Shape operators: pad, mean, transpose, concatenation.

use super::*;

pub(super) fn pad(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    io: &Io,
    v2: bool,
) -> Result<(), TfliteError> {
    let x_t = io.req(0, ctx)?;
    let x = imp.operand(x_t, ctx)?;
    let xty = imp.ty(x);
    let rank = xty.rank();
    let (pshape, p) = const_ints(imp, io.req(1, ctx)?, "paddings", ctx)?;
    if pshape != [rank, 2] {
        return Err(ctx.bad(format!(
            "paddings must have shape [{rank},2] for a rank-{rank} input, has {pshape:?}"
        )));
    }
    let mut before = Vec::with_capacity(rank);
    let mut after = Vec::with_capacity(rank);
    for pair in p.chunks_exact(2) {
        let (Ok(b), Ok(a)) = (usize::try_from(pair[0]), usize::try_from(pair[1])) else {
            return Err(ctx.bad(format!("paddings must be non-negative, are {p:?}")));
        };
        before.push(b);
        after.push(a);
    }
    let mut value = 0.0f32;
    if let Some(c) = io.opt(2).filter(|_| v2) {
        if imp.const_data(c)?.is_none() {
            return Err(ctx.bad("constant_values must be a constant tensor"));
        }
        let (cty, data) = imp.decode_const(c, true, Some(ctx))?;
        if data.len() != 1 {
            return Err(ctx.bad(format!(
                "constant_values must hold one value, holds {}",
                data.len()
            )));
        }
        let raw = data.get_f64(0);
        value = match cty.qparams() {
            Some((s, z)) => (s as f64 * (raw - z as f64)) as f32,
            None => raw as f32,
        };
    }
    let ty = out_ty(imp, io, ctx, None)?;
    for (t, tt) in [(x_t, &xty), (io.out, &ty)] {
        if tt.quant.is_some() {
            check_dtype(imp, t, tt, &[DType::I8], ctx)?;
        }
    }
    imp.add_result(
        ctx,
        io.out,
        Op::Pad(PadAttrs {
            before,
            after,
            value,
        }),
        vec![x],
        ty,
    )
    .map(drop)
}

pub(super) fn mean(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    io: &Io,
    opr: &Operator<'_>,
) -> Result<(), TfliteError> {
    let keep_dims = match opr.options(ot::REDUCER)? {
        Some(o) => o.scalar(opts::reducer::KEEP_DIMS, false)?,
        None => false,
    };
    let (x, xty) = act_in(imp, io.req(0, ctx)?, ctx, F32_I8)?;
    let (_, raw) = const_ints(imp, io.req(1, ctx)?, "axes", ctx)?;
    let mut axes = raw
        .iter()
        .map(|&a| norm_axis(a, xty.rank(), ctx))
        .collect::<Result<Vec<_>, _>>()?;
    axes.sort_unstable();
    axes.dedup();
    if axes.is_empty() {
        return Err(ctx.bad("axes must not be empty"));
    }
    let ty = out_ty(imp, io, ctx, Some(F32_I8))?;
    imp.add_result(
        ctx,
        io.out,
        Op::Mean(MeanAttrs { axes, keep_dims }),
        vec![x],
        ty,
    )
    .map(drop)
}

pub(super) fn transpose(imp: &mut Importer<'_>, ctx: Ctx<'_>, io: &Io) -> Result<(), TfliteError> {
    let x = imp.operand(io.req(0, ctx)?, ctx)?;
    let rank = imp.ty(x).rank();
    let (_, raw) = const_ints(imp, io.req(1, ctx)?, "perm", ctx)?;
    let mut seen = vec![false; rank];
    let mut perm = Vec::with_capacity(rank);
    for &p in &raw {
        match usize::try_from(p).ok().filter(|&p| p < rank) {
            Some(p) if !seen.get(p).copied().unwrap_or(true) => {
                if let Some(s) = seen.get_mut(p) {
                    *s = true;
                }
                perm.push(p);
            }
            _ => return Err(ctx.bad(format!("perm {raw:?} is not a permutation of rank {rank}"))),
        }
    }
    if perm.len() != rank {
        return Err(ctx.bad(format!("perm {raw:?} is not a permutation of rank {rank}")));
    }
    let ty = out_ty(imp, io, ctx, None)?;
    imp.add_result(
        ctx,
        io.out,
        Op::Transpose(TransposeAttrs { perm }),
        vec![x],
        ty,
    )
    .map(drop)
}

pub(super) fn concat(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    io: &Io,
    opr: &Operator<'_>,
) -> Result<(), TfliteError> {
    use opts::concatenation as f;
    let (axis, act) = match opr.options(ot::CONCATENATION)? {
        Some(o) => (
            o.scalar(f::AXIS, 0i32)?,
            o.scalar(f::FUSED_ACTIVATION, 0i8)?,
        ),
        None => (0, 0),
    };
    if fused(act, ctx)? != Activation::None {
        let name = usize::try_from(act)
            .ok()
            .and_then(|i| ACTIVATION_NAMES.get(i))
            .copied()
            .unwrap_or("?");
        return Err(ctx.unsupported(format_args!("with fused activation {name}")));
    }
    if io.ins.is_empty() {
        return Err(ctx.bad("needs at least one input"));
    }
    let mut operands = Vec::with_capacity(io.ins.len());
    let mut rank = 0;
    for i in 0..io.ins.len() {
        let (v, ty) = act_in(imp, io.req(i, ctx)?, ctx, F32_I8)?;
        rank = ty.rank();
        operands.push(v);
    }
    let axis = norm_axis(axis as i64, rank, ctx)?;
    let ty = out_ty(imp, io, ctx, Some(F32_I8))?;
    imp.add_result(ctx, io.out, Op::Concat(ConcatAttrs { axis }), operands, ty)
        .map(drop)
}
