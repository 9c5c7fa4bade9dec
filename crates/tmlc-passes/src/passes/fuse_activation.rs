//! `fuse-activation`: folds a standalone `relu`, `relu6` or `clip` into
//! the fused activation of the op that produces its operand (conv2d,
//! fully_connected, add / sub / mul, pooling), as TFLite's converter does.
//!
//! Applied when the producer's result is read only by the clamp (and is
//! not a graph output), and the two clamps meet in one range (the fused
//! activation becomes their intersection, [`Activation::then`]). For int8,
//! the clamp must also keep its operand's quantization, so that it only
//! clamps: then its integer range and the producer's intersect exactly as
//! the real ranges do, and the result is bit-identical. Exact for f32 too
//! (a composition of clamps is a clamp).

use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use std::cmp::Ordering;
use tmlc_ir::arith::activation_range_i8;
use tmlc_ir::{Activation, DType, Graph, NodeId, Op};

/// The `fuse-activation` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct FuseActivation;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "fuse-activation",
    description: "fold relu / relu6 / clip into the producer's fused activation",
    options: &[],
    build: |_| Ok(Box::new(FuseActivation)),
};

/// The clamp a standalone op applies, if it is one.
fn clamp_of(op: &Op) -> Option<Activation> {
    match op {
        Op::Relu => Some(Activation::Relu),
        Op::Relu6 => Some(Activation::Relu6),
        Op::Clip(c) => Some(Activation::from_range(c.min, c.max)),
        _ => None,
    }
}

/// The fused activation of `n`'s producer after absorbing `n`, if allowed.
fn fusion(g: &Graph, n: NodeId) -> Option<(NodeId, Activation)> {
    let node = g.node(n);
    let clamp = clamp_of(&node.op)?;
    let x = node.operands[0];
    let p = g.producer(x)?;
    let act = g.node(p).op.activation()?;
    if g.use_count(x) != 1 || g.outputs().contains(&x) {
        return None;
    }
    let (xt, yt) = (&g.value(x).ty, &g.value(node.result).ty);
    let fused = act.then(clamp);
    let (lo, hi) = fused.range();
    // An empty intersection (or a NaN bound) cannot be one clamp.
    if !matches!(lo.partial_cmp(&hi), Some(Ordering::Less | Ordering::Equal)) {
        return None;
    }
    match xt.dtype {
        DType::F32 => Some((p, fused)),
        DType::I8 if xt == yt => {
            let (s, zp) = xt.qparams()?;
            let (a, b) = activation_range_i8(act, s, zp);
            let (c, d) = activation_range_i8(clamp, s, zp);
            (a.max(c) <= b.min(d)).then_some((p, fused))
        }
        _ => None,
    }
}

impl Pass for FuseActivation {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let mut changed = false;
        // Topological order: a chain relu(relu6(conv)) fuses step by step.
        let order = g
            .topo_order()
            .map_err(|_| PassError::failed(INFO.name, "graph has a cycle"))?;
        for n in order {
            let Some((p, fused)) = fusion(g, n) else {
                continue;
            };
            let mut op = g.node(p).op.clone();
            op.set_activation(fused);
            g.set_op(p, op);
            let (x, y) = (g.node(n).operands[0], g.node(n).result);
            g.replace_all_uses(y, x);
            g.remove_node(n)
                .map_err(|e| PassError::failed(INFO.name, e))?;
            changed = true;
        }
        Ok(changed.into())
    }
}
