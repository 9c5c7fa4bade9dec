//! Lowering: every op node of a `lowered`-phase graph becomes a [`Layer`]:
//! the C kernel calls that compute it, the constant arrays they need
//! (weights re-laid out, biases with the input offset folded in,
//! per-channel multipliers and shifts, lookup tables), its scratch size,
//! whether it may run in place, and its MAC count.
//!
//! One module per op family: [`conv`] (conv2d: depthwise, 1x1, im2col),
//! [`dense`] (fully_connected, matmul), [`elementwise`] (add / sub / mul,
//! f32 unary ops, lookup tables), [`reduce`] (pooling, mean, softmax),
//! [`movement`] (reshape, transpose, concat, pad, slice), [`convert`]
//! (quantize, dequantize). Weight layouts and requantisation constants are
//! in [`crate::pack`]; kernel arguments are the typed structs of
//! [`crate::kernels`].
//!
//! The graph comes from `tmlc_passes::lowering_pipeline` (or any pipeline
//! reaching the `lowered` phase): dead code is gone, constants are folded
//! (weights are constants, not reshapes of constants) and 8-bit
//! element-wise ops are `lookup` tables.
//!
//! Multipliers and shifts come from [`tmlc_ir::prepare`]; a multiplier
//! `(M, e)` is applied in C by `tmlc_mbqm` exactly as
//! [`tmlc_ir::arith::mbqm`].
//!
//! Buffers are not known here: operands and results are symbolic
//! ([`Arg::In`], [`Arg::Out`], [`Arg::Scratch`]) and the planner
//! ([`crate::plan`]) gives them addresses.

mod conv;
mod convert;
mod dense;
mod elementwise;
mod movement;
mod reduce;

use crate::error::EmitError;
use crate::kernels::{Arg, Call, Kernel};
use std::collections::HashMap;
use tmlc_ir::{
    DType, Graph, NodeId, Op, OpFamily, Quant, TensorData, TensorType, ValueDef, ValueId,
};

/// A C element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CType {
    I8,
    U8,
    I16,
    I32,
    U32,
    I64,
    F32,
    Void,
}

impl CType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            CType::I8 => "int8_t",
            CType::U8 => "uint8_t",
            CType::I16 => "int16_t",
            CType::I32 => "int32_t",
            CType::U32 => "uint32_t",
            CType::I64 => "int64_t",
            CType::F32 => "float",
            CType::Void => "void",
        }
    }
}

/// Contents of a constant array.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ConstData {
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    U32(Vec<u32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
}

impl ConstData {
    pub(crate) fn ctype(&self) -> CType {
        match self {
            ConstData::I8(_) => CType::I8,
            ConstData::U8(_) => CType::U8,
            ConstData::I16(_) => CType::I16,
            ConstData::I32(_) => CType::I32,
            ConstData::U32(_) => CType::U32,
            ConstData::I64(_) => CType::I64,
            ConstData::F32(_) => CType::F32,
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            ConstData::I8(v) => v.len(),
            ConstData::U8(v) => v.len(),
            ConstData::I16(v) => v.len(),
            ConstData::I32(v) => v.len(),
            ConstData::U32(v) => v.len(),
            ConstData::I64(v) => v.len(),
            ConstData::F32(v) => v.len(),
        }
    }

    pub(crate) fn byte_len(&self) -> usize {
        let es = match self.ctype() {
            CType::I8 | CType::U8 | CType::Void => 1,
            CType::I16 => 2,
            CType::I32 | CType::U32 | CType::F32 => 4,
            CType::I64 => 8,
        };
        self.len() * es
    }

    /// Raw little-endian bytes (for deduplication).
    fn key(&self) -> (CType, Vec<u8>) {
        let b = match self {
            ConstData::I8(v) => v.iter().map(|&x| x as u8).collect(),
            ConstData::U8(v) => v.clone(),
            ConstData::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ConstData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ConstData::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ConstData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ConstData::F32(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
        };
        (self.ctype(), b)
    }

    fn from_tensor(d: &TensorData) -> ConstData {
        match d {
            TensorData::F32(v) => ConstData::F32(v.clone()),
            TensorData::I8(v) | TensorData::I4(v) => ConstData::I8(v.clone()),
            TensorData::U8(v) => ConstData::U8(v.clone()),
            TensorData::I16(v) => ConstData::I16(v.clone()),
            TensorData::I32(v) => ConstData::I32(v.clone()),
            TensorData::I64(v) => ConstData::I64(v.clone()),
            TensorData::Bool(v) => ConstData::U8(v.iter().map(|&b| b as u8).collect()),
        }
    }
}

/// A `static const` array in flash.
#[derive(Clone, Debug)]
pub(crate) struct ConstArray {
    /// C identifier suffix (the emitter prefixes the model name).
    pub(crate) name: String,
    pub(crate) data: ConstData,
    /// What it is (a C comment).
    pub(crate) what: String,
}

/// A lowered op node.
#[derive(Clone, Debug)]
pub(crate) struct Layer {
    pub(crate) node: NodeId,
    pub(crate) op: &'static str,
    pub(crate) result: ValueId,
    pub(crate) operands: Vec<ValueId>,
    /// `reshape`: the result is the operand's storage (no code).
    pub(crate) alias: bool,
    /// Operand indices whose buffer the kernel may overwrite with the
    /// result (same size, element-for-element).
    pub(crate) in_place: Vec<usize>,
    pub(crate) calls: Vec<Call>,
    /// Scratch bytes (im2col rows, mean sums).
    pub(crate) scratch: usize,
    pub(crate) macs: u64,
    /// Constant arrays first created for this layer.
    pub(crate) consts: Vec<usize>,
    pub(crate) kernels: Vec<Kernel>,
    /// A short description of the kernel choice (report).
    pub(crate) kernel_desc: String,
    /// Weights stored other than as dense int8: `(layout, int8 bytes,
    /// bytes)` (report).
    pub(crate) packed: Option<(String, usize, usize)>,
}

impl Layer {
    /// Adds a call to `kernel`.
    fn call(&mut self, kernel: Kernel, call: impl Into<Call>) {
        if !self.kernels.contains(&kernel) {
            self.kernels.push(kernel);
        }
        self.calls.push(call.into());
    }
}

/// The lowered program: layers in execution order and the constant pool.
pub(crate) struct Lowered {
    pub(crate) layers: Vec<Layer>,
    pub(crate) consts: Vec<ConstArray>,
    /// Graph constants that are read as activations: value -> array.
    pub(crate) value_consts: HashMap<ValueId, usize>,
}

/// The lowering state: the graph and the constant pool.
struct Cx<'g> {
    g: &'g Graph,
    consts: Vec<ConstArray>,
    dedupe: HashMap<(CType, Vec<u8>), usize>,
    value_consts: HashMap<ValueId, usize>,
    new_consts: Vec<usize>,
}

/// One node being lowered: its values, types and the facts every family
/// asks about.
struct Node<'g> {
    op: &'g Op,
    /// Operands.
    ops: &'g [ValueId],
    /// The result's type.
    yt: &'g TensorType,
    /// Operand 0's type.
    xt: &'g TensorType,
    /// The result's name (comments, errors).
    name: &'g str,
    /// Every operand and the result are f32.
    all_f32: bool,
    /// The result is per-tensor quantized i8.
    q8: bool,
    /// Weight-only quantization: f32 input and result, int8 weights
    /// (operand 1).
    w8: bool,
    /// Prefix of the layer's constant names (`l3`).
    pfx: String,
}

impl Node<'_> {
    /// The op/dtype combination is not implemented (`reason` may be empty).
    fn unsupported(&self, reason: impl Into<String>) -> EmitError {
        self.unsupported_for(self.yt.dtype, reason)
    }

    fn unsupported_for(&self, dtype: DType, reason: impl Into<String>) -> EmitError {
        EmitError::Unsupported {
            value: self.name.to_string(),
            op: self.op.name(),
            dtype: dtype.name().to_string(),
            reason: reason.into(),
        }
    }

    /// The per-tensor `(scale, zero point)` of an int8 operand or result.
    fn qparams(&self, t: &TensorType, what: &str) -> R<(f32, i32)> {
        t.qparams()
            .ok_or_else(|| self.unsupported(format!("per-axis {what}")))
    }
}

/// A MAC count (saturating: a zero-sized layer may have huge other dims).
fn macs(dims: &[usize]) -> u64 {
    dims.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64))
}

/// Why the window geometry of a conv or pool cannot be computed in int32
/// by the kernels, if it cannot: every stride, dilation, padding and
/// kernel size, the padded extent and the farthest tap must fit.
fn window_geometry_error(op: &Op, shapes: &[&[usize]]) -> Option<String> {
    let x = shapes.first()?;
    match op {
        Op::Conv2d(a) => {
            let w = shapes.get(1)?;
            geometry_error(x, [*w.get(1)?, *w.get(2)?], a.stride, a.dilation, a.pad)
        }
        Op::MaxPool2d(a) | Op::AvgPool2d(a) => geometry_error(x, a.kernel, a.stride, [1, 1], a.pad),
        _ => None,
    }
}

fn geometry_error(
    x: &[usize],
    k: [usize; 2],
    stride: [usize; 2],
    dil: [usize; 2],
    pad: [usize; 4],
) -> Option<String> {
    const LIMIT: u128 = i32::MAX as u128;
    let (h, w) = (*x.get(1)? as u128, *x.get(2)? as u128);
    for (axis, extent, kk, s, d, p0, p1) in [
        ("height", h, k[0], stride[0], dil[0], pad[0], pad[2]),
        ("width", w, k[1], stride[1], dil[1], pad[1], pad[3]),
    ] {
        let padded = extent + p0 as u128 + p1 as u128;
        let reach = (kk as u128)
            .saturating_mul(d as u128)
            .saturating_add(padded);
        let strided = (s as u128).saturating_mul(padded.saturating_add(1));
        if [kk as u128, s as u128, d as u128, padded, reach, strided]
            .iter()
            .any(|&v| v > LIMIT)
        {
            return Some(format!(
                "the {axis} window geometry (kernel {kk}, stride {s}, dilation {d}, padding {p0}+{p1}) exceeds the C backend's int32 arithmetic"
            ));
        }
    }
    None
}

/// Bounds every dimension and size used in the C code to `int32_t`.
fn i32_ok(v: usize) -> bool {
    v <= i32::MAX as usize
}

type R<T> = Result<T, EmitError>;

/// Lowers every node, in topological order.
pub(crate) fn lower(g: &Graph) -> R<Lowered> {
    let order = g
        .topo_order()
        .map_err(|_| EmitError::InvalidGraph("the graph has a cycle".into()))?;
    let mut cx = Cx {
        g,
        consts: Vec::new(),
        dedupe: HashMap::new(),
        value_consts: HashMap::new(),
        new_consts: Vec::new(),
    };
    let mut layers = Vec::new();
    for n in order {
        let idx = layers.len();
        let mut layer = cx.lower_node(n, idx)?;
        layer.consts = std::mem::take(&mut cx.new_consts);
        layers.push(layer);
    }
    // Constant outputs are copied from flash.
    for &v in g.outputs() {
        cx.input(v, CType::Void);
    }
    Ok(Lowered {
        layers,
        consts: cx.consts,
        value_consts: cx.value_consts,
    })
}

/// Collapses an iteration space with several stride vectors: drops size-1
/// dimensions and merges neighbours that are contiguous for every stride
/// vector. Returns `None` if more than 6 dimensions remain; otherwise the
/// shape and strides left-padded to 6.
fn collapse(shape: &[usize], strides: &[Vec<usize>]) -> Option<(Vec<usize>, Vec<Vec<usize>>)> {
    let mut s: Vec<usize> = Vec::new();
    let mut st: Vec<Vec<usize>> = vec![Vec::new(); strides.len()];
    for (i, &d) in shape.iter().enumerate() {
        if d == 1 {
            continue;
        }
        let merge = !s.is_empty()
            && strides.iter().zip(&st).all(|(full, cur)| {
                let last = cur.last().copied().unwrap_or(0);
                last == full[i] * d
            });
        if merge {
            if let Some(l) = s.last_mut() {
                *l *= d;
            }
            for (k, full) in strides.iter().enumerate() {
                if let Some(l) = st[k].last_mut() {
                    *l = full[i];
                }
            }
        } else {
            s.push(d);
            for (k, full) in strides.iter().enumerate() {
                st[k].push(full[i]);
            }
        }
    }
    if s.len() > 6 {
        return None;
    }
    while s.len() < 6 {
        s.insert(0, 1);
        for v in st.iter_mut() {
            v.insert(0, 0);
        }
    }
    Some((s, st))
}

fn to_i32s(v: &[usize]) -> Vec<i32> {
    v.iter().map(|&x| x.min(i32::MAX as usize) as i32).collect()
}

impl<'g> Cx<'g> {
    fn ty(&self, v: ValueId) -> &'g TensorType {
        &self.g.value(v).ty
    }

    fn add_const(&mut self, name: String, data: ConstData, what: String) -> usize {
        let key = data.key();
        if let Some(&i) = self.dedupe.get(&key) {
            // Identical bytes are stored once, under the first user's name;
            // the comment lists every use so the C stays readable.
            if let Some(c) = self.consts.get_mut(i) {
                c.what.push_str(&format!("; also used as {name} ({what})"));
            }
            return i;
        }
        let i = self.consts.len();
        self.consts.push(ConstArray { name, data, what });
        self.dedupe.insert(key, i);
        self.new_consts.push(i);
        i
    }

    /// The constant contents of `v`.
    fn const_of(&self, v: ValueId) -> Option<&'g TensorData> {
        self.g.const_data(v)
    }

    /// An operand argument; graph constants read as activations get an array.
    fn input(&mut self, v: ValueId, ct: CType) -> Arg {
        if let ValueDef::Const(d) = &self.g.value(v).def {
            if !self.value_consts.contains_key(&v) {
                let name = format!("c{}", v.index());
                let what = format!("constant %{}", self.g.value(v).name);
                let i = self.add_const(name, ConstData::from_tensor(d), what);
                self.value_consts.insert(v, i);
            }
        }
        Arg::In(v, ct)
    }

    fn lower_node(&mut self, n: NodeId, idx: usize) -> R<Layer> {
        let g = self.g;
        let node = g.node(n);
        let y = node.result;
        let yt = &g.value(y).ty;
        let nd = Node {
            op: &node.op,
            ops: &node.operands,
            yt,
            xt: &g.value(node.operands[0]).ty,
            name: &g.value(y).name,
            all_f32: node
                .operands
                .iter()
                .all(|&v| self.ty(v).dtype == DType::F32)
                && yt.dtype == DType::F32,
            q8: yt.is_qi8() && yt.quant.as_ref().is_some_and(|q| q.is_per_tensor()),
            w8: node.op.family() == tmlc_ir::OpFamily::Weighted
                && yt.dtype == DType::F32
                && node.operands.get(1).is_some_and(|&w| self.ty(w).is_qi8()),
            pfx: format!("l{idx}"),
        };
        for &v in node.operands.iter().chain(std::iter::once(&y)) {
            let t = self.ty(v);
            if !i32_ok(t.byte_size()) || t.shape.iter().any(|&d| !i32_ok(d)) {
                return Err(nd.unsupported(format!(
                    "tensor %{} {} exceeds the C backend's int32 size and dimension limit",
                    g.value(v).name,
                    t
                )));
            }
        }
        // Window geometry becomes int32 arithmetic in the kernels
        // (`oy*stride - pad + ky*dilation`): every intermediate must fit.
        let shapes: Vec<&[usize]> = node
            .operands
            .iter()
            .map(|&v| self.ty(v).shape.as_slice())
            .collect();
        if let Some(reason) = window_geometry_error(&node.op, &shapes) {
            return Err(nd.unsupported(reason));
        }
        let mut l = Layer {
            node: n,
            op: node.op.name(),
            result: y,
            operands: node.operands.clone(),
            alias: false,
            in_place: Vec::new(),
            calls: Vec::new(),
            scratch: 0,
            macs: 0,
            consts: Vec::new(),
            kernels: Vec::new(),
            kernel_desc: String::new(),
            packed: None,
        };
        match &node.op {
            Op::Conv2d(a) => self.conv2d(&nd, &mut l, a)?,
            Op::FullyConnected(a) => self.fully_connected(&nd, &mut l, a)?,
            Op::MatMul => self.matmul(&nd, &mut l)?,
            Op::Add(a) | Op::Sub(a) | Op::Mul(a) | Op::Div(a) => self.binary(&nd, &mut l, a.act)?,
            Op::Lookup => self.lookup(&nd, &mut l)?,
            op if op.family() == OpFamily::Unary => self.unary(&nd, &mut l)?,
            Op::MaxPool2d(a) | Op::AvgPool2d(a) => self.pool2d(&nd, &mut l, a)?,
            Op::Mean(a) => self.mean(&nd, &mut l, a)?,
            Op::Softmax(a) => self.softmax(&nd, &mut l, a)?,
            Op::BatchNorm(_) => {
                return Err(nd.unsupported("batch_norm is folded first (the `fold-batchnorm` pass)"))
            }
            Op::Quantize(_) => self.quantize(&nd, &mut l)?,
            Op::Dequantize => self.dequantize(&nd, &mut l)?,
            // Every movement op (reshape, transpose, concat, pad, slice).
            _ => self.movement(&nd, &mut l)?,
        }
        // An empty result needs no code (the constant arrays stay, for the
        // report).
        if yt.numel() == 0 {
            l.calls.clear();
        }
        // A kernel no call uses would be an unused static function.
        if l.calls.is_empty() {
            l.kernels.clear();
        }
        // Element-for-element in-place needs equal sizes.
        l.in_place
            .retain(|&i| self.ty(node.operands[i]).byte_size() == yt.byte_size());
        Ok(l)
    }

    /// Collapses the iteration space `shape`, walked with each of the
    /// stride vectors of `walks` ([`collapse`]), and stores the collapsed
    /// shape (`{pfx}_shape`) and each collapsed stride vector
    /// (`{pfx}_{suffix}`) as int32 arrays described as `{name}: {what}`.
    /// `None` if more than 6 dimensions remain.
    fn iteration_arrays<const N: usize>(
        &mut self,
        nd: &Node<'_>,
        shape: &[usize],
        shape_what: &str,
        walks: [(&str, &str, Vec<usize>); N],
    ) -> Option<(Arg, [Arg; N])> {
        let (pfx, name) = (&nd.pfx, nd.name);
        let full: Vec<Vec<usize>> = walks.iter().map(|(_, _, st)| st.clone()).collect();
        let (shape, st) = collapse(shape, &full)?;
        let sh = self.add_const(
            format!("{pfx}_shape"),
            ConstData::I32(to_i32s(&shape)),
            format!("{name}: {shape_what}"),
        );
        // `collapse` returns one collapsed vector per stride vector.
        let mut collapsed = st.into_iter();
        let arrays = walks.map(|(suffix, what, _)| {
            let st = collapsed.next().unwrap_or_default();
            let c = self.add_const(
                format!("{pfx}_{suffix}"),
                ConstData::I32(to_i32s(&st)),
                format!("{name}: {what}"),
            );
            Arg::Const(c, CType::I32)
        });
        Some((Arg::Const(sh, CType::I32), arrays))
    }

    /// An int32 constant array `{pfx}_{suffix}` (its index).
    fn i32_const(&mut self, nd: &Node<'_>, suffix: &str, data: Vec<i32>, what: &str) -> usize {
        self.add_const(
            format!("{}_{suffix}", nd.pfx),
            ConstData::I32(data),
            format!("{}: {what}", nd.name),
        )
    }

    /// An int32 constant array `{pfx}_{suffix}`, as an argument.
    fn i32_array(&mut self, nd: &Node<'_>, suffix: &str, data: Vec<i32>, what: &str) -> Arg {
        Arg::Const(self.i32_const(nd, suffix, data, what), CType::I32)
    }

    /// The scale and zero point arrays of quantization parameters.
    fn qparam_arrays(&mut self, nd: &Node<'_>, q: &Quant) -> (Arg, Arg) {
        let sc = self.add_const(
            format!("{}_scale", nd.pfx),
            ConstData::F32(q.scale.clone()),
            format!("{}: scales", nd.name),
        );
        let zp = self.i32_array(nd, "zp", q.zero_point.clone(), "zero points");
        (Arg::Const(sc, CType::F32), zp)
    }
}

/// The C kernels' code for a run-time input quantization.
fn dynamic_mode(d: tmlc_ir::DynamicQuant) -> i32 {
    match d {
        tmlc_ir::DynamicQuant::None => 0,
        tmlc_ir::DynamicQuant::Asymmetric => 1,
        tmlc_ir::DynamicQuant::Symmetric => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tmlc_ir::{broadcast_strides, strides};

    #[test]
    fn collapse_merges_contiguous_dims() {
        let out = [2, 3, 4];
        let full = strides(&out);
        let (s, st) = collapse(&out, &[full.clone(), full]).unwrap_or_default();
        assert_eq!(s, [1, 1, 1, 1, 1, 24]);
        assert_eq!(st[0], [0, 0, 0, 0, 0, 1]);
        // Per-channel broadcast: [2,3,4] + [4].
        let (s, st) =
            collapse(&out, &[strides(&out), broadcast_strides(&out, &[4])]).unwrap_or_default();
        assert_eq!(s, [1, 1, 1, 1, 6, 4]);
        assert_eq!(st[0], [0, 0, 0, 0, 4, 1]);
        assert_eq!(st[1], [0, 0, 0, 0, 0, 1]);
    }
}
