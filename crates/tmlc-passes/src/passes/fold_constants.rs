//! `fold-constants`: evaluates ops whose operands are all constants.
//!
//! The result becomes a constant computed by the reference interpreter, so
//! folding is exact by construction (same semantics as run time). Results
//! larger than [`FoldConstants::max_elems`] are left alone, so folding
//! cannot blow up the model (e.g. a broadcast of a scalar to a large
//! tensor). Ops the interpreter cannot evaluate are left in place.
//! Operands that become unused are left for `dce`.

use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::Graph;

/// The `fold-constants` pass.
#[derive(Clone, Debug)]
pub struct FoldConstants {
    /// Largest result (in elements) that is folded.
    pub max_elems: usize,
}

impl Default for FoldConstants {
    fn default() -> Self {
        FoldConstants { max_elems: 1 << 20 }
    }
}

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "fold-constants",
    description: "evaluate ops whose operands are all constants (with the reference interpreter)",
    options: &[("max-elems", "largest result folded, in elements")],
    build: |o| {
        let d = FoldConstants::default();
        Ok(Box::new(FoldConstants {
            max_elems: o.get("max-elems", d.max_elems)?,
        }))
    },
};

impl Pass for FoldConstants {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![("max-elems", self.max_elems.to_string())]
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let order = g
            .topo_order()
            .map_err(|_| PassError::failed(INFO.name, "graph has a cycle"))?;
        let mut changed = false;
        for n in order {
            let node = g.node(n);
            let result = node.result;
            let ty = g.value(result).ty.clone();
            if ty.numel() > self.max_elems {
                continue;
            }
            let Some(operands) = node
                .operands
                .iter()
                .map(|&v| g.const_tensor(v))
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            let refs: Vec<&tmlc_ir::Tensor> = operands.iter().collect();
            // An op the interpreter rejects (e.g. a scale ratio TFLite
            // Micro refuses) stays in the graph, where the backend reports it.
            let Ok(data) = tmlc_interp::eval_op(&node.op, &refs, &ty) else {
                continue;
            };
            g.make_const(result, data);
            changed = true;
        }
        Ok(changed.into())
    }
}
