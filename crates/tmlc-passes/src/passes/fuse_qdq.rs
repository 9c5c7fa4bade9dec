//! `fuse-qdq`: turns a float op between `dequantize` and `quantize` nodes
//! (the "QDQ" form of quantization-aware or onnxruntime-quantized models)
//! into the integer op it stands for.
//!
//! `%y = quantize(op(dequantize(%a), dequantize(%b), ...))` becomes
//! `%y = op(%a, %b, ...)` on the quantized values, with `%y`'s type:
//! - an op whose result quantization is free (conv2d, fully_connected,
//!   matmul, add, mul, mean, relu, clip, ...) takes `%y`'s parameters;
//! - an op that keeps its operand's parameters (pooling, reshape,
//!   transpose, concat, ...) or has fixed ones (softmax) is followed by a
//!   requantizing `quantize` when `%y`'s differ; the operands of a concat
//!   are requantized to `%y`'s parameters first;
//! - a unary element-wise op other than a clamp (sigmoid, tanh, hard_swish,
//!   leaky_relu, ...) on a per-tensor 8-bit operand becomes a 256-entry
//!   `lookup` table of the float op followed by `%y`'s `quantize`, computed
//!   with the interpreter: exactly the float composition.
//!
//! Dequantized constants (weights, biases) read through movement ops
//! (the transposes and reshapes a frontend puts on weights) are first moved
//! below them: `transpose(dequantize(%w))` becomes
//! `dequantize(transpose(%w))`, which is exact.
//!
//! The integer ops requantize with this IR's fixed-point arithmetic, not the
//! float arithmetic a QDQ graph denotes: results can differ by one unit of
//! the output scale where the real value is within rounding of a tie
//! (`spec/ir.md` §6.1). A candidate the IR's integer rules reject (for
//! example weights with a non-zero zero point) stays float.

use crate::passes::tabulate::byte_table;
use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{
    check_op, infer_type, DType, Graph, GraphError, NodeId, Op, OpFamily, QuantRule, QuantizeAttrs,
    ResultType, TensorData, TensorType, ValueId,
};

/// The `fuse-qdq` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct FuseQdq;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "fuse-qdq",
    description: "turn float ops between dequantize and quantize nodes into integer ops",
    options: &[],
    build: |_| Ok(Box::new(FuseQdq)),
};

fn failed(e: GraphError) -> PassError {
    PassError::failed(INFO.name, e)
}

/// The quantized value `v` is the dequantization of, if any.
fn dequantized(g: &Graph, v: ValueId) -> Option<ValueId> {
    let p = g.producer(v)?;
    let node = g.node(p);
    (node.op == Op::Dequantize).then(|| node.operands[0])
}

/// A single-operand movement op `n` may trade places with a conversion.
fn movable(g: &Graph, n: NodeId) -> bool {
    let node = g.node(n);
    node.op.family() == OpFamily::Movement
        && node.operands.len() == 1
        && !matches!(&node.op, Op::Pad(p) if p.value != 0.0)
}

/// `movement(dequantize(%v))` -> `dequantize(movement(%v))`. Returns the
/// value replacing `n`'s result.
fn sink_dequantize(g: &mut Graph, n: NodeId) -> Result<Option<ValueId>, PassError> {
    if !movable(g, n) {
        return Ok(None);
    }
    let node = g.node(n);
    let (op, r) = (node.op.clone(), node.result);
    let Some(w) = dequantized(g, node.operands[0]) else {
        return Ok(None);
    };
    let Ok(t) = infer_type(&op, &[&g.value(w).ty]) else {
        return Ok(None);
    };
    if t.quant.is_none() {
        return Ok(None);
    }
    let name = g.fresh_name(&format!("{}_q", g.value(r).name));
    let moved = g
        .add_op(op, vec![w], &name, ResultType::Given(t))
        .map_err(failed)?;
    let name = g.fresh_name(&format!("{}_dq", g.value(r).name));
    let d = g
        .add_op(Op::Dequantize, vec![moved], &name, ResultType::Inferred)
        .map_err(failed)?;
    Ok(Some(d))
}

/// `quantize(movement(%x))` -> `movement(quantize(%x))` when only the
/// quantize reads the movement's result.
fn hoist_quantize(g: &mut Graph, qn: NodeId) -> Result<Option<ValueId>, PassError> {
    let qnode = g.node(qn);
    let (qop, x, y) = (qnode.op.clone(), qnode.operands[0], qnode.result);
    let yt = g.value(y).ty.clone();
    let per_tensor = yt.quant.as_ref().is_some_and(|q| q.is_per_tensor());
    let Some(m) = g.producer(x) else {
        return Ok(None);
    };
    if !matches!(qop, Op::Quantize(_))
        || g.value(x).ty.dtype != DType::F32
        || !per_tensor
        || !movable(g, m)
        || g.use_count(x) != 1
        || g.outputs().contains(&x)
    {
        return Ok(None);
    }
    let (mop, inner) = (g.node(m).op.clone(), g.node(m).operands[0]);
    let qt = TensorType {
        shape: g.value(inner).ty.shape.clone(),
        ..yt.clone()
    };
    match infer_type(&mop, &[&qt]) {
        Ok(t) if t == yt => {}
        _ => return Ok(None),
    }
    let name = g.fresh_name(&format!("{}_q", g.value(inner).name));
    let q = g
        .add_op(qop, vec![inner], &name, ResultType::Given(qt))
        .map_err(failed)?;
    let name = g.fresh_name(&g.value(y).name.clone());
    let v = g
        .add_op(mop, vec![q], &name, ResultType::Given(yt))
        .map_err(failed)?;
    Ok(Some(v))
}

/// The 256-entry table of `quantize(op(dequantize(x)))` for every byte `x`
/// of type `xt`, quantized to `yt` by `q`.
fn unary_table(op: &Op, q: &Op, xt: &TensorType, yt: &TensorType) -> Option<TensorData> {
    let real = TensorType::new(DType::F32, vec![256]);
    byte_table(xt, &[(&Op::Dequantize, &real), (op, &real), (q, yt)]).ok()
}

/// A requantisation of `v` to `ty`'s parameters (a no-op when they match).
fn requantize(g: &mut Graph, v: ValueId, ty: &TensorType) -> Result<ValueId, PassError> {
    let vt = g.value(v).ty.clone();
    if vt.quant == ty.quant && vt.dtype == ty.dtype {
        return Ok(v);
    }
    let target = TensorType {
        shape: vt.shape.clone(),
        ..ty.clone()
    };
    let name = g.fresh_name(&format!("{}_rq", g.value(v).name));
    g.add_op(
        Op::Quantize(QuantizeAttrs::default()),
        vec![v],
        &name,
        ResultType::Given(target),
    )
    .map_err(failed)
}

/// Rewrites `quantize` node `qn` with its float producer into an integer
/// op, if the pattern holds. Returns the value replacing `qn`'s result.
fn fuse(g: &mut Graph, qn: NodeId) -> Result<Option<ValueId>, PassError> {
    let qnode = g.node(qn);
    let Op::Quantize(_) = qnode.op else {
        return Ok(None);
    };
    let (qop, x, y) = (qnode.op.clone(), qnode.operands[0], qnode.result);
    let yt = g.value(y).ty.clone();
    if g.value(x).ty.dtype != DType::F32 || !yt.quant.as_ref().is_some_and(|q| q.is_per_tensor()) {
        return Ok(None);
    }
    let Some(p) = g.producer(x) else {
        return Ok(None);
    };
    if g.use_count(x) != 1 || g.outputs().contains(&x) {
        return Ok(None);
    }
    let pnode = g.node(p);
    let op = pnode.op.clone();
    if op == Op::Dequantize {
        // A quantization round trip: at most a requantisation.
        let v = pnode.operands[0];
        let vt = &g.value(v).ty;
        if vt.dtype == DType::I8 && vt.quant.as_ref().is_some_and(|q| q.is_per_tensor()) {
            return Ok(Some(requantize(g, v, &yt)?));
        }
        return Ok(None);
    }
    if matches!(op, Op::Quantize(_) | Op::Lookup | Op::BatchNorm(_)) {
        return Ok(None);
    }
    let Some(ints) = pnode
        .operands
        .iter()
        .map(|&o| dequantized(g, o))
        .collect::<Option<Vec<ValueId>>>()
    else {
        return Ok(None);
    };
    let base = g.value(x).name.clone();
    let types: Vec<TensorType> = ints.iter().map(|&v| g.value(v).ty.clone()).collect();

    let clamp = matches!(op, Op::Relu | Op::Relu6 | Op::Clip(_));
    if op.family() == OpFamily::Unary && !clamp {
        let Some(table) = unary_table(&op, &qop, &types[0], &yt) else {
            return Ok(None);
        };
        let tt = TensorType::new(yt.dtype, vec![256]);
        let tname = g.fresh_name(&format!("{base}_table"));
        let t = g.add_const(&tname, tt, table);
        let name = g.fresh_name(&base);
        let v = g
            .add_op(Op::Lookup, vec![ints[0], t], &name, ResultType::Given(yt))
            .map_err(failed)?;
        return Ok(Some(v));
    }

    let refs: Vec<&TensorType> = types.iter().collect();
    let free = op.quant_rule() == QuantRule::Free;
    if free {
        if check_op(&op, &refs, &yt).is_err() {
            return Ok(None);
        }
        let name = g.fresh_name(&base);
        let v = g
            .add_op(op, ints, &name, ResultType::Given(yt))
            .map_err(failed)?;
        return Ok(Some(v));
    }
    // Same-as-input or fixed: the op in its own parameters, then a
    // requantisation; a concat's operands first meet in `yt`'s.
    let ints = if ints.len() > 1 {
        let same: Vec<TensorType> = types
            .iter()
            .map(|t| TensorType {
                shape: t.shape.clone(),
                ..yt.clone()
            })
            .collect();
        let refs: Vec<&TensorType> = same.iter().collect();
        if infer_type(&op, &refs).is_err() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(ints.len());
        for (v, t) in ints.into_iter().zip(&same) {
            out.push(requantize(g, v, t)?);
        }
        out
    } else {
        match infer_type(&op, &refs) {
            Ok(t) if t.quant.is_some() => ints,
            _ => return Ok(None),
        }
    };
    let name = g.fresh_name(&format!("{base}_int"));
    let v = g
        .add_op(op, ints, &name, ResultType::Inferred)
        .map_err(failed)?;
    Ok(Some(requantize(g, v, &yt)?))
}

impl Pass for FuseQdq {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let rules: [Rule; 3] = [sink_dequantize, hoist_quantize, fuse];
        let mut changed = false;
        // Every rewrite removes a float node between conversions, so the
        // rounds are bounded by the node count; the cap is a safety net.
        for _ in 0..=g.node_count() {
            let order = g
                .topo_order()
                .map_err(|_| PassError::failed(INFO.name, "graph has a cycle"))?;
            let mut round = false;
            for n in order {
                for rule in rules {
                    if g.try_node(n).is_none() {
                        break;
                    }
                    if let Some(v) = rule(g, n)? {
                        replace(g, n, v)?;
                        round = true;
                    }
                }
            }
            if !round {
                break;
            }
            changed = true;
        }
        Ok(changed.into())
    }
}

/// A rewrite at one node: the value that replaces the node's result.
type Rule = fn(&mut Graph, NodeId) -> Result<Option<ValueId>, PassError>;

/// Replaces node `n`'s result with `v` (which takes its name) and removes
/// `n` with the nodes only it read, so that use counts stay meaningful for
/// the next rewrite.
fn replace(g: &mut Graph, n: NodeId, v: ValueId) -> Result<(), PassError> {
    let old = g.node(n).result;
    let name = g.value(old).name.clone();
    g.replace_all_uses(old, v);
    let mut dead = vec![n];
    while let Some(d) = dead.pop() {
        let operands = g.node(d).operands.clone();
        g.remove_node(d).map_err(failed)?;
        for o in operands {
            if let Some(p) = g.producer(o) {
                if !g.is_used(o) && !dead.contains(&p) {
                    dead.push(p);
                }
            }
        }
    }
    g.rename(v, &name);
    Ok(())
}
