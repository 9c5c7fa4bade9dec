//! The typed error of the TFLite frontend.
//!
//! Every variant prints as one line that names what is wrong and where:
//! the operator index (`node N`, the position of the operator in subgraph 0),
//! the tensor index and name, or the flatbuffer position. Hostile or broken
//! files always end in one of these errors, never in a panic.

use std::fmt;

/// Why a `.tflite` file could not be imported.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TfliteError {
    /// The input is empty.
    #[error("empty file: not a TFLite model")]
    Empty,
    /// The input is shorter than the 8-byte flatbuffer header.
    #[error("truncated file: {len} bytes, a TFLite model needs at least 8 (root offset and \"TFL3\" identifier)")]
    TooShort {
        /// Length of the input in bytes.
        len: usize,
    },
    /// Bytes 4..8 are not the TFLite file identifier `TFL3`.
    #[error("bad file identifier {found}: expected \"TFL3\" at bytes 4..8 (not a TFLite model)")]
    BadIdentifier {
        /// The four bytes found, escaped.
        found: String,
    },
    /// The flatbuffer failed verification, or a structural rule of the
    /// format is broken (no subgraph, operator order, ...).
    #[error("malformed flatbuffer: {0}")]
    Malformed(String),
    /// The model's schema version is not 3.
    #[error("unsupported TFLite schema version {version} (expected 3)")]
    SchemaVersion {
        /// The version field of the model.
        version: u32,
    },
    /// An operator the frontend does not map (or an unsupported variant of
    /// one, such as a fused TANH activation).
    #[error("unsupported operator {op} (node {node})")]
    UnsupportedOp {
        /// Operator index in subgraph 0.
        node: usize,
        /// Operator name, e.g. `LSTM` or `CUSTOM:SignalWindow`.
        op: String,
    },
    /// A builtin operator code that is not in the schema.
    #[error("unknown builtin operator code {code} (node {node})")]
    UnknownOp {
        /// Operator index in subgraph 0.
        node: usize,
        /// The resolved builtin code.
        code: i32,
    },
    /// A tensor whose element type has no IR counterpart, or that the op
    /// using it does not support.
    #[error("unsupported tensor type {ty} for tensor {tensor} `{name}`{}", at(.node, .op))]
    UnsupportedTensorType {
        /// Tensor index in subgraph 0.
        tensor: usize,
        /// Tensor name.
        name: String,
        /// TFLite type name, e.g. `INT16 (quantized)` or `UINT32`.
        ty: String,
        /// Operator using or producing the tensor, if any.
        node: Option<usize>,
        /// Name of that operator (empty if none).
        op: String,
    },
    /// A tensor feature the frontend does not support (sparsity, variables).
    #[error("unsupported tensor {tensor} `{name}`: {reason}")]
    UnsupportedTensor {
        /// Tensor index in subgraph 0.
        tensor: usize,
        /// Tensor name.
        name: String,
        /// What is unsupported.
        reason: String,
    },
    /// A tensor, buffer, operator-code or subgraph-I/O index out of range.
    #[error("{what} index {index} out of range (have {len}){}", at(.node, ""))]
    IndexOutOfRange {
        /// What kind of index (`tensor`, `buffer`, `opcode`).
        what: &'static str,
        /// The index found.
        index: i64,
        /// Number of valid entries.
        len: usize,
        /// Operator index, when the index came from an operator.
        node: Option<usize>,
    },
    /// A negative or too large dimension, or a tensor too large to be real.
    #[error("tensor {tensor} `{name}` has invalid shape {shape:?}: {reason}")]
    BadShape {
        /// Tensor index.
        tensor: usize,
        /// Tensor name.
        name: String,
        /// The shape as stored.
        shape: Vec<i64>,
        /// What is wrong.
        reason: String,
    },
    /// A constant's buffer does not hold exactly the bytes its type needs.
    #[error("buffer {buffer} of tensor {tensor} `{name}` holds {have} bytes, its type {ty} needs {need}")]
    BufferSize {
        /// Tensor index.
        tensor: usize,
        /// Tensor name.
        name: String,
        /// Buffer index.
        buffer: usize,
        /// Bytes in the buffer.
        have: usize,
        /// Bytes the tensor's type needs.
        need: usize,
        /// The tensor's IR type.
        ty: String,
    },
    /// Constant data that cannot be decoded (e.g. a bool byte that is not 0/1),
    /// or constants adding up to more than the file could hold.
    #[error("bad constant data in tensor {tensor} `{name}`: {reason}")]
    BadConstant {
        /// Tensor index.
        tensor: usize,
        /// Tensor name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Ill-formed quantization parameters.
    #[error("tensor {tensor} `{name}` has invalid quantization: {reason}")]
    BadQuantization {
        /// Tensor index.
        tensor: usize,
        /// Tensor name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An operator whose operands or options break the op's own rules
    /// (non-constant paddings, wrong operand count, bad stride, ...).
    #[error("{op} (node {node}): {reason}")]
    BadOperator {
        /// Operator index.
        node: usize,
        /// Operator name.
        op: String,
        /// What is wrong.
        reason: String,
    },
    /// The imported graph fails `tmlc_ir::verify`: a frontend bug, or a
    /// model outside the IR's rules.
    #[error("imported graph is invalid{}: {message}", at(.node, .op))]
    Invalid {
        /// The operator whose IR node failed, if the error is about a node.
        node: Option<usize>,
        /// Its TFLite name (empty if none).
        op: String,
        /// The verifier's message.
        message: String,
    },
}

/// Formats ` (OP, node N)` / ` (node N)` / nothing.
fn at<'a>(node: &Option<usize>, op: &'a str) -> Located<'a> {
    Located { node: *node, op }
}

struct Located<'a> {
    node: Option<usize>,
    op: &'a str,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.node, self.op.is_empty()) {
            (Some(n), false) => write!(f, " ({}, node {n})", self.op),
            (Some(n), true) => write!(f, " (node {n})"),
            (None, false) => write!(f, " ({})", self.op),
            (None, true) => Ok(()),
        }
    }
}

/// Formats a flatbuffer verification failure as one line.
pub(crate) fn describe_invalid(e: &flatbuffers::InvalidFlatbuffer, file_len: usize) -> String {
    use flatbuffers::{ErrorTraceDetail, InvalidFlatbuffer as I};
    let (what, trace) = match e {
        I::MissingRequiredField { required, error_trace } => {
            (format!("missing required field `{required}`"), Some(error_trace))
        }
        I::InconsistentUnion { field, field_type, error_trace } => (
            format!("union `{field}` and its type `{field_type}` are not both present"),
            Some(error_trace),
        ),
        I::Utf8Error { range, error_trace, .. } => (
            format!("string at {}..{} is not valid UTF-8", range.start, range.end),
            Some(error_trace),
        ),
        I::MissingNullTerminator { range, error_trace } => (
            format!("string at {}..{} has no null terminator", range.start, range.end),
            Some(error_trace),
        ),
        I::Unaligned { position, unaligned_type, error_trace } => (
            format!("unaligned {unaligned_type} at offset {position}"),
            Some(error_trace),
        ),
        I::RangeOutOfBounds { range, error_trace } => (
            format!(
                "range {}..{} points outside the file ({file_len} bytes)",
                range.start, range.end
            ),
            Some(error_trace),
        ),
        I::SignedOffsetOutOfBounds { soffset, position, error_trace } => (
            format!("vtable offset {soffset} at offset {position} points outside the file ({file_len} bytes)"),
            Some(error_trace),
        ),
        I::TooManyTables => ("too many tables".to_string(), None),
        I::ApparentSizeTooLarge => (
            "apparent size too large (too much shared or overlapping data)".to_string(),
            None,
        ),
        I::DepthLimitReached => ("tables nested too deeply".to_string(), None),
    };
    let mut path: Vec<String> = Vec::new();
    if let Some(t) = trace {
        // The trace lists the innermost item first.
        for d in t.as_ref().iter().rev() {
            path.push(match d {
                ErrorTraceDetail::TableField { field_name, .. } => field_name.to_string(),
                ErrorTraceDetail::VectorElement { index, .. } => format!("[{index}]"),
                ErrorTraceDetail::UnionVariant { variant, .. } => format!("<{variant}>"),
            });
        }
    }
    if path.is_empty() {
        what
    } else {
        let mut p = String::new();
        for s in path {
            if !p.is_empty() && !s.starts_with('[') {
                p.push('.');
            }
            p.push_str(&s);
        }
        format!("{what} (in {p})")
    }
}
