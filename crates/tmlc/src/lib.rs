//! # tmlc: the compiler as a library
//!
//! Everything the `tmlc` command does is a library call here, so that
//! other toolchains can load a model, run tmlc's passes (and their own)
//! and generate C without the command line:
//!
//! - [`load_model`] reads a `.tflite` or `.tir` file into a verified
//!   [`ir::Graph`];
//! - [`passes::canonical_pipeline`] and [`passes::lowering_pipeline`] are
//!   the pass pipelines the compiler runs ([`passes::Pipeline`]: extend
//!   them, or build your own);
//! - [`compile`] runs the pipelines and the Cortex-M4 backend, and
//!   [`write_c`] writes `model.c` and `model.h`.
//!
//! The binary (`src/main.rs`) only parses arguments, calls these, prints
//! and exits.
//!
//! A pass written outside tmlc, scheduled between built-in passes, and the
//! model compiled to C:
//!
//! ```
//! use tmlc::ir::{Graph, Op};
//! use tmlc::passes::passes::{dce::DeadCodeElimination, remove_identity::RemoveIdentity};
//! use tmlc::passes::{Changed, Pass, PassContext, PassError, Pipeline};
//!
//! /// Counts the ops of each family (an analysis: it changes nothing).
//! struct CountOps;
//!
//! impl Pass for CountOps {
//!     fn name(&self) -> &'static str {
//!         "count-ops"
//!     }
//!     fn run(&self, g: &mut Graph, cx: &mut PassContext<'_>) -> Result<Changed, PassError> {
//!         let relus = g.node_ids().iter().filter(|&&n| g.node(n).op == Op::Relu).count();
//!         cx.report(self.name(), format!("{relus} relu"));
//!         Ok(Changed::No)
//!     }
//! }
//!
//! let mut g = tmlc::ir::parse(
//!     "graph @m(%x: f32[1,4]) -> (%y) {
//!        %r = reshape(%x) {shape = [1, 4]} : f32[1,4]
//!        %y = relu(%r) : f32[1,4]
//!      }",
//! )?;
//! let pipeline = Pipeline::new()
//!     .then(RemoveIdentity)
//!     .then(CountOps)
//!     .then(DeadCodeElimination);
//! let mut cx = PassContext::new(true);
//! pipeline.run(&mut g, &mut cx)?;
//! assert_eq!(cx.diagnostics[0].message, "1 relu");
//! assert_eq!(g.node_count(), 1); // the identity reshape is gone
//!
//! let out = tmlc::compile(&mut g, &tmlc::CompileOptions::new("m"))?;
//! assert!(out.c.contains("int m_invoke("));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod budget;
mod calibration;
mod compile;
mod compress;
mod error;
mod load;

pub use budget::{compile_within, Budget, Fitted};
pub use calibration::{ranges_to_json, read_calibration, read_labels, read_ranges, top1};
pub use compile::{compile, compile_with, write_c, CompileOptions};
pub use compress::PruneSpec;
pub use error::Error;
pub use load::{c_identifier, load_model, load_model_with, read_tensor, stem, LoadOptions};

/// The Cortex-M4 C backend (re-export of `tmlc-cm4`).
pub use tmlc_cm4 as cm4;
/// The reference interpreter (re-export of `tmlc-interp`).
pub use tmlc_interp as interp;
/// The graph IR (re-export of `tmlc-ir`).
pub use tmlc_ir as ir;
/// The ONNX frontend (re-export of `tmlc-onnx`).
pub use tmlc_onnx as onnx;
/// Passes, pipelines and the registry (re-export of `tmlc-passes`).
pub use tmlc_passes as passes;
