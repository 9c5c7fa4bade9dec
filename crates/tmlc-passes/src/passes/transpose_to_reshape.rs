//! `transpose-to-reshape`: a transpose that keeps the order of every
//! dimension larger than 1 moves no element (`[1,1,28,28]` NCHW to
//! `[1,28,28,1]` NHWC, say): it becomes a reshape, which backends
//! implement as an alias. Exact.

use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{Graph, Op, ReshapeAttrs};

/// The `transpose-to-reshape` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct TransposeToReshape;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "transpose-to-reshape",
    description: "turn transposes that move only size-1 dimensions into reshapes",
    options: &[],
    build: |_| Ok(Box::new(TransposeToReshape)),
};

impl Pass for TransposeToReshape {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let mut changed = false;
        for n in g.node_ids() {
            let node = g.node(n);
            let Op::Transpose(t) = &node.op else { continue };
            let x = node.operands[0];
            let shape = &g.value(x).ty.shape;
            // The non-unit dimensions, in the order the result holds them.
            let moved: Vec<usize> = t.perm.iter().copied().filter(|&p| shape[p] != 1).collect();
            if !moved.windows(2).all(|w| w[0] < w[1]) {
                continue;
            }
            let y_shape = g.value(node.result).ty.shape.clone();
            let reshape = Op::Reshape(ReshapeAttrs { shape: y_shape });
            // A per-axis quantization that would lose its axis stays a
            // transpose (the type check refuses the reshape).
            if g.replace_node(n, reshape, vec![x]).is_ok() {
                changed = true;
            }
        }
        Ok(changed.into())
    }
}
