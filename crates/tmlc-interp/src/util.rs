//! Plumbing shared by the kernels: typed views of tensor data, quantization
//! parameter access, row-major index walkers (broadcasting, permutations,
//! reductions) and C-compatible clamps.
//!
//! Kernels run after [`crate::eval_op`] has checked every operand against
//! the op's typing rules (`tmlc_ir::verify::check_op`) and checked that each
//! operand's data has exactly `numel` elements of its dtype, so index
//! arithmetic derived from the shapes stays in bounds. Accessors still
//! return [`InterpError`] instead of panicking on anything unexpected.

use crate::InterpError;
use tmlc_ir::{broadcast_strides, strides, DType, Tensor, TensorData, TensorType};

/// An element type of [`TensorData`], for dtype-generic kernels.
pub(crate) trait Elem: Copy + 'static {
    /// The elements of `d`, if it holds this type.
    fn view(d: &TensorData) -> Option<&[Self]>;
    /// Wraps elements of this type.
    fn wrap(v: Vec<Self>) -> TensorData;
}

macro_rules! impl_elem {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl Elem for $t {
            fn view(d: &TensorData) -> Option<&[$t]> {
                match d {
                    TensorData::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn wrap(v: Vec<$t>) -> TensorData {
                TensorData::$variant(v)
            }
        }
    )*};
}

impl_elem!(f32 => F32, i8 => I8, u8 => U8, i16 => I16, i32 => I32, i64 => I64, bool => Bool);

/// Runs `$body` with the type alias `$T` bound to the Rust element type of
/// the dtype `$dtype`.
macro_rules! with_elem {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            tmlc_ir::DType::F32 => {
                type $T = f32;
                $body
            }
            tmlc_ir::DType::I8 => {
                type $T = i8;
                $body
            }
            tmlc_ir::DType::U8 => {
                type $T = u8;
                $body
            }
            // Weights only (the verifier keeps i4 out of every other op).
            tmlc_ir::DType::I4 => Err($crate::util::internal("i4 data outside weights")),
            tmlc_ir::DType::I16 => {
                type $T = i16;
                $body
            }
            tmlc_ir::DType::I32 => {
                type $T = i32;
                $body
            }
            tmlc_ir::DType::I64 => {
                type $T = i64;
                $body
            }
            tmlc_ir::DType::Bool => {
                type $T = bool;
                $body
            }
        }
    };
}
pub(crate) use with_elem;

/// The elements of `t` as `T`, or an "unsupported dtype" error naming `what`.
pub(crate) fn view<'a, T: Elem>(
    t: &'a Tensor,
    op: &'static str,
    what: &str,
) -> Result<&'a [T], InterpError> {
    T::view(&t.data).ok_or_else(|| InterpError::Unsupported {
        op,
        reason: format!("{what} has unsupported dtype {}", t.data.dtype()),
    })
}

/// The weights of an int8 conv2d / fully_connected: i8 or i4 values (the
/// same arithmetic; i4 is only narrower).
pub(crate) fn weights_view<'a>(
    t: &'a Tensor,
    op: &'static str,
    what: &str,
) -> Result<&'a [i8], InterpError> {
    match &t.data {
        TensorData::I4(v) => Ok(v),
        _ => view::<i8>(t, op, what),
    }
}

/// The optional bias operand (index 2) of conv2d / fully_connected as `T`.
pub(crate) fn bias_view<'a, T: Elem>(
    operands: &[&'a Tensor],
    op: &'static str,
) -> Result<Option<&'a [T]>, InterpError> {
    operands
        .get(2)
        .map(|b| view::<T>(b, op, "bias"))
        .transpose()
}

/// Operand `i`, or an error (the operand count is checked before kernels
/// run, so this only fails on internal inconsistencies).
pub(crate) fn operand<'a>(
    operands: &[&'a Tensor],
    i: usize,
    op: &'static str,
) -> Result<&'a Tensor, InterpError> {
    operands
        .get(i)
        .copied()
        .ok_or_else(|| InterpError::InvalidOp {
            op,
            reason: format!("missing operand #{i}"),
        })
}

/// The per-tensor `(scale, zero_point)` of `ty`, or an error naming `what`.
pub(crate) fn per_tensor(
    ty: &TensorType,
    op: &'static str,
    what: &str,
) -> Result<(f32, i32), InterpError> {
    ty.qparams().ok_or_else(|| InterpError::Unsupported {
        op,
        reason: format!("{what} must be quantized per tensor, has type {ty}"),
    })
}

/// Dimension `i` of `shape`, or an error.
pub(crate) fn dim(shape: &[usize], i: usize, op: &'static str) -> Result<usize, InterpError> {
    shape.get(i).copied().ok_or_else(|| InterpError::InvalidOp {
        op,
        reason: format!("shape {shape:?} has no dimension {i}"),
    })
}

/// Walks the elements of `shape` in row-major order, yielding for each the
/// offset `sum(idx[d] * strides[d])` into some other buffer.
pub(crate) struct StridedWalk {
    shape: Vec<usize>,
    strides: Vec<usize>,
    idx: Vec<usize>,
    offset: usize,
    remaining: usize,
}

impl StridedWalk {
    /// A walk over `shape` with one stride per dimension.
    pub(crate) fn new(shape: &[usize], strides: Vec<usize>) -> StridedWalk {
        let remaining = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .unwrap_or(0);
        StridedWalk {
            shape: shape.to_vec(),
            idx: vec![0; shape.len()],
            strides,
            offset: 0,
            remaining,
        }
    }
}

impl Iterator for StridedWalk {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let cur = self.offset;
        for d in (0..self.shape.len()).rev() {
            let (Some(i), Some(&n), Some(&s)) =
                (self.idx.get_mut(d), self.shape.get(d), self.strides.get(d))
            else {
                break;
            };
            *i += 1;
            self.offset = self.offset.wrapping_add(s);
            if *i < n {
                break;
            }
            *i = 0;
            self.offset = self.offset.wrapping_sub(s.wrapping_mul(n));
        }
        Some(cur)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

/// For each element of `out` (row-major), the offsets of the two
/// broadcast operands, and `f` applied to them.
pub(crate) fn broadcast_map<A: Copy, B: Copy, R>(
    a: &[A],
    a_shape: &[usize],
    b: &[B],
    b_shape: &[usize],
    out_shape: &[usize],
    mut f: impl FnMut(A, B) -> R,
) -> Result<Vec<R>, InterpError> {
    let wa = StridedWalk::new(out_shape, broadcast_strides(out_shape, a_shape));
    let wb = StridedWalk::new(out_shape, broadcast_strides(out_shape, b_shape));
    let mut out = Vec::with_capacity(wa.size_hint().0);
    for (ia, ib) in wa.zip(wb) {
        match (a.get(ia), b.get(ib)) {
            (Some(&x), Some(&y)) => out.push(f(x, y)),
            _ => return Err(internal("broadcast index out of range")),
        }
    }
    Ok(out)
}

/// How a reduction over `axes` maps input elements to output slots: the
/// number of output slots, the number of reduced elements per slot, and a
/// walk over the input (row-major) yielding each element's output slot.
pub(crate) fn reduction(in_shape: &[usize], axes: &[usize]) -> (usize, usize, StridedWalk) {
    let kept: Vec<usize> = in_shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if axes.contains(&i) { 1 } else { d })
        .collect();
    let out_strides = strides(&kept);
    let strides = in_shape
        .iter()
        .enumerate()
        .map(|(i, _)| {
            if axes.contains(&i) {
                0
            } else {
                out_strides.get(i).copied().unwrap_or(0)
            }
        })
        .collect();
    let slots = kept
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .unwrap_or(0);
    let n = in_shape
        .iter()
        .enumerate()
        .filter(|(i, _)| axes.contains(i))
        .try_fold(1usize, |a, (_, &d)| a.checked_mul(d))
        .unwrap_or(0);
    (slots, n, StridedWalk::new(in_shape, strides))
}

/// An internal inconsistency (a bug in the interpreter or an unverified
/// operand that slipped through).
pub(crate) fn internal(what: &str) -> InterpError {
    InterpError::InvalidGraph(format!("internal interpreter error: {what}"))
}

/// `std::min(std::max(v, lo), hi)` on int32, as the C kernels clamp (no
/// panic when `lo > hi`: the result is then `hi`).
pub(crate) fn clamp_i32(v: i32, lo: i32, hi: i32) -> i32 {
    let m = if v < lo { lo } else { v };
    if hi < m {
        hi
    } else {
        m
    }
}

/// `std::min(std::max(v, lo), hi)` on f32: NaN propagates, no panic when
/// `lo > hi`.
pub(crate) fn clamp_f32(v: f32, lo: f32, hi: f32) -> f32 {
    let m = if v < lo { lo } else { v };
    if hi < m {
        hi
    } else {
        m
    }
}

/// Saturating conversion to int8 (values are already clamped by the kernels;
/// this only guards the cast).
pub(crate) fn sat_i8(v: i32) -> i8 {
    v.clamp(-128, 127) as i8
}

/// The dtype's integer range, or an "unsupported" error.
pub(crate) fn int_range(dtype: DType, op: &'static str) -> Result<(i64, i64), InterpError> {
    dtype.int_range().ok_or_else(|| InterpError::Unsupported {
        op,
        reason: format!("{dtype} is not a quantizable integer type"),
    })
}

/// The per-element channel index for per-axis quantization along `axis` of
/// `shape`: element `i` belongs to channel `(i / stride[axis]) % shape[axis]`.
pub(crate) fn channel_of(shape: &[usize], axis: usize) -> impl Fn(usize) -> usize {
    let st = strides(shape).get(axis).copied().unwrap_or(1).max(1);
    let n = shape.get(axis).copied().unwrap_or(1).max(1);
    move |i| (i / st) % n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_walk_broadcast() {
        let out = [2, 3];
        let offs: Vec<usize> = StridedWalk::new(&out, broadcast_strides(&out, &[3])).collect();
        assert_eq!(offs, [0, 1, 2, 0, 1, 2]);
        let offs: Vec<usize> = StridedWalk::new(&out, broadcast_strides(&out, &[2, 1])).collect();
        assert_eq!(offs, [0, 0, 0, 1, 1, 1]);
        let offs: Vec<usize> = StridedWalk::new(&out, broadcast_strides(&out, &[])).collect();
        assert_eq!(offs, [0; 6]);
        let none: Vec<usize> = StridedWalk::new(&[2, 0, 3], vec![0, 0, 0]).collect();
        assert!(none.is_empty());
        let scalar: Vec<usize> = StridedWalk::new(&[], vec![]).collect();
        assert_eq!(scalar, [0]);
    }

    #[test]
    fn reduction_slots() {
        let (slots, n, w) = reduction(&[2, 3, 2], &[1]);
        assert_eq!((slots, n), (4, 3));
        let v: Vec<usize> = w.collect();
        assert_eq!(v, [0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3]);
    }

    #[test]
    fn c_clamps() {
        assert_eq!(clamp_i32(5, 10, 3), 3);
        assert_eq!(clamp_i32(-5, -3, 3), -3);
        assert!(clamp_f32(f32::NAN, 0.0, 6.0).is_nan());
        assert_eq!(clamp_f32(7.0, 0.0, 6.0), 6.0);
    }
}
