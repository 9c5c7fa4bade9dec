//! The per-op layout hook: how an op reads when its operands and result
//! are stored transposed. Transpose sinking and layout changes ask each op
//! through [`Op::permute_axes`] instead of listing ops.

use crate::{MeanAttrs, Op, OpFamily, PadAttrs, SliceAttrs, SoftmaxAttrs, TransposeAttrs};

/// `inv[perm[i]] = i`, if `perm` is a permutation.
fn inverse(perm: &[usize]) -> Option<Vec<usize>> {
    let mut inv = vec![usize::MAX; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        if p >= perm.len() || inv[p] != usize::MAX {
            return None;
        }
        inv[p] = i;
    }
    Some(inv)
}

fn permuted<T: Clone>(v: &[T], perm: &[usize]) -> Option<Vec<T>> {
    perm.iter().map(|&p| v.get(p).cloned()).collect()
}

impl Op {
    /// The op computing `transpose(op(x...), perm)` from
    /// `transpose(x, perm)...`, every operand and the result having rank
    /// `perm.len()` (`transpose(t, perm).shape[i] = t.shape[perm[i]]`);
    /// `None` when no single op does (windows, matrix products, reshapes,
    /// a `mean` that drops axes, a `batch_norm` whose channel axis moves),
    /// or `perm` is not a permutation. Element-wise ops are unchanged;
    /// ops with axes get them renumbered.
    pub fn permute_axes(&self, perm: &[usize]) -> Option<Op> {
        let inv = inverse(perm)?;
        let axis = |a: usize| inv.get(a).copied();
        Some(match self {
            Op::Softmax(s) => {
                let a = s.axis_for(perm.len())?;
                Op::Softmax(SoftmaxAttrs {
                    beta: s.beta,
                    axis: axis(a)? as i64,
                })
            }
            Op::Concat(c) => Op::Concat(crate::ConcatAttrs {
                axis: axis(c.axis)?,
            }),
            Op::Mean(m) if m.keep_dims => {
                let mut axes = m
                    .axes
                    .iter()
                    .map(|&a| axis(a))
                    .collect::<Option<Vec<_>>>()?;
                axes.sort_unstable();
                Op::Mean(MeanAttrs {
                    axes,
                    keep_dims: true,
                })
            }
            Op::Pad(p) => Op::Pad(PadAttrs {
                before: permuted(&p.before, perm)?,
                after: permuted(&p.after, perm)?,
                value: p.value,
            }),
            Op::Slice(s) => Op::Slice(SliceAttrs {
                begin: permuted(&s.begin, perm)?,
                end: permuted(&s.end, perm)?,
                step: permuted(&s.step, perm)?,
            }),
            Op::Transpose(t) => Op::Transpose(TransposeAttrs {
                perm: perm
                    .iter()
                    .map(|&p| t.perm.get(p).and_then(|&q| axis(q)))
                    .collect::<Option<Vec<_>>>()?,
            }),
            Op::BatchNorm(_) if perm.last() == Some(&(perm.len() - 1)) => self.clone(),
            op if matches!(
                op.family(),
                OpFamily::Unary | OpFamily::Binary | OpFamily::Convert
            ) =>
            {
                op.clone()
            }
            _ => return None,
        })
    }
}
