//! Errors from building or running a pipeline.

use tmlc_ir::VerifyErrors;

/// Errors from building or running a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// A pipeline names a pass that is not registered.
    #[error("unknown pass `{name}` (available: {available})")]
    UnknownPass {
        /// The unknown name.
        name: String,
        /// Comma-separated list of registered passes.
        available: String,
    },
    /// A pipeline text is malformed.
    #[error("invalid pipeline `{text}`: {message}")]
    BadPipeline {
        /// The pipeline text.
        text: String,
        /// What is wrong.
        message: String,
    },
    /// A pass option is unknown or has a bad value.
    #[error("pass `{pass}`: option `{key}`: {message}")]
    BadOption {
        /// The pass.
        pass: String,
        /// The option key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The graph given to the pipeline does not verify.
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

impl PassError {
    /// A failure of `pass`, with `e` as the message (a refused graph edit,
    /// a cycle, ...).
    pub fn failed(pass: &'static str, e: impl std::fmt::Display) -> PassError {
        PassError::Failed {
            pass,
            message: e.to_string(),
        }
    }
}
