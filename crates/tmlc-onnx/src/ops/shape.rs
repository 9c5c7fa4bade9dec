//! Shape and data-movement operators: Reshape, Flatten, Squeeze,
//! Unsqueeze, Transpose, Concat, Pad, Slice, Split, and Shape / Gather on static
//! shapes (folded to constants at import).

use super::{out, R};
use crate::import::{const_ints, Importer, Node, Val, TO_NHWC};
use tmlc_ir::{numel, ConcatAttrs, Op, ReshapeAttrs, TensorData, TransposeAttrs};

/// `Flatten` and `Reshape` (with `0` = copy, `-1` = infer, `allowzero`),
/// on the ONNX-ordered tensor.
pub(super) fn reshape(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let xn = n.req(0)?;
    let xs = onnx_shape(imp, n, xn)?;
    let shape = if n.op() == "Flatten" {
        let axis = n.int("axis", 1);
        let r = xs.len() as i64;
        let a = if axis < 0 { axis + r } else { axis };
        if !(0..=r).contains(&a) {
            return Err(n.err(format!("axis {axis} is out of range for rank {r}")));
        }
        let a = a as usize;
        vec![numel(&xs[..a]), numel(&xs[a..])]
    } else {
        let spec = match n.input(1) {
            Some(s) => {
                let v = imp.plain(n, s)?;
                imp.const_data(v)
                    .and_then(const_ints)
                    .ok_or_else(|| n.err("the shape must be a constant"))?
            }
            None => n
                .ints("shape")
                .ok_or_else(|| n.err("needs a shape"))?
                .to_vec(),
        };
        let allow_zero = n.int("allowzero", 0) != 0;
        let mut out = Vec::with_capacity(spec.len());
        let mut infer = None;
        for (i, &d) in spec.iter().enumerate() {
            out.push(match d {
                0 if !allow_zero => *xs
                    .get(i)
                    .ok_or_else(|| n.err("0 copies a dimension the input lacks"))?,
                -1 if infer.is_none() => {
                    infer = Some(i);
                    1
                }
                d if d >= 0 => d as usize,
                d => return Err(n.err(format!("invalid dimension {d} in the shape"))),
            });
        }
        if let Some(i) = infer {
            let known = numel(&out);
            if known == 0 || numel(&xs) % known != 0 {
                return Err(n.err(format!("cannot reshape {xs:?} into {spec:?}")));
            }
            out[i] = numel(&xs) / known;
        }
        out
    };
    let v = imp.val(n, xn)?;
    // A constant is reshaped at import.
    if let Some((p, data)) = v.plain.and_then(|p| Some((p, imp.const_data(p)?.clone()))) {
        let ty = tmlc_ir::TensorType {
            shape,
            ..imp.ty(p).clone()
        };
        imp.define_const(n.output(0)?, ty, data);
        return Ok(());
    }
    // An NHWC image flattened to [N, C*H*W] is flattened in NHWC order;
    // dense layers reading it permute their weights instead.
    if let (None, Some(x), 4) = (v.plain, v.nhwc, xs.len()) {
        if shape == [xs[0], xs[1] * xs[2] * xs[3]] {
            let y = imp.op(
                n,
                Op::Reshape(ReshapeAttrs { shape }),
                vec![x],
                n.output(0)?,
            )?;
            let val = Val {
                flat: Some((y, [xs[1], xs[2], xs[3]])),
                ..Val::default()
            };
            imp.define(n.output(0)?, val);
            return Ok(());
        }
    }
    let x = imp.plain(n, xn)?;
    let y = imp.op(
        n,
        Op::Reshape(ReshapeAttrs { shape }),
        vec![x],
        n.output(0)?,
    )?;
    out(imp, n, y, false)
}

/// `Transpose`. The two layout changes between NHWC and NCHW that
/// exporters write around NCHW ops (tf2onnx, for a Keras model's NHWC
/// input) cost nothing: NHWC -> NCHW of a tensor is a tensor whose NHWC form
/// is that tensor, and NCHW -> NHWC of an image held in NHWC is that NHWC
/// value.
pub(super) fn transpose(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let xn = n.req(0)?;
    let rank = onnx_shape(imp, n, xn)?.len();
    let perm = match n.sizes("perm")? {
        Some(p) => p,
        None => (0..rank).rev().collect(),
    };
    let y = n.output(0)?;
    if perm == crate::import::TO_NCHW {
        let x = imp.plain(n, xn)?;
        let val = Val {
            nhwc: Some(x),
            ..Val::default()
        };
        imp.define(y, val);
        return Ok(());
    }
    if perm == TO_NHWC && imp.is_nhwc(xn) {
        let x = imp.nhwc(n, xn)?;
        let val = Val {
            plain: Some(x),
            ..Val::default()
        };
        imp.define(y, val);
        return Ok(());
    }
    let x = imp.plain(n, xn)?;
    let y = imp.op(
        n,
        Op::Transpose(TransposeAttrs { perm }),
        vec![x],
        n.output(0)?,
    )?;
    out(imp, n, y, false)
}

pub(super) fn concat(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let inputs: Vec<&str> = (0..n.p.input.len()).filter_map(|i| n.input(i)).collect();
    let first = imp.val(
        n,
        inputs.first().copied().ok_or_else(|| n.err("no inputs"))?,
    )?;
    let rank = imp
        .ty(first
            .plain
            .or(first.nhwc)
            .ok_or_else(|| n.err("no input"))?)
        .rank() as i64;
    let axis = n.int("axis", 1);
    let a = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&a) {
        return Err(n.err(format!("axis {axis} is out of range for rank {rank}")));
    }
    let nhwc = rank == 4 && inputs.iter().any(|i| imp.is_nhwc(i));
    let mut operands = Vec::with_capacity(inputs.len());
    for i in &inputs {
        operands.push(if nhwc {
            imp.nhwc(n, i)?
        } else {
            imp.plain(n, i)?
        });
    }
    // NCHW axis a sits at NHWC position inverse(TO_NHWC)[a].
    let axis = if nhwc {
        [0, 3, 1, 2][a as usize]
    } else {
        a as usize
    };
    let y = imp.op(n, Op::Concat(ConcatAttrs { axis }), operands, n.output(0)?)?;
    out(imp, n, y, nhwc)
}

/// Integer parameters given as a constant input `i` (newer opsets) or as
/// attribute `key` (older ones).
fn int_param(imp: &mut Importer<'_>, n: &Node<'_>, i: usize, key: &str) -> R<Option<Vec<i64>>> {
    match n.input(i) {
        Some(name) => {
            let v = imp.plain(n, name)?;
            let d = imp
                .const_data(v)
                .and_then(const_ints)
                .ok_or_else(|| n.err(format!("`{name}` must be a constant integer tensor")))?;
            Ok(Some(d))
        }
        None => Ok(n.ints(key).map(<[i64]>::to_vec)),
    }
}

/// `a` normalised against `rank` (negative counts from the end).
fn axis(n: &Node<'_>, a: i64, rank: usize) -> R<usize> {
    let r = rank as i64;
    let v = if a < 0 { a + r } else { a };
    if (0..r).contains(&v) {
        Ok(v as usize)
    } else {
        Err(n.err(format!("axis {a} is out of range for rank {rank}")))
    }
}

/// The ONNX shape of value `name`, without making a new form of it.
fn onnx_shape(imp: &Importer<'_>, n: &Node<'_>, name: &str) -> R<Vec<usize>> {
    let v = imp.val(n, name)?;
    match (v.plain, v.nhwc, v.flat) {
        (Some(p), ..) => Ok(imp.ty(p).shape.clone()),
        (None, Some(x), _) => {
            let s = &imp.ty(x).shape;
            Ok(vec![s[0], s[3], s[1], s[2]])
        }
        (None, None, Some((f, _))) => Ok(imp.ty(f).shape.clone()),
        (None, None, None) => Err(n.err(format!("`{name}` has no value"))),
    }
}

/// `Squeeze` (axes, or every size-1 dimension) and `Unsqueeze`: reshapes.
pub(super) fn squeeze(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let x = imp.plain(n, n.req(0)?)?;
    let xs = imp.ty(x).shape.clone();
    let axes = int_param(imp, n, 1, "axes")?;
    let shape: Vec<usize> = if n.op() == "Squeeze" {
        let axes = match axes {
            Some(a) => a
                .iter()
                .map(|&a| axis(n, a, xs.len()))
                .collect::<R<Vec<_>>>()?,
            None => (0..xs.len()).filter(|&i| xs[i] == 1).collect(),
        };
        if let Some(&a) = axes.iter().find(|&&a| xs[a] != 1) {
            return Err(n.err(format!("cannot squeeze axis {a} of size {}", xs[a])));
        }
        xs.iter()
            .enumerate()
            .filter(|(i, _)| !axes.contains(i))
            .map(|(_, &d)| d)
            .collect()
    } else {
        let axes = axes.ok_or_else(|| n.err("needs axes"))?;
        let rank = xs.len() + axes.len();
        let mut axes = axes
            .iter()
            .map(|&a| axis(n, a, rank))
            .collect::<R<Vec<_>>>()?;
        axes.sort_unstable();
        axes.dedup();
        if axes.len() + xs.len() != rank {
            return Err(n.err("repeated axes"));
        }
        let mut rest = xs.iter();
        (0..rank)
            .map(|i| {
                if axes.contains(&i) {
                    1
                } else {
                    rest.next().copied().unwrap_or(1)
                }
            })
            .collect()
    };
    let y = imp.op(
        n,
        Op::Reshape(ReshapeAttrs { shape }),
        vec![x],
        n.output(0)?,
    )?;
    out(imp, n, y, false)
}

/// `Pad`, constant mode (`pads` as begins then ends; non-negative).
pub(super) fn pad(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let mode = n.string("mode").unwrap_or_else(|| "constant".into());
    if mode != "constant" {
        return Err(n.err(format!("mode {mode} is not supported (only constant)")));
    }
    let xn = n.req(0)?;
    let xs = onnx_shape(imp, n, xn)?;
    let r = xs.len();
    let pads = int_param(imp, n, 1, "pads")?.ok_or_else(|| n.err("needs pads"))?;
    let axes = match n.input(3) {
        Some(_) => int_param(imp, n, 3, "")?
            .unwrap_or_default()
            .iter()
            .map(|&a| axis(n, a, r))
            .collect::<R<Vec<_>>>()?,
        None => (0..r).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(n.err(format!(
            "pads has {} values, needs {}",
            pads.len(),
            2 * axes.len()
        )));
    }
    let (mut before, mut after) = (vec![0usize; r], vec![0usize; r]);
    for (k, &a) in axes.iter().enumerate() {
        let (b, e) = (pads[k], pads[k + axes.len()]);
        if b < 0 || e < 0 {
            return Err(n.err("negative pads (cropping) are not supported"));
        }
        before[a] = b as usize;
        after[a] = e as usize;
    }
    let value = match n.input(2) {
        Some(c) => {
            let v = imp.plain(n, c)?;
            match imp.const_data(v) {
                Some(TensorData::F32(d)) if d.len() == 1 => d[0],
                Some(d) if d.len() == 1 => d.get_f64(0) as f32,
                _ => return Err(n.err("constant_value must be a constant scalar")),
            }
        }
        None => n.float("value", 0.0),
    };
    // An NHWC image pads in NHWC.
    let nhwc = r == 4 && imp.is_nhwc(xn);
    let (x, before, after) = if nhwc {
        let p = |v: &[usize]| {
            crate::import::TO_NHWC
                .iter()
                .map(|&i| v[i])
                .collect::<Vec<_>>()
        };
        (imp.nhwc(n, xn)?, p(&before), p(&after))
    } else {
        (imp.plain(n, xn)?, before, after)
    };
    let op = Op::Pad(tmlc_ir::PadAttrs {
        before,
        after,
        value,
    });
    let y = imp.op(n, op, vec![x], n.output(0)?)?;
    out(imp, n, y, nhwc)
}

/// `Slice` with positive steps (starts and ends clamped as ONNX does).
pub(super) fn slice(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let xn = n.req(0)?;
    let xs = onnx_shape(imp, n, xn)?;
    let r = xs.len();
    let starts = int_param(imp, n, 1, "starts")?.ok_or_else(|| n.err("needs starts"))?;
    let ends = int_param(imp, n, 2, "ends")?.ok_or_else(|| n.err("needs ends"))?;
    let axes = match int_param(imp, n, 3, "axes")? {
        Some(a) => a.iter().map(|&a| axis(n, a, r)).collect::<R<Vec<_>>>()?,
        None => (0..starts.len()).collect(),
    };
    let steps = int_param(imp, n, 4, "steps")?.unwrap_or_else(|| vec![1; axes.len()]);
    if starts.len() != axes.len() || ends.len() != axes.len() || steps.len() != axes.len() {
        return Err(n.err("starts, ends, axes and steps differ in length"));
    }
    let mut begin = vec![0; r];
    let mut end = xs.clone();
    let mut step = vec![1; r];
    for k in 0..axes.len() {
        let (a, d) = (axes[k], xs[axes[k]] as i64);
        if steps[k] <= 0 {
            return Err(n.err("non-positive steps are not supported"));
        }
        let clamp = |v: i64| (if v < 0 { v + d } else { v }).clamp(0, d);
        let (b, e) = (clamp(starts[k]), clamp(ends[k]));
        begin[a] = b as usize;
        end[a] = e.max(b) as usize;
        step[a] = steps[k] as usize;
    }
    let attrs = tmlc_ir::SliceAttrs { begin, end, step };
    slice_to(imp, n, xn, attrs, n.output(0)?)
}

/// Defines `output` as the slice `attrs` (in ONNX's axis order) of `xn`,
/// in NHWC when `xn` has that form (a channel split stays NHWC).
fn slice_to(
    imp: &mut Importer<'_>,
    n: &Node<'_>,
    xn: &str,
    attrs: tmlc_ir::SliceAttrs,
    output: &str,
) -> R<()> {
    let nhwc = imp.is_nhwc(xn) && attrs.begin.len() == 4;
    let (x, attrs) = if nhwc {
        let p = |v: &[usize]| TO_NHWC.iter().map(|&a| v[a]).collect::<Vec<_>>();
        let a = tmlc_ir::SliceAttrs {
            begin: p(&attrs.begin),
            end: p(&attrs.end),
            step: p(&attrs.step),
        };
        (imp.nhwc(n, xn)?, a)
    } else {
        (imp.plain(n, xn)?, attrs)
    };
    let y = imp.op(n, Op::Slice(attrs), vec![x], output)?;
    let val = if nhwc {
        Val {
            nhwc: Some(y),
            ..Val::default()
        }
    } else {
        Val {
            plain: Some(y),
            ..Val::default()
        }
    };
    imp.define(output, val);
    Ok(())
}

/// `Split` along `axis` into the sizes of `split` (input from opset 13,
/// attribute before), or into `num_outputs` (opset 18) / as many outputs
/// equal parts (the last one smaller when it does not divide).
pub(super) fn split(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let xn = n.req(0)?;
    let xs = onnx_shape(imp, n, xn)?;
    let a = axis(n, n.int("axis", 0), xs.len())?;
    let outputs = n.p.output.len();
    let sizes: Vec<usize> = match int_param(imp, n, 1, "split")? {
        Some(s) => s
            .iter()
            .map(|&v| usize::try_from(v).map_err(|_| n.err(format!("negative split size {v}"))))
            .collect::<R<_>>()?,
        None => {
            let parts = usize::try_from(n.int("num_outputs", outputs as i64))
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| n.err("needs a positive number of outputs"))?;
            let each = xs[a].div_ceil(parts);
            (0..parts)
                .map(|i| each.min(xs[a].saturating_sub(i * each)))
                .collect()
        }
    };
    if sizes.len() != outputs || sizes.iter().sum::<usize>() != xs[a] {
        return Err(n.err(format!(
            "split sizes {sizes:?} do not cover axis {a} of {xs:?} in {outputs} outputs"
        )));
    }
    let mut at = 0;
    for (i, &size) in sizes.iter().enumerate() {
        let mut begin = vec![0; xs.len()];
        let mut end = xs.clone();
        begin[a] = at;
        end[a] = at + size;
        at += size;
        let name = n.output(i)?;
        if name.is_empty() {
            continue;
        }
        let step = vec![1; xs.len()];
        slice_to(imp, n, xn, tmlc_ir::SliceAttrs { begin, end, step }, name)?;
    }
    Ok(())
}

/// `Shape`: the static shape, a constant (with opset 15's start / end).
pub(super) fn shape(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let xs = onnx_shape(imp, n, n.req(0)?)?;
    let r = xs.len() as i64;
    let norm = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = norm(n.int("start", 0));
    let end = norm(n.int("end", r)).max(start);
    let dims: Vec<i64> = xs[start..end].iter().map(|&d| d as i64).collect();
    let name = n.output(0)?;
    let ty = tmlc_ir::TensorType::new(tmlc_ir::DType::I64, vec![dims.len()]);
    imp.define_const(name, ty, TensorData::I64(dims));
    Ok(())
}

/// The most elements a `Gather` or `ConstantOfShape` may produce (a bound on what a hostile
/// model can make the importer allocate).
const MAX_GATHERED: usize = 1 << 22;

/// `Gather` by constant indices: of constant data (shape arithmetic),
/// computed at import; of an activation, one slice per index on the axis,
/// concatenated, reshaped to the result's shape.
pub(super) fn gather(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let d = imp.plain(n, n.req(0)?)?;
    let i = imp.plain(n, n.req(1)?)?;
    let Some(idx) = imp.const_data(i).and_then(const_ints) else {
        return Err(n.err("only gathers by constant indices are supported"));
    };
    let (ds, is) = (imp.ty(d).shape.clone(), imp.ty(i).shape.clone());
    let a = axis(n, n.int("axis", 0), ds.len())?;
    let (outer, len, inner) = (numel(&ds[..a]), ds[a], numel(&ds[a + 1..]));
    let idx: Vec<usize> = idx
        .iter()
        .map(|&k| {
            let k = if k < 0 { k + len as i64 } else { k };
            usize::try_from(k)
                .ok()
                .filter(|&k| k < len)
                .ok_or_else(|| n.err(format!("index {k} is out of range for {len}")))
        })
        .collect::<R<_>>()?;
    let mut shape = ds[..a].to_vec();
    shape.extend(&is);
    shape.extend(&ds[a + 1..]);
    let count = outer
        .checked_mul(idx.len())
        .and_then(|c| c.checked_mul(inner))
        .filter(|&c| c <= MAX_GATHERED)
        .ok_or_else(|| n.err(format!("the result {shape:?} is too large")))?;
    let Some(data) = imp.const_data(d).cloned() else {
        return gather_slices(imp, n, d, a, &idx, shape);
    };
    let es = data.dtype().size();
    let bytes = data.to_le_bytes();
    let mut out_bytes = Vec::with_capacity(count * es);
    for o in 0..outer {
        for &k in &idx {
            let start = ((o * len + k) * inner) * es;
            out_bytes.extend_from_slice(&bytes[start..start + inner * es]);
        }
    }
    let ty = tmlc_ir::TensorType::new(data.dtype(), shape);
    let out_data = TensorData::from_le_bytes(data.dtype(), &out_bytes)
        .ok_or_else(|| n.err("gathered data does not fit its type"))?;
    let name = n.output(0)?;
    imp.define_const(name, ty, out_data);
    Ok(())
}

/// `Add`, `Sub`, `Mul` and `Div` of two integer constants (the arithmetic
/// of shape computations, such as a channel split's `Shape -> Gather ->
/// Div`) folded at import; integer division truncates, as onnxruntime's.
/// Returns false when the operands are not both integer constants.
pub(super) fn fold_int_arith(imp: &mut Importer<'_>, n: &Node<'_>) -> R<bool> {
    let (an, bn) = (n.req(0)?, n.req(1)?);
    let (a, b) = (imp.val(n, an)?, imp.val(n, bn)?);
    let (Some(a), Some(b)) = (a.plain, b.plain) else {
        return Ok(false);
    };
    let ints = |v| match imp.const_data(v) {
        Some(d @ (TensorData::I64(_) | TensorData::I32(_))) => const_ints(d),
        _ => None,
    };
    let (Some(x), Some(y)) = (ints(a), ints(b)) else {
        return Ok(false);
    };
    let (ta, tb) = (imp.ty(a).clone(), imp.ty(b).clone());
    let shape = tmlc_ir::infer::broadcast_shapes(&ta.shape, &tb.shape).map_err(|e| n.err(e))?;
    let count = numel(&shape);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (p, q) = (
            pick(&x, &ta.shape, &shape, i),
            pick(&y, &tb.shape, &shape, i),
        );
        let r = match n.op() {
            "Add" => p.checked_add(q),
            "Sub" => p.checked_sub(q),
            "Mul" => p.checked_mul(q),
            _ => p.checked_div(q),
        };
        out.push(
            r.ok_or_else(|| n.err(format!("integer overflow or division by zero: {p} and {q}")))?,
        );
    }
    let ty = tmlc_ir::TensorType {
        shape,
        ..ta.clone()
    };
    let data = match ta.dtype {
        tmlc_ir::DType::I32 => TensorData::I32(out.iter().map(|&v| v as i32).collect()),
        _ => TensorData::I64(out),
    };
    imp.define_const(n.output(0)?, ty, data);
    Ok(true)
}

/// Element `i` of the broadcast result `shape` read from `v` of shape `s`.
fn pick(v: &[i64], s: &[usize], shape: &[usize], i: usize) -> i64 {
    let rank = shape.len();
    let mut rem = i;
    let mut off = 0;
    let mut stride = 1;
    for d in (0..rank).rev() {
        let idx = rem % shape[d].max(1);
        rem /= shape[d].max(1);
        if let Some(k) = (d + s.len()).checked_sub(rank) {
            if s[k] != 1 {
                off += idx * stride;
            }
            stride *= s[k];
        }
    }
    v.get(off).copied().unwrap_or(0)
}

/// `Gather` of the activation `d` at `idx` along `axis`.
fn gather_slices(
    imp: &mut Importer<'_>,
    n: &Node<'_>,
    d: tmlc_ir::ValueId,
    axis: usize,
    idx: &[usize],
    shape: Vec<usize>,
) -> R<()> {
    if idx.is_empty() || idx.len() > 1024 {
        return Err(n.err(format!(
            "gathers {} indices (1 to 1024 are supported)",
            idx.len()
        )));
    }
    let ds = imp.ty(d).shape.clone();
    let mut parts = Vec::with_capacity(idx.len());
    for (j, &k) in idx.iter().enumerate() {
        let mut begin = vec![0; ds.len()];
        let mut end = ds.clone();
        begin[axis] = k;
        end[axis] = k + 1;
        let step = vec![1; ds.len()];
        let op = Op::Slice(tmlc_ir::SliceAttrs { begin, end, step });
        parts.push(imp.op(n, op, vec![d], &format!("{}_at{j}", n.name))?);
    }
    let joined = if parts.len() == 1 {
        parts[0]
    } else {
        let name = format!("{}_joined", n.name);
        imp.op(n, Op::Concat(ConcatAttrs { axis }), parts, &name)?
    };
    let y = imp.op(
        n,
        Op::Reshape(ReshapeAttrs { shape }),
        vec![joined],
        n.output(0)?,
    )?;
    out(imp, n, y, false)
}

/// `Cast`: of a constant, converted at import (to an integer type,
/// truncated toward zero, as onnxruntime casts); of anything else, only a
/// cast to the type it already has (an identity).
pub(super) fn cast(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let xn = n.req(0)?;
    let to = n.int("to", 0);
    let to = i32::try_from(to)
        .ok()
        .and_then(crate::tensor::dtype)
        .ok_or_else(|| n.err(format!("cast to element type {to} is not supported")))?;
    let v = imp.val(n, xn)?;
    if let Some((p, data)) = v.plain.and_then(|p| Some((p, imp.const_data(p)?.clone()))) {
        let shape = imp.ty(p).shape.clone();
        let count = data.len();
        let converted = match to {
            tmlc_ir::DType::F32 => {
                TensorData::F32((0..count).map(|i| data.get_f64(i) as f32).collect())
            }
            tmlc_ir::DType::Bool => {
                TensorData::Bool((0..count).map(|i| data.get_f64(i) != 0.0).collect())
            }
            d => {
                let (lo, hi) = d.int_range().unwrap_or((i64::MIN, i64::MAX));
                let vals = (0..count).map(|i| match &data {
                    TensorData::I64(v) => v[i].clamp(lo, hi),
                    _ => (data.get_f64(i).trunc() as i64).clamp(lo, hi),
                });
                TensorData::from_i64(d, vals)
            }
        };
        imp.define_const(n.output(0)?, tmlc_ir::TensorType::new(to, shape), converted);
        return Ok(());
    }
    let from = imp
        .ty(v.plain.or(v.nhwc).ok_or_else(|| n.err("no input"))?)
        .dtype;
    if from != to {
        return Err(n.err(format!("casting a {from} tensor to {to} is not supported")));
    }
    imp.define(n.output(0)?, v);
    Ok(())
}

/// `ConstantOfShape`: a constant of the (constant) shape, filled with the
/// `value` attribute (default f32 0).
pub(super) fn constant_of_shape(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let s = imp.plain(n, n.req(0)?)?;
    let dims = imp
        .const_data(s)
        .and_then(const_ints)
        .ok_or_else(|| n.err("the shape must be a constant"))?;
    let shape = dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| n.err(format!("negative dimension {d}"))))
        .collect::<R<Vec<usize>>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&c| c <= MAX_GATHERED)
        .ok_or_else(|| n.err(format!("shape {shape:?} is too large")))?;
    let (dtype, fill) = match n.tensor("value") {
        Some(t) => {
            let (ty, data) = crate::tensor::read(t, None)?;
            if data.len() != 1 {
                return Err(n.err("value must hold one element"));
            }
            (ty.dtype, data)
        }
        None => (tmlc_ir::DType::F32, TensorData::F32(vec![0.0])),
    };
    let bytes = fill.to_le_bytes().repeat(count);
    let data = TensorData::from_le_bytes(dtype, &bytes)
        .ok_or_else(|| n.err("value does not fit its type"))?;
    imp.define_const(n.output(0)?, tmlc_ir::TensorType::new(dtype, shape), data);
    Ok(())
}
