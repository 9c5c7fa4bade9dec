//! # tmlc-onnx: the ONNX frontend
//!
//! Reads an `.onnx` model (a protobuf `ModelProto`) into a verified
//! [`tmlc_ir::Graph`].
//!
//! ## The wire format
//!
//! `proto/onnx.proto` is tmlc's own subset of ONNX's `onnx.proto`, written
//! from the specification's field numbers. `build.rs` compiles it with
//! `protox` (a protobuf compiler in pure Rust) and generates the Rust types
//! with `prost-build`: the build needs no `protoc` binary, and the `.proto`
//! stays the one description of the messages (no generated code is
//! committed). prost's decoder bounds nesting (recursion limit 100) and
//! never reads past the input.

mod proto {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

mod error;
mod import;
mod ops;
mod tensor;

pub use error::OnnxError;

/// Reads external tensor data: `(location relative to the model's folder,
/// byte offset, byte length)` to exactly that many bytes, or a message.
/// The frontend checks the location (no absolute path, no `..`) and the
/// sizes first; the caller does the file I/O.
pub type ExternalData<'a> = dyn Fn(&str, u64, usize) -> Result<Vec<u8>, String> + 'a;

/// The layout of the compiled model's rank-4 inputs and outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IoLayout {
    /// ONNX's shapes (NCHW): what the model declares.
    #[default]
    Onnx,
    /// NHWC, for firmware whose camera or feature pipeline produces it:
    /// no transposes at the boundary.
    Nhwc,
}

/// How [`import`] reads a model.
#[derive(Default)]
pub struct ImportOptions<'a> {
    /// Shapes for graph inputs, by name, overriding the model's (and
    /// resolving its symbolic dimensions).
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Reads external data (`.onnx` + `.data` pairs); `None` refuses it.
    pub external: Option<&'a ExternalData<'a>>,
    /// Graph inputs frozen to these values: they become constants (for
    /// inputs that are parameters rather than data: shapes, axes, bounds).
    pub constants: Vec<(String, tmlc_ir::TensorType, tmlc_ir::TensorData)>,
    /// Layout of rank-4 graph inputs and outputs (`input_shapes` stay in
    /// ONNX's layout either way).
    pub io_layout: IoLayout,
}

/// Reads a serialized `TensorProto` (the `.pb` files of ONNX test data):
/// its name, type and data. External data is refused.
pub fn read_tensor_proto(
    bytes: &[u8],
) -> Result<(String, tmlc_ir::TensorType, tmlc_ir::TensorData), OnnxError> {
    use prost::Message;
    let t = proto::TensorProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let (ty, data) = tensor::read(&t, None)?;
    Ok((t.name, ty, data))
}

/// Imports an ONNX model into a verified graph named `name`.
///
/// The model's inputs and outputs keep ONNX's shapes (NCHW images);
/// inside, image tensors are NHWC (`import` module docs).
pub fn import(
    bytes: &[u8],
    name: &str,
    opts: &ImportOptions<'_>,
) -> Result<tmlc_ir::Graph, OnnxError> {
    import::import(bytes, name, opts)
}

#[cfg(test)]
mod op_tests;
#[cfg(test)]
mod tests;
