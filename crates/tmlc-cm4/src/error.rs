//! The backend's error type.

use std::fmt;

/// Why a graph could not be compiled to C.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EmitError {
    /// An op / dtype combination (or a parameter range) the backend does not
    /// implement. Displays as
    /// `` `%x = hard_swish`: not supported by the Cortex-M4 backend for i8 ``
    /// followed by the reason, if any.
    Unsupported {
        /// The result value's name.
        value: String,
        /// The op name.
        op: &'static str,
        /// The dtype of the combination (the result's, usually).
        dtype: String,
        /// Extra detail (may be empty).
        reason: String,
    },
    /// The graph is not a valid input for the backend (it fails the
    /// verifier, or an output is not defined).
    InvalidGraph(String),
    /// The options are unusable (for example a name that is not a C
    /// identifier).
    InvalidOptions(String),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Unsupported {
                value,
                op,
                dtype,
                reason,
            } => {
                write!(
                    f,
                    "`%{value} = {op}`: not supported by the Cortex-M4 backend for {dtype}"
                )?;
                if !reason.is_empty() {
                    write!(f, " ({reason})")?;
                }
                Ok(())
            }
            EmitError::InvalidGraph(m) => write!(f, "invalid graph: {m}"),
            EmitError::InvalidOptions(m) => write!(f, "invalid options: {m}"),
        }
    }
}
