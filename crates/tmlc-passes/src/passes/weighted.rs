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

/// The conv2d / fully_connected layers whose weights are a constant (f32,
/// or int8 with per-tensor or per-output-channel parameters), in
/// execution order.
pub(crate) fn weight_layers(g: &Graph) -> Vec<NodeId> {
    let order = g.topo_order().unwrap_or_default();
    order
        .into_iter()
        .filter(|&n| {
            let node = g.node(n);
            matches!(node.op, Op::Conv2d(_) | Op::FullyConnected(_))
                && node
                    .operands
                    .get(1)
                    .is_some_and(|&w| real_weights(g, w).is_some())
        })
        .collect()
}

/// True for a depthwise conv2d (one input channel per group, several
/// groups).
pub(crate) fn is_depthwise(g: &Graph, n: NodeId) -> bool {
    match &g.node(n).op {
        Op::Conv2d(a) => {
            let w = &g.value(g.node(n).operands[1]).ty.shape;
            a.groups > 1 && w.last() == Some(&1)
        }
        _ => false,
    }
}

/// The real values of constant weights `w` (`[O, ...]`): f32 as they are,
/// int8 dequantized with their per-tensor or axis-0 parameters.
pub(crate) fn real_weights(g: &Graph, w: ValueId) -> Option<Vec<f32>> {
    let ty = &g.value(w).ty;
    match g.const_data(w)? {
        TensorData::F32(d) => Some(d.clone()),
        TensorData::I8(d) => {
            let q = ty.quant.as_ref()?;
            if !(q.is_per_tensor() || q.axis == Some(0)) {
                return None;
            }
            let rows = ty.shape.first().copied().unwrap_or(1).max(1);
            let k = (d.len() / rows).max(1);
            Some(
                d.iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let c = if q.is_per_tensor() { 0 } else { i / k };
                        q.scale_at(c) * (v as i32 - q.zero_point_at(c)) as f32
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}
