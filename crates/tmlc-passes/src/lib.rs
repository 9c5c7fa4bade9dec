//! # tmlc-passes: graph-to-graph transformations
//!
//! A [`Pass`] rewrites a verified [`tmlc_ir::Graph`] into another verified
//! graph with the same observable results (graph outputs for every input),
//! within the exactness the pass documents. The [`PassManager`] runs a
//! [`Pipeline`] (named passes, e.g. parsed from `"dce,fold-constants"`),
//! runs the verifier after every pass when asked to (always in tests and
//! debug builds), times each pass and lets the caller observe the graph
//! after each pass.
//!
//! Architecture invariant: passes see only the IR. They never know which
//! frontend built a graph, nor which backend will consume it.

mod manager;
pub mod passes;

pub use manager::{PassError, PassManager, PassRun, Pipeline};

use tmlc_ir::Graph;

/// A graph transformation.
pub trait Pass {
    /// Stable kebab-case name, used in pipelines, test headers and errors.
    fn name(&self) -> &'static str;
    /// One-line description for `--help` and `tmlc opt --list-passes`.
    fn description(&self) -> &'static str;
    /// Rewrites `g`; returns whether anything changed.
    fn run(&self, g: &mut Graph) -> Result<bool, PassError>;
}

/// Every registered pass, in a fixed order.
pub fn registry() -> Vec<Box<dyn Pass>> {
    vec![
        Box::new(passes::dce::DeadCodeElimination),
        Box::new(passes::fold_constants::FoldConstants::default()),
        Box::new(passes::remove_identity::RemoveIdentity),
    ]
}

/// Looks a pass up by name.
pub fn lookup(name: &str) -> Option<Box<dyn Pass>> {
    registry().into_iter().find(|p| p.name() == name)
}

/// The default optimisation pipeline, the only place its order is written.
pub const DEFAULT_PIPELINE: &str = "remove-identity,fold-constants,dce";
