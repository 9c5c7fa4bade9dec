//! Shared by the passes that fold per-channel constant arithmetic into the
//! weights and bias of the conv2d / fully_connected before it
//! (`fold-batchnorm`, `fold-channel-scale`, `fold-bias-add`).

use tmlc_ir::{Activation, DType, Graph, GraphError, NodeId, Op, TensorData, TensorType, ValueId};

/// The contents of `v` if it is an f32 constant.
pub(crate) fn f32_const(g: &Graph, v: ValueId) -> Option<&[f32]> {
    match g.const_data(v)? {
        TensorData::F32(d) => Some(d),
        _ => None,
    }
}

/// The per-channel values of constant `c` for `channels` channels of the
/// last axis: `c`'s dimensions are all 1 except the last, which is 1
/// (broadcast) or `channels`.
pub(crate) fn per_channel(g: &Graph, c: ValueId, channels: usize) -> Option<Vec<f32>> {
    let data = f32_const(g, c)?;
    let shape = &g.value(c).ty.shape;
    let (last, rest) = shape.split_last().unwrap_or((&1, &[]));
    if rest.iter().any(|&d| d != 1) {
        return None;
    }
    match *last {
        1 => Some(vec![*data.first()?; channels]),
        n if n == channels => Some(data.to_vec()),
        _ => None,
    }
}

/// The producer of `x` if its weights can absorb a per-output-channel
/// affine map of `x`: an f32 conv2d / fully_connected without activation,
/// with constant weights (and bias), whose result `x` only one op reads
/// (and is not a graph output).
pub(crate) fn absorbing_producer(g: &Graph, x: ValueId) -> Option<NodeId> {
    let p = g.producer(x)?;
    let node = g.node(p);
    let fits = matches!(node.op, Op::Conv2d(_) | Op::FullyConnected(_))
        && node.op.activation() == Some(Activation::None)
        && g.use_count(x) == 1
        && !g.outputs().contains(&x)
        && g.value(x).ty.dtype == DType::F32
        && node.operands[1..]
            .iter()
            .all(|&v| f32_const(g, v).is_some());
    fits.then_some(p)
}

/// For a binary node `n` with one operand made by an
/// [`absorbing_producer`] and the other a per-channel constant, not
/// broadcasting the producer's result to a larger shape: the producer and
/// the constant's per-channel values.
pub(crate) fn channel_operand(g: &Graph, n: NodeId) -> Option<(NodeId, Vec<f32>)> {
    let node = g.node(n);
    let y = &g.value(node.result).ty;
    node.operands.iter().enumerate().find_map(|(i, &x)| {
        let p = absorbing_producer(g, x)?;
        let xt = &g.value(x).ty;
        if xt.shape != y.shape || node.operands.len() != 2 {
            return None;
        }
        let c = per_channel(g, node.operands[1 - i], *xt.shape.last()?)?;
        Some((p, c))
    })
}

/// Makes `p` (an [`absorbing_producer`]) absorb `n`, the per-channel op
/// that alone reads its result: `p` takes `weights` (when given, as a new
/// constant of the old weights' type), `bias` (a new constant) and `n`'s
/// activation; `n` goes, and its result's name (the model's, for an
/// output) passes to `p`'s result.
pub(crate) fn absorb(
    g: &mut Graph,
    p: NodeId,
    n: NodeId,
    weights: Option<Vec<f32>>,
    bias: Vec<f32>,
) -> Result<(), GraphError> {
    let act = g.node(n).op.activation().unwrap_or_default();
    let pn = g.node(p).clone();
    let (x, y) = (pn.result, g.node(n).result);
    let keep = g.value(y).name.clone();
    let w = match weights {
        Some(w) => {
            let ty = g.value(pn.operands[1]).ty.clone();
            let name = g.fresh_name(&format!("{keep}_w"));
            g.add_const(&name, ty, TensorData::F32(w))
        }
        None => pn.operands[1],
    };
    let ty = TensorType::new(DType::F32, vec![bias.len()]);
    let name = g.fresh_name(&format!("{keep}_bias"));
    let b = g.add_const(&name, ty, TensorData::F32(bias));
    let mut op = pn.op;
    op.set_activation(act);
    g.replace_node(p, op, vec![pn.operands[0], w, b])?;
    g.replace_all_uses(y, x);
    g.remove_node(n)?;
    g.rename(x, &keep);
    Ok(())
}
