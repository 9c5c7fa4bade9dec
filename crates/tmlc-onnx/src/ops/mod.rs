//! ONNX operators to IR ops, one function per operator family. Converters
//! ask the importer for the layout they need (`nhwc` for windows, `plain`
//! for shape ops) and define each output in the form they produce.

use crate::import::{const_f32, const_ints, f32_ty, Importer, Node, Val, TO_NHWC};
use crate::tensor;
use crate::OnnxError;
use tmlc_ir::{
    numel, Activation, BatchNormAttrs, BinaryAttrs, ClipAttrs, Conv2dAttrs, FullyConnectedAttrs,
    LeakyReluAttrs, MeanAttrs, Op, PadAttrs, Pool2dAttrs, ReshapeAttrs, SoftmaxAttrs, TensorData,
    TransposeAttrs, ValueId,
};

mod quant;
mod shape;

type R<T> = Result<T, OnnxError>;

/// Converts one node.
pub(crate) fn convert(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    match n.op() {
        "Identity" => alias(imp, n),
        "Dropout" => dropout(imp, n),
        "Constant" => constant(imp, n),
        "Relu" | "Sigmoid" | "Tanh" | "LeakyRelu" | "HardSwish" | "Clip" => unary(imp, n),
        "Add" | "Sub" | "Mul" => binary(imp, n),
        "Conv" => conv(imp, n),
        "MaxPool" | "AveragePool" => pool(imp, n),
        "GlobalAveragePool" | "GlobalMaxPool" => global_pool(imp, n),
        "BatchNormalization" => batch_norm(imp, n),
        "Gemm" => gemm(imp, n),
        "MatMul" => matmul(imp, n),
        "Flatten" | "Reshape" => shape::reshape(imp, n),
        "Squeeze" | "Unsqueeze" => shape::squeeze(imp, n),
        "Transpose" => shape::transpose(imp, n),
        "Concat" => shape::concat(imp, n),
        "Pad" => shape::pad(imp, n),
        "Slice" => shape::slice(imp, n),
        "Shape" => shape::shape(imp, n),
        "Gather" => shape::gather(imp, n),
        "ReduceMean" => reduce_mean(imp, n),
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
                        .ok_or_else(|| n.err("min and max must be constant scalars"))?;
                }
            }
            Op::Clip(ClipAttrs { min: lo, max: hi })
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

/// `[top, left, bottom, right]` of a 2-D window: `pads`, or `auto_pad`.
fn window_pads(
    n: &Node<'_>,
    input: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
) -> R<[usize; 4]> {
    let auto = n.string("auto_pad").unwrap_or_else(|| "NOTSET".into());
    match auto.as_str() {
        "NOTSET" => match n.sizes("pads")? {
            None => Ok([0; 4]),
            Some(p) if p.len() == 4 => Ok([p[0], p[1], p[2], p[3]]),
            Some(p) => Err(n.err(format!("pads has {} values, a 2-D window needs 4", p.len()))),
        },
        "VALID" => Ok([0; 4]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut out = [0; 4];
            for d in 0..2 {
                let eff = (kernel[d].max(1) - 1) * dilation[d] + 1;
                let o = input[d].div_ceil(stride[d].max(1));
                let total = ((o.max(1) - 1) * stride[d] + eff).saturating_sub(input[d]);
                let (small, big) = (total / 2, total - total / 2);
                let (before, after) = if auto == "SAME_UPPER" {
                    (small, big)
                } else {
                    (big, small)
                };
                out[d] = before;
                out[d + 2] = after;
            }
            Ok(out)
        }
        a => Err(n.err(format!("auto_pad {a} is not supported"))),
    }
}

fn pair(n: &Node<'_>, key: &str, default: usize) -> R<[usize; 2]> {
    match n.sizes(key)? {
        None => Ok([default; 2]),
        Some(v) if v.len() == 2 => Ok([v[0], v[1]]),
        Some(v) => Err(n.err(format!(
            "{key} has {} values, a 2-D window needs 2",
            v.len()
        ))),
    }
}

fn conv(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let w = imp.plain(n, n.req(1)?)?;
    if imp.ty(w).rank() == 3 {
        return conv1d(imp, n);
    }
    let x = imp.nhwc(n, n.req(0)?)?;
    let ws = imp.ty(w).shape.clone();
    if ws.len() != 4 {
        return Err(n.err(format!(
            "only 2-D convolutions are supported (weights {:?})",
            ws
        )));
    }
    let xs = imp.ty(x).shape.clone();
    let stride = pair(n, "strides", 1)?;
    let dilation = pair(n, "dilations", 1)?;
    let pad = window_pads(n, [xs[1], xs[2]], [ws[2], ws[3]], stride, dilation)?;
    let groups = usize::try_from(n.int("group", 1)).map_err(|_| n.err("negative group"))?;
    // [O, I/g, KH, KW] -> [O, KH, KW, I/g] (a transpose of a constant, folded).
    let wname = format!("{}_ohwi", imp.g.value(w).name);
    let w = imp.op(
        n,
        Op::Transpose(TransposeAttrs {
            perm: TO_NHWC.to_vec(),
        }),
        vec![w],
        &wname,
    )?;
    let mut operands = vec![x, w];
    if let Some(b) = n.input(2) {
        operands.push(imp.plain(n, b)?);
    }
    let attrs = Conv2dAttrs {
        stride,
        dilation,
        pad,
        groups,
        act: Activation::None,
    };
    let y = imp.op(n, Op::Conv2d(attrs), operands, n.output(0)?)?;
    out(imp, n, y, true)
}

/// A 1-D convolution `[N, C, L]` is the 2-D one on `[N, C, 1, L]`.
fn conv1d(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let base = n.name.clone();
    let mut names = Vec::new();
    for (i, t) in [n.req(0)?, n.req(1)?].into_iter().enumerate() {
        let v = imp.plain(n, t)?;
        let mut shape = imp.ty(v).shape.clone();
        if shape.len() != 3 {
            return Err(n.err(format!(
                "a 1-D convolution needs rank-3 operands, `{t}` is {}",
                imp.ty(v)
            )));
        }
        shape.insert(2, 1);
        let name = format!("{base}__2d{i}");
        let r = imp.op(n, Op::Reshape(ReshapeAttrs { shape }), vec![v], &name)?;
        imp.define(
            &name,
            Val {
                plain: Some(r),
                ..Val::default()
            },
        );
        names.push(name);
    }
    if let Some(b) = n.input(2) {
        names.push(b.to_string());
    }
    let mut p = n.p.clone();
    p.input = names;
    let y2 = format!("{base}__2d");
    p.output = vec![y2.clone()];
    for a in &mut p.attribute {
        match (a.name.as_str(), a.ints.len()) {
            ("kernel_shape" | "strides" | "dilations", 1) => a.ints.insert(0, 1),
            ("pads", 2) => a.ints = vec![0, a.ints[0], 0, a.ints[1]],
            ("kernel_shape" | "strides" | "dilations" | "pads", _) => {
                return Err(n.err(format!(
                    "{} has {} values for a 1-D convolution",
                    a.name,
                    a.ints.len()
                )))
            }
            _ => {}
        }
    }
    conv(
        imp,
        &Node {
            p: &p,
            name: base.clone(),
        },
    )?;
    let y = imp.plain(n, &y2)?;
    let mut shape = imp.ty(y).shape.clone();
    shape.remove(2);
    let r = imp.op(
        n,
        Op::Reshape(ReshapeAttrs { shape }),
        vec![y],
        n.output(0)?,
    )?;
    out(imp, n, r, false)
}

fn pool(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let x = imp.nhwc(n, n.req(0)?)?;
    let xs = imp.ty(x).shape.clone();
    let kernel = n
        .sizes("kernel_shape")?
        .ok_or_else(|| n.err("needs kernel_shape"))?;
    let [kh, kw] = kernel[..] else {
        return Err(n.err("only 2-D pooling is supported"));
    };
    if pair(n, "dilations", 1)? != [1, 1] {
        return Err(n.err("dilated pooling is not supported"));
    }
    let stride = pair(n, "strides", 1)?;
    let mut pad = window_pads(n, [xs[1], xs[2]], [kh, kw], stride, [1, 1])?;
    let is_max = n.op() == "MaxPool";
    let mut count_include_pad = !is_max && n.int("count_include_pad", 0) != 0;
    let mut x = x;
    if n.int("ceil_mode", 0) != 0 {
        // Output sizes rounded up, except that a window may not start in
        // the end padding; extra end padding makes floor division give
        // them, and its taps are never counted.
        let mut extra = [0; 2];
        for (d, k) in [(0, kh), (1, kw)] {
            let (inp, s) = (xs[1 + d], stride[d].max(1));
            let padded = inp + pad[d] + pad[d + 2];
            let mut o = padded.saturating_sub(k).div_ceil(s) + 1;
            if o > 1 && (o - 1) * s >= inp + pad[d] {
                o -= 1;
            }
            extra[d] = ((o - 1) * s + k).saturating_sub(padded);
        }
        if count_include_pad {
            // The padding counts, the overhang does not: the padding
            // becomes zeros in the data, which an average without
            // count_include_pad counts.
            let attrs = PadAttrs {
                before: vec![0, pad[0], pad[1], 0],
                after: vec![0, pad[2], pad[3], 0],
                value: 0.0,
            };
            x = imp.op(n, Op::Pad(attrs), vec![x], &format!("{}_padded", n.name))?;
            pad = [0; 4];
            count_include_pad = false;
        }
        pad[2] += extra[0];
        pad[3] += extra[1];
    }
    let attrs = Pool2dAttrs {
        kernel: [kh, kw],
        stride,
        pad,
        count_include_pad,
        act: Activation::None,
    };
    let op = if is_max {
        Op::MaxPool2d(attrs)
    } else {
        Op::AvgPool2d(attrs)
    };
    let y = imp.op(n, op, vec![x], n.output(0)?)?;
    out(imp, n, y, true)
}

fn global_pool(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let x = imp.nhwc(n, n.req(0)?)?;
    let xs = imp.ty(x).shape.clone();
    let op = if n.op() == "GlobalAveragePool" {
        Op::Mean(MeanAttrs {
            axes: vec![1, 2],
            keep_dims: true,
        })
    } else {
        Op::MaxPool2d(Pool2dAttrs::new([xs[1], xs[2]]))
    };
    let y = imp.op(n, op, vec![x], n.output(0)?)?;
    out(imp, n, y, true)
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
        operands.push(imp.plain(n, n.req(i)?)?);
    }
    let op = Op::BatchNorm(BatchNormAttrs {
        epsilon: n.float("epsilon", 1e-5),
    });
    let y = imp.op(n, op, operands, n.output(0)?)?;
    out(imp, n, y, nhwc)
}

/// Operand A of a dense layer: its flattened-from-NHWC form when that is
/// the only one (with the `[C, H, W]` it came from), else the plain form.
fn dense_input(
    imp: &mut Importer<'_>,
    n: &Node<'_>,
    name: &str,
) -> R<(ValueId, Option<[usize; 3]>)> {
    match imp.flat(name) {
        Some((v, chw)) => Ok((v, Some(chw))),
        None => Ok((imp.plain(n, name)?, None)),
    }
}

/// Weights `[N, C*H*W]` whose columns are in `(c, h, w)` order, reordered
/// to `(h, w, c)` (constant weights: folded by `fold-constants`).
fn permute_columns(
    imp: &mut Importer<'_>,
    n: &Node<'_>,
    w: ValueId,
    [c, h, x]: [usize; 3],
) -> R<ValueId> {
    let nout = imp.ty(w).shape.first().copied().unwrap_or(0);
    let base = imp.g.value(w).name.clone();
    let r = imp.op(
        n,
        Op::Reshape(ReshapeAttrs {
            shape: vec![nout, c, h, x],
        }),
        vec![w],
        &format!("{base}_chw"),
    )?;
    let t = imp.op(
        n,
        Op::Transpose(TransposeAttrs {
            perm: TO_NHWC.to_vec(),
        }),
        vec![r],
        &format!("{base}_hwc"),
    )?;
    imp.op(
        n,
        Op::Reshape(ReshapeAttrs {
            shape: vec![nout, c * h * x],
        }),
        vec![t],
        &format!("{base}_cols"),
    )
}

/// `Gemm`: `alpha * A' B' + beta * C` as fully_connected with constant
/// weights (`B'` made `[N, K]`, scaled by alpha) and bias (`beta * C`).
fn gemm(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let trans_a = n.int("transA", 0) != 0;
    let (mut a, chw) = if trans_a {
        (imp.plain(n, n.req(0)?)?, None)
    } else {
        dense_input(imp, n, n.req(0)?)?
    };
    let b = imp.plain(n, n.req(1)?)?;
    let tr = |imp: &mut Importer<'_>, v: ValueId, suffix: &str| {
        let name = format!("{}_{suffix}", imp.g.value(v).name);
        imp.op(
            n,
            Op::Transpose(TransposeAttrs { perm: vec![1, 0] }),
            vec![v],
            &name,
        )
    };
    if trans_a {
        a = tr(imp, a, "t")?;
    }
    // fully_connected wants [N, K]: B is [K, N] unless transB.
    let mut w = if n.int("transB", 0) != 0 {
        b
    } else {
        tr(imp, b, "t")?
    };
    let scale = |imp: &mut Importer<'_>, v: ValueId, s: f32, what: &str| -> R<ValueId> {
        if s == 1.0 {
            return Ok(v);
        }
        let k = imp.konst(
            &format!("{}_{what}", n.name),
            f32_ty(vec![]),
            TensorData::F32(vec![s]),
        );
        let name = format!("{}_scaled", imp.g.value(v).name);
        imp.op(n, Op::Mul(BinaryAttrs::default()), vec![v, k], &name)
    };
    w = scale(imp, w, n.float("alpha", 1.0), "alpha")?;
    if let Some(chw) = chw {
        w = permute_columns(imp, n, w, chw)?;
    }
    let nout = imp.ty(w).shape.first().copied().unwrap_or(0);
    let mut operands = vec![a, w];
    let mut extra = None;
    if let Some(c) = n.input(2) {
        let c = imp.plain(n, c)?;
        let c = scale(imp, c, n.float("beta", 1.0), "beta")?;
        let cs = imp.ty(c).shape.clone();
        if numel(&cs) == nout
            && cs.iter().rev().skip(1).all(|&d| d == 1)
            && cs.last() == Some(&nout)
        {
            let name = format!("{}_bias", imp.g.value(c).name);
            let bias = imp.op(
                n,
                Op::Reshape(ReshapeAttrs { shape: vec![nout] }),
                vec![c],
                &name,
            )?;
            operands.push(bias);
        } else {
            extra = Some(c);
        }
    }
    let fc = Op::FullyConnected(FullyConnectedAttrs::default());
    let y = match extra {
        None => imp.op(n, fc, operands, n.output(0)?)?,
        Some(c) => {
            let p = imp.op(n, fc, operands, &format!("{}_product", n.name))?;
            imp.op(n, Op::Add(BinaryAttrs::default()), vec![p, c], n.output(0)?)?
        }
    };
    out(imp, n, y, false)
}

/// A constant, or the dequantization of one (QDQ weights).
fn is_weight(imp: &Importer<'_>, v: ValueId) -> bool {
    let dq = imp
        .g
        .producer(v)
        .map(|p| imp.g.node(p))
        .filter(|p| p.op == Op::Dequantize);
    imp.const_data(v).is_some() || dq.is_some_and(|p| imp.const_data(p.operands[0]).is_some())
}

/// `MatMul` by a constant `[K, N]` matrix is fully_connected (keeping the
/// leading dimensions); anything else is the IR's batched matmul.
fn matmul(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let b = imp.plain(n, n.req(1)?)?;
    let dense = is_weight(imp, b) && imp.ty(b).rank() == 2;
    let (a, chw) = if dense {
        dense_input(imp, n, n.req(0)?)?
    } else {
        (imp.plain(n, n.req(0)?)?, None)
    };
    let y = if dense && imp.ty(a).rank() >= 2 {
        let name = format!("{}_t", imp.g.value(b).name);
        let mut w = imp.op(
            n,
            Op::Transpose(TransposeAttrs { perm: vec![1, 0] }),
            vec![b],
            &name,
        )?;
        if let Some(chw) = chw {
            w = permute_columns(imp, n, w, chw)?;
        }
        let keep_dims = imp.ty(a).rank() > 2;
        let op = Op::FullyConnected(FullyConnectedAttrs {
            act: Activation::None,
            keep_dims,
        });
        imp.op(n, op, vec![a, w], n.output(0)?)?
    } else {
        imp.op(n, Op::MatMul, vec![a, b], n.output(0)?)?
    };
    out(imp, n, y, false)
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
    let axes = match n.input(1) {
        Some(a) => {
            let v = imp.plain(n, a)?;
            Some(
                imp.const_data(v)
                    .and_then(const_ints)
                    .ok_or_else(|| n.err("axes must be a constant"))?,
            )
        }
        None => n.ints("axes").map(<[i64]>::to_vec),
    };
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
/// rounding of the quotient).
fn div(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    if shape::fold_int_arith(imp, n)? {
        return Ok(());
    }
    let bn = n.req(1)?;
    let b = imp.plain(n, bn)?;
    let Some(TensorData::F32(d)) = imp.const_data(b).cloned() else {
        return Err(n.err("only division by an f32 constant is supported"));
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
