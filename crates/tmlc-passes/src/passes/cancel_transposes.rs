//! `cancel-transposes`: moves transposes towards the outputs and merges
//! them, so that pairs cancel.
//! - `transpose(transpose(x, p), q)` becomes `transpose(x, r)` with
//!   `r[j] = p[q[j]]` (an identity `r` is left to `remove-identity`);
//! - a unary element-wise op of a transpose that only it reads is applied
//!   first: `f(transpose(x))` becomes `transpose(f(x))`, which may meet the
//!   next transpose.
//!
//! Exact: element-wise ops do not care where elements are.

use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{Graph, NodeId, Op, ResultType, TensorType, TransposeAttrs};

/// The `cancel-transposes` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct CancelTransposes;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "cancel-transposes",
    description: "merge transposes of transposes and sink them below element-wise ops",
    options: &[],
    build: |_| Ok(Box::new(CancelTransposes)),
};

fn perm(g: &Graph, n: NodeId) -> Option<Vec<usize>> {
    match &g.node(n).op {
        Op::Transpose(t) => Some(t.perm.clone()),
        _ => None,
    }
}

impl Pass for CancelTransposes {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let failed = |e| PassError::failed(INFO.name, e);
        let order = g
            .topo_order()
            .map_err(|_| PassError::failed(INFO.name, "graph has a cycle"))?;
        let mut changed = false;
        for n in order {
            if g.try_node(n).is_none() {
                continue;
            }
            let node = g.node(n).clone();
            let Some(inner) = g.producer(node.operands[0]) else {
                continue;
            };
            let Some(p) = perm(g, inner) else { continue };
            let x = g.node(inner).operands[0];
            if let Some(q) = perm(g, n) {
                let r: Vec<usize> = q.iter().map(|&j| p[j]).collect();
                let op = Op::Transpose(TransposeAttrs { perm: r });
                if g.replace_node(n, op, vec![x]).is_ok() {
                    changed = true;
                }
                continue;
            }
            let t = node.operands[0];
            let unary = node.op.is_unary_elementwise() && node.operands.len() == 1;
            if !unary || g.use_count(t) != 1 || g.outputs().contains(&t) {
                continue;
            }
            // f(transpose(x)) -> transpose(f(x)): f on x's shape.
            let r = node.result;
            let ty = TensorType {
                shape: g.value(x).ty.shape.clone(),
                ..g.value(r).ty.clone()
            };
            let name = g.fresh_name(&format!("{}_pre", g.value(r).name));
            let Ok(fx) = g.add_op(node.op.clone(), vec![x], &name, ResultType::Given(ty)) else {
                continue;
            };
            let op = Op::Transpose(TransposeAttrs { perm: p });
            g.replace_node(n, op, vec![fx]).map_err(failed)?;
            g.remove_node(inner).map_err(failed)?;
            changed = true;
        }
        Ok(changed.into())
    }
}
