//! Quantized operators. `QuantizeLinear` and `DequantizeLinear` become the
//! IR's `quantize` (ties to even, as ONNX rounds) and `dequantize`;
//! `QLinearConv` and `QLinearMatMul` are imported as what they mean,
//! dequantize -> float op -> quantize, which the `fuse-qdq` pass turns into
//! the integer op (as it does for onnxruntime's QDQ graphs).
//!
//! `uint8` tensors become `i8` with the zero point lowered by 128, which is
//! exact; a `uint8` graph output is converted back at the boundary.

use super::{out, R};
use crate::import::{Importer, Node, Val};
use crate::proto::NodeProto;
use tmlc_ir::{DType, Op, Quant, QuantizeAttrs, ResultType, Rounding, TensorData, TensorType};

/// The quantization of a `*Linear` op: `scale` and `zero_point` inputs
/// (constants), the `axis` attribute for per-axis scales, on a tensor of
/// `rank`. Returns the stored dtype (before any u8 -> i8 conversion) and
/// the parameters as given.
fn params(
    imp: &mut Importer<'_>,
    n: &Node<'_>,
    scale: &str,
    zero_point: Option<&str>,
    rank: usize,
) -> R<(DType, Quant)> {
    let s = imp.plain(n, scale)?;
    let Some(TensorData::F32(scales)) = imp.const_data(s).cloned() else {
        return Err(n.err(format!("scale `{scale}` must be an f32 constant")));
    };
    let (dtype, zps) = match zero_point {
        None => {
            // Opset 21 names the result type when the zero point is absent.
            let d = match n.int("output_dtype", 0) {
                0 | 2 => DType::U8,
                3 => DType::I8,
                t => return Err(n.err(format!("output_dtype {t} is not supported"))),
            };
            (d, vec![0; scales.len()])
        }
        Some(z) => {
            let zv = imp.plain(n, z)?;
            let d = imp.ty(zv).dtype;
            let zps = match imp.const_data(zv) {
                Some(TensorData::I8(v)) => v.iter().map(|&x| x as i32).collect(),
                Some(TensorData::U8(v)) => v.iter().map(|&x| x as i32).collect(),
                Some(TensorData::I32(v)) => v.clone(),
                Some(_) => {
                    return Err(n.err(format!(
                        "zero point of type {d} is not supported (int8, uint8 and int32 are)"
                    )))
                }
                None => return Err(n.err(format!("zero point `{z}` must be a constant"))),
            };
            (d, zps)
        }
    };
    if n.int("block_size", 0) != 0 {
        return Err(n.err("blocked quantization (block_size) is not supported"));
    }
    if scales.len() != zps.len() || scales.is_empty() {
        return Err(n.err(format!(
            "{} scales and {} zero points",
            scales.len(),
            zps.len()
        )));
    }
    let q = if scales.len() == 1 && imp.ty(s).rank() <= 1 {
        Quant::per_tensor(scales[0], zps[0])
    } else {
        let a = n.int("axis", 1);
        let a = if a < 0 { a + rank as i64 } else { a };
        let axis = usize::try_from(a)
            .ok()
            .filter(|&a| a < rank)
            .ok_or_else(|| n.err(format!("axis {a} is out of range for rank {rank}")))?;
        Quant::per_axis(axis, scales, zps)
    };
    Ok((dtype, q))
}

/// `q` for an i8 tensor holding what `dtype` held (u8: zero points - 128).
fn as_i8(dtype: DType, mut q: Quant) -> Quant {
    if dtype == DType::U8 {
        q.zero_point.iter_mut().for_each(|z| *z -= 128);
    }
    q
}

/// NCHW axis `a` of a rank-4 tensor in NHWC.
fn nhwc_axis(a: usize) -> usize {
    [0, 3, 1, 2][a]
}

/// The form an element-wise conversion of `x` works in: the one `x`
/// already has (NHWC, or flattened from NHWC), else ONNX's.
#[derive(Clone, Copy)]
enum Form {
    Plain,
    Nhwc,
    Flat([usize; 3]),
}

fn operand(imp: &mut Importer<'_>, n: &Node<'_>, x: &str) -> R<(tmlc_ir::ValueId, Form)> {
    if let Some((f, chw)) = imp.flat(x) {
        Ok((f, Form::Flat(chw)))
    } else if imp.is_nhwc(x) {
        Ok((imp.nhwc(n, x)?, Form::Nhwc))
    } else {
        Ok((imp.plain(n, x)?, Form::Plain))
    }
}

/// Defines `n`'s output as `y` in `form`.
fn define(imp: &mut Importer<'_>, n: &Node<'_>, y: tmlc_ir::ValueId, form: Form) -> R<()> {
    match form {
        Form::Flat(chw) => {
            imp.define(
                n.output(0)?,
                Val {
                    flat: Some((y, chw)),
                    ..Val::default()
                },
            );
            Ok(())
        }
        f => out(imp, n, y, matches!(f, Form::Nhwc)),
    }
}

fn move_axis(mut q: Quant, form: Form) -> Quant {
    if let Form::Nhwc = form {
        q.axis = q.axis.map(nhwc_axis);
    }
    q
}

/// `QuantizeLinear(x, scale, zero_point)`.
pub(super) fn quantize_linear(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let (x, form) = operand(imp, n, n.req(0)?)?;
    let xt = imp.ty(x).clone();
    if xt.dtype != DType::F32 {
        return Err(n.err(format!("input of type {} (f32 is supported)", xt.dtype)));
    }
    let (dtype, q) = params(imp, n, n.req(1)?, n.input(2), xt.rank())?;
    let dtype = match dtype {
        DType::I8 | DType::U8 => dtype,
        d => return Err(n.err(format!("quantizing to {d} is not supported"))),
    };
    let q = move_axis(as_i8(dtype, q), form);
    if n.int("saturate", 1) == 0 {
        return Err(n.err("saturate = 0 is not supported"));
    }
    let ty = TensorType::quantized(DType::I8, xt.shape, q);
    let op = Op::Quantize(QuantizeAttrs {
        round: Rounding::HalfEven,
    });
    let y = imp
        .g
        .add_op(op, vec![x], n.output(0)?, ResultType::Given(ty))
        .map_err(|e| n.err(e.to_string()))?;
    define(imp, n, y, form)
}

/// `DequantizeLinear(x, scale, zero_point)`: a constant `x` becomes a
/// quantized constant (weights, i32 biases), anything else an i8 value
/// whose type must carry the same parameters (an integer graph input
/// takes them).
pub(super) fn dequantize_linear(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let xn = n.req(0)?;
    let (x, form) = operand(imp, n, xn)?;
    let xt = imp.ty(x).clone();
    let (dtype, q) = params(imp, n, n.req(1)?, n.input(2), xt.rank())?;
    let konst = imp.const_data(x).cloned();
    if (konst.is_some() || imp.g.inputs().contains(&x)) && dtype != xt.dtype {
        return Err(n.err(format!(
            "input of type {} with a zero point of type {dtype}",
            xt.dtype
        )));
    }
    let q = move_axis(q, form);
    let quantized = match (konst, xt.dtype) {
        (Some(data), DType::I8 | DType::I32) => {
            let ty = TensorType::quantized(xt.dtype, xt.shape, q);
            imp.konst(&format!("{xn}_q"), ty, data)
        }
        (Some(TensorData::U8(v)), DType::U8) => {
            let ty = TensorType::quantized(DType::I8, xt.shape, as_i8(DType::U8, q));
            let data = TensorData::I8(v.iter().map(|&b| (b as i32 - 128) as i8).collect());
            imp.konst(&format!("{xn}_q"), ty, data)
        }
        (Some(_), d) => return Err(n.err(format!("dequantizing {d} is not supported"))),
        (None, _) => activation(imp, n, x, dtype, q)?,
    };
    let y = imp
        .g
        .add_op(
            Op::Dequantize,
            vec![quantized],
            n.output(0)?,
            ResultType::Inferred,
        )
        .map_err(|e| n.err(e.to_string()))?;
    define(imp, n, y, form)
}

/// The i8 form of the quantized activation `x` read with parameters `q`.
fn activation(
    imp: &mut Importer<'_>,
    n: &Node<'_>,
    x: tmlc_ir::ValueId,
    dtype: DType,
    q: Quant,
) -> R<tmlc_ir::ValueId> {
    let xt = imp.ty(x).clone();
    if xt.quant.is_none() && imp.g.inputs().contains(&x) {
        // An integer graph input: its parameters are its readers'.
        imp.g.value_mut(x).ty.quant = Some(q.clone());
        if dtype == DType::U8 {
            let ty = TensorType::quantized(DType::I8, xt.shape, as_i8(dtype, q));
            let name = format!("{}_i8", imp.g.value(x).name);
            return imp
                .g
                .add_op(
                    Op::Quantize(QuantizeAttrs::default()),
                    vec![x],
                    &name,
                    ResultType::Given(ty),
                )
                .map_err(|e| n.err(e.to_string()));
        }
        return Ok(x);
    }
    let want = as_i8(dtype, q);
    if xt.dtype != DType::I8 || xt.quant.as_ref() != Some(&want) {
        return Err(n.err(format!(
            "reads {xt} with different quantization parameters than it was quantized with"
        )));
    }
    Ok(x)
}

/// `QLinearConv` and `QLinearMatMul`: dequantize the operands, the float
/// op, quantize the result.
pub(super) fn qlinear(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let base = n.name.clone();
    let is_conv = n.op() == "QLinearConv";
    // (tensor, scale, zero point) triples, and the result's.
    let (a, b, y) = ((0, 1, 2), (3, 4, 5), (6, 7));
    let mut float_inputs = Vec::new();
    for (i, (t, s, z)) in [a, b].into_iter().enumerate() {
        let name = format!("{base}__dq{i}");
        let mut p = proto(
            n,
            "DequantizeLinear",
            vec![n.req(t)?, n.req(s)?, n.req(z)?],
            &name,
        );
        // Per-channel scales: a conv's weights on axis 0 (output channels),
        // a matrix's on axis 1 (columns).
        let axis = if i == 1 && is_conv { 0 } else { 1 };
        p.attribute.push(crate::proto::AttributeProto {
            name: "axis".into(),
            i: axis,
            r#type: crate::proto::attribute_proto::AttributeType::Int as i32,
            ..Default::default()
        });
        dequantize_linear(
            imp,
            &Node {
                p: &p,
                name: name.clone(),
            },
        )?;
        float_inputs.push(name);
    }
    if let Some(bias) = n.input(8) {
        // i32 bias in scale s_x * s_w[c], zero point 0.
        let sx = scalar_f32(imp, n, n.req(1)?)?;
        let sw = imp.plain(n, n.req(4)?)?;
        let Some(TensorData::F32(sw)) = imp.const_data(sw).cloned() else {
            return Err(n.err("w_scale must be an f32 constant"));
        };
        let bv = imp.plain(n, bias)?;
        let (Some(data), DType::I32) = (imp.const_data(bv).cloned(), imp.ty(bv).dtype) else {
            return Err(n.err("the bias must be an int32 constant"));
        };
        let shape = imp.ty(bv).shape.clone();
        let scales: Vec<f32> = sw.iter().map(|&w| sx * w).collect();
        let q = if scales.len() == 1 {
            Quant::per_tensor(scales[0], 0)
        } else {
            Quant::per_axis(0, scales.clone(), vec![0; scales.len()])
        };
        let k = imp.konst(
            &format!("{bias}_q"),
            TensorType::quantized(DType::I32, shape, q),
            data,
        );
        let name = format!("{base}__dq2");
        let d = imp
            .g
            .add_op(Op::Dequantize, vec![k], &name, ResultType::Inferred)
            .map_err(|e| n.err(e.to_string()))?;
        imp.define(
            &name,
            Val {
                plain: Some(d),
                ..Val::default()
            },
        );
        float_inputs.push(name);
    }
    let real = format!("{base}__real");
    let inputs: Vec<&str> = float_inputs.iter().map(String::as_str).collect();
    let mut p = proto(n, if is_conv { "Conv" } else { "MatMul" }, inputs, &real);
    p.attribute = n.p.attribute.clone();
    super::convert(
        imp,
        &Node {
            p: &p,
            name: real.clone(),
        },
    )?;
    let q = proto(
        n,
        "QuantizeLinear",
        vec![&real, n.req(y.0)?, n.req(y.1)?],
        n.output(0)?,
    );
    quantize_linear(imp, &Node { p: &q, name: base })
}

/// A node of the default domain made for an expansion.
fn proto(n: &Node<'_>, op: &str, inputs: Vec<&str>, output: &str) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: format!("{}__{}", n.name, op),
        input: inputs.into_iter().map(String::from).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

fn scalar_f32(imp: &mut Importer<'_>, n: &Node<'_>, name: &str) -> R<f32> {
    let v = imp.plain(n, name)?;
    match imp.const_data(v) {
        Some(TensorData::F32(d)) if d.len() == 1 => Ok(d[0]),
        _ => Err(n.err(format!("`{name}` must be an f32 scalar constant"))),
    }
}
