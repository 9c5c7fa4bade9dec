//! `fold-channel-scale`: folds the `mul` by a per-output-channel constant
//! after an f32 `conv2d` or `fully_connected` into its weights and bias
//! (exporters write an inference BatchNormalization as such a `mul` and
//! an `add`; `fold-bias-add` takes the `add`).
//!
//! Applied when the producer can absorb it (no fused activation, constant
//! weights and bias, its result read only by the `mul`), the `mul` does not
//! broadcast the producer's result to a larger shape, and the constant is
//! one value per output channel. Output channel `o`'s weights and bias are
//! multiplied by `a[o]`; the `mul`'s activation moves to the producer. Not
//! bit-exact: `(sum w x + b) a` becomes `sum (w a) x + b a`, within f32
//! rounding.

use crate::passes::weighted::{absorb, channel_operand, f32_const};
use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{Graph, NodeId, Op};

/// The `fold-channel-scale` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct FoldChannelScale;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "fold-channel-scale",
    description: "fold the mul by a per-channel constant into the preceding conv / fully_connected",
    options: &[],
    build: |_| Ok(Box::new(FoldChannelScale)),
};

/// `(producer, scaled weights, scaled bias)` for `mul` node `n`, if it
/// folds.
fn fold(g: &Graph, n: NodeId) -> Option<(NodeId, Vec<f32>, Vec<f32>)> {
    let Op::Mul(_) = g.node(n).op else {
        return None;
    };
    let (p, a) = channel_operand(g, n)?;
    let pn = g.node(p);
    let w = f32_const(g, pn.operands[1])?;
    let per = (w.len() / a.len().max(1)).max(1);
    let w: Vec<f32> = w.iter().enumerate().map(|(k, w)| w * a[k / per]).collect();
    let b = match pn.operands.get(2) {
        Some(&b) => f32_const(g, b)?
            .iter()
            .zip(&a)
            .map(|(b, a)| b * a)
            .collect(),
        None => vec![0.0; a.len()],
    };
    Some((p, w, b))
}

impl Pass for FoldChannelScale {
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
            let Some((p, w, b)) = fold(g, n) else {
                continue;
            };
            absorb(g, p, n, Some(w), b).map_err(failed)?;
            changed = true;
        }
        Ok(changed.into())
    }
}
