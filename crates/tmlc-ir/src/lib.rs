//! # tmlc-ir: the graph IR of tmlc
//!
//! The IR is the only contract between tmlc's frontends, passes and
//! backends. A model is one [`Graph`]: a dataflow graph of [`Op`] nodes over
//! typed tensor values.
//!
//! - A **value** ([`Value`]) has a unique name, a static [`TensorType`]
//!   (dtype, shape, optional [`Quant`]) and one definition: a graph input, a
//!   constant carrying its data, or the single result of an op node.
//! - An **op node** ([`Node`]) lists its operands (values, in op-defined
//!   order) and its result. Attributes are typed structs ([`Conv2dAttrs`],
//!   ...), never string maps.
//! - **Layout**: 4-D activations are NHWC; frontends convert. Conv filters
//!   are `[O, KH, KW, I/groups]`; fully connected weights are `[N, K]`.
//! - **Quantization**: `real = scale * (q - zero_point)`, per tensor or per
//!   axis. The integer semantics of every quantized op are TFLite Micro's
//!   reference kernels (double-rounding fixed-point requantisation); the
//!   shared helpers are in [`arith`], and [`prepare`] derives every int8
//!   kernel's multipliers, shifts and ranges from the scales, for the
//!   interpreter and the backends alike.
//! - **Evaluation order** is any topological order; the graph is acyclic and
//!   ops are pure.
//!
//! [`verify`] checks every invariant; passes may assume them and must keep
//! them. The text form ([`print`], [`parse`]) is specified in `spec/ir.md`
//! and round-trips exactly.

#![deny(missing_docs)]

pub mod arith;
pub mod attr;
mod data;
mod dtype;
mod graph;
pub mod infer;
mod layout;
mod op;
pub mod prepare;
pub mod text;
mod types;
pub mod verify;

pub use data::{Tensor, TensorData};
pub use dtype::DType;
pub use graph::{
    is_valid_name, sanitize_name, Graph, GraphError, Loc, Node, NodeId, Phase, ResultType, Value,
    ValueDef, ValueId,
};
pub use infer::{check_op, infer_type};
pub use op::*;
pub use text::{parse, print, ParseError};
pub use types::{broadcast_strides, numel, strides, Quant, TensorType};
pub use verify::{verify, VerifyError, VerifyErrors};
