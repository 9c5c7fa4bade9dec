//! `softmax-last-axis`: rewrites a `softmax` over any axis but the last as
//! `transpose` (the axis moved last), `softmax` over the last axis, and
//! the inverse `transpose`, for backends whose kernels normalise rows.
//! Exact: the transposes only move values, and every row is normalised as
//! before.

use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{Graph, GraphError, Op, ResultType, SoftmaxAttrs, TensorType, TransposeAttrs};

/// The `softmax-last-axis` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoftmaxLastAxis;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "softmax-last-axis",
    description: "move the axis of a softmax last, between two transposes",
    options: &[],
    build: |_| Ok(Box::new(SoftmaxLastAxis)),
};

fn failed(e: GraphError) -> PassError {
    PassError::failed(INFO.name, e)
}

impl Pass for SoftmaxLastAxis {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let mut changed = false;
        for n in g.node_ids() {
            let node = g.node(n);
            let Op::Softmax(s) = &node.op else { continue };
            let (x, y) = (node.operands[0], node.result);
            let yt = g.value(y).ty.clone();
            let rank = yt.rank();
            let Some(axis) = s.axis_for(rank).filter(|&a| a + 1 != rank) else {
                continue;
            };
            let beta = s.beta;
            let mut perm: Vec<usize> = (0..rank).filter(|&d| d != axis).collect();
            perm.push(axis);
            let mut inv = vec![0; rank];
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            let name = g.value(y).name.clone();
            let moved = Op::Transpose(TransposeAttrs { perm: perm.clone() });
            let xm = g
                .add_op(moved, vec![x], &format!("{name}_in"), ResultType::Inferred)
                .map_err(failed)?;
            let ym_ty = TensorType {
                shape: perm.iter().map(|&p| yt.shape[p]).collect(),
                ..yt.clone()
            };
            let sm = Op::Softmax(SoftmaxAttrs::last_axis(beta));
            let ym = g
                .add_op(
                    sm,
                    vec![xm],
                    &format!("{name}_rows"),
                    ResultType::Given(ym_ty),
                )
                .map_err(failed)?;
            g.replace_node(n, Op::Transpose(TransposeAttrs { perm: inv }), vec![ym])
                .map_err(failed)?;
            changed = true;
        }
        Ok(changed.into())
    }
}
