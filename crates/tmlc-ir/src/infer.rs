//! Type inference: the one place where an op's result type is computed
//! from its operand types and attributes.
//!
//! [`infer_type`] gives the result's shape and dtype, and its quantization
//! where the op's [`QuantRule`] determines it (`SameAsInput`, `Fixed`);
//! where the rule is `Free`, the caller (a converter, the quantizer)
//! chooses it. [`check_op`] is the verifier's per-op check: the declared
//! result type against the inferred one, plus the rules on the result that
//! inference cannot decide (a free quantization must be per-tensor int8).
//! Builders use [`crate::Graph::add_op`], which calls [`infer_type`].

use crate::{
    numel, DType, DynamicQuant, EluAttrs, LeakyReluAttrs, Op, OpFamily, Quant, QuantRule,
    TensorType,
};

fn dims(s: &[usize]) -> String {
    let v: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("[{}]", v.join(","))
}

/// Numpy-style broadcast of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let r = a.len().max(b.len());
    let at = |s: &[usize], i: usize| {
        if i + s.len() >= r {
            s[i + s.len() - r]
        } else {
            1
        }
    };
    (0..r)
        .map(|i| match (at(a, i), at(b, i)) {
            (da, db) if da == db || db == 1 => Ok(da),
            (1, db) => Ok(db),
            _ => Err(format!(
                "shapes {} and {} do not broadcast",
                dims(a),
                dims(b)
            )),
        })
        .collect()
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

fn check_arity(op: &Op, n: usize) -> Result<(), String> {
    let (lo, hi) = op.arity();
    if (lo..=hi).contains(&n) {
        return Ok(());
    }
    Err(if lo == hi {
        format!("expects {lo} operands, got {n}")
    } else if hi == usize::MAX {
        format!("expects at least {lo} operands, got {n}")
    } else {
        format!("expects {lo} to {hi} operands, got {n}")
    })
}

/// Attribute values that no operand type can make valid.
fn check_attrs(op: &Op) -> Result<(), String> {
    if let Some(act) = op.activation() {
        let (lo, hi) = act.range();
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(format!("activation range [{lo:?}, {hi:?}] is empty"));
        }
    }
    match op {
        Op::Clip(c) if c.min.is_nan() || c.max.is_nan() || c.min > c.max => {
            Err(format!("clip range [{:?}, {:?}] is empty", c.min, c.max))
        }
        Op::Softmax(s) if !(s.beta.is_finite() && s.beta > 0.0) => {
            Err(format!("beta {:?} must be positive and finite", s.beta))
        }
        Op::LeakyRelu(LeakyReluAttrs { alpha }) | Op::Elu(EluAttrs { alpha })
            if !alpha.is_finite() =>
        {
            Err(format!("alpha {alpha:?} must be finite"))
        }
        Op::BatchNorm(b) if !(b.epsilon.is_finite() && b.epsilon >= 0.0) => Err(format!(
            "epsilon {:?} must be non-negative and finite",
            b.epsilon
        )),
        Op::Pad(p) if !p.value.is_finite() => Err("pad value must be finite".into()),
        Op::MaxPool2d(p) if p.count_include_pad => {
            Err("count_include_pad applies to avg_pool2d only".into())
        }
        _ => Ok(()),
    }
}

fn rank_is(s: &[usize], r: usize, what: &str) -> Result<(), String> {
    if s.len() == r {
        Ok(())
    } else {
        Err(format!("{what} must have rank {r}, has shape {}", dims(s)))
    }
}

fn bias_is(ins: &[&TensorType], n: usize) -> Result<(), String> {
    match ins.get(2) {
        Some(b) if b.shape != [n] => Err(format!(
            "bias must have shape [{n}], has {}",
            dims(&b.shape)
        )),
        _ => Ok(()),
    }
}

/// The result shape of `op` on operands of shapes `ins` (arity checked).
fn infer_shape(op: &Op, ins: &[&TensorType]) -> Result<Vec<usize>, String> {
    let x = &ins[0].shape;
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
            bias_is(ins, w[0])?;
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
        Op::FullyConnected(a) => {
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
            bias_is(ins, w[0])?;
            if a.keep_dims {
                let mut keep = x.clone();
                keep[x.len() - 1] = w[0];
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
        Op::Add(_) | Op::Sub(_) | Op::Mul(_) | Op::Div(_) => broadcast_shapes(x, &ins[1].shape),
        Op::Relu
        | Op::Relu6
        | Op::Clip(_)
        | Op::LeakyRelu(_)
        | Op::Elu(_)
        | Op::Sigmoid
        | Op::Tanh
        | Op::HardSwish
        | Op::Quantize(_)
        | Op::Dequantize => Ok(x.clone()),
        Op::Lookup => {
            if ins[1].shape != [256] {
                return Err(format!(
                    "the table must have shape [256], has {}",
                    dims(&ins[1].shape)
                ));
            }
            Ok(x.clone())
        }
        Op::Softmax(s) => {
            if s.axis_for(x.len()).is_none() {
                return Err(format!(
                    "axis {} is out of range for rank {}",
                    s.axis,
                    x.len()
                ));
            }
            Ok(x.clone())
        }
        Op::BatchNorm(_) => {
            let c = *x.last().ok_or("input must have rank >= 1")?;
            for (i, t) in ins.iter().enumerate().skip(1) {
                if t.shape != [c] {
                    return Err(format!(
                        "operand #{i} must have shape [{c}] (the channels), has {}",
                        dims(&t.shape)
                    ));
                }
            }
            Ok(x.clone())
        }
        Op::MaxPool2d(a) | Op::AvgPool2d(a) => {
            rank_is(x, 4, "input")?;
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
        Op::Reshape(a) => {
            let fits = a
                .shape
                .iter()
                .try_fold(1usize, |p, &d| p.checked_mul(d))
                .is_some_and(|n| n == numel(x));
            if !fits {
                return Err(format!(
                    "cannot reshape {} into {}",
                    dims(x),
                    dims(&a.shape)
                ));
            }
            Ok(a.shape.clone())
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
            x.iter()
                .zip(a.before.iter().zip(&a.after))
                .map(|(d, (b, e))| {
                    d.checked_add(*b)
                        .and_then(|v| v.checked_add(*e))
                        .ok_or_else(|| "padding too large".to_string())
                })
                .collect()
        }
        Op::Slice(a) => {
            if a.begin.len() != x.len() || a.end.len() != x.len() || a.step.len() != x.len() {
                return Err(format!("begin/end/step need {} entries", x.len()));
            }
            (0..x.len())
                .map(|d| {
                    let (b, e, s) = (a.begin[d], a.end[d], a.step[d]);
                    if s == 0 || b > e || e > x[d] {
                        Err(format!(
                            "dimension {d}: need 0 < step and begin <= end <= {}, have {b}..{e} step {s}",
                            x[d]
                        ))
                    } else {
                        Ok((e - b).div_ceil(s))
                    }
                })
                .collect()
        }
    }
}

fn is_f32(t: &TensorType) -> bool {
    t.dtype == DType::F32 && t.quant.is_none()
}

fn per_tensor_qi8(t: &TensorType, what: &str) -> Result<(), String> {
    if t.dtype == DType::I8 && t.qparams().is_some() {
        Ok(())
    } else {
        Err(format!("{what} must be per-tensor quantized i8, is {t}"))
    }
}

/// The F32 form (every operand f32) or the Q8 form (every operand
/// per-tensor quantized i8): the result's dtype.
fn float_or_q8(ins: &[&TensorType]) -> Result<DType, String> {
    if ins.iter().all(|t| is_f32(t)) {
        return Ok(DType::F32);
    }
    for (i, t) in ins.iter().enumerate() {
        per_tensor_qi8(t, &format!("operand #{i}"))?;
    }
    Ok(DType::I8)
}

/// The quantization a movement op gives its result, when determined: the
/// operand's, with a per-axis axis moved by a transpose (and undetermined
/// where a reshape, slice, pad or concat changes the quantized axis).
fn moved_quant(op: &Op, ins: &[&TensorType]) -> Option<Quant> {
    let x = ins[0];
    let q = x.quant.clone()?;
    let Some(axis) = q.axis else {
        return Some(q);
    };
    match op {
        Op::Transpose(t) => {
            let to = t.perm.iter().position(|&p| p == axis)?;
            Some(Quant {
                axis: Some(to),
                ..q
            })
        }
        Op::Reshape(r) => (r.shape.get(..=axis) == x.shape.get(..=axis)).then_some(q),
        Op::Pad(p) => {
            (p.before.get(axis) == Some(&0) && p.after.get(axis) == Some(&0)).then_some(q)
        }
        Op::Slice(s) => (s.begin.get(axis) == Some(&0)
            && s.end.get(axis) == x.shape.get(axis)
            && s.step.get(axis) == Some(&1))
        .then_some(q),
        _ => None,
    }
}

/// Operand dtype rules; returns the result dtype and, where the quant rule
/// determines it, the result quantization.
fn infer_dtype(op: &Op, ins: &[&TensorType]) -> Result<(DType, Option<Quant>), String> {
    let x = ins[0];
    let rule_quant = |d: DType| match (d, op.quant_rule()) {
        (DType::I8, QuantRule::Fixed { scale, zero_point }) => {
            Some(Quant::per_tensor(scale, zero_point))
        }
        (DType::I8, QuantRule::SameAsInput) => x.quant.clone(),
        _ => None,
    };
    // i4 values are weights: of a conv2d / fully_connected, or dequantized.
    let i4_weights = matches!(op.family(), OpFamily::Weighted) || matches!(op, Op::Dequantize);
    if let Some((i, t)) = ins.iter().enumerate().find(|(_, t)| t.dtype == DType::I4) {
        if !(i4_weights && (i == 1 || matches!(op, Op::Dequantize))) {
            return Err(format!(
                "operand #{i} is {t}: i4 is only for the weights of conv2d / fully_connected"
            ));
        }
    }
    if let Op::Lookup = op {
        if !matches!(x.dtype, DType::I8 | DType::U8) {
            return Err(format!("operand must be 8-bit, is {x}"));
        }
        let table = ins[1];
        if table.quant.is_some() || table.dtype == DType::Bool {
            return Err(format!(
                "the table must hold plain f32 or integer values, is {table}"
            ));
        }
        return Ok((table.dtype, None));
    }
    match op.family() {
        OpFamily::Weighted => {
            if ins.iter().all(|t| is_f32(t)) {
                if op.dynamic_quant() != DynamicQuant::None {
                    return Err("`dynamic` needs int8 weights".into());
                }
                return Ok((DType::F32, None));
            }
            let w = ins[1];
            // Weight-only quantization: f32 activations and bias, int8
            // weights (symmetric, per tensor or per output channel).
            let q8_weights = w.dtype == DType::I8
                && w.quant.as_ref().is_some_and(|q| {
                    (q.axis.is_none() || q.axis == Some(0)) && q.zero_point.iter().all(|&z| z == 0)
                });
            if is_f32(x) && q8_weights && ins.get(2).map_or(true, |b| is_f32(b)) {
                return Ok((DType::F32, None));
            }
            if op.dynamic_quant() != DynamicQuant::None {
                return Err("`dynamic` needs f32 input and bias with int8 weights".into());
            }
            per_tensor_qi8(x, "input")?;
            match &w.quant {
                Some(q)
                    if matches!(w.dtype, DType::I8 | DType::I4)
                        && (q.axis.is_none() || q.axis == Some(0)) =>
                {
                    if q.zero_point.iter().any(|&z| z != 0) {
                        return Err("quantized weights must have zero point 0".into());
                    }
                }
                _ => {
                    return Err(format!(
                        "weights must be i8 or i4 quantized per tensor or on axis 0, are {w}"
                    ))
                }
            }
            if let Some(b) = ins.get(2) {
                if b.dtype != DType::I32 {
                    return Err(format!("bias of a quantized op must be i32, is {b}"));
                }
            }
            Ok((DType::I8, None))
        }
        OpFamily::MatMul
        | OpFamily::Binary
        | OpFamily::Unary
        | OpFamily::Pool
        | OpFamily::Reduce => {
            if matches!(op, Op::Div(_)) && !ins.iter().all(|t| is_f32(t)) {
                return Err("operands must be f32".into());
            }
            let d = float_or_q8(ins)?;
            if op.quant_rule() == QuantRule::SameAsInput && ins.iter().any(|t| t.quant != x.quant) {
                return Err("quantized operands must have the same quantization".into());
            }
            Ok((d, rule_quant(d)))
        }
        OpFamily::Normalize => {
            if matches!(op, Op::BatchNorm(_)) {
                if let Some((i, t)) = ins.iter().enumerate().find(|(_, t)| !is_f32(t)) {
                    return Err(format!("operand #{i} must be f32, is {t}"));
                }
                return Ok((DType::F32, None));
            }
            let d = float_or_q8(ins)?;
            Ok((d, rule_quant(d)))
        }
        OpFamily::Movement => {
            if let Some((i, t)) = ins
                .iter()
                .enumerate()
                .find(|(_, t)| t.dtype != x.dtype || t.quant != x.quant)
            {
                return Err(format!(
                    "operand #{i} has type {t}, operand #0 has dtype {} and quantization {}",
                    x.dtype,
                    x.quant.as_ref().map_or("none".into(), |_| x.to_string())
                ));
            }
            if matches!(op, Op::Pad(_)) && x.quant.is_some() {
                per_tensor_qi8(x, "quantized operand")?;
            }
            Ok((x.dtype, moved_quant(op, ins)))
        }
        OpFamily::Convert => match op {
            Op::Dequantize => {
                if x.quant.is_none()
                    || !matches!(
                        x.dtype,
                        DType::I8 | DType::I4 | DType::U8 | DType::I16 | DType::I32
                    )
                {
                    return Err(format!("operand must be a quantized integer type, is {x}"));
                }
                Ok((DType::F32, None))
            }
            _ => {
                let q_int =
                    x.qparams().is_some() && matches!(x.dtype, DType::I8 | DType::U8 | DType::I16);
                if is_f32(x) || q_int {
                    Ok((DType::I8, None))
                } else {
                    Err(format!(
                        "operand must be f32 or per-tensor quantized, is {x}"
                    ))
                }
            }
        },
    }
}

/// Infers the result type of `op` on operands of types `ins`.
///
/// The quantization is filled where the op's [`QuantRule`] determines it;
/// where it is free, `quant` is `None` and the caller sets it. `quantize`
/// gives `i8` (its result dtype, like its quantization, is the caller's
/// choice among i8, u8 and i16).
pub fn infer_type(op: &Op, ins: &[&TensorType]) -> Result<TensorType, String> {
    check_arity(op, ins.len())?;
    check_attrs(op)?;
    let shape = infer_shape(op, ins)?;
    let (dtype, quant) = infer_dtype(op, ins)?;
    Ok(TensorType {
        dtype,
        shape,
        quant,
    })
}

/// Checks one op against its operand and result types: the declared
/// result must be the inferred type, with a free quantization that the
/// op's form allows.
pub fn check_op(op: &Op, ins: &[&TensorType], out: &TensorType) -> Result<(), String> {
    let t = infer_type(op, ins)?;
    if t.shape != out.shape {
        return Err(format!(
            "result shape {} does not match the inferred shape {}",
            dims(&out.shape),
            dims(&t.shape)
        ));
    }
    if let Op::Quantize(_) = op {
        let q_int = out.quant.is_some() && matches!(out.dtype, DType::I8 | DType::U8 | DType::I16);
        if !q_int {
            return Err(format!(
                "result must be a quantized i8, u8 or i16 type, is {out}"
            ));
        }
        if !is_f32(ins[0]) && out.qparams().is_none() {
            return Err(format!("a requantized result must be per tensor, is {out}"));
        }
        return Ok(());
    }
    if t.dtype != out.dtype {
        return Err(format!(
            "result dtype {} differs from the inferred dtype {}",
            out.dtype, t.dtype
        ));
    }
    if let Op::Lookup = op {
        // The table holds the stored values: any quantization is the caller's.
        return Ok(());
    }
    if t.dtype == DType::F32 {
        // check_type keeps f32 unquantized.
        return Ok(());
    }
    if op.family() == OpFamily::Movement {
        return match (&t.quant, &out.quant) {
            (Some(a), Some(b)) if a == b => Ok(()),
            (None, None) if ins[0].quant.is_none() => Ok(()),
            // A per-axis quantization whose axis the op moves away: any
            // quantization, but a quantized operand stays quantized.
            (None, Some(_)) if ins[0].quant.is_some() => Ok(()),
            _ => Err(format!(
                "result quantization must be the operand's ({}), is {out}",
                ins[0]
            )),
        };
    }
    per_tensor_qi8(out, "result")?;
    match (op.quant_rule(), &t.quant) {
        (QuantRule::Fixed { scale, zero_point }, _) => match out.qparams() {
            Some(q) if q != (scale, zero_point) => Err(format!(
                "quantized result must have q({scale:?}, {zero_point}), has q({:?}, {})",
                q.0, q.1
            )),
            _ => Ok(()),
        },
        (QuantRule::SameAsInput, Some(q)) if out.quant.as_ref() != Some(q) => {
            Err("quantized operands and result must have the same quantization".into())
        }
        _ => Ok(()),
    }
}
