//! The verifier: the invariants every graph satisfies between passes.
//!
//! Structural invariants:
//! 1. every name is valid ([`crate::is_valid_name`]) and unique;
//! 2. every operand and graph output is a live value; graph inputs are
//!    `Input` values; every op result points back at its node;
//! 3. the petgraph edges are exactly the operand relation (producer ->
//!    consumer, weighted by operand index);
//! 4. the graph is acyclic;
//! 5. constants hold exactly `numel` elements of their dtype;
//! 6. quantization parameters are well-formed: only on integer dtypes,
//!    positive finite scales, zero points in range, per-axis lengths match.
//!
//! Per-op invariants (operand count, dtypes, shapes, quantization), one
//! function per op family below, as specified in `spec/ir.md`. The declared
//! result shape must equal the inferred one.
//!
//! A verifier error on a graph that came out of a pass is a bug in that pass.

use crate::{numel, DType, Graph, Loc, NodeId, Op, TensorType, ValueDef};
use std::fmt;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct VerifyError {
    /// Source location of the offending definition, if known.
    pub loc: Option<Loc>,
    /// Name of the offending value (`%name`), if any.
    pub value: Option<String>,
    /// Op name, if the error is about an op.
    pub op: Option<&'static str>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.loc {
            write!(f, "{l}: ")?;
        }
        match (&self.value, self.op) {
            (Some(v), Some(op)) => write!(f, "`%{v} = {op}`: ")?,
            (Some(v), None) => write!(f, "`%{v}`: ")?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

/// All broken invariants of a graph (at least one).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct VerifyErrors(pub Vec<VerifyError>);

impl fmt::Display for VerifyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.first() {
            Some(e) => write!(f, "{e}")?,
            None => f.write_str("invalid graph")?,
        }
        if self.0.len() > 1 {
            write!(f, " (and {} more errors)", self.0.len() - 1)?;
        }
        Ok(())
    }
}

/// Checks every invariant; returns all the errors found.
pub fn verify(g: &Graph) -> Result<(), VerifyErrors> {
    let mut errs = Vec::new();
    let mut push = |loc, value: Option<&str>, op, message: String| {
        errs.push(VerifyError {
            loc,
            value: value.map(str::to_string),
            op,
            message,
        })
    };

    if !crate::is_valid_name(&g.name) {
        push(None, None, None, format!("invalid graph name `{}`", g.name));
    }
    if !g.name_table_consistent() {
        push(None, None, None, "value names are not unique".into());
    }
    let inputs: std::collections::HashSet<_> = g.inputs().iter().copied().collect();
    for (id, v) in g.values() {
        if !crate::is_valid_name(&v.name) {
            push(
                v.loc,
                None,
                None,
                format!("invalid value name `{}`", v.name),
            );
        }
        if let Err(m) = check_type(&v.ty) {
            push(v.loc, Some(&v.name), None, m);
        }
        match &v.def {
            ValueDef::Input => {
                if !inputs.contains(&id) {
                    push(
                        v.loc,
                        Some(&v.name),
                        None,
                        "input value is not a graph input".into(),
                    );
                }
            }
            ValueDef::Const(d) => {
                if d.dtype() != v.ty.dtype || d.len() != v.ty.numel() {
                    push(
                        v.loc,
                        Some(&v.name),
                        None,
                        format!(
                            "constant holds {} {} elements, its type {} needs {}",
                            d.len(),
                            d.dtype(),
                            v.ty,
                            v.ty.numel()
                        ),
                    );
                }
            }
            ValueDef::Node(n) => {
                if g.try_node(*n).map(|n| n.result) != Some(id) {
                    push(
                        v.loc,
                        Some(&v.name),
                        None,
                        "result does not match its node".into(),
                    );
                }
            }
        }
    }
    for &i in g.inputs() {
        match g.try_value(i) {
            Some(v) if v.def == ValueDef::Input => {}
            _ => push(
                None,
                None,
                None,
                format!("graph input #{} is not an input value", i.index()),
            ),
        }
    }
    for (k, &o) in g.outputs().iter().enumerate() {
        if g.try_value(o).is_none() {
            push(
                None,
                None,
                None,
                format!("graph output #{k} is not defined"),
            );
        }
    }

    for n in g.node_ids() {
        let node = g.node(n);
        let res = g.try_value(node.result);
        let name = res.map(|v| v.name.as_str());
        let loc = node.loc.or(res.and_then(|v| v.loc));
        let op = Some(node.op.name());
        // Operands defined, edges in sync.
        let mut ok = true;
        let mut expect_edges = Vec::new();
        for (i, o) in node.operands.iter().enumerate() {
            match g.try_value(*o) {
                None => {
                    push(loc, name, op, format!("operand #{i} is not defined"));
                    ok = false;
                }
                Some(v) => {
                    if let ValueDef::Node(p) = v.def {
                        expect_edges.push((p, i));
                    }
                }
            }
        }
        expect_edges.sort();
        if g.incoming_edges(n) != expect_edges {
            push(
                loc,
                name,
                op,
                "graph edges do not match the operands".into(),
            );
        }
        if !ok || res.is_none() {
            continue;
        }
        let tys: Vec<&TensorType> = node.operands.iter().map(|o| &g.value(*o).ty).collect();
        let out = &g.value(node.result).ty;
        if let Err(m) = check_op(&node.op, &tys, out) {
            push(loc, name, op, m);
        }
    }

    if let Err(n) = g.topo_order() {
        let node = g.node(n);
        let v = g.try_value(node.result);
        push(
            node.loc,
            v.map(|v| v.name.as_str()),
            Some(node.op.name()),
            "the graph has a cycle through this op".into(),
        );
    }

    if errs.is_empty() {
        Ok(())
    } else {
        Err(VerifyErrors(errs))
    }
}

/// Largest supported rank.
pub const MAX_RANK: usize = 8;
/// Largest supported tensor, in bytes.
pub const MAX_TENSOR_BYTES: u128 = 1 << 40;

/// Checks that a type is well-formed on its own (quantization parameters).
pub fn check_type(t: &TensorType) -> Result<(), String> {
    if t.rank() > MAX_RANK {
        return Err(format!("rank {} is above the maximum {MAX_RANK}", t.rank()));
    }
    let bytes = t
        .shape
        .iter()
        .fold(t.dtype.size() as u128, |a, &d| a.saturating_mul(d as u128));
    if bytes > MAX_TENSOR_BYTES {
        return Err("tensor is too large (more than 2^40 bytes)".into());
    }
    // A zero-sized tensor has no bytes; its other dimensions still count.
    if let Some(d) = t.shape.iter().find(|&&d| d as u128 > MAX_TENSOR_BYTES) {
        return Err(format!("dimension {d} is too large (more than 2^40)"));
    }
    let Some(q) = &t.quant else { return Ok(()) };
    let Some((lo, hi)) = t.dtype.int_range() else {
        return Err(format!("{} cannot be quantized", t.dtype));
    };
    let n = match q.axis {
        None => 1,
        Some(a) => match t.shape.get(a) {
            Some(&d) => d,
            None => {
                return Err(format!(
                    "quantization axis {a} is out of range for rank {}",
                    t.rank()
                ))
            }
        },
    };
    if q.scale.len() != n || q.zero_point.len() != n {
        return Err(format!(
            "quantization needs {n} scales and zero points, has {} and {}",
            q.scale.len(),
            q.zero_point.len()
        ));
    }
    if let Some(s) = q.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(format!(
            "quantization scale {s:?} is not positive and finite"
        ));
    }
    if let Some(z) = q
        .zero_point
        .iter()
        .find(|&&z| (z as i64) < lo || (z as i64) > hi)
    {
        return Err(format!("zero point {z} is out of range for {}", t.dtype));
    }
    Ok(())
}

fn dims(s: &[usize]) -> String {
    let v: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("[{}]", v.join(","))
}

/// Numpy-style broadcast of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for i in 0..r {
        let da = if i + a.len() >= r {
            a[i + a.len() - r]
        } else {
            1
        };
        let db = if i + b.len() >= r {
            b[i + b.len() - r]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(format!(
                "shapes {} and {} do not broadcast",
                dims(a),
                dims(b)
            ));
        };
    }
    Ok(out)
}

/// Output spatial size of a window op: `(in + pads - eff) / stride + 1`.
pub fn window_out(
    input: usize,
    pads: usize,
    k: usize,
    stride: usize,
    dil: usize,
) -> Result<usize, String> {
    if k == 0 || stride == 0 || dil == 0 {
        return Err("kernel, stride and dilation must be positive".into());
    }
    let eff = (k - 1)
        .checked_mul(dil)
        .and_then(|x| x.checked_add(1))
        .ok_or("window too large")?;
    let padded = input.checked_add(pads).ok_or("padding too large")?;
    if padded < eff {
        return Err(format!(
            "window {eff} is larger than the padded input {padded}"
        ));
    }
    Ok((padded - eff) / stride + 1)
}

/// Infers the result shape of `op` from its operand types.
pub fn infer_shape(
    op: &Op,
    ins: &[&TensorType],
    declared: &TensorType,
) -> Result<Vec<usize>, String> {
    let (lo, hi) = op.arity();
    if ins.len() < lo || ins.len() > hi {
        return Err(if lo == hi {
            format!("expects {lo} operands, got {}", ins.len())
        } else if hi == usize::MAX {
            format!("expects at least {lo} operands, got {}", ins.len())
        } else {
            format!("expects {lo} to {hi} operands, got {}", ins.len())
        });
    }
    let x = &ins[0].shape;
    let rank_is = |s: &[usize], r: usize, what: &str| {
        if s.len() == r {
            Ok(())
        } else {
            Err(format!("{what} must have rank {r}, has shape {}", dims(s)))
        }
    };
    match op {
        Op::Conv2d(a) => {
            rank_is(x, 4, "input")?;
            let w = &ins[1].shape;
            rank_is(w, 4, "filter")?;
            if a.groups == 0 || x[3] % a.groups != 0 || w[0] % a.groups != 0 {
                return Err(format!(
                    "groups {} must divide input channels {} and output channels {}",
                    a.groups, x[3], w[0]
                ));
            }
            if w[3] != x[3] / a.groups {
                return Err(format!(
                    "filter {} needs {} input channels per group, input has {} in {} groups",
                    dims(w),
                    w[3],
                    x[3],
                    a.groups
                ));
            }
            if let Some(b) = ins.get(2) {
                if b.shape != [w[0]] {
                    return Err(format!(
                        "bias must have shape [{}], has {}",
                        w[0],
                        dims(&b.shape)
                    ));
                }
            }
            let ho = window_out(
                x[1],
                a.pad[0].saturating_add(a.pad[2]),
                w[1],
                a.stride[0],
                a.dilation[0],
            )?;
            let wo = window_out(
                x[2],
                a.pad[1].saturating_add(a.pad[3]),
                w[2],
                a.stride[1],
                a.dilation[1],
            )?;
            Ok(vec![x[0], ho, wo, w[0]])
        }
        Op::FullyConnected(_) => {
            let w = &ins[1].shape;
            rank_is(w, 2, "weights")?;
            let k = w[1];
            if x.is_empty() || k == 0 || x[x.len() - 1] != k {
                return Err(format!(
                    "input {} does not end in {k} (weights {})",
                    dims(x),
                    dims(w)
                ));
            }
            if let Some(b) = ins.get(2) {
                if b.shape != [w[0]] {
                    return Err(format!(
                        "bias must have shape [{}], has {}",
                        w[0],
                        dims(&b.shape)
                    ));
                }
            }
            let mut keep = x.clone();
            *keep.last_mut().unwrap_or(&mut 0) = w[0];
            if declared.shape == keep {
                Ok(keep)
            } else {
                Ok(vec![numel(x) / k, w[0]])
            }
        }
        Op::MatMul => {
            let b = &ins[1].shape;
            if x.len() < 2 || b.len() < 2 {
                return Err("operands must have rank >= 2".into());
            }
            let (m, k) = (x[x.len() - 2], x[x.len() - 1]);
            let (k2, n) = (b[b.len() - 2], b[b.len() - 1]);
            if k != k2 {
                return Err(format!(
                    "inner dimensions differ: {} x {}",
                    dims(x),
                    dims(b)
                ));
            }
            let mut out = broadcast_shapes(&x[..x.len() - 2], &b[..b.len() - 2])?;
            out.extend([m, n]);
            Ok(out)
        }
        Op::Add(_) | Op::Sub(_) | Op::Mul(_) => broadcast_shapes(x, &ins[1].shape),
        Op::Relu
        | Op::Relu6
        | Op::Clip(_)
        | Op::LeakyRelu(_)
        | Op::Sigmoid
        | Op::Tanh
        | Op::HardSwish
        | Op::Softmax(_)
        | Op::Quantize
        | Op::Dequantize => {
            if let Op::Clip(c) = op {
                if c.min.is_nan() || c.max.is_nan() || c.min > c.max {
                    return Err(format!("clip range [{:?}, {:?}] is empty", c.min, c.max));
                }
            }
            match op {
                Op::Softmax(s) if !(s.beta.is_finite() && s.beta > 0.0) => {
                    return Err(format!("beta {:?} must be positive and finite", s.beta))
                }
                Op::LeakyRelu(l) if !l.alpha.is_finite() => {
                    return Err(format!("alpha {:?} must be finite", l.alpha))
                }
                _ => {}
            }
            if matches!(op, Op::Softmax(_)) && x.is_empty() {
                return Err("input must have rank >= 1".into());
            }
            Ok(x.clone())
        }
        Op::MaxPool2d(a) | Op::AvgPool2d(a) => {
            rank_is(x, 4, "input")?;
            if a.count_include_pad && matches!(op, Op::MaxPool2d(_)) {
                return Err("count_include_pad applies to avg_pool2d only".into());
            }
            let ho = window_out(
                x[1],
                a.pad[0].saturating_add(a.pad[2]),
                a.kernel[0],
                a.stride[0],
                1,
            )?;
            let wo = window_out(
                x[2],
                a.pad[1].saturating_add(a.pad[3]),
                a.kernel[1],
                a.stride[1],
                1,
            )?;
            if a.pad[0] >= a.kernel[0]
                || a.pad[2] >= a.kernel[0]
                || a.pad[1] >= a.kernel[1]
                || a.pad[3] >= a.kernel[1]
            {
                return Err("padding must be smaller than the window".into());
            }
            Ok(vec![x[0], ho, wo, x[3]])
        }
        Op::Mean(a) => {
            if a.axes.is_empty()
                || a.axes.windows(2).any(|w| w[0] >= w[1])
                || a.axes.iter().any(|&ax| ax >= x.len())
            {
                return Err(format!(
                    "axes {:?} must be strictly increasing and below rank {}",
                    a.axes,
                    x.len()
                ));
            }
            Ok(x.iter()
                .enumerate()
                .filter_map(|(i, &d)| match (a.axes.contains(&i), a.keep_dims) {
                    (false, _) => Some(d),
                    (true, true) => Some(1),
                    (true, false) => None,
                })
                .collect())
        }
        Op::Reshape => {
            if numel(&declared.shape) != numel(x) {
                return Err(format!(
                    "cannot reshape {} into {}",
                    dims(x),
                    dims(&declared.shape)
                ));
            }
            Ok(declared.shape.clone())
        }
        Op::Transpose(a) => {
            let mut seen = vec![false; x.len()];
            if a.perm.len() != x.len()
                || a.perm
                    .iter()
                    .any(|&p| p >= x.len() || std::mem::replace(&mut seen[p], true))
            {
                return Err(format!(
                    "perm {:?} is not a permutation of rank {}",
                    a.perm,
                    x.len()
                ));
            }
            Ok(a.perm.iter().map(|&p| x[p]).collect())
        }
        Op::Concat(a) => {
            if a.axis >= x.len() {
                return Err(format!(
                    "axis {} is out of range for rank {}",
                    a.axis,
                    x.len()
                ));
            }
            let mut out = x.clone();
            for t in &ins[1..] {
                let s = &t.shape;
                if s.len() != x.len()
                    || s.iter()
                        .zip(x)
                        .enumerate()
                        .any(|(i, (p, q))| i != a.axis && p != q)
                {
                    return Err(format!(
                        "cannot concatenate {} and {} on axis {}",
                        dims(x),
                        dims(s),
                        a.axis
                    ));
                }
                out[a.axis] = out[a.axis]
                    .checked_add(s[a.axis])
                    .ok_or("concatenated axis too large")?;
            }
            Ok(out)
        }
        Op::Pad(a) => {
            if a.before.len() != x.len() || a.after.len() != x.len() {
                return Err(format!("before/after need {} entries", x.len()));
            }
            if !a.value.is_finite() {
                return Err("pad value must be finite".into());
            }
            x.iter()
                .zip(a.before.iter().zip(&a.after))
                .map(|(d, (b, e))| {
                    d.checked_add(*b)
                        .and_then(|v| v.checked_add(*e))
                        .ok_or_else(|| "padding too large".to_string())
                })
                .collect()
        }
    }
}

fn same_q(a: &TensorType, b: &TensorType) -> bool {
    a.quant == b.quant
}

fn check_dtypes(op: &Op, ins: &[&TensorType], out: &TensorType) -> Result<(), String> {
    let x = ins[0];
    let all_f32 = ins
        .iter()
        .all(|t| t.dtype == DType::F32 && t.quant.is_none())
        && out.dtype == DType::F32
        && out.quant.is_none();
    let per_tensor_qi8 = |t: &TensorType, what: &str| -> Result<(), String> {
        if t.dtype == DType::I8 && t.qparams().is_some() {
            Ok(())
        } else {
            Err(format!("{what} must be per-tensor quantized i8, is {t}"))
        }
    };
    let float_or_q = |ins: &[&TensorType]| -> Result<(), String> {
        if all_f32 {
            return Ok(());
        }
        for (i, t) in ins.iter().enumerate() {
            per_tensor_qi8(t, &format!("operand #{i}"))?;
        }
        per_tensor_qi8(out, "result")
    };
    match op {
        Op::Conv2d(_) | Op::FullyConnected(_) => {
            if all_f32 {
                return Ok(());
            }
            per_tensor_qi8(x, "input")?;
            per_tensor_qi8(out, "result")?;
            let w = ins[1];
            match &w.quant {
                Some(q) if w.dtype == DType::I8 && (q.axis.is_none() || q.axis == Some(0)) => {
                    if q.zero_point.iter().any(|&z| z != 0) {
                        return Err("quantized weights must have zero point 0".into());
                    }
                }
                _ => {
                    return Err(format!(
                        "weights must be i8 quantized per tensor or on axis 0, are {w}"
                    ))
                }
            }
            if let Some(b) = ins.get(2) {
                if b.dtype != DType::I32 {
                    return Err(format!("bias of a quantized op must be i32, is {b}"));
                }
            }
            Ok(())
        }
        Op::MatMul
        | Op::Add(_)
        | Op::Sub(_)
        | Op::Mul(_)
        | Op::Relu
        | Op::Relu6
        | Op::Clip(_)
        | Op::LeakyRelu(_)
        | Op::HardSwish
        | Op::Mean(_) => float_or_q(ins),
        Op::Sigmoid | Op::Tanh | Op::Softmax(_) => {
            float_or_q(ins)?;
            let want = match op {
                Op::Tanh => (1.0 / 128.0, 0),
                _ => (1.0 / 256.0, -128),
            };
            match out.qparams() {
                Some(q) if !all_f32 && q != want => Err(format!(
                    "quantized result must have q({:?}, {}), has q({:?}, {})",
                    want.0, want.1, q.0, q.1
                )),
                _ => Ok(()),
            }
        }
        Op::MaxPool2d(_) | Op::AvgPool2d(_) | Op::Concat(_) => {
            float_or_q(ins)?;
            if !all_f32 && ins.iter().any(|t| !same_q(t, out)) {
                return Err("quantized operands and result must have the same quantization".into());
            }
            Ok(())
        }
        Op::Reshape | Op::Transpose(_) | Op::Pad(_) => {
            if x.dtype != out.dtype {
                return Err(format!(
                    "result dtype {} differs from operand dtype {}",
                    out.dtype, x.dtype
                ));
            }
            if x.quant.is_some() != out.quant.is_some() {
                return Err("operand and result must both be quantized or both not".into());
            }
            if matches!(op, Op::Pad(_)) && x.quant.is_some() {
                per_tensor_qi8(out, "result")?;
            }
            Ok(())
        }
        Op::Quantize => {
            let q_int = |t: &TensorType| {
                t.quant.is_some() && matches!(t.dtype, DType::I8 | DType::U8 | DType::I16)
            };
            if !q_int(out) {
                return Err(format!(
                    "result must be a quantized i8, u8 or i16 type, is {out}"
                ));
            }
            let from_float = x.dtype == DType::F32 && x.quant.is_none();
            let requantize = x.qparams().is_some() && q_int(x) && out.qparams().is_some();
            if from_float || requantize {
                Ok(())
            } else {
                Err(format!(
                    "operand must be f32 or per-tensor quantized, is {x}"
                ))
            }
        }
        Op::Dequantize => {
            if x.quant.is_none()
                || !matches!(x.dtype, DType::I8 | DType::U8 | DType::I16 | DType::I32)
            {
                return Err(format!("operand must be a quantized integer type, is {x}"));
            }
            if out.dtype != DType::F32 || out.quant.is_some() {
                return Err(format!("result must be f32, is {out}"));
            }
            Ok(())
        }
    }
}

/// Checks one op against its operand and result types.
pub fn check_op(op: &Op, ins: &[&TensorType], out: &TensorType) -> Result<(), String> {
    let shape = infer_shape(op, ins, out)?;
    if shape != out.shape {
        return Err(format!(
            "result shape {} does not match the inferred shape {}",
            dims(&out.shape),
            dims(&shape)
        ));
    }
    check_dtypes(op, ins, out)
}

/// The verifier's view of a node, for callers that need one op checked.
pub fn verify_node(g: &Graph, n: NodeId) -> Result<(), String> {
    let node = g.node(n);
    let tys: Vec<&TensorType> = node.operands.iter().map(|o| &g.value(*o).ty).collect();
    check_op(&node.op, &tys, &g.value(node.result).ty)
}
