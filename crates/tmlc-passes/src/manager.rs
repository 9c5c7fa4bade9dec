//! The pass manager: runs a pipeline with verification, timing and an
//! after-pass hook.

use crate::{lookup, registry, Pass};
use std::time::{Duration, Instant};
use tmlc_ir::{verify, Graph, VerifyErrors};

/// Errors from building or running a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// A pipeline names a pass that does not exist.
    #[error("unknown pass `{name}` (available: {available})")]
    UnknownPass {
        /// The unknown name.
        name: String,
        /// Comma-separated list of registered passes.
        available: String,
    },
    /// A pipeline string is malformed.
    #[error("invalid pipeline `{0}`: pass names are separated by commas")]
    BadPipeline(String),
    /// The graph given to the manager does not verify.
    #[error("invalid input graph: {0}")]
    InvalidInput(VerifyErrors),
    /// A pass produced a graph that does not verify (a bug in the pass).
    #[error("internal error: pass `{pass}` broke the IR: {errors}")]
    BrokeInvariant {
        /// The pass.
        pass: &'static str,
        /// What the verifier found.
        errors: VerifyErrors,
    },
    /// A pass failed.
    #[error("pass `{pass}` failed: {message}")]
    Failed {
        /// The pass.
        pass: &'static str,
        /// Why.
        message: String,
    },
}

/// An ordered list of passes.
pub struct Pipeline {
    passes: Vec<Box<dyn Pass>>,
}

impl Pipeline {
    /// Parses `"a,b,c"` (whitespace around names allowed; empty string is
    /// the empty pipeline).
    pub fn parse(s: &str) -> Result<Pipeline, PassError> {
        let mut passes = Vec::new();
        if s.trim().is_empty() {
            return Ok(Pipeline { passes });
        }
        for name in s.split(',') {
            let name = name.trim();
            if name.is_empty() {
                return Err(PassError::BadPipeline(s.to_string()));
            }
            let p = lookup(name).ok_or_else(|| PassError::UnknownPass {
                name: name.to_string(),
                available: registry()
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            passes.push(p);
        }
        Ok(Pipeline { passes })
    }

    /// Pass names in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.passes.iter().map(|p| p.name()).collect()
    }
}

/// What one pass did.
#[derive(Clone, Debug)]
pub struct PassRun {
    /// Pass name.
    pub pass: &'static str,
    /// Whether it changed the graph.
    pub changed: bool,
    /// Wall time of the pass itself (not the verifier).
    pub time: Duration,
}

/// Runs pipelines.
pub struct PassManager {
    /// Verify the input and the graph after every pass.
    pub verify_each: bool,
}

impl Default for PassManager {
    /// Verification on in debug builds and tests, off in release builds
    /// (turn it on with `--verify-each`).
    fn default() -> Self {
        PassManager {
            verify_each: cfg!(debug_assertions),
        }
    }
}

impl PassManager {
    /// Runs `pipeline` on `g`; `after` sees the graph after each pass.
    pub fn run(
        &self,
        pipeline: &Pipeline,
        g: &mut Graph,
        mut after: impl FnMut(&str, &Graph),
    ) -> Result<Vec<PassRun>, PassError> {
        if self.verify_each {
            verify(g).map_err(PassError::InvalidInput)?;
        }
        let mut runs = Vec::new();
        for p in &pipeline.passes {
            let t0 = Instant::now();
            let changed = p.run(g)?;
            let time = t0.elapsed();
            if self.verify_each {
                verify(g).map_err(|errors| PassError::BrokeInvariant {
                    pass: p.name(),
                    errors,
                })?;
            }
            after(p.name(), g);
            runs.push(PassRun {
                pass: p.name(),
                changed,
                time,
            });
        }
        Ok(runs)
    }
}
