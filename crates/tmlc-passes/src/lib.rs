//! # tmlc-passes: graph-to-graph transformations
//!
//! A [`Pass`] is a configured value (a struct whose fields are its
//! options) that rewrites a verified [`tmlc_ir::Graph`] into another
//! verified graph with the same observable results, within the exactness
//! the pass documents. A [`Pipeline`] is built in code
//! (`Pipeline::new().then(pass)...`) or parsed from text with per-pass
//! options (`fold-constants{max-elems=4096},dce`) against a [`Registry`],
//! to which passes from other crates can be added. Running a pipeline
//! threads a [`PassContext`]: verification after every pass (always in
//! tests and debug builds), diagnostics, per-pass timing, an observer of
//! the graph after each pass, and data shared between passes (e.g.
//! calibration statistics), keyed by type.
//!
//! Architecture invariant: passes see only the IR. They never know which
//! frontend built a graph, nor which backend will consume it.

pub mod calibrate;
mod context;
mod error;
mod named;
pub mod passes;
mod pipeline;
mod registry;
pub mod teacher;

pub use context::{Diagnostic, PassContext, PassRun};
pub use error::PassError;
pub use pipeline::Pipeline;
pub use registry::{PassInfo, PassOptions, Registry};

use tmlc_ir::Graph;

/// Whether a pass changed the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changed {
    /// The graph is as it was.
    No,
    /// The graph was rewritten.
    Yes,
}

impl From<bool> for Changed {
    fn from(b: bool) -> Changed {
        if b {
            Changed::Yes
        } else {
            Changed::No
        }
    }
}

/// A graph transformation: a configured value.
pub trait Pass {
    /// Stable kebab-case name, used in pipelines, test headers and errors.
    fn name(&self) -> &'static str;
    /// The pass's options and their current values, as written in a
    /// pipeline (`key`, `value`); empty for a pass without options.
    fn options(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Rewrites `g`; says whether anything changed.
    fn run(&self, g: &mut Graph, cx: &mut PassContext) -> Result<Changed, PassError>;
}

/// The default optimisation pipeline: [`passes::canonicalize`], whose
/// [`passes::canonicalize::CANONICAL_PASSES`] is the only place the order
/// of the canonical passes is written.
pub const DEFAULT_PIPELINE: &str = "canonicalize";

/// [`DEFAULT_PIPELINE`], ending in [`tmlc_ir::Phase::Canonical`]: what the
/// compiler runs before code generation.
pub fn canonical_pipeline() -> Pipeline {
    // Built-in names without options: parsing cannot fail (a unit test
    // checks it).
    Pipeline::parse(DEFAULT_PIPELINE, &Registry::builtin())
        .unwrap_or_default()
        .reaching(tmlc_ir::Phase::Canonical)
}

/// The lowering a table-driven backend needs: softmax normalises rows
/// ([`passes::softmax_last_axis`]), element-wise ops on 8-bit operands
/// become `lookup` tables ([`passes::tabulate`]), then dead code goes; the
/// graph ends in [`tmlc_ir::Phase::Lowered`].
pub fn lowering_pipeline() -> Pipeline {
    use passes::*;
    Pipeline::new()
        .then(softmax_last_axis::SoftmaxLastAxis)
        .then(tabulate::Tabulate)
        .then(dce::DeadCodeElimination)
        .reaching(tmlc_ir::Phase::Lowered)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_pipeline_parses() {
        let p = crate::Pipeline::parse(crate::DEFAULT_PIPELINE, &crate::Registry::builtin());
        let names = p.map(|p| p.names().join(",")).unwrap_or_default();
        assert_eq!(names, crate::DEFAULT_PIPELINE);
    }
}
