//! `collapse-reshapes`: a `reshape` of a `reshape` reads the first one's
//! operand directly (`reshape(reshape(x))` is `reshape(x)`: the elements
//! keep their order); the inner reshape is left to `dce` when nothing else
//! reads it, and a chain that ends where it began to `remove-identity`.
//! Exact.

use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{Graph, Op};

/// The `collapse-reshapes` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct CollapseReshapes;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "collapse-reshapes",
    description: "make a reshape of a reshape read the first one's operand",
    options: &[],
    build: |_| Ok(Box::new(CollapseReshapes)),
};

impl Pass for CollapseReshapes {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let order = g
            .topo_order()
            .map_err(|_| PassError::failed(INFO.name, "graph has a cycle"))?;
        let mut changed = false;
        // In execution order, so a chain collapses onto its first operand
        // in one sweep.
        for n in order {
            let node = g.node(n);
            let Op::Reshape(_) = node.op else { continue };
            let Some(p) = g.producer(node.operands[0]) else {
                continue;
            };
            let inner = g.node(p);
            let Op::Reshape(_) = inner.op else { continue };
            let x = inner.operands[0];
            // A per-axis quantization the chain would lose stays (the
            // operand's type must give the result's).
            if g.value(x).ty.quant != g.value(node.result).ty.quant {
                continue;
            }
            g.set_operand(n, 0, x)
                .map_err(|e| PassError::failed(INFO.name, e))?;
            changed = true;
        }
        Ok(changed.into())
    }
}
