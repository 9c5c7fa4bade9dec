//! The importer: header checks, verification, subgraph 0's tensors,
//! constants and quantization, graph inputs and outputs, and the final
//! `tmlc_ir::verify`. The per-operator mapping is in [`crate::ops`].
//!
//! Resource rules (hostile input):
//! - every index is range-checked and reported with the operator using it;
//! - shapes reject negative dims; a constant may not need more bytes than
//!   the file has, an activation not more than 2 GiB;
//! - all constants together may not exceed a small multiple of the file
//!   size (tensors may share buffers, so per-tensor checks are not enough);
//! - every allocation is bounded by the file size: vectors are verified to
//!   lie inside the file before their length is used.

use crate::error::describe_invalid;
use crate::reader::Tables;
use crate::schema::{
    self, Buffer, Model, Operator, OperatorCode, SubGraph, Tensor, TensorType as TflType,
};
use crate::TfliteError;
use std::collections::{HashMap, HashSet};
use tmlc_ir::{DType, Graph, Op, Quant, TensorData, TensorType, ValueId};

/// Largest activation tensor accepted, in bytes.
const MAX_ACTIVATION_BYTES: usize = 1 << 31;

/// Most subgraph inputs accepted. Real models have a handful; the cap keeps
/// checks that are quadratic in the number of inputs cheap on hostile files.
const MAX_GRAPH_INPUTS: usize = 4096;

/// How a constant tensor is materialised for a particular use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ConstKind {
    /// As stored.
    Plain,
    /// Without quantization metadata (biases of quantized conv/FC).
    DropQuant,
    /// A depthwise filter `[1,H,W,O]` transposed to `[O,H,W,1]`, with a
    /// per-channel axis 3 moved to axis 0.
    DepthwiseFilter,
}

/// Where an error is reported: the operator index and its TFLite name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx<'s> {
    pub node: usize,
    pub op: &'s str,
}

impl Ctx<'_> {
    /// A [`TfliteError::BadOperator`] for this operator.
    pub fn bad(&self, reason: impl Into<String>) -> TfliteError {
        TfliteError::BadOperator {
            node: self.node,
            op: self.op.to_string(),
            reason: reason.into(),
        }
    }

    /// A [`TfliteError::UnsupportedOp`] for a variant of this operator.
    pub fn unsupported(&self, what: impl std::fmt::Display) -> TfliteError {
        TfliteError::UnsupportedOp {
            node: self.node,
            op: format!("{} {what}", self.op),
        }
    }
}

/// State of one import.
pub(crate) struct Importer<'a> {
    pub bytes: &'a [u8],
    pub g: Graph,
    tensors: Option<Tables<'a>>,
    pub n_tensors: usize,
    buffers: Option<Tables<'a>>,
    /// The IR value holding each tensor (graph input, constant as stored, or
    /// op result), once defined.
    values: Vec<Option<ValueId>>,
    /// Constants materialised in a non-plain form.
    derived: HashMap<(usize, ConstKind), ValueId>,
    /// Bytes of constant data materialised so far.
    const_bytes: usize,
    /// Maps IR value names of op results to their TFLite operator.
    pub node_of: HashMap<String, (usize, String)>,
    /// The operator being converted, for index errors.
    current_node: Option<usize>,
}

/// Imports subgraph 0 of a `.tflite` file.
pub(crate) fn import(bytes: &[u8], name: &str) -> Result<Graph, TfliteError> {
    check_header(bytes)?;
    schema::verify(bytes).map_err(|e| TfliteError::Malformed(describe_invalid(&e, bytes.len())))?;
    let model = Model::root(bytes)?;
    let version = model.version()?;
    if version != 3 {
        return Err(TfliteError::SchemaVersion { version });
    }
    let sg = match model.subgraphs()? {
        Some(s) if s.len() > 0 => SubGraph(s.get(0)?),
        _ => return Err(TfliteError::Malformed("the model has no subgraphs".into())),
    };
    let tensors = sg.tensors()?;
    let n_tensors = tensors.map_or(0, |t| t.len());
    let mut imp = Importer {
        bytes,
        g: Graph::new(name),
        tensors,
        n_tensors,
        buffers: model.buffers()?,
        values: vec![None; n_tensors],
        derived: HashMap::new(),
        const_bytes: 0,
        node_of: HashMap::new(),
        current_node: None,
    };

    // Resolve every operator's name first, so that an unsupported operator is
    // reported before any problem with the tensors it uses.
    let ops = sg.operators()?;
    let n_ops = ops.map_or(0, |o| o.len());
    let codes = model.operator_codes()?;
    let mut resolved = Vec::with_capacity(n_ops);
    for node in 0..n_ops {
        let Some(ops) = ops else { break };
        let opr = Operator(ops.get(node)?);
        let (code, op_name) = resolve_opcode(codes, &opr, node)?;
        if !crate::ops::is_supported(code) {
            return Err(TfliteError::UnsupportedOp { node, op: op_name });
        }
        resolved.push((opr, code, op_name));
    }

    // Graph inputs.
    let mut seen = HashSet::new();
    if let Some(inputs) = sg.inputs()? {
        if inputs.len() > MAX_GRAPH_INPUTS {
            return Err(TfliteError::Malformed(format!(
                "the subgraph has {} inputs, more than the {MAX_GRAPH_INPUTS} supported",
                inputs.len()
            )));
        }
        for k in 0..inputs.len() {
            let t = imp.tensor_index(inputs.get(k)?, None, "subgraph input tensor")?;
            if !seen.insert(t) {
                return Err(TfliteError::Malformed(format!(
                    "tensor {t} is listed twice as a subgraph input"
                )));
            }
            let ty = imp.tensor_type(t, true, false, None)?;
            let name = imp.value_name(t)?;
            let v = imp.g.add_input(&name, ty);
            imp.set_value(t, v);
        }
    }

    // Operators, in execution order.
    for (node, (opr, code, op_name)) in resolved.into_iter().enumerate() {
        let ctx = Ctx { node, op: &op_name };
        imp.current_node = Some(node);
        crate::ops::convert(&mut imp, ctx, code, &opr)?;
    }
    imp.current_node = None;

    // Graph outputs.
    let mut outs = Vec::new();
    if let Some(outputs) = sg.outputs()? {
        for k in 0..outputs.len() {
            let t = imp.tensor_index(outputs.get(k)?, None, "subgraph output tensor")?;
            let v = match imp.values.get(t).copied().flatten() {
                Some(v) => v,
                None if imp.const_data(t)?.is_some() => {
                    imp.const_value(t, ConstKind::Plain, None)?
                }
                None => {
                    return Err(TfliteError::Malformed(format!(
                        "subgraph output tensor {t} `{}` is never written",
                        imp.err_name(t)?
                    )))
                }
            };
            outs.push(v);
        }
    }
    imp.g.set_outputs(outs);

    if let Err(errs) = tmlc_ir::verify(&imp.g) {
        let first = errs.0.first();
        let located = first
            .and_then(|e| e.value.as_ref())
            .and_then(|v| imp.node_of.get(v))
            .cloned();
        let (node, op) = match located {
            Some((n, op)) => (Some(n), op),
            None => (None, String::new()),
        };
        return Err(TfliteError::Invalid {
            node,
            op,
            message: errs.to_string(),
        });
    }
    Ok(imp.g)
}

/// Checks the 8-byte header: root offset, then the identifier `TFL3`.
fn check_header(bytes: &[u8]) -> Result<(), TfliteError> {
    if bytes.is_empty() {
        return Err(TfliteError::Empty);
    }
    let (Some(root), Some(ident)) = (bytes.get(0..4), bytes.get(4..8)) else {
        return Err(TfliteError::TooShort { len: bytes.len() });
    };
    if ident != b"TFL3" {
        return Err(TfliteError::BadIdentifier {
            found: ident.escape_ascii().to_string(),
        });
    }
    let mut r = [0u8; 4];
    r.copy_from_slice(root);
    let root = u32::from_le_bytes(r) as usize;
    if root.saturating_add(4) > bytes.len() {
        return Err(TfliteError::Malformed(format!(
            "root table offset {root} points outside the file ({} bytes)",
            bytes.len()
        )));
    }
    Ok(())
}

/// The builtin code and display name of an operator's opcode.
fn resolve_opcode(
    codes: Option<Tables<'_>>,
    opr: &Operator<'_>,
    node: usize,
) -> Result<(i32, String), TfliteError> {
    let idx = opr.opcode_index()? as usize;
    let n = codes.map_or(0, |c| c.len());
    let Some(codes) = codes.filter(|_| idx < n) else {
        return Err(TfliteError::IndexOutOfRange {
            what: "opcode",
            index: idx as i64,
            len: n,
            node: Some(node),
        });
    };
    let oc = OperatorCode(codes.get(idx)?);
    let code = oc.code()?;
    let name = match schema::builtin_name(code) {
        Some("CUSTOM") if code == schema::op::CUSTOM => {
            format!(
                "CUSTOM:{}",
                escape_for_message(&oc.custom_code()?.unwrap_or_default())
            )
        }
        Some(n) => n.to_string(),
        None => return Err(TfliteError::UnknownOp { node, code }),
    };
    Ok((code, name))
}

/// Escapes control characters and shortens long strings taken from the
/// file, for error messages.
pub(crate) fn escape_for_message(s: &str) -> String {
    const MAX: usize = 120;
    let mut out: String = s.chars().take(MAX).flat_map(char::escape_debug).collect();
    if s.chars().nth(MAX).is_some() {
        out.push_str("...");
    }
    out
}

/// Maps a TFLite element type to the IR's.
fn dtype_of(t: TflType) -> Option<DType> {
    Some(match t {
        TflType::FLOAT32 => DType::F32,
        TflType::INT8 => DType::I8,
        TflType::UINT8 => DType::U8,
        TflType::INT16 => DType::I16,
        TflType::INT32 => DType::I32,
        TflType::INT64 => DType::I64,
        TflType::BOOL => DType::Bool,
        _ => return None,
    })
}

impl<'a> Importer<'a> {
    /// Checks a tensor index read from the file; `-1` is not accepted here.
    pub fn tensor_index(
        &self,
        raw: i32,
        node: Option<usize>,
        what: &'static str,
    ) -> Result<usize, TfliteError> {
        match usize::try_from(raw) {
            Ok(t) if t < self.n_tensors => Ok(t),
            _ => Err(TfliteError::IndexOutOfRange {
                what,
                index: raw as i64,
                len: self.n_tensors,
                node,
            }),
        }
    }

    fn tensor(&self, t: usize) -> Result<Tensor<'a>, TfliteError> {
        match self.tensors {
            Some(ts) => Ok(Tensor(ts.get(t)?)),
            None => Err(TfliteError::Malformed(format!("tensor {t} does not exist"))),
        }
    }

    /// The tensor's name as stored (may be empty).
    fn stored_name(&self, t: usize) -> Result<String, TfliteError> {
        Ok(self.tensor(t)?.name()?.unwrap_or_default())
    }

    /// The tensor's name for messages: escaped, so that an error stays on
    /// one line, and shortened.
    pub fn err_name(&self, t: usize) -> Result<String, TfliteError> {
        Ok(escape_for_message(&self.stored_name(t)?))
    }

    /// A fresh, valid IR value name for tensor `t`.
    pub fn value_name(&self, t: usize) -> Result<String, TfliteError> {
        let raw = self.stored_name(t)?;
        // The converter joins the names of fused ops with `;`
        // ("model/conv/Relu;model/conv/BiasAdd;..."): the first one names
        // the result well enough and keeps reports and IR readable.
        let first = raw.split(';').next().unwrap_or("");
        let base = if first.is_empty() {
            format!("t{t}")
        } else {
            tmlc_ir::sanitize_name(first)
        };
        // `Graph::fresh_name` probes `base.1`, `base.2`, ... one by one; a
        // file naming every tensor alike would make that quadratic. The
        // tensor index makes the candidate unique among tensors.
        if self.g.value_by_name(&base).is_some() {
            Ok(format!("{base}_t{t}"))
        } else {
            Ok(base)
        }
    }

    /// The IR value of tensor `t`, if already defined.
    pub fn defined(&self, t: usize) -> Option<ValueId> {
        self.values.get(t).copied().flatten()
    }

    fn set_value(&mut self, t: usize, v: ValueId) {
        if let Some(slot) = self.values.get_mut(t) {
            *slot = Some(v);
        }
    }

    /// The tensor's TFLite type name for messages, e.g. `INT16 (quantized)`.
    pub fn type_label(&self, t: usize, ty: &TensorType) -> String {
        let base = self
            .tensor(t)
            .and_then(|x| x.ty())
            .map_or_else(|_| ty.dtype.name().to_string(), |x| x.name());
        if ty.quant.is_some() {
            format!("{base} (quantized)")
        } else {
            base
        }
    }

    /// The IR type of tensor `t`. `with_quant` parses the quantization
    /// parameters; `constant` selects the size limit (file size for
    /// constants, 2 GiB for activations). `ctx` names the operator for
    /// type errors.
    pub fn tensor_type(
        &self,
        t: usize,
        with_quant: bool,
        constant: bool,
        ctx: Option<Ctx<'_>>,
    ) -> Result<TensorType, TfliteError> {
        let x = self.tensor(t)?;
        let raw_name = || self.err_name(t).unwrap_or_default();
        let tfl = x.ty()?;
        let Some(dtype) = dtype_of(tfl) else {
            return Err(TfliteError::UnsupportedTensorType {
                tensor: t,
                name: raw_name(),
                ty: tfl.name(),
                node: ctx.map(|c| c.node),
                op: ctx.map_or_else(|| "graph input".to_string(), |c| c.op.to_string()),
            });
        };
        if x.has_sparsity()? {
            return Err(TfliteError::UnsupportedTensor {
                tensor: t,
                name: raw_name(),
                reason: "sparse tensors are not supported".into(),
            });
        }
        if x.is_variable()? {
            return Err(TfliteError::UnsupportedTensor {
                tensor: t,
                name: raw_name(),
                reason: "variable (stateful) tensors are not supported".into(),
            });
        }
        let raw_shape: Vec<i32> = match x.shape()? {
            Some(s) => s.to_vec()?,
            None => Vec::new(),
        };
        let bad_shape = |reason: String| TfliteError::BadShape {
            tensor: t,
            name: raw_name(),
            shape: raw_shape.iter().map(|&d| d as i64).collect(),
            reason,
        };
        let mut shape = Vec::with_capacity(raw_shape.len());
        let mut bytes = dtype.size();
        for &d in &raw_shape {
            let Ok(d) = usize::try_from(d) else {
                return Err(bad_shape(format!("negative dimension {d}")));
            };
            bytes = bytes
                .checked_mul(d)
                .ok_or_else(|| bad_shape("its size overflows".into()))?;
            shape.push(d);
        }
        let limit = if constant {
            self.bytes.len()
        } else {
            MAX_ACTIVATION_BYTES
        };
        if bytes > limit {
            return Err(bad_shape(if constant {
                format!(
                    "the constant needs {bytes} bytes, more than the whole file ({} bytes)",
                    self.bytes.len()
                )
            } else {
                format!("the tensor needs {bytes} bytes, more than the 2 GiB limit")
            }));
        }
        let quant = if with_quant {
            self.quant(t, &x, dtype, &shape)?
        } else {
            None
        };
        Ok(TensorType {
            dtype,
            shape,
            quant,
        })
    }

    /// Parses and validates quantization parameters.
    fn quant(
        &self,
        t: usize,
        x: &Tensor<'a>,
        dtype: DType,
        shape: &[usize],
    ) -> Result<Option<Quant>, TfliteError> {
        let Some(q) = x.quantization()? else {
            return Ok(None);
        };
        let bad = |reason: String| TfliteError::BadQuantization {
            tensor: t,
            name: self.err_name(t).unwrap_or_default(),
            reason,
        };
        if q.details_type()? != 0 {
            return Err(bad("custom quantization details are not supported".into()));
        }
        let scale = match q.scale()? {
            Some(s) if s.len() > 0 => s.to_vec()?,
            _ => return Ok(None),
        };
        // The IR quantizes only integer types; a float (or i64) tensor with
        // leftover parameters imports as plain.
        let Some((lo, hi)) = dtype.int_range() else {
            return Ok(None);
        };
        let zp: Vec<i64> = match q.zero_point()? {
            Some(z) => z.to_vec()?,
            None => Vec::new(),
        };
        if zp.len() != scale.len() {
            return Err(bad(format!(
                "{} scales but {} zero points",
                scale.len(),
                zp.len()
            )));
        }
        if let Some(s) = scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(bad(format!("scale {s:?} is not positive and finite")));
        }
        if let Some(z) = zp.iter().find(|&&z| z < lo || z > hi) {
            return Err(bad(format!("zero point {z} is out of range for {dtype}")));
        }
        let zero_point: Vec<i32> = zp.iter().map(|&z| z as i32).collect();
        if scale.len() == 1 {
            return Ok(Some(Quant::per_tensor(scale[0], zero_point[0])));
        }
        let qd = q.quantized_dimension()?;
        let axis = usize::try_from(qd)
            .ok()
            .filter(|&a| a < shape.len())
            .ok_or_else(|| {
                bad(format!(
                    "quantized_dimension {qd} is out of range for rank {}",
                    shape.len()
                ))
            })?;
        if shape.get(axis) != Some(&scale.len()) {
            return Err(bad(format!(
                "{} per-channel scales for dimension {axis} of size {}",
                scale.len(),
                shape.get(axis).copied().unwrap_or(0)
            )));
        }
        Ok(Some(Quant::per_axis(axis, scale, zero_point)))
    }

    /// The constant bytes of tensor `t`, or `None` when it has no data.
    pub fn const_data(&self, t: usize) -> Result<Option<&'a [u8]>, TfliteError> {
        let x = self.tensor(t)?;
        if x.external_buffer()? != 0 {
            return Err(TfliteError::UnsupportedTensor {
                tensor: t,
                name: self.err_name(t)?,
                reason: "external buffers are not supported".into(),
            });
        }
        let b = x.buffer()? as usize;
        let n = self.buffers.map_or(0, |bs| bs.len());
        let Some(buffers) = self.buffers.filter(|_| b < n) else {
            // Buffer 0 is the empty sentinel; a file without buffers has none.
            if b == 0 {
                return Ok(None);
            }
            return Err(TfliteError::IndexOutOfRange {
                what: "buffer",
                index: b as i64,
                len: n,
                node: self.current_node,
            });
        };
        let buf = Buffer(buffers.get(b)?);
        if let Some(d) = buf.data()? {
            if d.len() > 0 {
                return Ok(Some(d.bytes()?));
            }
        }
        // Files over 2 GiB keep data outside the flatbuffer: `offset` (> 1)
        // and `size` locate it from the start of the file.
        let (off, size) = (buf.offset()?, buf.size()?);
        if off > 1 && size > 0 {
            let range = usize::try_from(off)
                .ok()
                .zip(usize::try_from(size).ok())
                .and_then(|(o, s)| Some(o..o.checked_add(s)?));
            return match range.and_then(|r| self.bytes.get(r)) {
                Some(d) => Ok(Some(d)),
                None => Err(TfliteError::Malformed(format!(
                    "buffer {b} of tensor {t} lies outside the file (offset {off}, size {size}, file {} bytes)",
                    self.bytes.len()
                ))),
            };
        }
        Ok(None)
    }

    /// Decodes constant tensor `t`: its IR type (with quantization unless
    /// `with_quant` is false) and its data. Does not add it to the graph.
    pub fn decode_const(
        &mut self,
        t: usize,
        with_quant: bool,
        ctx: Option<Ctx<'_>>,
    ) -> Result<(TensorType, TensorData), TfliteError> {
        let Some(bytes) = self.const_data(t)? else {
            return Err(match ctx {
                Some(c) => c.bad(format!(
                    "tensor {t} `{}` must be a constant",
                    self.err_name(t)?
                )),
                None => TfliteError::Malformed(format!("tensor {t} has no data")),
            });
        };
        let ty = self.tensor_type(t, with_quant, true, ctx)?;
        let need = ty.byte_size();
        if bytes.len() != need {
            return Err(TfliteError::BufferSize {
                tensor: t,
                name: self.err_name(t)?,
                buffer: self.tensor(t)?.buffer()? as usize,
                have: bytes.len(),
                need,
                ty: ty.to_string(),
            });
        }
        let budget = self.bytes.len().saturating_mul(4).saturating_add(1 << 20);
        self.const_bytes = self.const_bytes.saturating_add(need);
        if self.const_bytes > budget {
            return Err(TfliteError::BadConstant {
                tensor: t,
                name: self.err_name(t)?,
                reason: format!(
                    "constants add up to more than {budget} bytes, too much for a {}-byte file",
                    self.bytes.len()
                ),
            });
        }
        match TensorData::from_le_bytes(ty.dtype, bytes) {
            Some(data) => Ok((ty, data)),
            None => Err(TfliteError::BadConstant {
                tensor: t,
                name: self.err_name(t)?,
                reason: format!("the bytes are not valid {} values", ty.dtype),
            }),
        }
    }

    /// The constant tensor `t` as a value of the given kind (cached).
    pub fn const_value(
        &mut self,
        t: usize,
        kind: ConstKind,
        ctx: Option<Ctx<'_>>,
    ) -> Result<ValueId, TfliteError> {
        if kind == ConstKind::Plain {
            if let Some(v) = self.defined(t) {
                return Ok(v);
            }
        } else if let Some(&v) = self.derived.get(&(t, kind)) {
            return Ok(v);
        }
        let (mut ty, mut data) = self.decode_const(t, kind != ConstKind::DropQuant, ctx)?;
        let mut name = self.value_name(t)?;
        if kind == ConstKind::DepthwiseFilter {
            (ty, data) = depthwise_to_ohwi(ty, &data).map_err(|m| match ctx {
                Some(c) => c.bad(m),
                None => TfliteError::Malformed(m),
            })?;
            name.push_str("_ohwi");
        }
        let v = self.g.add_const(&name, ty, data);
        if kind == ConstKind::Plain {
            self.set_value(t, v);
        } else {
            self.derived.insert((t, kind), v);
        }
        Ok(v)
    }

    /// The value an operator reads as operand: a defined tensor or a
    /// constant.
    pub fn operand(&mut self, t: usize, ctx: Ctx<'_>) -> Result<ValueId, TfliteError> {
        if let Some(v) = self.defined(t) {
            return Ok(v);
        }
        if self.const_data(t)?.is_some() {
            return self.const_value(t, ConstKind::Plain, Some(ctx));
        }
        Err(TfliteError::Malformed(format!(
            "operator {} ({}) reads tensor {t} `{}`, which is not a graph input, a constant or the output of an earlier operator",
            ctx.node,
            ctx.op,
            self.err_name(t)?
        )))
    }

    /// The IR type of a value.
    pub fn ty(&self, v: ValueId) -> TensorType {
        self.g.value(v).ty.clone()
    }

    /// Adds the IR node of operator `ctx` writing tensor `out`.
    pub fn add_result(
        &mut self,
        ctx: Ctx<'_>,
        out: usize,
        op: Op,
        operands: Vec<ValueId>,
        ty: TensorType,
    ) -> Result<ValueId, TfliteError> {
        if self.defined(out).is_some() || self.const_data(out)?.is_some() {
            return Err(TfliteError::Malformed(format!(
                "operator {} ({}) writes tensor {out} `{}`, which is already a graph input, a constant or another operator's output",
                ctx.node,
                ctx.op,
                self.err_name(out)?
            )));
        }
        let name = self.value_name(out)?;
        let v = self.add_node(ctx, op, operands, &name, ty);
        self.set_value(out, v);
        Ok(v)
    }

    /// Adds an IR node attributed to operator `ctx` (also for helper nodes
    /// the frontend inserts).
    pub fn add_node(
        &mut self,
        ctx: Ctx<'_>,
        op: Op,
        operands: Vec<ValueId>,
        name: &str,
        ty: TensorType,
    ) -> ValueId {
        let v = self.g.add_node(op, operands, name, ty);
        let vname = self.g.value(v).name.clone();
        self.node_of.insert(vname, (ctx.node, ctx.op.to_string()));
        v
    }
}

/// Transposes a depthwise filter `[1,H,W,O]` to `[O,H,W,1]`.
fn depthwise_to_ohwi(
    ty: TensorType,
    data: &TensorData,
) -> Result<(TensorType, TensorData), String> {
    let [one, h, w, o] = ty.shape[..] else {
        return Err(format!(
            "depthwise filter must have rank 4, has shape {:?}",
            ty.shape
        ));
    };
    if one != 1 {
        return Err(format!(
            "depthwise filter must have shape [1,H,W,C*M], has {:?}",
            ty.shape
        ));
    }
    let quant = match ty.quant {
        None => None,
        Some(q) if q.axis.is_none() => Some(q),
        Some(q) if q.axis == Some(3) => Some(Quant::per_axis(0, q.scale, q.zero_point)),
        Some(q) => {
            return Err(format!(
                "depthwise filter is quantized on dimension {:?}, expected 3",
                q.axis
            ))
        }
    };
    let mut idx = Vec::with_capacity(data.len());
    for oc in 0..o {
        for y in 0..h {
            for x in 0..w {
                idx.push((y * w + x) * o + oc);
            }
        }
    }
    if idx.len() != data.len() {
        return Err("depthwise filter data does not match its shape".into());
    }
    let out = TensorType {
        dtype: ty.dtype,
        shape: vec![o, h, w, 1],
        quant,
    };
    Ok((out, data.gather(&idx)))
}
