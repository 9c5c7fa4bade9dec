//! Dense operators: Gemm and MatMul, as fully_connected when the second
//! operand is a (possibly dequantized) constant, else the IR's matmul.

use super::{out, R};
use crate::import::{f32_ty, Importer, Node, TO_NHWC};
use tmlc_ir::{
    numel, Activation, BinaryAttrs, FullyConnectedAttrs, Op, ReshapeAttrs, TensorData,
    TransposeAttrs, ValueId,
};

/// Operand A of a dense layer: its flattened-from-NHWC form when that is
/// the only one (with the `[C, H, W]` it came from), else the plain form.
fn dense_input(
    imp: &mut Importer<'_>,
    n: &Node<'_>,
    name: &str,
) -> R<(ValueId, Option<[usize; 3]>)> {
    match imp.flat(name) {
        Some((v, chw)) => Ok((v, Some(chw))),
        None => Ok((imp.plain(n, name)?, None)),
    }
}

/// Weights `[N, C*H*W]` whose columns are in `(c, h, w)` order, reordered
/// to `(h, w, c)` (constant weights: folded by `fold-constants`).
fn permute_columns(
    imp: &mut Importer<'_>,
    n: &Node<'_>,
    w: ValueId,
    [c, h, x]: [usize; 3],
) -> R<ValueId> {
    let nout = imp.ty(w).shape.first().copied().unwrap_or(0);
    let base = imp.g.value(w).name.clone();
    let r = imp.op(
        n,
        Op::Reshape(ReshapeAttrs {
            shape: vec![nout, c, h, x],
        }),
        vec![w],
        &format!("{base}_chw"),
    )?;
    let t = imp.op(
        n,
        Op::Transpose(TransposeAttrs {
            perm: TO_NHWC.to_vec(),
        }),
        vec![r],
        &format!("{base}_hwc"),
    )?;
    imp.op(
        n,
        Op::Reshape(ReshapeAttrs {
            shape: vec![nout, c * h * x],
        }),
        vec![t],
        &format!("{base}_cols"),
    )
}

/// `Gemm`: `alpha * A' B' + beta * C` as fully_connected with constant
/// weights (`B'` made `[N, K]`, scaled by alpha) and bias (`beta * C`).
pub(super) fn gemm(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let trans_a = n.int("transA", 0) != 0;
    let (mut a, chw) = if trans_a {
        (imp.plain(n, n.req(0)?)?, None)
    } else {
        dense_input(imp, n, n.req(0)?)?
    };
    let b = imp.plain(n, n.req(1)?)?;
    let tr = |imp: &mut Importer<'_>, v: ValueId, suffix: &str| {
        let name = format!("{}_{suffix}", imp.g.value(v).name);
        imp.op(
            n,
            Op::Transpose(TransposeAttrs { perm: vec![1, 0] }),
            vec![v],
            &name,
        )
    };
    if trans_a {
        a = tr(imp, a, "t")?;
    }
    // fully_connected wants [N, K]: B is [K, N] unless transB.
    let mut w = if n.int("transB", 0) != 0 {
        b
    } else {
        tr(imp, b, "t")?
    };
    let scale = |imp: &mut Importer<'_>, v: ValueId, s: f32, what: &str| -> R<ValueId> {
        if s == 1.0 {
            return Ok(v);
        }
        let k = imp.konst(
            &format!("{}_{what}", n.name),
            f32_ty(vec![]),
            TensorData::F32(vec![s]),
        );
        let name = format!("{}_scaled", imp.g.value(v).name);
        imp.op(n, Op::Mul(BinaryAttrs::default()), vec![v, k], &name)
    };
    w = scale(imp, w, n.float("alpha", 1.0), "alpha")?;
    if let Some(chw) = chw {
        w = permute_columns(imp, n, w, chw)?;
    }
    let nout = imp.ty(w).shape.first().copied().unwrap_or(0);
    let mut operands = vec![a, w];
    let mut extra = None;
    if let Some(c) = n.input(2) {
        let c = imp.plain(n, c)?;
        let c = scale(imp, c, n.float("beta", 1.0), "beta")?;
        let cs = imp.ty(c).shape.clone();
        if numel(&cs) == nout
            && cs.iter().rev().skip(1).all(|&d| d == 1)
            && cs.last() == Some(&nout)
        {
            let name = format!("{}_bias", imp.g.value(c).name);
            let bias = imp.op(
                n,
                Op::Reshape(ReshapeAttrs { shape: vec![nout] }),
                vec![c],
                &name,
            )?;
            operands.push(bias);
        } else {
            extra = Some(c);
        }
    }
    let fc = Op::FullyConnected(FullyConnectedAttrs::default());
    let y = match extra {
        None => imp.op(n, fc, operands, n.output(0)?)?,
        Some(c) => {
            let p = imp.op(n, fc, operands, &format!("{}_product", n.name))?;
            imp.op(n, Op::Add(BinaryAttrs::default()), vec![p, c], n.output(0)?)?
        }
    };
    out(imp, n, y, false)
}

/// A constant, or the dequantization of one (QDQ weights).
fn is_weight(imp: &Importer<'_>, v: ValueId) -> bool {
    let dq = imp
        .g
        .producer(v)
        .map(|p| imp.g.node(p))
        .filter(|p| p.op == Op::Dequantize);
    imp.const_data(v).is_some() || dq.is_some_and(|p| imp.const_data(p.operands[0]).is_some())
}

/// `MatMul` by a constant `[K, N]` matrix is fully_connected (keeping the
/// leading dimensions); anything else is the IR's batched matmul.
pub(super) fn matmul(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let b = imp.plain(n, n.req(1)?)?;
    let dense = is_weight(imp, b) && imp.ty(b).rank() == 2;
    let (a, chw) = if dense {
        dense_input(imp, n, n.req(0)?)?
    } else {
        (imp.plain(n, n.req(0)?)?, None)
    };
    let y = if dense && imp.ty(a).rank() >= 2 {
        let name = format!("{}_t", imp.g.value(b).name);
        let mut w = imp.op(
            n,
            Op::Transpose(TransposeAttrs { perm: vec![1, 0] }),
            vec![b],
            &name,
        )?;
        if let Some(chw) = chw {
            w = permute_columns(imp, n, w, chw)?;
        }
        let keep_dims = imp.ty(a).rank() > 2;
        let op = Op::FullyConnected(FullyConnectedAttrs {
            act: Activation::None,
            keep_dims,
            ..Default::default()
        });
        imp.op(n, op, vec![a, w], n.output(0)?)?
    } else {
        return batched_matmul(imp, n, a, b);
    };
    out(imp, n, y, false)
}

/// The IR's matmul, with numpy's rule for 1-D operands: a vector `a` is a
/// row `[1, K]` and a vector `b` a column `[K, 1]`, the added dimension
/// removed from the result.
fn batched_matmul(imp: &mut Importer<'_>, n: &Node<'_>, a: ValueId, b: ValueId) -> R<()> {
    let (ra, rb) = (imp.ty(a).rank(), imp.ty(b).rank());
    let as_2d = |imp: &mut Importer<'_>, v: ValueId, column: bool| {
        let k = imp.ty(v).shape[0];
        let (shape, what) = if column {
            (vec![k, 1], "column")
        } else {
            (vec![1, k], "row")
        };
        let name = format!("{}_{what}", n.name);
        imp.op(n, Op::Reshape(ReshapeAttrs { shape }), vec![v], &name)
    };
    let a2 = if ra == 1 { as_2d(imp, a, false)? } else { a };
    let b2 = if rb == 1 { as_2d(imp, b, true)? } else { b };
    if ra > 1 && rb > 1 {
        let y = imp.op(n, Op::MatMul, vec![a2, b2], n.output(0)?)?;
        return out(imp, n, y, false);
    }
    let p = imp.op(n, Op::MatMul, vec![a2, b2], &format!("{}_2d", n.name))?;
    let mut shape = imp.ty(p).shape.clone();
    let r = shape.len();
    if rb == 1 {
        shape.remove(r - 1);
    }
    if ra == 1 {
        shape.remove(r - 2);
    }
    let y = imp.op(
        n,
        Op::Reshape(ReshapeAttrs { shape }),
        vec![p],
        n.output(0)?,
    )?;
    out(imp, n, y, false)
}
