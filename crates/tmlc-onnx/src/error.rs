//! The frontend's errors: one line each, naming the node, op or tensor.

/// Why a model could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The bytes are not a valid ModelProto.
    #[error("not a valid ONNX model: {0}")]
    Decode(String),
    /// The model has no graph.
    #[error("the model has no graph")]
    NoGraph,
    /// An operator set tmlc does not implement.
    #[error("opset {version} of domain `{domain}` is not supported (supported: default domain, opsets 7 to 25)")]
    Opset {
        /// The domain (`ai.onnx` for the default one).
        domain: String,
        /// The version.
        version: i64,
    },
    /// A node of an operator tmlc does not import.
    #[error("unsupported operator {op} (node `{node}`)")]
    UnsupportedOp {
        /// Operator type, with its domain if not the default one.
        op: String,
        /// Node name (or its first output).
        node: String,
    },
    /// A node whose inputs or attributes tmlc cannot use.
    #[error("node `{node}` ({op}): {message}")]
    Node {
        /// Node name (or its first output).
        node: String,
        /// Operator type.
        op: String,
        /// What is wrong.
        message: String,
    },
    /// A tensor (initializer, constant, input) that cannot be read.
    #[error("tensor `{name}`: {message}")]
    Tensor {
        /// Tensor name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The imported graph breaks an IR invariant (a frontend bug or a
    /// model whose shapes do not agree).
    #[error("invalid graph after import: {0}")]
    Verify(tmlc_ir::VerifyErrors),
}
