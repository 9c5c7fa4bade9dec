//! ONNX operators to IR ops, one function per operator family. Converters
//! ask the importer for the layout they need (`nhwc` for windows, `plain`
//! for shape ops) and define each output in the form they produce.

use crate::import::{const_f32, const_ints, f32_ty, Importer, Node, Val, TO_NHWC};
use crate::tensor;
use crate::OnnxError;
use tmlc_ir::{
    numel, BatchNormAttrs, BinaryAttrs, ClipAttrs, LeakyReluAttrs, MeanAttrs, Op, ReshapeAttrs,
    SoftmaxAttrs, TensorData, TransposeAttrs, ValueId,
};

mod dense;
mod quant;
mod resize;
mod shape;
mod window;

type R<T> = Result<T, OnnxError>;

/// Converts one node.
pub(crate) fn convert(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    match n.op() {
        "Identity" => alias(imp, n),
        "Dropout" => dropout(imp, n),
        "Constant" => constant(imp, n),
        "Relu" | "Sigmoid" | "Tanh" | "LeakyRelu" | "Elu" | "HardSwish" | "Clip" => unary(imp, n),
        "Add" | "Sub" | "Mul" => binary(imp, n),
        "Conv" => window::conv(imp, n),
        "ConvTranspose" => window::conv_transpose(imp, n),
        "MaxPool" | "AveragePool" => window::pool(imp, n),
        "GlobalAveragePool" | "GlobalMaxPool" => window::global_pool(imp, n),
        "BatchNormalization" => batch_norm(imp, n),
        "Gemm" => dense::gemm(imp, n),
        "MatMul" => dense::matmul(imp, n),
        "Flatten" | "Reshape" => shape::reshape(imp, n),
        "Squeeze" | "Unsqueeze" => shape::squeeze(imp, n),
        "Transpose" => shape::transpose(imp, n),
        "Concat" => shape::concat(imp, n),
        "Pad" => shape::pad(imp, n),
        "Slice" => shape::slice(imp, n),
        "Split" => shape::split(imp, n),
        "Shape" => shape::shape(imp, n),
        "Gather" => shape::gather(imp, n),
        "Cast" => shape::cast(imp, n),
        "ConstantOfShape" => shape::constant_of_shape(imp, n),
        "ReduceMean" => reduce_mean(imp, n),
        "ReduceMax" => reduce_max(imp, n),
        "PRelu" => prelu(imp, n),
        "Resize" | "Upsample" => resize::resize(imp, n),
        "HardSigmoid" => hard_sigmoid(imp, n),
        "Div" => div(imp, n),
        "Softmax" => softmax(imp, n),
        "QuantizeLinear" => quant::quantize_linear(imp, n),
        "DequantizeLinear" => quant::dequantize_linear(imp, n),
        "QLinearConv" | "QLinearMatMul" => quant::qlinear(imp, n),
        op => Err(OnnxError::UnsupportedOp {
            op: op.to_string(),
            node: n.name.clone(),
        }),
    }
}

/// Defines output 0 as `v` in layout `nhwc`.
pub(super) fn out(imp: &mut Importer<'_>, n: &Node<'_>, v: ValueId, nhwc: bool) -> R<()> {
    let val = if nhwc {
        Val {
            plain: None,
            nhwc: Some(v),
            flat: None,
        }
    } else {
        Val {
            plain: Some(v),
            nhwc: None,
            flat: None,
        }
    };
    imp.define(n.output(0)?, val);
    Ok(())
}

fn alias(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let v = imp.val(n, n.req(0)?)?;
    imp.define(n.output(0)?, v);
    Ok(())
}

/// `Dropout` in inference: the identity, and an all-true mask.
fn dropout(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    if let Some(t) = n.input(2) {
        let v = imp.plain(n, t)?;
        match imp.const_data(v) {
            Some(TensorData::Bool(b)) if b.iter().all(|&x| !x) => {}
            _ => {
                return Err(n.err(
                    "training mode is not supported (training_mode must be a constant false)",
                ))
            }
        }
    }
    alias(imp, n)?;
    if let Some(mask) = n.p.output.get(1).filter(|m| !m.is_empty()) {
        let x = imp.plain(n, n.req(0)?)?;
        let shape = imp.ty(x).shape.clone();
        let count = numel(&shape);
        let ty = tmlc_ir::TensorType::new(tmlc_ir::DType::Bool, shape);
        imp.define_const(mask, ty, TensorData::Bool(vec![true; count]));
    }
    Ok(())
}

fn constant(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let name = n.output(0)?;
    let (ty, data) = if let Some(t) = n.tensor("value") {
        tensor::read(t, None)?
    } else if n.has_attr("value_float") {
        (
            f32_ty(vec![]),
            TensorData::F32(vec![n.float("value_float", 0.0)]),
        )
    } else if let Some(v) = n.floats("value_floats") {
        (f32_ty(vec![v.len()]), TensorData::F32(v.to_vec()))
    } else if n.has_attr("value_int") {
        let t = tmlc_ir::TensorType::new(tmlc_ir::DType::I64, vec![]);
        (t, TensorData::I64(vec![n.int("value_int", 0)]))
    } else if let Some(v) = n.ints("value_ints") {
        let t = tmlc_ir::TensorType::new(tmlc_ir::DType::I64, vec![v.len()]);
        (t, TensorData::I64(v.to_vec()))
    } else {
        return Err(n.err("needs a value, value_float(s) or value_int(s) attribute"));
    };
    imp.define_const(name, ty, data);
    Ok(())
}

/// An element-wise op keeps its operand's layout.
fn unary(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let x = n.req(0)?;
    let op = match n.op() {
        "Relu" => Op::Relu,
        "Sigmoid" => Op::Sigmoid,
        "Tanh" => Op::Tanh,
        "HardSwish" => Op::HardSwish,
        "LeakyRelu" => Op::LeakyRelu(LeakyReluAttrs {
            alpha: n.float("alpha", 0.01),
        }),
        "Elu" => Op::Elu(tmlc_ir::EluAttrs {
            alpha: n.float("alpha", 1.0),
        }),
        _ => {
            // Clip: attributes before opset 11, optional inputs after.
            let (mut lo, mut hi) = (
                n.float("min", f32::NEG_INFINITY),
                n.float("max", f32::INFINITY),
            );
            for (i, bound) in [(1, &mut lo), (2, &mut hi)] {
                if let Some(b) = n.input(i) {
                    let v = imp.plain(n, b)?;
                    *bound = imp
                        .const_data(v)
                        .and_then(const_f32)
                        .ok_or_else(|| n.err("min and max must be constant f32 scalars"))?;
                }
            }
            // ONNX: with min > max every value becomes max.
            Op::Clip(ClipAttrs {
                min: lo.min(hi),
                max: hi,
            })
        }
    };
    let nhwc = imp.is_nhwc(x);
    let v = if nhwc {
        imp.nhwc(n, x)?
    } else {
        imp.plain(n, x)?
    };
    let y = imp.op(n, op, vec![v], n.output(0)?)?;
    out(imp, n, y, nhwc)
}

/// `b` (any rank <= 4, broadcast against a rank-4 NCHW tensor) in NHWC:
/// reshaped to rank 4 with leading ones, then transposed.
fn broadcast_nhwc(imp: &mut Importer<'_>, n: &Node<'_>, b: &str) -> R<ValueId> {
    if imp.is_nhwc(b) {
        return imp.nhwc(n, b);
    }
    let v = imp.plain(n, b)?;
    let shape = imp.ty(v).shape.clone();
    if shape.len() > 4 {
        return Err(n.err("an operand of rank above 4 against an image tensor"));
    }
    let mut four = vec![1; 4 - shape.len()];
    four.extend(&shape);
    let name = format!("{}_4d", imp.g.value(v).name);
    let r = imp.op(n, Op::Reshape(ReshapeAttrs { shape: four }), vec![v], &name)?;
    let name = format!("{}_nhwc", imp.g.value(v).name);
    imp.op(
        n,
        Op::Transpose(TransposeAttrs {
            perm: TO_NHWC.to_vec(),
        }),
        vec![r],
        &name,
    )
}

fn binary(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    if shape::fold_int_arith(imp, n)? {
        return Ok(());
    }
    let (a, b) = (n.req(0)?, n.req(1)?);
    let attrs = BinaryAttrs::default();
    let op = match n.op() {
        "Add" => Op::Add(attrs),
        "Sub" => Op::Sub(attrs),
        "Div" => Op::Div(attrs),
        _ => Op::Mul(attrs),
    };
    let nhwc = imp.is_nhwc(a) || imp.is_nhwc(b);
    let (x, y) = if nhwc {
        (broadcast_nhwc(imp, n, a)?, broadcast_nhwc(imp, n, b)?)
    } else {
        (imp.plain(n, a)?, imp.plain(n, b)?)
    };
    let r = imp.op(n, op, vec![x, y], n.output(0)?)?;
    out(imp, n, r, nhwc)
}

fn batch_norm(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    if n.p.output.iter().filter(|o| !o.is_empty()).count() > 1 {
        return Err(n.err("training mode (running mean/variance outputs) is not supported"));
    }
    let xn = n.req(0)?;
    let rank = {
        let v = imp.val(n, xn)?;
        imp.ty(v.plain.or(v.nhwc).ok_or_else(|| n.err("no input"))?)
            .rank()
    };
    let (x, nhwc) = match rank {
        4 => (imp.nhwc(n, xn)?, true),
        2 => (imp.plain(n, xn)?, false),
        r => return Err(n.err(format!("input of rank {r} (supported: 2 and 4)"))),
    };
    let mut operands = vec![x];
    for i in 1..5 {
        let p = imp.plain(n, n.req(i)?)?;
        if imp.const_data(p).is_none() {
            // Inference: the statistics are part of the model.
            return Err(n.err("scale, B, mean and var must be constants"));
        }
        operands.push(p);
    }
    let op = Op::BatchNorm(BatchNormAttrs {
        epsilon: n.float("epsilon", 1e-5),
    });
    let y = imp.op(n, op, operands, n.output(0)?)?;
    out(imp, n, y, nhwc)
}

/// `Softmax`: before opset 13 the input is flattened to 2-D at `axis`
/// (default 1); from 13 on, `axis` (default -1) is the normalised axis.
fn softmax(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let x = imp.plain(n, n.req(0)?)?;
    let xs = imp.ty(x).shape.clone();
    let r = xs.len() as i64;
    let sm = |axis| Op::Softmax(SoftmaxAttrs { beta: 1.0, axis });
    let y = if imp.opset >= 13 {
        imp.op(n, sm(n.int("axis", -1)), vec![x], n.output(0)?)?
    } else {
        let axis = n.int("axis", 1);
        let a = if axis < 0 { axis + r } else { axis };
        if !(0..r).contains(&a) {
            return Err(n.err(format!("axis {axis} is out of range for rank {r}")));
        }
        if a == r - 1 {
            imp.op(n, sm(-1), vec![x], n.output(0)?)?
        } else {
            let a = a as usize;
            let flat = vec![numel(&xs[..a]), numel(&xs[a..])];
            let f = imp.op(
                n,
                Op::Reshape(ReshapeAttrs { shape: flat }),
                vec![x],
                &format!("{}_2d", n.name),
            )?;
            let s = imp.op(n, sm(-1), vec![f], &format!("{}_rows", n.name))?;
            imp.op(
                n,
                Op::Reshape(ReshapeAttrs { shape: xs }),
                vec![s],
                n.output(0)?,
            )?
        }
    };
    out(imp, n, y, false)
}

/// `ReduceMean` (axes as attribute, or input from opset 18); an NHWC image
/// reduced with kept dimensions stays NHWC.
fn reduce_mean(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let xn = n.req(0)?;
    let axes = reduce_axes(imp, n)?;
    let keep_dims = n.int("keepdims", 1) != 0;
    let nhwc = keep_dims && imp.is_nhwc(xn);
    let x = if nhwc {
        imp.nhwc(n, xn)?
    } else {
        imp.plain(n, xn)?
    };
    let rank = imp.ty(x).rank();
    let mut axes = match axes {
        Some(a) if !a.is_empty() => a
            .iter()
            .map(|&a| {
                let r = rank as i64;
                let v = if a < 0 { a + r } else { a };
                usize::try_from(v)
                    .ok()
                    .filter(|&v| v < rank)
                    .ok_or_else(|| n.err(format!("axis {a} is out of range")))
            })
            .collect::<R<Vec<_>>>()?,
        _ if n.int("noop_with_empty_axes", 0) != 0 => return alias(imp, n),
        _ => (0..rank).collect(),
    };
    if nhwc {
        // NCHW axis a is NHWC axis [0, 3, 1, 2][a].
        axes = axes.iter().map(|&a| [0, 3, 1, 2][a]).collect();
    }
    axes.sort_unstable();
    axes.dedup();
    let y = imp.op(
        n,
        Op::Mean(MeanAttrs { axes, keep_dims }),
        vec![x],
        n.output(0)?,
    )?;
    out(imp, n, y, nhwc)
}

/// The constant axes of a reduction: the `axes` input (opset 18) or
/// attribute.
fn reduce_axes(imp: &mut Importer<'_>, n: &Node<'_>) -> R<Option<Vec<i64>>> {
    match n.input(1) {
        Some(a) => {
            let v = imp.plain(n, a)?;
            let axes = imp.const_data(v).and_then(const_ints);
            Ok(Some(axes.ok_or_else(|| n.err("axes must be a constant"))?))
        }
        None => Ok(n.ints("axes").map(<[i64]>::to_vec)),
    }
}

/// `ReduceMax` over the spatial axes of an image (a global max pool).
fn reduce_max(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let xn = n.req(0)?;
    let axes = reduce_axes(imp, n)?.unwrap_or_default();
    let spatial = |a: i64| a == 2 || a == 3 || a == -1 || a == -2;
    let rank4 = imp.val(n, xn)?.nhwc.is_some()
        || imp.val(n, xn)?.plain.is_some_and(|p| imp.ty(p).rank() == 4);
    if !(rank4 && axes.len() == 2 && axes.iter().all(|&a| spatial(a)) && axes[0] != axes[1]) {
        return Err(
            n.err("only the maximum over the two spatial axes of a 4-D tensor is supported")
        );
    }
    let x = imp.nhwc(n, xn)?;
    let xs = imp.ty(x).shape.clone();
    let pool = Op::MaxPool2d(tmlc_ir::Pool2dAttrs::new([xs[1], xs[2]]));
    if n.int("keepdims", 1) != 0 {
        let y = imp.op(n, pool, vec![x], n.output(0)?)?;
        return out(imp, n, y, true);
    }
    let p = imp.op(n, pool, vec![x], &format!("{}_pooled", n.name))?;
    let shape = vec![xs[0], xs[3]];
    let y = imp.op(
        n,
        Op::Reshape(ReshapeAttrs { shape }),
        vec![p],
        n.output(0)?,
    )?;
    out(imp, n, y, false)
}

/// `PRelu`: `relu(x) - slope * relu(-x)`, as ONNX nodes converted in turn
/// (the slope broadcasts as in any binary op).
fn prelu(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let (x, slope) = (n.req(0)?, n.req(1)?);
    let t = |i: usize| format!("{}__prelu{i}", n.name);
    imp.define_const(&t(0), f32_ty(vec![]), TensorData::F32(vec![-1.0]));
    let nodes = [
        ("Relu", vec![x.to_string()], t(1)),
        ("Mul", vec![x.to_string(), t(0)], t(2)),
        ("Relu", vec![t(2)], t(3)),
        ("Mul", vec![t(3), slope.to_string()], t(4)),
        ("Sub", vec![t(1), t(4)], n.output(0)?.to_string()),
    ];
    for (op, input, output) in nodes {
        let p = crate::proto::NodeProto {
            op_type: op.into(),
            input,
            output: vec![output],
            ..Default::default()
        };
        convert(
            imp,
            &Node {
                p: &p,
                name: n.name.clone(),
            },
        )?;
    }
    Ok(())
}

/// `HardSigmoid`: `clip(alpha * x + beta, 0, 1)`.
fn hard_sigmoid(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let xn = n.req(0)?;
    let nhwc = imp.is_nhwc(xn);
    let x = if nhwc {
        imp.nhwc(n, xn)?
    } else {
        imp.plain(n, xn)?
    };
    let scalar = |imp: &mut Importer<'_>, what: &str, v: f32| {
        imp.konst(
            &format!("{}_{what}", n.name),
            f32_ty(vec![]),
            TensorData::F32(vec![v]),
        )
    };
    let alpha = scalar(imp, "alpha", n.float("alpha", 0.2));
    let beta = scalar(imp, "beta", n.float("beta", 0.5));
    let b = BinaryAttrs::default();
    let ax = imp.op(
        n,
        Op::Mul(b.clone()),
        vec![x, alpha],
        &format!("{}_ax", n.name),
    )?;
    let axb = imp.op(n, Op::Add(b), vec![ax, beta], &format!("{}_axb", n.name))?;
    let y = imp.op(
        n,
        Op::Clip(ClipAttrs { min: 0.0, max: 1.0 }),
        vec![axb],
        n.output(0)?,
    )?;
    out(imp, n, y, nhwc)
}

/// `Div` by a constant: a multiplication by its reciprocal (f32, within one
/// rounding of the quotient); by anything else, the IR's `div`.
fn div(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    if shape::fold_int_arith(imp, n)? {
        return Ok(());
    }
    let bn = n.req(1)?;
    let b = imp.plain(n, bn)?;
    let Some(TensorData::F32(d)) = imp.const_data(b).cloned() else {
        return binary(imp, n);
    };
    let ty = imp.ty(b).clone();
    let recip = imp.konst(
        &format!("{bn}_reciprocal"),
        ty,
        TensorData::F32(d.iter().map(|v| 1.0 / v).collect()),
    );
    let rname = imp.g.value(recip).name.clone();
    imp.define(
        &rname,
        Val {
            plain: Some(recip),
            nhwc: None,
            flat: None,
        },
    );
    let an = n.req(0)?;
    let nhwc = imp.is_nhwc(an);
    let (x, y) = if nhwc {
        (broadcast_nhwc(imp, n, an)?, broadcast_nhwc(imp, n, &rname)?)
    } else {
        (imp.plain(n, an)?, recip)
    };
    let r = imp.op(n, Op::Mul(BinaryAttrs::default()), vec![x, y], n.output(0)?)?;
    out(imp, n, r, nhwc)
}
