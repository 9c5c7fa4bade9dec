//! `fold-pad`: a `pad` of the two spatial dimensions of an NHWC tensor by
//! real 0, read by a `conv2d`, becomes part of the conv's own padding (the
//! conv pads with real 0 too: 0.0 in f32, the input's zero point in int8).
//! The conv reads the pad's operand; the pad is left to `dce` when nothing
//! else reads it. Exact.
//!
//! Pooling keeps its `pad`: max pooling ignores padded taps where a `pad`
//! supplies zeros, and average pooling over explicit zeros counts them,
//! which the int8 kernels do not do.

use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{Graph, Op};

/// The `fold-pad` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct FoldPad;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "fold-pad",
    description: "fold a zero pad of H and W into the conv2d that reads it",
    options: &[],
    build: |_| Ok(Box::new(FoldPad)),
};

/// `[top, left, bottom, right]` of a zero pad of H and W only.
fn spatial_pad(op: &Op) -> Option<[usize; 4]> {
    let Op::Pad(p) = op else { return None };
    let (b, a) = (&p.before, &p.after);
    let only_hw = b.len() == 4 && a.len() == 4 && b[0] + b[3] + a[0] + a[3] == 0;
    (only_hw && p.value == 0.0).then(|| [b[1], b[2], a[1], a[2]])
}

impl Pass for FoldPad {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let failed = |e| PassError::failed(INFO.name, e);
        let mut changed = false;
        for n in g.node_ids() {
            let node = g.node(n);
            let Op::Conv2d(c) = &node.op else { continue };
            let Some(p) = g.producer(node.operands[0]) else {
                continue;
            };
            let Some(extra) = spatial_pad(&g.node(p).op) else {
                continue;
            };
            let x = g.node(p).operands[0];
            let mut c = c.clone();
            for (mine, more) in c.pad.iter_mut().zip(extra) {
                *mine += more;
            }
            let mut operands = node.operands.clone();
            operands[0] = x;
            g.replace_node(n, Op::Conv2d(c), operands).map_err(failed)?;
            changed = true;
        }
        Ok(changed.into())
    }
}
