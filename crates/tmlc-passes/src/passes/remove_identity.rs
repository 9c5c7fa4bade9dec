//! `remove-identity`: removes ops that return their operand unchanged.
//!
//! An op is an identity when its result has exactly the operand's type
//! (dtype, shape, quantization) and it provably computes `x`:
//! - `reshape` to the same shape, `slice` of everything;
//! - `transpose` with the identity permutation;
//! - `pad` with all-zero padding;
//! - `concat` of a single operand;
//! - `quantize` (requantize) with identical parameters;
//! - `clip` on f32 with `[-inf, inf]`.
//!
//! Uses of the result (and graph outputs) are redirected to the operand.
//! A graph output keeps its position and its name (the operand takes it)
//! unless the operand is a graph input or output itself.

use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{DType, Graph, Op};

/// The `remove-identity` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct RemoveIdentity;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "remove-identity",
    description: "remove no-op reshapes, transposes, pads, slices, single-operand concats, same-parameter requantizations",
    options: &[],
    build: |_| Ok(Box::new(RemoveIdentity)),
};

fn is_identity(op: &Op, in_dtype: DType) -> bool {
    match op {
        Op::Reshape(_) | Op::Slice(_) => true,
        Op::Transpose(t) => t.perm.iter().enumerate().all(|(i, &p)| i == p),
        Op::Pad(p) => p.before.iter().chain(&p.after).all(|&x| x == 0),
        Op::Concat(_) => true,
        Op::Quantize(_) => in_dtype != DType::F32,
        Op::Clip(c) => {
            in_dtype == DType::F32 && c.min == f32::NEG_INFINITY && c.max == f32::INFINITY
        }
        _ => false,
    }
}

impl Pass for RemoveIdentity {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let mut changed = false;
        for n in g.node_ids() {
            let node = g.node(n);
            if node.operands.len() != 1 {
                continue;
            }
            let x = node.operands[0];
            let r = node.result;
            let (xt, rt) = (&g.value(x).ty, &g.value(r).ty);
            if xt != rt || !is_identity(&node.op, xt.dtype) {
                continue;
            }
            let keep_name =
                g.outputs().contains(&r) && g.producer(x).is_some() && !g.outputs().contains(&x);
            let name = g.value(r).name.clone();
            g.replace_all_uses(r, x);
            g.remove_node(n)
                .map_err(|e| PassError::failed(INFO.name, e))?;
            if keep_name {
                g.rename(x, &name);
            }
            changed = true;
        }
        Ok(changed.into())
    }
}
