//! # tmlc-tflite: the TFLite frontend of tmlc
//!
//! Reads a `.tflite` file (a flatbuffer with identifier `TFL3`, schema
//! version 3) into a [`tmlc_ir::Graph`]:
//!
//! ```no_run
//! let bytes = std::fs::read("person_detect.tflite")?;
//! let graph = tmlc_tflite::import(&bytes, "person_detect")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - Only subgraph 0 is imported. Its inputs and outputs become the graph's;
//!   tensors with buffer data become constants; each operator becomes one
//!   IR node (see [`supported_ops`] and the `ops` module for the mapping).
//! - The whole buffer is verified with the `flatbuffers` crate's verifier
//!   before anything is read, and every index, length and shape is checked
//!   before use: a hostile file yields a [`TfliteError`], never a panic, a
//!   hang or an allocation larger than a small multiple of the file.
//! - The result passes [`tmlc_ir::verify()`]; if it would not, the import
//!   fails with [`TfliteError::Invalid`] naming the operator.
//!
//! The schema subset is written by hand from `schema.fbs`'s facts (module
//! `schema`); reading goes through a bounds-checked reader (module
//! `reader`) because the `flatbuffers` crate's accessors are `unsafe` and
//! this workspace forbids `unsafe` code.

#![deny(missing_docs)]

mod error;
mod import;
mod ops;
mod reader;
mod schema;

pub use error::TfliteError;
pub use ops::supported_ops;

/// Imports subgraph 0 of the TFLite model in `bytes` as a graph named
/// `name` (sanitized, e.g. the file stem).
///
/// # Errors
/// A [`TfliteError`] describing the first problem found: a malformed or
/// truncated file, an unsupported operator or tensor type, an index out of
/// range, a bad shape or constant, or an imported graph that fails
/// [`tmlc_ir::verify()`].
pub fn import(bytes: &[u8], name: &str) -> Result<tmlc_ir::Graph, TfliteError> {
    import::import(bytes, name)
}
