//! `fold-bias-add`: folds the `add` of a per-output-channel constant after
//! an f32 `conv2d` or `fully_connected` into the op's bias (ONNX exporters
//! often write `Conv` then `Add`).
//!
//! Applied when the producer has no fused activation, constant weights
//! (and bias), its result is read only by the `add` (and is not a graph
//! output), the `add` does not broadcast the producer's result to a larger
//! shape, and the constant is one value per output channel (its dimensions
//! are 1 except the last, which is 1 or the channel count). The `add`'s
//! activation moves to the producer. Not bit-exact: `(acc + b) + c`
//! becomes `acc + (b + c)`, within f32 rounding.

use crate::passes::weighted::{absorb, channel_operand, f32_const};
use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{Graph, NodeId, Op};

/// The `fold-bias-add` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct FoldBiasAdd;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "fold-bias-add",
    description: "fold the add of a per-channel constant into the preceding conv / fully_connected",
    options: &[],
    build: |_| Ok(Box::new(FoldBiasAdd)),
};

/// `(producer, its bias after the fold)` for `add` node `n`, if it folds.
fn fold(g: &Graph, n: NodeId) -> Option<(NodeId, Vec<f32>)> {
    let Op::Add(_) = g.node(n).op else {
        return None;
    };
    let (p, add) = channel_operand(g, n)?;
    let old = match g.node(p).operands.get(2) {
        Some(&b) => f32_const(g, b)?.to_vec(),
        None => vec![0.0; add.len()],
    };
    Some((p, old.iter().zip(&add).map(|(b, c)| b + c).collect()))
}

impl Pass for FoldBiasAdd {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let failed = |e| PassError::failed(INFO.name, e);
        let mut changed = false;
        for n in g.node_ids() {
            if g.try_node(n).is_none() {
                continue;
            }
            let Some((p, bias)) = fold(g, n) else {
                continue;
            };
            absorb(g, p, n, None, bias).map_err(failed)?;
            changed = true;
        }
        Ok(changed.into())
    }
}
