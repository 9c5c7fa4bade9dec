//! Lowering: every live op node of the graph becomes a [`Layer`]: the C
//! kernel calls that compute it, the constant arrays they need (weights
//! re-laid out, biases with the input offset folded in, per-channel
//! multipliers and shifts, lookup tables), its scratch size, whether it may
//! run in place, and its MAC count.
//!
//! Kernel choice (int8):
//! - `conv2d` 1x1 without padding -> `tmlc_conv1x1_s8` (a matrix product);
//!   depthwise (`groups == C_in > 1`) -> `tmlc_dwconv_s8`; anything else ->
//!   `tmlc_conv_s8` (im2col into a scratch of 2 rows + matrix product).
//! - `fully_connected` -> `tmlc_mm_s8` directly.
//! - unary element-wise ops (relu, relu6, clip, leaky_relu, sigmoid, tanh,
//!   hard_swish) and 8-bit requantize/dequantize -> a 256-entry lookup table
//!   evaluated at compile time by the reference interpreter.
//! - add/sub: per-input stages tabulated, the output stage in C.
//!
//! Multipliers and shifts come from [`tmlc_ir::prepare`]; a multiplier
//! `(M, e)` is applied in C by `tmlc_mbqm` exactly as
//! [`tmlc_ir::arith::mbqm`].
//!
//! Buffers are not known here: operands and results are symbolic
//! ([`Arg::In`], [`Arg::Out`], [`Arg::Scratch`]) and the planner
//! ([`crate::plan`]) gives them addresses.

use crate::error::EmitError;
use crate::kernels::Kernel;
use std::collections::HashMap;
use tmlc_ir::arith::{activation_range_i8, mbqm};
use tmlc_ir::prepare::{self, Multiplier, PrepareError};
use tmlc_ir::{
    broadcast_strides, numel, strides, Activation, DType, Graph, NodeId, Op, Quant, TensorData,
    TensorType, ValueDef, ValueId,
};

/// A C element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CType {
    I8,
    U8,
    I16,
    I32,
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
            ConstData::I64(v) => v.len(),
            ConstData::F32(v) => v.len(),
        }
    }

    pub(crate) fn byte_len(&self) -> usize {
        let es = match self.ctype() {
            CType::I8 | CType::U8 | CType::Void => 1,
            CType::I16 => 2,
            CType::I32 | CType::F32 => 4,
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
            ConstData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ConstData::F32(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
        };
        (self.ctype(), b)
    }

    fn from_tensor(d: &TensorData) -> ConstData {
        match d {
            TensorData::F32(v) => ConstData::F32(v.clone()),
            TensorData::I8(v) => ConstData::I8(v.clone()),
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

/// One argument of a kernel call.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    /// Pointer to an operand's data (read only).
    In(ValueId, CType),
    /// Pointer to an operand's data plus a byte offset (read only).
    InAt(ValueId, CType, usize),
    /// Pointer to the layer's result.
    Out(CType),
    /// Pointer to the layer's result plus a byte offset.
    OutAt(CType, usize),
    /// Pointer to the layer's scratch buffer.
    Scratch(CType),
    /// Pointer to a constant array (cast to the given type).
    Const(usize, CType),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f32),
}

/// One C statement: `func(args...);`.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) func: &'static str,
    pub(crate) args: Vec<Arg>,
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
}

/// The lowered program: layers in execution order and the constant pool.
pub(crate) struct Lowered {
    pub(crate) layers: Vec<Layer>,
    pub(crate) consts: Vec<ConstArray>,
    /// Graph constants that are read as activations: value -> array.
    pub(crate) value_consts: HashMap<ValueId, usize>,
}

struct Cx<'g> {
    g: &'g Graph,
    consts: Vec<ConstArray>,
    dedupe: HashMap<(CType, Vec<u8>), usize>,
    value_consts: HashMap<ValueId, usize>,
    new_consts: Vec<usize>,
}

/// Bounds every dimension and size used in the C code to `int32_t`.
/// A MAC count (saturating: a zero-sized layer may have huge other dims).
fn macs(dims: &[usize]) -> u64 {
    dims.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64))
}

/// Why the window geometry of a conv or pool cannot be computed in int32
/// by the kernels, if it cannot: every stride, dilation, padding and
/// kernel size, the padded extent and the farthest tap must fit.
fn window_geometry_error(op: &tmlc_ir::Op, shapes: &[&[usize]]) -> Option<String> {
    use tmlc_ir::Op;
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

fn i32_ok(v: usize) -> bool {
    v <= i32::MAX as usize
}

type R<T> = Result<T, EmitError>;

/// Lowers every node needed by the graph outputs, in topological order.
pub(crate) fn lower(g: &Graph) -> R<Lowered> {
    let order = g
        .topo_order()
        .map_err(|_| EmitError::InvalidGraph("the graph has a cycle".into()))?;
    // Live nodes: those the outputs depend on.
    let mut live = std::collections::HashSet::new();
    let mut stack: Vec<ValueId> = g.outputs().to_vec();
    while let Some(v) = stack.pop() {
        if let Some(n) = g.producer(v) {
            if live.insert(n) {
                stack.extend(g.node(n).operands.iter().copied());
            }
        }
    }
    let mut cx = Cx {
        g,
        consts: Vec::new(),
        dedupe: HashMap::new(),
        value_consts: HashMap::new(),
        new_consts: Vec::new(),
    };
    let mut layers = Vec::new();
    for n in order {
        if !live.contains(&n) {
            continue;
        }
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

    /// The constant contents of `v`, looking through reshapes.
    fn const_of(&self, v: ValueId) -> Option<&'g TensorData> {
        match &self.g.value(v).def {
            ValueDef::Const(d) => Some(d),
            ValueDef::Node(n) => {
                let node = self.g.node(*n);
                match node.op {
                    Op::Reshape(_) => node.operands.first().and_then(|&o| self.const_of(o)),
                    _ => None,
                }
            }
            ValueDef::Input => None,
        }
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
        let node = self.g.node(n);
        let y = node.result;
        let yt = self.ty(y);
        let name = &self.g.value(y).name;
        let op = node.op.name();
        let unsupported = |dtype: &str, reason: String| EmitError::Unsupported {
            value: name.clone(),
            op,
            dtype: dtype.to_string(),
            reason,
        };
        for &v in node.operands.iter().chain(std::iter::once(&y)) {
            let t = self.ty(v);
            if !i32_ok(t.byte_size()) || t.shape.iter().any(|&d| !i32_ok(d)) {
                return Err(unsupported(
                    yt.dtype.name(),
                    format!(
                        "tensor %{} {} exceeds the C backend's int32 size and dimension limit",
                        self.g.value(v).name,
                        t
                    ),
                ));
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
            return Err(unsupported(yt.dtype.name(), reason));
        }
        let mut l = Layer {
            node: n,
            op,
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
        };
        let ops = &node.operands;
        let xt = self.ty(ops[0]);
        let all_f32 = node
            .operands
            .iter()
            .all(|&v| self.ty(v).dtype == DType::F32)
            && yt.dtype == DType::F32;
        let q8 = yt.is_qi8() && yt.quant.as_ref().is_some_and(|q| q.is_per_tensor());
        let empty = yt.numel() == 0;
        let pfx = format!("l{idx}");
        let dt = yt.dtype.name();
        // The per-tensor (scale, zero point) of an int8 operand or result.
        let qparams = |t: &TensorType, what: &str| {
            t.qparams()
                .ok_or_else(|| unsupported(dt, format!("per-axis {what}")))
        };
        match &node.op {
            Op::Lookup => {
                if yt.dtype.size() == 1 {
                    l.in_place.push(0);
                }
                self.lookup(&mut l, ops[0], ops[1], y, &pfx)
                    .map_err(|r| unsupported(dt, r))?;
            }
            Op::Slice(a) => {
                let ist = strides(&xt.shape);
                let es = yt.dtype.size();
                let start: usize = a.begin.iter().zip(&ist).map(|(b, s)| b * s).sum();
                let st: Vec<usize> = a.step.iter().zip(&ist).map(|(t, s)| t * s).collect();
                let (sh, [so]) = self
                    .iteration_arrays(
                        &pfx,
                        name,
                        &yt.shape,
                        "output shape",
                        [("istr", "input strides times steps", st)],
                    )
                    .ok_or_else(|| unsupported(dt, "slice needs more than 6 dimensions".into()))?;
                l.kernels.push(Kernel::Transpose);
                l.kernel_desc = "slice (strided copy)".into();
                if !empty {
                    let x = self.input(ops[0], CType::U8);
                    let Arg::In(v, ct) = x else {
                        return Err(unsupported(dt, "slice operand".into()));
                    };
                    l.calls.push(Call {
                        func: "tmlc_transpose",
                        args: vec![
                            Arg::InAt(v, ct, start * es),
                            Arg::Out(CType::U8),
                            Arg::Const(sh, CType::I32),
                            Arg::Const(so, CType::I32),
                            int(es),
                        ],
                    });
                }
            }
            Op::BatchNorm(_) => {
                return Err(unsupported(dt, "no kernel yet".into()));
            }
            Op::Reshape(_) => {
                l.alias = true;
                l.kernel_desc = "alias".into();
                if let ValueDef::Const(_) = &self.g.value(ops[0]).def {
                    self.input(ops[0], CType::Void);
                }
            }
            Op::Conv2d(a) => {
                let xs = &xt.shape;
                let ws = &self.ty(ops[1]).shape;
                let (nb, h, w, c) = (xs[0], xs[1], xs[2], xs[3]);
                let (o, kh, kw, cg) = (ws[0], ws[1], ws[2], ws[3]);
                let (ho, wo) = (yt.shape[1], yt.shape[2]);
                l.macs = macs(&[nb, ho, wo, o, kh, kw, cg]);
                // The geometry arguments of tmlc_conv_f32 and tmlc_conv_s8.
                let geo = [
                    int(nb),
                    int(h),
                    int(w),
                    int(c),
                    int(ho),
                    int(wo),
                    int(o),
                    int(kh),
                    int(kw),
                    int(a.stride[0]),
                    int(a.stride[1]),
                    int(a.dilation[0]),
                    int(a.dilation[1]),
                    int(a.pad[0]),
                    int(a.pad[1]),
                    int(a.groups),
                ];
                if all_f32 {
                    l.kernels.push(Kernel::ConvF32);
                    l.kernel_desc = "conv_f32".into();
                    let wa = self.input(ops[1], CType::F32);
                    let ba = self.f32_bias(ops.get(2).copied(), o, &pfx);
                    let (lo, hi) = a.act.range();
                    if !empty {
                        let mut args = vec![self.input(ops[0], CType::F32)];
                        args.extend(geo);
                        args.extend([wa, ba, Arg::Out(CType::F32), Arg::Float(lo), Arg::Float(hi)]);
                        l.calls.push(Call {
                            func: "tmlc_conv_f32",
                            args,
                        });
                    }
                } else if q8 {
                    let wp = self
                        .weighted_s8(ops, y, o, a.act, prepare::conv_multipliers)
                        .map_err(|r| unsupported(dt, r))?;
                    let off = wp.zp_in.wrapping_neg();
                    let depthwise = a.groups == c && cg == 1 && a.groups > 1;
                    let one_by_one = kh == 1 && kw == 1 && a.groups == 1 && a.pad == [0; 4];
                    let rq = self.requant_arg(&wp, kh * kw * cg, &pfx, name);
                    let [ma, sa] = self.mult_args(&wp, &rq, &pfx);
                    if depthwise {
                        let dm = o / c;
                        let taps = kh * kw;
                        let mut wt = vec![0i8; taps * o];
                        for oc in 0..o {
                            for t in 0..taps {
                                wt[dw_widx(t, oc, taps, o)] = wp.w[oc * taps + t];
                            }
                        }
                        let bias_in = fold_input_offset(wp.w, taps, &wp.bias, off);
                        let wc = self.add_const(
                            format!("{pfx}_w"),
                            ConstData::I8(wt),
                            format!("{name}: depthwise weights, [c_out/4][kh*kw][4] then [kh*kw][c_out%4]"),
                        );
                        let bi = self.add_const(
                            format!("{pfx}_bias_in"),
                            ConstData::I32(bias_in),
                            format!("{name}: bias - zp_in * sum(w), interior pixels"),
                        );
                        let br = self.add_const(
                            format!("{pfx}_bias"),
                            ConstData::I32(wp.bias),
                            format!("{name}: bias, border pixels"),
                        );
                        let mut tap_offs = Vec::with_capacity(2 * taps);
                        for ky in 0..kh {
                            for kx in 0..kw {
                                // Saturating: an offset beyond the input is never used by an
                                // interior pixel, and is clamped below anyway.
                                let xo = ky
                                    .saturating_mul(a.dilation[0])
                                    .saturating_mul(w)
                                    .saturating_add(kx.saturating_mul(a.dilation[1]))
                                    .saturating_mul(c);
                                tap_offs.push(xo.min(i32::MAX as usize) as i32);
                                tap_offs.push(((ky * kw + kx) * 4) as i32);
                            }
                        }
                        let tc = self.add_const(
                            format!("{pfx}_taps"),
                            ConstData::I32(tap_offs),
                            format!("{name}: (input, weight) byte offsets of each tap"),
                        );
                        l.kernels.push(Kernel::DwConvS8);
                        l.kernel_desc = format!("dwconv_s8 {kh}x{kw} s{} dm{dm}", a.stride[0]);
                        if !empty {
                            l.calls.push(Call {
                                func: "tmlc_dwconv_s8",
                                args: vec![
                                    self.input(ops[0], CType::I8),
                                    int(nb),
                                    int(h),
                                    int(w),
                                    int(c),
                                    int(dm),
                                    int(ho),
                                    int(wo),
                                    int(kh),
                                    int(kw),
                                    int(a.stride[0]),
                                    int(a.stride[1]),
                                    int(a.dilation[0]),
                                    int(a.dilation[1]),
                                    int(a.pad[0]),
                                    int(a.pad[1]),
                                    Arg::Const(wc, CType::I8),
                                    Arg::Const(tc, CType::I32),
                                    Arg::Const(bi, CType::I32),
                                    Arg::Const(br, CType::I32),
                                    ma.clone(),
                                    sa.clone(),
                                    rq.clone(),
                                    Arg::Out(CType::I8),
                                    Arg::Int(off as i64),
                                    Arg::Int(wp.zp_out as i64),
                                    Arg::Int(wp.lo as i64),
                                    Arg::Int(wp.hi as i64),
                                ],
                            });
                        }
                    } else {
                        let k = kh * kw * cg;
                        let kpad = if one_by_one { k } else { k.div_ceil(4) * 4 };
                        let mut wt = vec![0i8; o * kpad];
                        for oc in 0..o {
                            wt[oc * kpad..oc * kpad + k]
                                .copy_from_slice(&wp.w[oc * k..(oc + 1) * k]);
                        }
                        let be = fold_input_offset(wp.w, k, &wp.bias, off);
                        let og = o / a.groups;
                        let packed: Vec<i8> = wt
                            .chunks((og * kpad).max(1))
                            .flat_map(|gw| pack_mm(gw, og, kpad))
                            .collect();
                        let wc = self.add_const(
                            format!("{pfx}_w"),
                            ConstData::I8(packed),
                            format!("{name}: weights [c_out][{kpad}], packed by 4 columns"),
                        );
                        let bc = self.add_const(
                            format!("{pfx}_bias"),
                            ConstData::I32(be),
                            format!("{name}: bias - zp_in * sum(w)"),
                        );
                        l.kernels.push(if one_by_one {
                            Kernel::Conv1x1S8
                        } else {
                            Kernel::ConvS8
                        });
                        if one_by_one {
                            l.kernel_desc = format!("conv1x1_s8 s{}", a.stride[0]);
                            if !empty {
                                l.calls.push(Call {
                                    func: "tmlc_conv1x1_s8",
                                    args: vec![
                                        self.input(ops[0], CType::I8),
                                        int(nb),
                                        int(h),
                                        int(w),
                                        int(c),
                                        int(a.stride[0]),
                                        int(a.stride[1]),
                                        int(ho),
                                        int(wo),
                                        Arg::Const(wc, CType::I8),
                                        Arg::Const(bc, CType::I32),
                                        ma.clone(),
                                        sa.clone(),
                                        rq.clone(),
                                        Arg::Out(CType::I8),
                                        int(o),
                                        Arg::Int(wp.zp_out as i64),
                                        Arg::Int(wp.lo as i64),
                                        Arg::Int(wp.hi as i64),
                                    ],
                                });
                            }
                        } else {
                            l.kernel_desc =
                                format!("conv_s8 im2col {kh}x{kw} s{} g{}", a.stride[0], a.groups);
                            l.scratch = 2 * kpad;
                            if !empty {
                                let mut args = vec![self.input(ops[0], CType::I8)];
                                args.extend(geo);
                                args.extend([
                                    int(kpad),
                                    Arg::Const(wc, CType::I8),
                                    Arg::Const(bc, CType::I32),
                                    ma.clone(),
                                    sa.clone(),
                                    rq.clone(),
                                    Arg::Out(CType::I8),
                                    Arg::Int(wp.zp_in as i64),
                                    Arg::Int(wp.zp_out as i64),
                                    Arg::Int(wp.lo as i64),
                                    Arg::Int(wp.hi as i64),
                                    Arg::Scratch(CType::I8),
                                ]);
                                l.calls.push(Call {
                                    func: "tmlc_conv_s8",
                                    args,
                                });
                            }
                        }
                    }
                } else {
                    return Err(unsupported(dt, String::new()));
                }
            }
            Op::FullyConnected(a) => {
                let ws = &self.ty(ops[1]).shape;
                let (nout, k) = (ws[0], ws[1]);
                let rows = xt.numel().checked_div(k).unwrap_or(0);
                l.macs = macs(&[rows, nout, k]);
                if all_f32 {
                    l.kernels.push(Kernel::FcF32);
                    l.kernel_desc = "fc_f32".into();
                    let wa = self.input(ops[1], CType::F32);
                    let ba = self.f32_bias(ops.get(2).copied(), nout, &pfx);
                    let (lo, hi) = a.act.range();
                    if !empty {
                        l.calls.push(Call {
                            func: "tmlc_fc_f32",
                            args: vec![
                                self.input(ops[0], CType::F32),
                                int(rows),
                                int(k),
                                wa,
                                ba,
                                int(nout),
                                Arg::Out(CType::F32),
                                Arg::Float(lo),
                                Arg::Float(hi),
                            ],
                        });
                    }
                } else if q8 {
                    let wp = self
                        .weighted_s8(ops, y, nout, a.act, prepare::fully_connected_multipliers)
                        .map_err(|r| unsupported(dt, r))?;
                    let be = fold_input_offset(wp.w, k, &wp.bias, wp.zp_in.wrapping_neg());
                    let rq = self.requant_arg(&wp, k, &pfx, name);
                    let [ma, sa] = self.mult_args(&wp, &rq, &pfx);
                    let wc = self.add_const(
                        format!("{pfx}_w"),
                        ConstData::I8(pack_mm(wp.w, nout, k)),
                        format!("{name}: weights [{nout}][{k}], packed by 4 columns"),
                    );
                    let bc = self.add_const(
                        format!("{pfx}_bias"),
                        ConstData::I32(be),
                        format!("{name}: bias - zp_in * sum(w)"),
                    );
                    l.kernels.push(Kernel::MmS8);
                    l.kernel_desc = "mm_s8".into();
                    if !empty {
                        l.calls.push(Call {
                            func: "tmlc_mm_s8",
                            args: vec![
                                self.input(ops[0], CType::I8),
                                int(rows),
                                int(k),
                                Arg::Const(wc, CType::I8),
                                int(nout),
                                int(k),
                                Arg::Const(bc, CType::I32),
                                ma.clone(),
                                sa.clone(),
                                rq,
                                Arg::Out(CType::I8),
                                int(nout),
                                Arg::Int(wp.zp_out as i64),
                                Arg::Int(wp.lo as i64),
                                Arg::Int(wp.hi as i64),
                            ],
                        });
                    }
                } else {
                    return Err(unsupported(dt, String::new()));
                }
            }
            Op::MatMul => {
                let at = xt;
                let bt = self.ty(ops[1]);
                let (ra, rb, ro) = (at.rank(), bt.rank(), yt.rank());
                let (m, k, nn) = (at.shape[ra - 2], at.shape[ra - 1], bt.shape[rb - 1]);
                let batch = &yt.shape[..ro - 2];
                let sa = broadcast_strides(batch, &at.shape[..ra - 2]);
                let sb = broadcast_strides(batch, &bt.shape[..rb - 2]);
                let nbatch = numel(batch);
                let bst = strides(batch);
                let mut aoff = Vec::with_capacity(nbatch);
                let mut boff = Vec::with_capacity(nbatch);
                for bi in 0..nbatch {
                    let (mut oa, mut ob) = (0usize, 0usize);
                    for d in 0..batch.len() {
                        let i = (bi / bst[d]) % batch[d].max(1);
                        oa += i * sa[d];
                        ob += i * sb[d];
                    }
                    aoff.push((oa * m * k) as i32);
                    boff.push((ob * k * nn) as i32);
                }
                l.macs = macs(&[nbatch, m, k, nn]);
                let ao = self.add_const(
                    format!("{pfx}_aoff"),
                    ConstData::I32(aoff),
                    format!("{name}: batch offsets of a"),
                );
                let bo = self.add_const(
                    format!("{pfx}_boff"),
                    ConstData::I32(boff),
                    format!("{name}: batch offsets of b"),
                );
                if all_f32 {
                    l.kernels.push(Kernel::MatMulF32);
                    l.kernel_desc = "matmul_f32".into();
                    if !empty {
                        l.calls.push(Call {
                            func: "tmlc_matmul_f32",
                            args: vec![
                                self.input(ops[0], CType::F32),
                                self.input(ops[1], CType::F32),
                                Arg::Out(CType::F32),
                                int(nbatch),
                                Arg::Const(ao, CType::I32),
                                Arg::Const(bo, CType::I32),
                                int(m),
                                int(k),
                                int(nn),
                            ],
                        });
                    }
                } else if q8 {
                    let (s_a, zp_a) = qparams(at, "operand")?;
                    let (s_b, zp_b) = qparams(bt, "operand")?;
                    let (s_out, zp_out) = qparams(yt, "result")?;
                    let (mm, me) = prepare::matmul_multiplier(s_a, s_b, s_out);
                    l.kernels.push(Kernel::MatMulS8);
                    l.kernel_desc = "matmul_s8".into();
                    if !empty {
                        l.calls.push(Call {
                            func: "tmlc_matmul_s8",
                            args: vec![
                                self.input(ops[0], CType::I8),
                                self.input(ops[1], CType::I8),
                                Arg::Out(CType::I8),
                                int(nbatch),
                                Arg::Const(ao, CType::I32),
                                Arg::Const(bo, CType::I32),
                                int(m),
                                int(k),
                                int(nn),
                                Arg::Int(zp_a as i64),
                                Arg::Int(zp_b as i64),
                                Arg::Int(mm as i64),
                                Arg::Int(me as i64),
                                Arg::Int(zp_out as i64),
                            ],
                        });
                    }
                } else {
                    return Err(unsupported(dt, String::new()));
                }
            }
            Op::Add(a) | Op::Sub(a) | Op::Mul(a) => {
                let bt = self.ty(ops[1]);
                let out = &yt.shape;
                let (sh, [s0, s1]) = self
                    .iteration_arrays(
                        &pfx,
                        name,
                        out,
                        "iteration shape",
                        [
                            ("sa", "strides of a", broadcast_strides(out, &xt.shape)),
                            ("sb", "strides of b", broadcast_strides(out, &bt.shape)),
                        ],
                    )
                    .ok_or_else(|| {
                        unsupported(dt, "broadcast pattern needs more than 6 dimensions".into())
                    })?;
                for (i, &v) in ops.iter().enumerate() {
                    if self.ty(v).shape == *out && self.ty(v).dtype == yt.dtype {
                        l.in_place.push(i);
                    }
                }
                if all_f32 {
                    let code = match node.op {
                        Op::Add(_) => 0,
                        Op::Sub(_) => 1,
                        _ => 2,
                    };
                    let (lo, hi) = a.act.range();
                    l.kernels.push(Kernel::BinaryF32);
                    l.kernel_desc = format!("{op}_f32");
                    if !empty {
                        l.calls.push(Call {
                            func: "tmlc_binary_f32",
                            args: vec![
                                self.input(ops[0], CType::F32),
                                self.input(ops[1], CType::F32),
                                Arg::Out(CType::F32),
                                Arg::Const(sh, CType::I32),
                                Arg::Const(s0, CType::I32),
                                Arg::Const(s1, CType::I32),
                                Arg::Int(code),
                                Arg::Float(lo),
                                Arg::Float(hi),
                            ],
                        });
                    }
                } else if q8 {
                    let (s1q, zp1) = qparams(xt, "operand")?;
                    let (s2q, zp2) = qparams(bt, "operand")?;
                    let (s_out, zp_out) = qparams(yt, "result")?;
                    let (lo, hi) = activation_range_i8(a.act, s_out, zp_out);
                    if let Op::Mul(_) = node.op {
                        let (mm, me) = prepare::mul_multiplier(s1q, s2q, s_out);
                        l.kernels.push(Kernel::MulS8);
                        l.kernel_desc = "mul_s8".into();
                        if !empty {
                            l.calls.push(Call {
                                func: "tmlc_mul_s8",
                                args: vec![
                                    self.input(ops[0], CType::I8),
                                    self.input(ops[1], CType::I8),
                                    Arg::Out(CType::I8),
                                    Arg::Const(sh, CType::I32),
                                    Arg::Const(s0, CType::I32),
                                    Arg::Const(s1, CType::I32),
                                    Arg::Int(zp1 as i64),
                                    Arg::Int(zp2 as i64),
                                    Arg::Int(mm as i64),
                                    Arg::Int(me as i64),
                                    Arg::Int(zp_out as i64),
                                    Arg::Int(lo as i64),
                                    Arg::Int(hi as i64),
                                ],
                            });
                        }
                    } else {
                        let is_sub = matches!(node.op, Op::Sub(_));
                        let p = if is_sub {
                            prepare::sub_params(s1q, s2q, s_out)
                        } else {
                            prepare::add_params(s1q, s2q, s_out)
                        }
                        .map_err(|e| unsupported(dt, e.reason))?;
                        let table = |zp: i32, (m, e): Multiplier| -> Vec<i32> {
                            (0..256u32)
                                .map(|b| {
                                    let x = b as u8 as i8 as i32;
                                    mbqm(x.wrapping_sub(zp).wrapping_mul(1 << p.left_shift), m, e)
                                })
                                .collect()
                        };
                        let ta = self.add_const(
                            format!("{pfx}_ta"),
                            ConstData::I32(table(zp1, p.input1)),
                            format!("{name}: input 1 stage, by byte"),
                        );
                        let tb = self.add_const(
                            format!("{pfx}_tb"),
                            ConstData::I32(table(zp2, p.input2)),
                            format!("{name}: input 2 stage, by byte"),
                        );
                        l.kernels.push(Kernel::AddS8);
                        l.kernel_desc = format!("{op}_s8");
                        if !empty {
                            l.calls.push(Call {
                                func: "tmlc_add_s8",
                                args: vec![
                                    self.input(ops[0], CType::I8),
                                    self.input(ops[1], CType::I8),
                                    Arg::Out(CType::I8),
                                    Arg::Const(sh, CType::I32),
                                    Arg::Const(s0, CType::I32),
                                    Arg::Const(s1, CType::I32),
                                    Arg::Const(ta, CType::I32),
                                    Arg::Const(tb, CType::I32),
                                    Arg::Int(is_sub as i64),
                                    Arg::Int(p.output.0 as i64),
                                    Arg::Int(p.output.1 as i64),
                                    Arg::Int(zp_out as i64),
                                    Arg::Int(lo as i64),
                                    Arg::Int(hi as i64),
                                ],
                            });
                        }
                    }
                } else {
                    return Err(unsupported(dt, String::new()));
                }
            }
            Op::Relu
            | Op::Relu6
            | Op::Clip(_)
            | Op::LeakyRelu(_)
            | Op::Sigmoid
            | Op::Tanh
            | Op::HardSwish => {
                let n = yt.numel();
                l.in_place.push(0);
                if all_f32 {
                    let x = self.input(ops[0], CType::F32);
                    let (func, kernel, extra): (&'static str, Kernel, Vec<Arg>) = match &node.op {
                        Op::Relu => (
                            "tmlc_clamp_f32_op",
                            Kernel::ClampF32,
                            vec![Arg::Float(0.0), Arg::Float(f32::INFINITY)],
                        ),
                        Op::Relu6 => (
                            "tmlc_clamp_f32_op",
                            Kernel::ClampF32,
                            vec![Arg::Float(0.0), Arg::Float(6.0)],
                        ),
                        Op::Clip(c) => (
                            "tmlc_clamp_f32_op",
                            Kernel::ClampF32,
                            vec![Arg::Float(c.min), Arg::Float(c.max)],
                        ),
                        Op::LeakyRelu(lr) => (
                            "tmlc_leaky_relu_f32",
                            Kernel::LeakyReluF32,
                            vec![Arg::Float(lr.alpha)],
                        ),
                        Op::Sigmoid => ("tmlc_sigmoid_f32", Kernel::SigmoidF32, vec![]),
                        Op::Tanh => ("tmlc_tanh_f32", Kernel::TanhF32, vec![]),
                        _ => ("tmlc_hard_swish_f32", Kernel::HardSwishF32, vec![]),
                    };
                    l.kernels.push(kernel);
                    l.kernel_desc = format!("{op}_f32");
                    if !empty {
                        let mut args = vec![x, Arg::Out(CType::F32), int(n)];
                        args.extend(extra);
                        l.calls.push(Call { func, args });
                    }
                } else {
                    return Err(unsupported(dt, String::new()));
                }
            }
            Op::Quantize => {
                let n = yt.numel();
                let q = yt
                    .quant
                    .as_ref()
                    .ok_or_else(|| unsupported(dt, "unquantized result".into()))?;
                let out_kind = match yt.dtype {
                    DType::I8 => 1,
                    DType::U8 => 2,
                    DType::I16 => 3,
                    _ => return Err(unsupported(dt, String::new())),
                };
                if xt.dtype == DType::F32 {
                    let (lo, hi) = yt.dtype.int_range().unwrap_or((0, 0));
                    let (inner, channels) = axis_layout(&yt.shape, q);
                    let (sc, zc) = self.qparam_arrays(q, &pfx, name);
                    l.kernels.push(Kernel::QuantizeF32);
                    l.kernel_desc = "quantize_f32".into();
                    if !empty {
                        l.calls.push(Call {
                            func: "tmlc_quantize_f32",
                            args: vec![
                                self.input(ops[0], CType::F32),
                                Arg::Out(CType::Void),
                                int(out_kind),
                                int(n),
                                int(inner),
                                int(channels),
                                Arg::Const(sc, CType::F32),
                                Arg::Const(zc, CType::I32),
                                Arg::Int(lo),
                                Arg::Int(hi),
                            ],
                        });
                    }
                } else if matches!(xt.dtype, DType::I8 | DType::U8)
                    && xt.qparams().is_some()
                    && yt.qparams().is_some()
                {
                    return Err(unsupported(dt, "8-bit element-wise ops are lowered to lookup tables first (the `tabulate` pass)".into()));
                } else if xt.dtype == DType::I16 && xt.qparams().is_some() {
                    let (s_in, zp_in) = xt.qparams().unwrap_or((1.0, 0));
                    let (s_out, zp_out) = qparams(yt, "result")?;
                    let (m, e) = prepare::requantize_multiplier(s_in, s_out);
                    let (lo, hi) = yt.dtype.int_range().unwrap_or((0, 0));
                    if yt.dtype == DType::I16 {
                        l.in_place.push(0);
                    }
                    l.kernels.push(Kernel::RequantInt);
                    l.kernel_desc = "requant_int".into();
                    if !empty {
                        l.calls.push(Call {
                            func: "tmlc_requant_int",
                            args: vec![
                                self.input(ops[0], CType::Void),
                                int(3),
                                Arg::Out(CType::Void),
                                int(out_kind),
                                int(n),
                                Arg::Int(zp_in as i64),
                                Arg::Int(m as i64),
                                Arg::Int(e as i64),
                                Arg::Int(zp_out as i64),
                                Arg::Int(lo),
                                Arg::Int(hi),
                            ],
                        });
                    }
                } else {
                    return Err(unsupported(xt.dtype.name(), "quantize operand".into()));
                }
            }
            Op::Dequantize => {
                let n = yt.numel();
                let q = xt
                    .quant
                    .as_ref()
                    .ok_or_else(|| unsupported(dt, "unquantized operand".into()))?;
                if matches!(xt.dtype, DType::I8 | DType::U8) && q.is_per_tensor() {
                    return Err(unsupported(xt.dtype.name(), "8-bit element-wise ops are lowered to lookup tables first (the `tabulate` pass)".into()));
                } else {
                    let in_kind = match xt.dtype {
                        DType::I8 => 1,
                        DType::U8 => 2,
                        DType::I16 => 3,
                        DType::I32 => 4,
                        _ => return Err(unsupported(xt.dtype.name(), String::new())),
                    };
                    if xt.dtype.size() == 4 {
                        l.in_place.push(0);
                    }
                    let (inner, channels) = axis_layout(&xt.shape, q);
                    let (sc, zc) = self.qparam_arrays(q, &pfx, name);
                    l.kernels.push(Kernel::Dequantize);
                    l.kernel_desc = "dequantize".into();
                    if !empty {
                        l.calls.push(Call {
                            func: "tmlc_dequantize",
                            args: vec![
                                self.input(ops[0], CType::Void),
                                int(in_kind),
                                Arg::Out(CType::F32),
                                int(n),
                                int(inner),
                                int(channels),
                                Arg::Const(sc, CType::F32),
                                Arg::Const(zc, CType::I32),
                            ],
                        });
                    }
                }
            }
            Op::MaxPool2d(a) | Op::AvgPool2d(a) => {
                let is_max = matches!(node.op, Op::MaxPool2d(_));
                let xs = &xt.shape;
                let (nb, h, w, c) = (xs[0], xs[1], xs[2], xs[3]);
                let (ho, wo) = (yt.shape[1], yt.shape[2]);
                let geo = vec![
                    int(nb),
                    int(h),
                    int(w),
                    int(c),
                    int(ho),
                    int(wo),
                    int(a.kernel[0]),
                    int(a.kernel[1]),
                    int(a.stride[0]),
                    int(a.stride[1]),
                    int(a.pad[0]),
                    int(a.pad[1]),
                    Arg::Int(is_max as i64),
                    Arg::Int((a.count_include_pad && !is_max) as i64),
                ];
                if all_f32 {
                    let (lo, hi) = a.act.range();
                    l.kernels.push(Kernel::PoolF32);
                    l.kernel_desc = format!("{op}_f32");
                    if !empty {
                        let mut args = vec![self.input(ops[0], CType::F32), Arg::Out(CType::F32)];
                        args.extend(geo);
                        args.extend([Arg::Float(lo), Arg::Float(hi)]);
                        l.calls.push(Call {
                            func: "tmlc_pool_f32",
                            args,
                        });
                    }
                } else if q8 {
                    let (_, zp_in) = qparams(xt, "input")?;
                    let (s_out, zp_out) = qparams(yt, "result")?;
                    let (lo, hi) = activation_range_i8(a.act, s_out, zp_out);
                    l.kernels.push(Kernel::PoolS8);
                    l.kernel_desc = format!("{op}_s8");
                    if !empty {
                        let mut args = vec![self.input(ops[0], CType::I8), Arg::Out(CType::I8)];
                        args.extend(geo);
                        args.extend([
                            Arg::Int(zp_in as i64),
                            Arg::Int(lo as i64),
                            Arg::Int(hi as i64),
                        ]);
                        l.calls.push(Call {
                            func: "tmlc_pool_s8",
                            args,
                        });
                    }
                } else {
                    return Err(unsupported(dt, String::new()));
                }
            }
            Op::Mean(a) => {
                let xs = &xt.shape;
                let red: Vec<bool> = (0..xs.len()).map(|i| a.axes.contains(&i)).collect();
                let kept: Vec<usize> = xs
                    .iter()
                    .zip(&red)
                    .filter(|(_, &r)| !r)
                    .map(|(&d, _)| d)
                    .collect();
                let kst = strides(&kept);
                let mut ostr = Vec::with_capacity(xs.len());
                let mut ki = 0;
                for &r in &red {
                    if r {
                        ostr.push(0);
                    } else {
                        ostr.push(kst[ki]);
                        ki += 1;
                    }
                }
                let slots = numel(&kept);
                let nred: usize = xs
                    .iter()
                    .zip(&red)
                    .filter(|(_, &r)| r)
                    .map(|(&d, _)| d)
                    .product();
                let (sh, [so]) = self
                    .iteration_arrays(
                        &pfx,
                        name,
                        xs,
                        "iteration shape",
                        [("ostr", "output strides", ostr)],
                    )
                    .ok_or_else(|| {
                        unsupported(dt, "reduction pattern needs more than 6 dimensions".into())
                    })?;
                let skip = empty || xt.numel() == 0;
                if all_f32 {
                    l.kernels.push(Kernel::MeanF32);
                    l.kernel_desc = "mean_f32".into();
                    if !empty {
                        l.calls.push(Call {
                            func: "tmlc_mean_f32",
                            args: vec![
                                self.input(ops[0], CType::F32),
                                Arg::Out(CType::F32),
                                Arg::Const(sh, CType::I32),
                                Arg::Const(so, CType::I32),
                                int(slots),
                                int(nred),
                            ],
                        });
                    }
                } else if q8 {
                    if nred == 0 {
                        return Err(unsupported(dt, "int8 mean over zero elements".into()));
                    }
                    let (s_in, zp_in) = qparams(xt, "input")?;
                    let (s_out, zp_out) = qparams(yt, "result")?;
                    let (m, e) = prepare::mean_multiplier(s_in, s_out, nred);
                    l.kernels.push(Kernel::MeanS8);
                    l.kernel_desc = "mean_s8".into();
                    l.scratch = slots * 4;
                    if !skip {
                        l.calls.push(Call {
                            func: "tmlc_mean_s8",
                            args: vec![
                                self.input(ops[0], CType::I8),
                                Arg::Out(CType::I8),
                                Arg::Const(sh, CType::I32),
                                Arg::Const(so, CType::I32),
                                int(slots),
                                int(nred),
                                Arg::Int(zp_in as i64),
                                Arg::Int(m as i64),
                                Arg::Int(e as i64),
                                Arg::Int(zp_out as i64),
                                Arg::Scratch(CType::I32),
                            ],
                        });
                    }
                } else {
                    return Err(unsupported(dt, String::new()));
                }
            }
            Op::Softmax(a) => {
                let depth = xt.shape.last().copied().unwrap_or(1);
                let rows = xt.numel().checked_div(depth).unwrap_or(0);
                l.in_place.push(0);
                if all_f32 {
                    l.kernels.push(Kernel::SoftmaxF32);
                    l.kernel_desc = "softmax_f32".into();
                    if !empty {
                        l.calls.push(Call {
                            func: "tmlc_softmax_f32",
                            args: vec![
                                self.input(ops[0], CType::F32),
                                Arg::Out(CType::F32),
                                int(rows),
                                int(depth),
                                Arg::Float(a.beta),
                            ],
                        });
                    }
                } else if q8 {
                    let (s_in, _) = qparams(xt, "input")?;
                    let p = prepare::softmax_params(a.beta, s_in)
                        .map_err(|e| unsupported(dt, e.reason))?;
                    if depth >= 4096 {
                        return Err(unsupported(
                            dt,
                            format!("rows of {depth} may overflow the Q12.19 sum"),
                        ));
                    }
                    l.kernels.push(Kernel::SoftmaxS8);
                    l.kernel_desc = "softmax_s8".into();
                    if !empty {
                        l.calls.push(Call {
                            func: "tmlc_softmax_s8",
                            args: vec![
                                self.input(ops[0], CType::I8),
                                Arg::Out(CType::I8),
                                int(rows),
                                int(depth),
                                Arg::Int(p.input_multiplier as i64),
                                Arg::Int(p.input_left_shift as i64),
                                Arg::Int(p.diff_min as i64),
                            ],
                        });
                    }
                } else {
                    return Err(unsupported(dt, String::new()));
                }
            }
            Op::Transpose(a) => {
                let ist = strides(&xt.shape);
                let pst: Vec<usize> = a.perm.iter().map(|&p| ist[p]).collect();
                let (sh, [so]) = self
                    .iteration_arrays(
                        &pfx,
                        name,
                        &yt.shape,
                        "output shape",
                        [("istr", "permuted input strides", pst)],
                    )
                    .ok_or_else(|| {
                        unsupported(dt, "permutation needs more than 6 dimensions".into())
                    })?;
                l.kernels.push(Kernel::Transpose);
                l.kernel_desc = "transpose".into();
                if !empty {
                    l.calls.push(Call {
                        func: "tmlc_transpose",
                        args: vec![
                            self.input(ops[0], CType::U8),
                            Arg::Out(CType::U8),
                            Arg::Const(sh, CType::I32),
                            Arg::Const(so, CType::I32),
                            int(yt.dtype.size()),
                        ],
                    });
                }
            }
            Op::Concat(a) => {
                let es = yt.dtype.size();
                let outer: usize = yt.shape[..a.axis].iter().product();
                let inner: usize = yt.shape[a.axis + 1..].iter().product();
                let dst_stride = yt.shape[a.axis] * inner * es;
                let mut off = 0usize;
                l.kernels.push(Kernel::CopyBlocks);
                l.kernel_desc = "copy_blocks".into();
                for &v in ops {
                    let block = self.ty(v).shape[a.axis] * inner * es;
                    let arg = self.input(v, CType::U8);
                    if !empty && block > 0 {
                        l.calls.push(Call {
                            func: "tmlc_copy_blocks",
                            args: vec![
                                Arg::OutAt(CType::U8, off),
                                int(dst_stride),
                                arg,
                                int(block),
                                int(outer),
                            ],
                        });
                    }
                    off += block;
                }
            }
            Op::Pad(a) => {
                let es = yt.dtype.size();
                let fill = pad_element(a.value, yt)
                    .ok_or_else(|| unsupported(dt, "per-axis quantized result".into()))?;
                // Collapse: a dimension without padding merges into the one before.
                let mut s: Vec<[usize; 3]> = Vec::new();
                for (i, &d) in xt.shape.iter().enumerate() {
                    let (b, e) = (a.before[i], a.after[i]);
                    if b == 0 && e == 0 && !s.is_empty() {
                        if let Some(last) = s.last_mut() {
                            *last = [last[0] * d, last[1] * d, last[2] * d];
                        }
                    } else {
                        s.push([d, b, e]);
                    }
                }
                if s.len() > 6 {
                    return Err(unsupported(
                        dt,
                        "padding pattern needs more than 6 dimensions".into(),
                    ));
                }
                while s.len() < 6 {
                    s.insert(0, [1, 0, 0]);
                }
                let col = |k: usize| {
                    ConstData::I32(
                        s.iter()
                            .map(|v| v[k].min(i32::MAX as usize) as i32)
                            .collect(),
                    )
                };
                let ish = self.add_const(
                    format!("{pfx}_ishape"),
                    col(0),
                    format!("{name}: input shape"),
                );
                let bef = self.add_const(
                    format!("{pfx}_before"),
                    col(1),
                    format!("{name}: padding before"),
                );
                let aft = self.add_const(
                    format!("{pfx}_after"),
                    col(2),
                    format!("{name}: padding after"),
                );
                let fc = self.add_const(
                    format!("{pfx}_fill"),
                    ConstData::U8(fill),
                    format!("{name}: padding element"),
                );
                l.kernels.push(Kernel::Pad);
                l.kernel_desc = "pad".into();
                if !empty {
                    l.calls.push(Call {
                        func: "tmlc_pad",
                        args: vec![
                            self.input(ops[0], CType::U8),
                            Arg::Out(CType::U8),
                            Arg::Const(ish, CType::I32),
                            Arg::Const(bef, CType::I32),
                            Arg::Const(aft, CType::I32),
                            int(es),
                            Arg::Const(fc, CType::U8),
                        ],
                    });
                }
            }
        }
        // Element-for-element in-place needs equal sizes.
        l.in_place
            .retain(|&i| self.ty(ops[i]).byte_size() == yt.byte_size());
        Ok(l)
    }

    /// The int8 parameters of `conv2d` / `fully_connected` (`ops`: input,
    /// constant weights, optional constant bias) with `channels` output
    /// channels: `multipliers` derives the per-channel multipliers
    /// ([`tmlc_ir::prepare`]); [`Cx::requant_arg`] and [`Cx::mult_args`]
    /// make the constant arrays the kernels read.
    fn weighted_s8(
        &mut self,
        ops: &[ValueId],
        y: ValueId,
        channels: usize,
        act: Activation,
        multipliers: MultipliersFn,
    ) -> Result<WeightedS8<'g>, String> {
        let (s_in, zp_in) = self.ty(ops[0]).qparams().ok_or("per-axis input")?;
        let (s_out, zp_out) = self.ty(y).qparams().ok_or("per-axis result")?;
        let wq = self
            .ty(ops[1])
            .quant
            .as_ref()
            .ok_or("unquantized weights")?;
        let Some(TensorData::I8(w)) = self.const_of(ops[1]) else {
            return Err("the weights must be a constant".into());
        };
        let bias = self
            .i32_bias(ops.get(2).copied(), channels)
            .ok_or("the bias must be a constant i32")?;
        let mults = multipliers(s_in, wq, s_out, channels).map_err(|_| "missing weight scales")?;
        let (lo, hi) = activation_range_i8(act, s_out, zp_out);
        Ok(WeightedS8 {
            zp_in,
            zp_out,
            w,
            bias,
            mults,
            lo,
            hi,
        })
    }

    /// The requantisation argument of an int8 layer with `per` weights per
    /// output channel: when the short requantisation is exact
    /// ([`fast_requant`], and `|rz| < 2^30 - 1` so that adding `rz` cannot
    /// overflow), a constant array of `(m, rz, n)` per channel with
    /// `n = -shift` and `rz = 2^(n-1) + (zp_out << n)` (the rounding term and
    /// the output zero point, added before the shift: `(h + r) >> n + zp ==
    /// (h + r + (zp << n)) >> n`); otherwise the literal 0 (a null pointer:
    /// the kernel takes the full requantisation).
    fn requant_arg(&mut self, wp: &WeightedS8<'g>, per: usize, pfx: &str, name: &str) -> Arg {
        if !fast_requant(wp.w, per, &wp.bias, &wp.mults) {
            return Arg::Int(0);
        }
        let mut rq = Vec::with_capacity(3 * wp.mults.len());
        for &(m, e) in &wp.mults {
            let n = -e;
            let rz = (1i64 << (n - 1)) + ((wp.zp_out as i64) << n);
            if rz.abs() >= (1 << 30) - 1 {
                return Arg::Int(0);
            }
            rq.extend([m, rz as i32, n]);
        }
        let c = self.add_const(
            format!("{pfx}_rq"),
            ConstData::I32(rq),
            format!("{name}: (multiplier, 2^(-shift-1) + zp_out << -shift, -shift) per channel"),
        );
        Arg::Const(c, CType::I32)
    }

    /// The kernels' `mult` and `shift` arguments: with the short
    /// requantisation (`rq` a constant array) they are never read, so `rq`
    /// stands in for both and no multiplier or shift array is made;
    /// otherwise the two arrays.
    fn mult_args(&mut self, wp: &WeightedS8<'g>, rq: &Arg, pfx: &str) -> [Arg; 2] {
        match rq {
            Arg::Const(..) => [rq.clone(), rq.clone()],
            _ => {
                let (ma, sa) = self.mult_arrays(&wp.mults, pfx);
                [Arg::Const(ma, CType::I32), Arg::Const(sa, CType::I32)]
            }
        }
    }

    /// Collapses the iteration space `shape`, walked with each of the
    /// stride vectors of `walks` ([`collapse`]), and stores the collapsed
    /// shape (`{pfx}_shape`) and each collapsed stride vector
    /// (`{pfx}_{suffix}`) as int32 arrays described as `{name}: {what}`.
    /// `None` if more than 6 dimensions remain.
    fn iteration_arrays<const N: usize>(
        &mut self,
        pfx: &str,
        name: &str,
        shape: &[usize],
        shape_what: &str,
        walks: [(&str, &str, Vec<usize>); N],
    ) -> Option<(usize, [usize; N])> {
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
            self.add_const(
                format!("{pfx}_{suffix}"),
                ConstData::I32(to_i32s(&st)),
                format!("{name}: {what}"),
            )
        });
        Some((sh, arrays))
    }

    /// The scale and zero point arrays of quantization parameters.
    fn qparam_arrays(&mut self, q: &Quant, pfx: &str, name: &str) -> (usize, usize) {
        let sc = self.add_const(
            format!("{pfx}_scale"),
            ConstData::F32(q.scale.clone()),
            format!("{name}: scales"),
        );
        let zc = self.add_const(
            format!("{pfx}_zp"),
            ConstData::I32(q.zero_point.clone()),
            format!("{name}: zero points"),
        );
        (sc, zc)
    }

    /// Per-channel multiplier and shift arrays.
    fn mult_arrays(&mut self, mults: &[Multiplier], pfx: &str) -> (usize, usize) {
        let m = mults.iter().map(|&(m, _)| m).collect();
        let s = mults.iter().map(|&(_, e)| e).collect();
        let a = self.add_const(
            format!("{pfx}_mult"),
            ConstData::I32(m),
            format!("layer {}: per-channel multipliers", &pfx[1..]),
        );
        let b = self.add_const(
            format!("{pfx}_shift"),
            ConstData::I32(s),
            format!("layer {}: per-channel shifts", &pfx[1..]),
        );
        (a, b)
    }

    fn i32_bias(&self, b: Option<ValueId>, n: usize) -> Option<Vec<i32>> {
        match b {
            None => Some(vec![0; n]),
            Some(b) => match self.const_of(b) {
                Some(TensorData::I32(v)) if v.len() == n => Some(v.clone()),
                _ => None,
            },
        }
    }

    fn f32_bias(&mut self, b: Option<ValueId>, n: usize, pfx: &str) -> Arg {
        match b {
            Some(b) => self.input(b, CType::F32),
            None => {
                let i = self.add_const(
                    format!("{pfx}_bias"),
                    ConstData::F32(vec![0.0; n]),
                    "zero bias".into(),
                );
                Arg::Const(i, CType::F32)
            }
        }
    }

    /// `lookup(x, table)`: a table kernel by the table's dtype.
    fn lookup(
        &mut self,
        l: &mut Layer,
        x: ValueId,
        table: ValueId,
        y: ValueId,
        pfx: &str,
    ) -> Result<(), String> {
        let yt = self.ty(y);
        let table = self
            .g
            .const_data(table)
            .ok_or("the table must be a constant")?
            .clone();
        let name = &self.g.value(y).name;
        let what = format!("{name}: lookup table");
        let n = int(yt.numel());
        let (kernel, func, c) = match table {
            TensorData::I8(v) => (
                Kernel::LutS8,
                "tmlc_lut_s8",
                self.add_const(
                    format!("{pfx}_lut"),
                    ConstData::U8(v.iter().map(|&b| b as u8).collect()),
                    what,
                ),
            ),
            TensorData::U8(v) => (
                Kernel::LutS8,
                "tmlc_lut_s8",
                self.add_const(format!("{pfx}_lut"), ConstData::U8(v), what),
            ),
            TensorData::I16(v) => (
                Kernel::LutS16,
                "tmlc_lut_s16",
                self.add_const(format!("{pfx}_lut"), ConstData::I16(v), what),
            ),
            TensorData::F32(v) => (
                Kernel::LutF32,
                "tmlc_lut_f32",
                self.add_const(format!("{pfx}_lut"), ConstData::F32(v), what),
            ),
            d => return Err(format!("unexpected {} table", d.dtype())),
        };
        let (out_ct, lut_ct) = match kernel {
            Kernel::LutS16 => (CType::I16, CType::I16),
            Kernel::LutF32 => (CType::F32, CType::F32),
            _ => (CType::U8, CType::U8),
        };
        l.kernels.push(kernel);
        l.kernel_desc = "lut".into();
        if yt.numel() > 0 {
            let xa = self.input(x, CType::U8);
            l.calls.push(Call {
                func,
                args: vec![xa, Arg::Out(out_ct), n, Arg::Const(c, lut_ct)],
            });
        }
        Ok(())
    }
}

/// `tmlc_ir::prepare::conv_multipliers` or `fully_connected_multipliers`.
type MultipliersFn = fn(f32, &Quant, f32, usize) -> Result<Vec<Multiplier>, PrepareError>;

/// The int8 parameters of a layer with constant weights ([`Cx::weighted_s8`]).
struct WeightedS8<'g> {
    zp_in: i32,
    zp_out: i32,
    /// The weights, one row per output channel.
    w: &'g [i8],
    /// One entry per output channel (zeros without a bias operand).
    bias: Vec<i32>,
    mults: Vec<Multiplier>,
    /// The fused activation's clamp range.
    lo: i32,
    hi: i32,
}

/// `bias[c] + off * sum(w[c])` for each output channel `c` (rows of `per`
/// weights), in wrapping int32 arithmetic: the input offset `off = -zp_in`
/// folded into the bias.
fn fold_input_offset(w: &[i8], per: usize, bias: &[i32], off: i32) -> Vec<i32> {
    bias.iter()
        .enumerate()
        .map(|(c, &b)| {
            let sum = w[c * per..(c + 1) * per]
                .iter()
                .fold(0i32, |s, &v| s.wrapping_add(v as i32));
            b.wrapping_add(off.wrapping_mul(sum))
        })
        .collect()
}

/// Index of tap `t` of output channel `c` in the depthwise weight layout
/// (`tmlc_dw_widx` in `dwconv_s8.c`): groups of 4 channels, each
/// `[taps][4]`, then the last `c_out % 4` channels as `[taps][c_out % 4]`.
fn dw_widx(t: usize, c: usize, taps: usize, c_out: usize) -> usize {
    let c4 = c_out & !3;
    if c < c4 {
        (c & !3) * taps + t * 4 + (c & 3)
    } else {
        c4 * taps + t * (c_out - c4) + (c - c4)
    }
}

/// Packs `[n][k]` weights for `tmlc_mm_s8`: each group of 4 columns
/// interleaves 4-byte chunks (`c0[0..4] c1[0..4] c2[0..4] c3[0..4] c0[4..8]
/// ...`), then the 4 columns' `k % 4` tail bytes one column after the
/// other; the last `n % 4` columns stay plain rows.
fn pack_mm(w: &[i8], n: usize, k: usize) -> Vec<i8> {
    let mut out = Vec::with_capacity(n * k);
    let k4 = k / 4;
    let mut c = 0;
    while c + 4 <= n {
        for i in 0..k4 {
            for j in 0..4 {
                out.extend_from_slice(&w[(c + j) * k + 4 * i..(c + j) * k + 4 * i + 4]);
            }
        }
        for j in 0..4 {
            out.extend_from_slice(&w[(c + j) * k + 4 * k4..(c + j + 1) * k]);
        }
        c += 4;
    }
    out.extend_from_slice(&w[c * k..n * k]);
    out
}

/// True when `tmlc_requant_q` is exact for every channel: the true
/// accumulator `sum w*(x - zp_in) + bias` is below 2^30 in magnitude for
/// every input (|x - zp_in| <= 255) and every shift is in -30..=-1.
fn fast_requant(w: &[i8], per: usize, bias: &[i32], mults: &[Multiplier]) -> bool {
    mults.iter().enumerate().all(|(c, &(m, e))| {
        let sw: i64 = w.get(c * per..(c + 1) * per).map_or(i64::MAX / 512, |r| {
            r.iter().map(|&v| (v as i64).abs()).sum()
        });
        let b = bias.get(c).map_or(0, |&b| (b as i64).abs());
        m >= 0 && (-30..=-1).contains(&e) && sw * 255 + b < (1 << 30)
    })
}

fn int(v: usize) -> Arg {
    Arg::Int(v.min(i64::MAX as usize) as i64)
}

/// `(inner, channels)` for per-axis parameters: element `i` uses channel
/// `(i / inner) % channels`; per tensor `(1, 1)`.
fn axis_layout(shape: &[usize], q: &Quant) -> (usize, usize) {
    match q.axis {
        None => (1, 1),
        Some(a) => {
            let inner: usize = shape[a + 1..].iter().product();
            (inner.max(1), shape[a].max(1))
        }
    }
}

/// The padding element of `pad` as little-endian bytes (spec §5.18).
fn pad_element(value: f32, out: &TensorType) -> Option<Vec<u8>> {
    use tmlc_ir::arith::quantize_f32;
    let d = out.dtype;
    let data = match (d, out.qparams()) {
        (DType::F32, _) => TensorData::F32(vec![value]),
        (DType::Bool, _) => TensorData::Bool(vec![value != 0.0]),
        (_, Some((s, zp))) => {
            let (lo, hi) = d.int_range()?;
            TensorData::from_i64(d, [quantize_f32(value, s, zp, lo, hi)])
        }
        (_, None) => {
            if out.quant.is_some() {
                return None;
            }
            let (lo, hi) = d.int_range().unwrap_or((i64::MIN, i64::MAX));
            TensorData::from_i64(d, [quantize_f32(value, 1.0, 0, lo, hi)])
        }
    };
    Some(data.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

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
