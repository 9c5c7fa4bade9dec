//! `fold-batchnorm`: removes every `batch_norm` with constant parameters.
//!
//! With `a = scale / sqrt(var + epsilon)` and `c = bias - mean * a` per
//! channel (f32), `batch_norm(x) = x * a + c`:
//! - after an f32 `conv2d` or `fully_connected` without activation, with
//!   constant weights and bias, whose result only the `batch_norm` reads,
//!   the weights of output channel `o` are scaled by `a[o]` and the bias
//!   becomes `bias * a + c`: the `batch_norm` disappears;
//! - anywhere else it becomes `add(mul(x, a), c)` (broadcast over the last
//!   axis).
//!
//! Not bit-exact: the folded arithmetic rounds differently (results agree
//! to f32 rounding, about 1e-6 relative).

use crate::passes::weighted::{absorbing_producer, f32_const};
use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{BinaryAttrs, DType, Graph, GraphError, Op, ResultType, TensorData, TensorType};

/// The `fold-batchnorm` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct FoldBatchNorm;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "fold-batchnorm",
    description:
        "fold batch_norm into the preceding conv / fully_connected, or turn it into mul + add",
    options: &[],
    build: |_| Ok(Box::new(FoldBatchNorm)),
};

fn failed(e: GraphError) -> PassError {
    PassError::failed(INFO.name, e)
}

impl Pass for FoldBatchNorm {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let mut changed = false;
        for n in g.node_ids() {
            let node = g.node(n);
            let Op::BatchNorm(bn) = &node.op else {
                continue;
            };
            let (eps, x, y) = (bn.epsilon, node.operands[0], node.result);
            let params: Option<Vec<&[f32]>> = node.operands[1..]
                .iter()
                .map(|&v| f32_const(g, v))
                .collect();
            let Some([s, b, m, v]) = params.as_deref() else {
                continue;
            };
            let a: Vec<f32> = s
                .iter()
                .zip(*v)
                .map(|(s, v)| s / (v + eps).sqrt())
                .collect();
            let c: Vec<f32> = b
                .iter()
                .zip(*m)
                .zip(&a)
                .map(|((b, m), a)| b - m * a)
                .collect();
            let name = g.value(y).name.clone();
            let vec_ty = TensorType::new(DType::F32, vec![a.len()]);
            if let Some(p) = absorbing_producer(g, x) {
                let pn = g.node(p).clone();
                let w = f32_const(g, pn.operands[1]).unwrap_or_default();
                let per = w.len() / a.len().max(1);
                let w2: Vec<f32> = w
                    .iter()
                    .enumerate()
                    .map(|(i, w)| w * a[i / per.max(1)])
                    .collect();
                let b2: Vec<f32> = match pn.operands.get(2).and_then(|&b| f32_const(g, b)) {
                    Some(bias) => bias
                        .iter()
                        .zip(&a)
                        .zip(&c)
                        .map(|((b, a), c)| b * a + c)
                        .collect(),
                    None => c,
                };
                let wty = g.value(pn.operands[1]).ty.clone();
                let wk = g.add_const(&format!("{name}_w"), wty, TensorData::F32(w2));
                let bk = g.add_const(&format!("{name}_b"), vec_ty, TensorData::F32(b2));
                g.replace_node(p, pn.op, vec![pn.operands[0], wk, bk])
                    .map_err(failed)?;
                g.replace_all_uses(y, x);
                g.remove_node(n).map_err(failed)?;
            } else {
                let ak = g.add_const(&format!("{name}_scale"), vec_ty.clone(), TensorData::F32(a));
                let ck = g.add_const(&format!("{name}_shift"), vec_ty, TensorData::F32(c));
                let mul = Op::Mul(BinaryAttrs::default());
                let scaled = g
                    .add_op(
                        mul,
                        vec![x, ak],
                        &format!("{name}_scaled"),
                        ResultType::Inferred,
                    )
                    .map_err(failed)?;
                g.replace_node(n, Op::Add(BinaryAttrs::default()), vec![scaled, ck])
                    .map_err(failed)?;
            }
            changed = true;
        }
        Ok(changed.into())
    }
}
