//! Data movement, generic over every dtype: `reshape`, `transpose`,
//! `concat`, `pad`, `slice` and `lookup` move raw stored values and never
//! requantise (`spec/ir.md` §5). Only `pad` interprets its attribute: the
//! padding element is `value` quantized with the result's parameters.

use crate::util::{internal, operand, with_elem, Elem, StridedWalk};
use crate::InterpError;
use tmlc_ir::{
    strides, ConcatAttrs, Op, PadAttrs, SliceAttrs, Tensor, TensorData, TensorType, TransposeAttrs,
};

/// Evaluates a movement-family op.
pub(crate) fn eval(
    op: &Op,
    operands: &[&Tensor],
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    let x = operand(operands, 0, op.name())?;
    match op {
        // The row-major element sequence, unchanged.
        Op::Reshape(_) => Ok(x.data.clone()),
        Op::Transpose(a) => transpose(a, x, out),
        Op::Concat(a) => concat(a, operands, out),
        Op::Pad(a) => pad(a, x, out),
        Op::Slice(a) => slice(a, x, out),
        op => Err(internal(&format!("{} is not a movement op", op.name()))),
    }
}

fn gather<T: Elem>(v: &[T], idx: impl Iterator<Item = usize>) -> Result<Vec<T>, InterpError> {
    idx.map(|i| {
        v.get(i)
            .copied()
            .ok_or_else(|| internal("gather index out of range"))
    })
    .collect()
}

/// `transpose`: `out.shape[i] = in.shape[perm[i]]`.
pub(crate) fn transpose(
    a: &TransposeAttrs,
    x: &Tensor,
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    let in_strides = strides(&x.ty.shape);
    let strides: Vec<usize> = a
        .perm
        .iter()
        .map(|&p| in_strides.get(p).copied().unwrap_or(0))
        .collect();
    let walk = StridedWalk::new(&out.shape, strides);
    with_elem!(x.data.dtype(), T => {
        let v = T::view(&x.data).ok_or_else(|| internal("dtype mismatch"))?;
        Ok(T::wrap(gather(v, walk)?))
    })
}

/// `concat` along `axis`: for each index of the leading dimensions, the
/// operands' blocks in order.
fn concat(
    a: &ConcatAttrs,
    operands: &[&Tensor],
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    const OP: &str = "concat";
    let first = operand(operands, 0, OP)?;
    let outer: usize = out.shape.iter().take(a.axis).product();
    let inner: usize = out.shape.iter().skip(a.axis + 1).product();
    with_elem!(first.data.dtype(), T => {
        let mut parts: Vec<(&[T], usize)> = Vec::with_capacity(operands.len());
        for t in operands {
            let v = T::view(&t.data).ok_or_else(|| InterpError::InvalidOp {
                op: OP,
                reason: "operands have different dtypes".into(),
            })?;
            let along = t.ty.shape.get(a.axis).copied().unwrap_or(0);
            parts.push((v, along * inner));
        }
        let mut res: Vec<T> = Vec::with_capacity(out.shape.iter().product());
        for o in 0..outer {
            for &(v, block) in &parts {
                let start = o * block;
                let chunk = v.get(start..start + block).ok_or_else(|| internal("concat block out of range"))?;
                res.extend_from_slice(chunk);
            }
        }
        Ok(T::wrap(res))
    })
}

/// `pad`: `y[i] = x[i - before]` inside `x`, the padding element elsewhere.
fn pad(a: &PadAttrs, x: &Tensor, out: &TensorType) -> Result<TensorData, InterpError> {
    let fill =
        tmlc_ir::prepare::pad_element(a.value, out).ok_or_else(|| InterpError::Unsupported {
            op: "pad",
            reason: "a per-axis quantized result".into(),
        })?;
    let in_shape = &x.ty.shape;
    let in_strides = strides(in_shape);
    let rank = out.shape.len();
    let total: usize = out.shape.iter().product();
    // For each output element, the input offset, or None in the padding.
    let mut offsets = Vec::with_capacity(total);
    let mut idx = vec![0usize; rank];
    for _ in 0..total {
        let mut off = Some(0usize);
        for d in 0..rank {
            let (Some(&i), Some(&b), Some(&n), Some(&s)) = (
                idx.get(d),
                a.before.get(d),
                in_shape.get(d),
                in_strides.get(d),
            ) else {
                return Err(internal("pad rank mismatch"));
            };
            off = match (off, i.checked_sub(b)) {
                (Some(o), Some(j)) if j < n => Some(o + j * s),
                _ => None,
            };
        }
        offsets.push(off);
        for d in (0..rank).rev() {
            if let (Some(i), Some(&n)) = (idx.get_mut(d), out.shape.get(d)) {
                *i += 1;
                if *i < n {
                    break;
                }
                *i = 0;
            }
        }
    }
    with_elem!(x.data.dtype(), T => {
        let v = T::view(&x.data).ok_or_else(|| internal("dtype mismatch"))?;
        let f = T::view(&fill)
            .and_then(|f| f.first().copied())
            .ok_or_else(|| InterpError::Unsupported {
                op: "pad",
                reason: format!("operand dtype {} differs from result dtype {}", x.data.dtype(), out.dtype),
            })?;
        let res: Result<Vec<T>, InterpError> = offsets
            .iter()
            .map(|o| match o {
                None => Ok(f),
                Some(i) => v.get(*i).copied().ok_or_else(|| internal("pad index out of range")),
            })
            .collect();
        Ok(T::wrap(res?))
    })
}

/// `slice`: `y[i] = x[begin + i * step]` per dimension.
fn slice(a: &SliceAttrs, x: &Tensor, out: &TensorType) -> Result<TensorData, InterpError> {
    let in_strides = strides(&x.ty.shape);
    let start: usize = a.begin.iter().zip(&in_strides).map(|(b, s)| b * s).sum();
    let steps: Vec<usize> = a.step.iter().zip(&in_strides).map(|(t, s)| t * s).collect();
    let walk = StridedWalk::new(&out.shape, steps).map(|i| i + start);
    with_elem!(x.data.dtype(), T => {
        let v = T::view(&x.data).ok_or_else(|| internal("dtype mismatch"))?;
        Ok(T::wrap(gather(v, walk)?))
    })
}

/// `lookup`: `y[i] = table[byte(x[i])]`.
pub(crate) fn lookup(x: &Tensor, table: &Tensor) -> Result<TensorData, InterpError> {
    let bytes: Vec<usize> = match &x.data {
        TensorData::I8(v) => v.iter().map(|&b| b as u8 as usize).collect(),
        TensorData::U8(v) => v.iter().map(|&b| b as usize).collect(),
        d => return Err(internal(&format!("lookup of {} elements", d.dtype()))),
    };
    with_elem!(table.data.dtype(), T => {
        let t = T::view(&table.data).ok_or_else(|| internal("dtype mismatch"))?;
        Ok(T::wrap(gather(t, bytes.into_iter())?))
    })
}
