//! The driver's error: one enum over every stage, printed as one line.

/// Every error a driver call reports; its `Display` is one line naming
/// the file and, where known, the position, node and op.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The text IR does not parse.
    #[error("{path}:{source}")]
    Parse {
        /// The file.
        path: String,
        /// Position and message.
        source: tmlc_ir::ParseError,
    },
    /// The graph breaks an IR invariant.
    #[error("{path}: invalid IR: {source}")]
    Verify {
        /// The file.
        path: String,
        /// What the verifier found.
        source: tmlc_ir::VerifyErrors,
    },
    /// A pipeline could not be built or a pass failed.
    #[error("{0}")]
    Pass(#[from] tmlc_passes::PassError),
    /// The interpreter failed.
    #[error("{0}")]
    Interp(#[from] tmlc_interp::InterpError),
    /// The TFLite frontend rejected the model.
    #[error("{path}: {source}")]
    Tflite {
        /// The file.
        path: String,
        /// Why.
        source: tmlc_tflite::TfliteError,
    },
    /// The ONNX frontend rejected the model.
    #[error("{path}: {source}")]
    Onnx {
        /// The file.
        path: String,
        /// Why.
        source: tmlc_onnx::OnnxError,
    },
    /// The backend cannot generate C for the graph.
    #[error("{path}: {source}")]
    Emit {
        /// The model.
        path: String,
        /// Why.
        source: tmlc_cm4::EmitError,
    },
    /// The request does not fit the model (wrong format, counts, sizes).
    #[error("{path}: {message}")]
    Usage {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}
