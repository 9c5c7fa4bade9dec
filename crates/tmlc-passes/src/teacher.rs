//! The uncompressed model, kept for the passes that recover accuracy
//! (knowledge distillation on the compiler side: the original float graph
//! is the teacher, the pruned / low-bit graph the student, the calibration
//! data the transfer set).
//!
//! The first compression pass of a pipeline (`prune`, `prune-channels`)
//! stores the graph as it found it with [`keep_teacher`]; `recover` and the
//! reconstruction rounding of `quantize` read it. A caller may also insert
//! its own [`Teacher`] before running the pipeline.

use crate::PassContext;
use std::collections::BTreeMap;
use tmlc_ir::Graph;

/// The graph before compression. Its values keep their names in the
/// compressed graph, which is how a student layer finds its teacher.
#[derive(Clone, Debug)]
pub struct Teacher(pub Graph);

/// For each value whose last (channel) axis lost channels to structured
/// pruning: the teacher's channel index of each channel the student kept,
/// by value name. A value not listed has all of its teacher's channels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeptChannels(pub BTreeMap<String, Vec<usize>>);

impl KeptChannels {
    /// The kept teacher channels of value `name`, or `None` when all are.
    pub fn of(&self, name: &str) -> Option<&[usize]> {
        self.0.get(name).map(Vec::as_slice)
    }
}

/// Stores `g` as the teacher unless the context already has one.
pub fn keep_teacher(g: &Graph, cx: &mut PassContext<'_>) {
    if cx.get::<Teacher>().is_none() {
        cx.insert(Teacher(g.clone()));
    }
}
