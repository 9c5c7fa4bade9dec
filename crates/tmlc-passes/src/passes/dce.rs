//! `dce`: dead-code elimination.
//!
//! Removes every op and constant from which no graph output is reachable.
//! Graph inputs stay (they are the signature). Sound because ops are pure.

use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use std::collections::HashSet;
use tmlc_ir::{Graph, ValueDef, ValueId};

/// The `dce` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeadCodeElimination;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "dce",
    description: "remove ops and constants that no graph output depends on",
    options: &[],
    build: |_| Ok(Box::new(DeadCodeElimination)),
};

impl Pass for DeadCodeElimination {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let mut live: HashSet<ValueId> = HashSet::new();
        let mut stack: Vec<ValueId> = g.outputs().to_vec();
        while let Some(v) = stack.pop() {
            if !live.insert(v) {
                continue;
            }
            if let Some(n) = g.producer(v) {
                stack.extend(g.node(n).operands.iter().copied());
            }
        }
        let dead: Vec<ValueId> = g
            .values()
            .filter(|(id, v)| !live.contains(id) && !matches!(v.def, ValueDef::Input))
            .map(|(id, _)| id)
            .collect();
        // Remove consumers before producers: reverse topological order, then
        // constants.
        let order = g
            .topo_order()
            .map_err(|_| PassError::failed(INFO.name, "graph has a cycle"))?;
        let dead_set: HashSet<ValueId> = dead.iter().copied().collect();
        for n in order.into_iter().rev() {
            let r = g.node(n).result;
            if dead_set.contains(&r) {
                g.remove_node(n)
                    .map_err(|e| PassError::failed(INFO.name, e))?;
            }
        }
        for v in &dead {
            if g.try_value(*v).is_some() {
                g.remove_value(*v)
                    .map_err(|e| PassError::failed(INFO.name, e))?;
            }
        }
        Ok((!dead.is_empty()).into())
    }
}
