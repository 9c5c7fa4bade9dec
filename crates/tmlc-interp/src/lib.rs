//! # tmlc-interp: the reference interpreter of tmlc
//!
//! Evaluates a [`Graph`] with the exact semantics of `spec/ir.md` §5: f32
//! ops as plain f32 arithmetic, and quantized int8 ops bit for bit as
//! TFLite Micro's reference kernels (double-rounding fixed-point
//! requantisation). It is the oracle that passes (constant folding, graph
//! rewrites) and backends are checked against.
//!
//! - [`run`] evaluates a whole graph in [`Graph::topo_order`], freeing each
//!   intermediate after its last use; [`run_observed`] also shows every
//!   intermediate result to a callback;
//! - [`eval_op`] evaluates one op on concrete operands (used by constant
//!   folding);
//! - the int8 kernels take every multiplier, shift and range from
//!   [`tmlc_ir::prepare`] (TFLite Micro's `Prepare`), and [`fixedpoint`]
//!   holds the gemmlowp fixed-point functions; the backend uses both so
//!   that it emits the same constants and computes the same values.
//!
//! Modules: `float` (f32 kernels), `quantized` (int8 kernels, quantize,
//! dequantize), `movement` (dtype-generic reshape, transpose, concat, pad),
//! `window` (convolution and pooling loops), `util` (views, index walkers),
//! [`fixedpoint`].
//!
//! The interpreter assumes a verified graph but never panics: every
//! operand is checked against the op's typing rules before a kernel runs,
//! and anything unexpected is an [`InterpError`]. Results above
//! [`MAX_ELEMENTS`] elements are refused.

#![deny(missing_docs)]

mod dynamic;
pub mod fixedpoint;
mod float;
mod movement;
mod quantized;
mod util;
mod window;

use float::Binary;
use tmlc_ir::check_op;
use tmlc_ir::prepare::PrepareError;
use tmlc_ir::verify::check_type;
use tmlc_ir::{
    DType, Graph, Op, OpFamily, SoftmaxAttrs, Tensor, TensorData, TensorType, TransposeAttrs,
    ValueDef, ValueId,
};

/// The largest result (in elements) the interpreter allocates: `2^28`.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// Why an evaluation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InterpError {
    /// [`run`] got a different number of inputs than the graph has.
    #[error("the graph has {expected} inputs, {got} were given")]
    InputCount {
        /// Number of graph inputs.
        expected: usize,
        /// Number of tensors given.
        got: usize,
    },
    /// An input's dtype or shape differs from the graph input's type
    /// (quantization is not compared).
    #[error("input #{index} has type {got}, the graph expects {expected}")]
    InputType {
        /// Position in the input list.
        index: usize,
        /// The graph input's type.
        expected: Box<TensorType>,
        /// The given tensor's type.
        got: Box<TensorType>,
    },
    /// A tensor's data does not match its own type (element count or
    /// dtype), or its type is malformed.
    #[error("{what}: {reason}")]
    BadTensor {
        /// Which tensor (`input #0`, `operand #1 of conv2d`, ...).
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The op/dtype combination, or a Prepare-time precondition on the
    /// quantization parameters, is not supported (TFLite Micro rejects it).
    #[error("`{op}` is not supported here: {reason}")]
    Unsupported {
        /// Op name.
        op: &'static str,
        /// Why.
        reason: String,
    },
    /// The operands or result type break the op's rules (arity, shapes,
    /// dtypes, attributes), as `tmlc_ir::check_op` reports them.
    #[error("`{op}`: {reason}")]
    InvalidOp {
        /// Op name.
        op: &'static str,
        /// The broken rule.
        reason: String,
    },
    /// A result would have more than [`MAX_ELEMENTS`] elements.
    #[error("a result of {elements} elements exceeds the interpreter's limit of {limit}")]
    TooLarge {
        /// Requested elements (saturated at `usize::MAX`).
        elements: usize,
        /// The limit, [`MAX_ELEMENTS`].
        limit: usize,
    },
    /// The graph is not acyclic.
    #[error("the graph has a cycle through `%{value}`")]
    Cycle {
        /// Result name of a node that cannot be scheduled.
        value: String,
    },
    /// The graph is malformed (dangling ids, undefined operands).
    #[error("malformed graph: {0}")]
    InvalidGraph(String),
    /// An error while evaluating one node of a graph.
    #[error("evaluating `%{value} = {op}`: {error}")]
    AtNode {
        /// The node's result name.
        value: String,
        /// The node's op name.
        op: &'static str,
        /// The underlying error.
        error: Box<InterpError>,
    },
}

impl From<PrepareError> for InterpError {
    /// A failed Prepare-time precondition is [`InterpError::Unsupported`].
    fn from(e: PrepareError) -> InterpError {
        InterpError::Unsupported {
            op: e.op,
            reason: e.reason,
        }
    }
}

impl InterpError {
    /// The underlying error, without [`InterpError::AtNode`] context.
    pub fn root(&self) -> &InterpError {
        match self {
            InterpError::AtNode { error, .. } => error.root(),
            e => e,
        }
    }
}

/// Evaluates `g` on `inputs` (in `g.inputs()` order) and returns the values
/// of `g.outputs()` in order.
///
/// Each input must have the dtype and shape of its graph input; its
/// quantization is ignored, and the result carries the graph's type.
pub fn run(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, InterpError> {
    run_observed(g, inputs, |_, _| {})
}

/// [`run`], calling `observe(value, tensor)` with every op result as soon
/// as it is computed, in evaluation order (calibration statistics,
/// per-layer comparisons). The graph is only read, so several threads may
/// run the same graph on different samples at once.
pub fn run_observed(
    g: &Graph,
    inputs: &[Tensor],
    mut observe: impl FnMut(ValueId, &Tensor),
) -> Result<Vec<Tensor>, InterpError> {
    let order = g.topo_order().map_err(|n| InterpError::Cycle {
        value: g
            .try_node(n)
            .and_then(|node| g.try_value(node.result))
            .map_or_else(|| format!("node {}", n.index()), |v| v.name.clone()),
    })?;
    if inputs.len() != g.inputs().len() {
        return Err(InterpError::InputCount {
            expected: g.inputs().len(),
            got: inputs.len(),
        });
    }
    let slots_len = g.values().map(|(id, _)| id.index() + 1).max().unwrap_or(0);
    let mut slots: Vec<Option<Tensor>> = vec![None; slots_len];
    let dangling = |what: &str| InterpError::InvalidGraph(format!("{what} is not a live value"));

    for (index, (&id, t)) in g.inputs().iter().zip(inputs).enumerate() {
        let v = g
            .try_value(id)
            .ok_or_else(|| dangling(&format!("graph input #{index}")))?;
        if t.ty.dtype != v.ty.dtype || t.ty.shape != v.ty.shape {
            return Err(InterpError::InputType {
                index,
                expected: Box::new(v.ty.clone()),
                got: Box::new(t.ty.clone()),
            });
        }
        check_data(&t.data, &v.ty, || format!("input #{index}"))?;
        let slot = slots
            .get_mut(id.index())
            .ok_or_else(|| dangling("a graph input"))?;
        *slot = Some(Tensor {
            ty: v.ty.clone(),
            data: t.data.clone(),
        });
    }
    for (id, v) in g.values() {
        if let ValueDef::Const(d) = &v.def {
            check_data(d, &v.ty, || format!("constant `%{}`", v.name))?;
            if let Some(slot) = slots.get_mut(id.index()) {
                *slot = Some(Tensor {
                    ty: v.ty.clone(),
                    data: d.clone(),
                });
            }
        }
    }

    // Remaining uses of each value; graph outputs are never freed.
    let mut uses = vec![0usize; slots_len];
    for &n in &order {
        if let Some(node) = g.try_node(n) {
            for o in &node.operands {
                if let Some(u) = uses.get_mut(o.index()) {
                    *u += 1;
                }
            }
        }
    }
    for o in g.outputs() {
        if let Some(u) = uses.get_mut(o.index()) {
            *u = usize::MAX;
        }
    }

    for n in order {
        let node = g
            .try_node(n)
            .ok_or_else(|| InterpError::InvalidGraph(format!("node {} is not live", n.index())))?;
        let result = g
            .try_value(node.result)
            .ok_or_else(|| dangling("a node result"))?;
        let data = {
            let mut operands = Vec::with_capacity(node.operands.len());
            for (i, o) in node.operands.iter().enumerate() {
                let t = slots
                    .get(o.index())
                    .and_then(Option::as_ref)
                    .ok_or_else(|| dangling(&format!("operand #{i} of `%{}`", result.name)))?;
                operands.push(t);
            }
            eval_op(&node.op, &operands, &result.ty).map_err(|e| InterpError::AtNode {
                value: result.name.clone(),
                op: node.op.name(),
                error: Box::new(e),
            })?
        };
        let t = Tensor {
            ty: result.ty.clone(),
            data,
        };
        observe(node.result, &t);
        if let Some(slot) = slots.get_mut(node.result.index()) {
            *slot = Some(t);
        }
        for o in &node.operands {
            if let Some(u) = uses.get_mut(o.index()) {
                if *u != usize::MAX {
                    *u = u.saturating_sub(1);
                    if *u == 0 {
                        if let Some(slot) = slots.get_mut(o.index()) {
                            *slot = None;
                        }
                    }
                }
            }
        }
    }

    g.outputs()
        .iter()
        .enumerate()
        .map(|(k, o)| {
            slots
                .get(o.index())
                .and_then(Option::clone)
                .ok_or_else(|| dangling(&format!("graph output #{k}")))
        })
        .collect()
}

/// Checks that `data` holds exactly `numel` elements of `ty`'s dtype and
/// that `ty` is well formed.
fn check_data(
    data: &TensorData,
    ty: &TensorType,
    what: impl Fn() -> String,
) -> Result<(), InterpError> {
    check_type(ty).map_err(|reason| InterpError::BadTensor {
        what: what(),
        reason,
    })?;
    if data.dtype() != ty.dtype || Some(data.len()) != checked_numel(&ty.shape) {
        return Err(InterpError::BadTensor {
            what: what(),
            reason: format!(
                "holds {} {} elements, its type {ty} needs {}",
                data.len(),
                data.dtype(),
                ty.numel()
            ),
        });
    }
    Ok(())
}

fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Evaluates one op on `operands` (each carrying its type and data) and
/// returns the data of a result of type `result`.
///
/// The operands and the result type are first checked against the op's
/// rules (`tmlc_ir::check_op`), so this is safe to call on
/// arbitrary input.
pub fn eval_op(
    op: &Op,
    operands: &[&Tensor],
    result: &TensorType,
) -> Result<TensorData, InterpError> {
    let name = op.name();
    for (i, t) in operands.iter().enumerate() {
        check_data(&t.data, &t.ty, || format!("operand #{i} of {name}"))?;
    }
    check_type(result).map_err(|reason| InterpError::BadTensor {
        what: format!("result type of {name}"),
        reason,
    })?;
    let n = checked_numel(&result.shape).unwrap_or(usize::MAX);
    if n > MAX_ELEMENTS {
        return Err(InterpError::TooLarge {
            elements: n,
            limit: MAX_ELEMENTS,
        });
    }
    let tys: Vec<&TensorType> = operands.iter().map(|t| &t.ty).collect();
    check_op(op, &tys, result).map_err(|reason| InterpError::InvalidOp { op: name, reason })?;
    if n == 0 {
        return Ok(TensorData::zeros(result.dtype, 0));
    }
    let data = dispatch(op, operands, result)?;
    if data.len() != n || data.dtype() != result.dtype {
        return Err(util::internal(&format!(
            "{name} produced {} {} elements for {result}",
            data.len(),
            data.dtype()
        )));
    }
    Ok(data)
}

/// Which kernel family an op with F32 and Q8 forms uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    F32,
    Q8,
}

fn form(op: &Op, x: &Tensor, out: &TensorType) -> Result<Form, InterpError> {
    match (x.ty.dtype, out.dtype) {
        (DType::F32, DType::F32) => Ok(Form::F32),
        (DType::I8, DType::I8) if x.ty.quant.is_some() && out.quant.is_some() => Ok(Form::Q8),
        (a, b) => Err(InterpError::Unsupported {
            op: op.name(),
            reason: format!("operand dtype {a} with result dtype {b}"),
        }),
    }
}

fn dispatch(op: &Op, operands: &[&Tensor], out: &TensorType) -> Result<TensorData, InterpError> {
    let x = util::operand(operands, 0, op.name())?;
    if op.family() == OpFamily::Movement {
        return movement::eval(op, operands, out);
    }
    match op {
        Op::Lookup => return movement::lookup(x, util::operand(operands, 1, op.name())?),
        Op::Softmax(a) => return softmax(a, x, out),
        Op::Quantize(a) => return quantized::quantize(a.round, x, out),
        Op::Dequantize => return quantized::dequantize(x),
        _ => {}
    }
    let f = form(op, x, out)? == Form::F32;
    // Weight-only quantization with run-time input quantization.
    let w8 = f
        && op.family() == OpFamily::Weighted
        && operands.get(1).is_some_and(|w| w.ty.quant.is_some());
    match op {
        Op::Conv2d(a) if w8 && a.dynamic != tmlc_ir::DynamicQuant::None => {
            return dynamic::conv2d(a, operands, out)
        }
        Op::FullyConnected(a) if w8 && a.dynamic != tmlc_ir::DynamicQuant::None => {
            return dynamic::fully_connected(a.act, a.dynamic, operands)
        }
        _ => {}
    }
    // Weight-only quantization: the f32 op on the dequantized weights.
    let dequantized;
    let mut hybrid = Vec::new();
    let operands = match operands.get(1) {
        Some(w) if f && op.family() == OpFamily::Weighted && w.ty.quant.is_some() => {
            dequantized = Tensor {
                ty: TensorType::new(DType::F32, w.ty.shape.clone()),
                data: quantized::dequantize(w)?,
            };
            hybrid.extend_from_slice(operands);
            hybrid[1] = &dequantized;
            &hybrid[..]
        }
        _ => operands,
    };
    match op {
        Op::Conv2d(a) if f => float::conv2d(a, operands, out),
        Op::Conv2d(a) => quantized::conv2d(a, operands, out),
        Op::FullyConnected(a) if f => float::fully_connected(a.act, operands),
        Op::FullyConnected(a) => quantized::fully_connected(a.act, operands, out),
        Op::MatMul if f => float::matmul(operands, out),
        Op::MatMul => quantized::matmul(operands, out),
        Op::Add(a) | Op::Sub(a) | Op::Mul(a) | Op::Div(a) => {
            let kind = match op {
                Op::Add(_) => Binary::Add,
                Op::Sub(_) => Binary::Sub,
                Op::Div(_) => Binary::Div,
                _ => Binary::Mul,
            };
            if f {
                float::binary(kind, a.act, operands, out)
            } else {
                quantized::binary(kind, a.act, operands, out)
            }
        }
        Op::Relu if f => float::unary("relu", x, |v| util::clamp_f32(v, 0.0, f32::INFINITY)),
        Op::Relu => quantized::clamp_op("relu", 0.0, f32::INFINITY, x, out),
        Op::Relu6 if f => float::unary("relu6", x, |v| util::clamp_f32(v, 0.0, 6.0)),
        Op::Relu6 => quantized::clamp_op("relu6", 0.0, 6.0, x, out),
        Op::Clip(c) if f => float::unary("clip", x, |v| util::clamp_f32(v, c.min, c.max)),
        Op::Clip(c) => quantized::clamp_op("clip", c.min, c.max, x, out),
        Op::LeakyRelu(l) if f => float::unary("leaky_relu", x, |v| float::leaky_relu(v, l.alpha)),
        Op::LeakyRelu(l) => quantized::leaky_relu(l.alpha, x, out),
        Op::Elu(e) if f => float::unary("elu", x, |v| float::elu(v, e.alpha)),
        Op::Elu(e) => quantized::through_f32("elu", x, out, |v| float::elu(v, e.alpha)),
        Op::Sigmoid if f => float::unary("sigmoid", x, float::sigmoid),
        Op::Sigmoid => quantized::sigmoid_tanh(false, x),
        Op::Tanh if f => float::unary("tanh", x, f32::tanh),
        Op::Tanh => quantized::sigmoid_tanh(true, x),
        Op::HardSwish if f => float::unary("hard_swish", x, float::hard_swish),
        Op::HardSwish => quantized::hard_swish(x, out),
        Op::MaxPool2d(a) if f => float::pool2d(a, true, x, out),
        Op::MaxPool2d(a) => quantized::pool2d(a, true, x, out),
        Op::AvgPool2d(a) if f => float::pool2d(a, false, x, out),
        Op::AvgPool2d(a) => quantized::pool2d(a, false, x, out),
        Op::Mean(a) if f => float::mean(a, x),
        Op::Mean(a) => quantized::mean(a, x, out),
        Op::BatchNorm(b) => float::batch_norm(b.epsilon, operands),
        // Movement ops, lookup, softmax and conversions returned above.
        op => Err(util::internal(&format!(
            "{} reached the arithmetic dispatch",
            op.name()
        ))),
    }
}

/// `softmax` on any axis: rows along the last axis, with the axis moved
/// there and back by transposes when it is another one.
fn softmax(a: &SoftmaxAttrs, x: &Tensor, out: &TensorType) -> Result<TensorData, InterpError> {
    let rank = x.ty.shape.len();
    let axis = a
        .axis_for(rank)
        .ok_or_else(|| util::internal("softmax axis out of range"))?;
    let rows = |t: &Tensor| match form(&Op::Softmax(a.clone()), t, out)? {
        Form::F32 => float::softmax(a.beta, t),
        Form::Q8 => quantized::softmax(a.beta, t),
    };
    if axis + 1 == rank {
        return rows(x);
    }
    // perm moves `axis` last; its inverse moves it back.
    let mut perm: Vec<usize> = (0..rank).filter(|&d| d != axis).collect();
    perm.push(axis);
    let mut inv = vec![0; rank];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    let moved_ty = |t: &TensorType, perm: &[usize]| TensorType {
        shape: perm.iter().map(|&p| t.shape[p]).collect(),
        ..t.clone()
    };
    let xt = moved_ty(&x.ty, &perm);
    let xm = Tensor {
        data: movement::transpose(&TransposeAttrs { perm: perm.clone() }, x, &xt)?,
        ty: xt,
    };
    let ym = Tensor {
        data: rows(&xm)?,
        ty: TensorType {
            dtype: out.dtype,
            quant: out.quant.clone(),
            shape: xm.ty.shape.clone(),
        },
    };
    movement::transpose(&TransposeAttrs { perm: inv }, &ym, out)
}
