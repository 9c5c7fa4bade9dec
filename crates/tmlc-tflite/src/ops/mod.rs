//! Operator mapping: one TFLite builtin operator to one IR node (plus, for
//! FULLY_CONNECTED on an input whose last dimension is not K, the reshape to
//! `[numel/K, K]` that TFLite does implicitly).
//!
//! Layout stays NHWC. Operand conventions follow `tmlc_ir`:
//! - CONV_2D: filter `[O,H,W,I]` as stored, `groups = C_in / I`;
//! - DEPTHWISE_CONV_2D: constant filter `[1,H,W,C*M]` transposed to
//!   `[O,H,W,1]` (per-channel axis 3 becomes axis 0), `groups = C_in`;
//! - FULLY_CONNECTED: weights `[N,K]`; `keep_num_dims` keeps the input's
//!   leading dims;
//! - biases of quantized CONV/DEPTHWISE/FC are i32 constants whose
//!   quantization metadata is dropped (TFLite Micro adds them raw);
//! - SAME/VALID padding becomes explicit `[top,left,bottom,right]` with
//!   TFLite's rule (odd remainder at bottom/right);
//! - RELU_N1_TO_1 becomes `clip(-1, 1)`; PAD/PADV2 paddings, MEAN axes and
//!   TRANSPOSE perms must be constant tensors.
//!
//! Element types: compute ops accept f32 and i8 activations only; QUANTIZE,
//! DEQUANTIZE, RESHAPE, TRANSPOSE and unquantized PAD accept what the IR
//! does. Anything else is an [`TfliteError::UnsupportedTensorType`] naming
//! the operator, so that e.g. the int16x8 SEANet layers fail clearly instead
//! of failing the IR verifier.

use crate::import::{ConstKind, Ctx, Importer};
use crate::schema::{
    builtin_name, op, options_type as ot, opts, Operator, ACTIVATION_NAMES, PADDING_SAME,
    PADDING_VALID,
};
use crate::TfliteError;

mod layers;
mod movement;

use layers::{binary, conv2d, fully_connected, pool, unary};
use movement::{concat, mean, pad, transpose};
use tmlc_ir::{
    numel, Activation, BinaryAttrs, ClipAttrs, ConcatAttrs, Conv2dAttrs, DType, DynamicQuant,
    FullyConnectedAttrs, LeakyReluAttrs, MeanAttrs, Op, PadAttrs, Pool2dAttrs, ReshapeAttrs,
    SoftmaxAttrs, TensorData, TensorType, TransposeAttrs, ValueId,
};

/// The builtin operators the frontend maps, by code (the one list: names
/// come from the schema).
const SUPPORTED: [i32; 25] = [
    op::ADD,
    op::AVERAGE_POOL_2D,
    op::BATCH_MATMUL,
    op::CONCATENATION,
    op::CONV_2D,
    op::DEPTHWISE_CONV_2D,
    op::DEQUANTIZE,
    op::FULLY_CONNECTED,
    op::HARD_SWISH,
    op::LEAKY_RELU,
    op::LOGISTIC,
    op::MAX_POOL_2D,
    op::MEAN,
    op::MUL,
    op::PAD,
    op::PADV2,
    op::QUANTIZE,
    op::RELU,
    op::RELU6,
    op::RELU_N1_TO_1,
    op::RESHAPE,
    op::SOFTMAX,
    op::SUB,
    op::TANH,
    op::TRANSPOSE,
];

/// True when the frontend maps builtin `code`.
pub(crate) fn is_supported(code: i32) -> bool {
    SUPPORTED.contains(&code)
}

/// The TFLite names of the supported operators, for documentation and
/// tests.
pub fn supported_ops() -> impl Iterator<Item = &'static str> {
    SUPPORTED.iter().filter_map(|&c| builtin_name(c))
}

const F32_I8: &[DType] = &[DType::F32, DType::I8];

/// An operator's tensor indices: inputs (`None` for an omitted optional
/// input, stored as -1) and its single output.
struct Io {
    ins: Vec<Option<usize>>,
    out: usize,
}

impl Io {
    fn read(imp: &Importer<'_>, ctx: Ctx<'_>, opr: &Operator<'_>) -> Result<Io, TfliteError> {
        let mut ins = Vec::new();
        if let Some(v) = opr.inputs()? {
            for k in 0..v.len() {
                let raw = v.get(k)?;
                ins.push(if raw == -1 {
                    None
                } else {
                    Some(imp.tensor_index(raw, Some(ctx.node), "tensor")?)
                });
            }
        }
        let outs = match opr.outputs()? {
            Some(v) => v.to_vec()?,
            None => Vec::new(),
        };
        let [out] = outs[..] else {
            return Err(ctx.bad(format!("expects 1 output, has {}", outs.len())));
        };
        let out = imp.tensor_index(out, Some(ctx.node), "tensor")?;
        Ok(Io { ins, out })
    }

    /// Input `i`, which must be present.
    fn req(&self, i: usize, ctx: Ctx<'_>) -> Result<usize, TfliteError> {
        self.ins
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| ctx.bad(format!("missing input #{i}")))
    }

    /// Input `i`, if present.
    fn opt(&self, i: usize) -> Option<usize> {
        self.ins.get(i).copied().flatten()
    }
}

/// Rejects a tensor whose element type the operator does not support.
fn check_dtype(
    imp: &Importer<'_>,
    t: usize,
    ty: &TensorType,
    allowed: &[DType],
    ctx: Ctx<'_>,
) -> Result<(), TfliteError> {
    if allowed.contains(&ty.dtype) {
        return Ok(());
    }
    Err(TfliteError::UnsupportedTensorType {
        tensor: t,
        name: imp.err_name(t)?,
        ty: imp.type_label(t, ty),
        node: Some(ctx.node),
        op: ctx.op.to_string(),
    })
}

/// An activation operand with an allowed element type.
fn act_in(
    imp: &mut Importer<'_>,
    t: usize,
    ctx: Ctx<'_>,
    allowed: &[DType],
) -> Result<(ValueId, TensorType), TfliteError> {
    let v = imp.operand(t, ctx)?;
    let ty = imp.ty(v);
    check_dtype(imp, t, &ty, allowed, ctx)?;
    Ok((v, ty))
}

/// The type of the output tensor, with an allowed element type.
fn out_ty(
    imp: &Importer<'_>,
    io: &Io,
    ctx: Ctx<'_>,
    allowed: Option<&[DType]>,
) -> Result<TensorType, TfliteError> {
    let ty = imp.tensor_type(io.out, true, false, Some(ctx))?;
    if let Some(a) = allowed {
        check_dtype(imp, io.out, &ty, a, ctx)?;
    }
    Ok(ty)
}

/// A fused activation.
fn fused(code: i8, ctx: Ctx<'_>) -> Result<Activation, TfliteError> {
    match code {
        0 => Ok(Activation::None),
        1 => Ok(Activation::Relu),
        2 => Ok(Activation::ReluN1To1),
        3 => Ok(Activation::Relu6),
        _ => match usize::try_from(code)
            .ok()
            .and_then(|i| ACTIVATION_NAMES.get(i))
        {
            Some(name) => Err(ctx.unsupported(format_args!("with fused activation {name}"))),
            None => Err(ctx.bad(format!("unknown fused activation function {code}"))),
        },
    }
}

/// A stride, dilation or window size, which must be at least 1.
fn positive(v: i32, what: &str, ctx: Ctx<'_>) -> Result<usize, TfliteError> {
    match usize::try_from(v) {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(ctx.bad(format!("{what} must be positive, is {v}"))),
    }
}

/// TFLite's explicit padding `(before, after)` for one spatial dimension.
///
/// `eff = (k-1)*dil + 1`; the output size is `ceil(in/stride)` for SAME and
/// `floor((in-eff)/stride) + 1` for VALID; `total = max(0, (out-1)*stride +
/// eff - in)`; `before = total/2` and the odd remainder goes after.
pub(crate) fn tflite_padding(
    padding: i8,
    input: usize,
    k: usize,
    stride: usize,
    dil: usize,
) -> Result<(usize, usize), String> {
    let eff = k
        .checked_sub(1)
        .and_then(|x| x.checked_mul(dil))
        .and_then(|x| x.checked_add(1))
        .ok_or_else(|| format!("window {k} with dilation {dil} is too large"))?;
    if stride == 0 {
        return Err("stride must be positive".into());
    }
    let out = match padding {
        PADDING_SAME => input.div_ceil(stride),
        PADDING_VALID => {
            if input < eff {
                return Err(format!(
                    "VALID window of size {eff} is larger than the input size {input}"
                ));
            }
            (input - eff) / stride + 1
        }
        p => return Err(format!("unknown padding {p}")),
    };
    let needed = out
        .saturating_sub(1)
        .checked_mul(stride)
        .and_then(|x| x.checked_add(eff))
        .ok_or_else(|| "padding overflows".to_string())?;
    let total = needed.saturating_sub(input);
    Ok((total / 2, total - total / 2))
}

/// Integer values of a constant tensor (i32 or i64), e.g. paddings or axes.
fn const_ints(
    imp: &mut Importer<'_>,
    t: usize,
    what: &str,
    ctx: Ctx<'_>,
) -> Result<(Vec<usize>, Vec<i64>), TfliteError> {
    if imp.const_data(t)?.is_none() {
        return Err(ctx.bad(format!(
            "{what} must be a constant tensor (tensor {t} is not)"
        )));
    }
    let (ty, data) = imp.decode_const(t, false, Some(ctx))?;
    let vals = match data {
        TensorData::I32(v) => v.into_iter().map(i64::from).collect(),
        TensorData::I64(v) => v,
        _ => return Err(ctx.bad(format!("{what} must be int32 or int64, is {}", ty.dtype))),
    };
    Ok((ty.shape, vals))
}

/// An axis in `[-rank, rank)`, normalised.
fn norm_axis(a: i64, rank: usize, ctx: Ctx<'_>) -> Result<usize, TfliteError> {
    let r = rank as i64;
    let n = if a < 0 { a + r } else { a };
    if (0..r).contains(&n) {
        Ok(n as usize)
    } else {
        Err(ctx.bad(format!("axis {a} is out of range for rank {rank}")))
    }
}

fn rank4(ty: &TensorType, what: &str, ctx: Ctx<'_>) -> Result<[usize; 4], TfliteError> {
    match ty.shape[..] {
        [a, b, c, d] => Ok([a, b, c, d]),
        _ => Err(ctx.bad(format!("{what} must have rank 4, has shape {:?}", ty.shape))),
    }
}

/// Converts operator `ctx` (builtin `code`) into IR nodes.
pub(crate) fn convert(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    code: i32,
    opr: &Operator<'_>,
) -> Result<(), TfliteError> {
    let io = Io::read(imp, ctx, opr)?;
    match code {
        op::CONV_2D => conv2d(imp, ctx, &io, opr, false),
        op::DEPTHWISE_CONV_2D => conv2d(imp, ctx, &io, opr, true),
        op::FULLY_CONNECTED => fully_connected(imp, ctx, &io, opr),
        op::ADD | op::SUB | op::MUL => binary(imp, ctx, &io, opr, code),
        op::AVERAGE_POOL_2D | op::MAX_POOL_2D => pool(imp, ctx, &io, opr, code == op::MAX_POOL_2D),
        op::RESHAPE => {
            let x = imp.operand(io.req(0, ctx)?, ctx)?;
            let ty = out_ty(imp, &io, ctx, None)?;
            let shape = ty.shape.clone();
            imp.add_result(
                ctx,
                io.out,
                Op::Reshape(ReshapeAttrs { shape }),
                vec![x],
                ty,
            )
            .map(drop)
        }
        op::SOFTMAX => {
            let beta = match opr.options(ot::SOFTMAX)? {
                Some(o) => o.scalar(opts::softmax::BETA, 0.0f32)?,
                None => 0.0,
            };
            unary(imp, ctx, &io, Op::Softmax(SoftmaxAttrs::last_axis(beta)))
        }
        op::PAD | op::PADV2 => pad(imp, ctx, &io, code == op::PADV2),
        op::MEAN => mean(imp, ctx, &io, opr),
        op::TRANSPOSE => transpose(imp, ctx, &io),
        op::CONCATENATION => concat(imp, ctx, &io, opr),
        op::QUANTIZE => {
            let (x, _) = act_in(
                imp,
                io.req(0, ctx)?,
                ctx,
                &[DType::F32, DType::I8, DType::U8, DType::I16],
            )?;
            let ty = out_ty(imp, &io, ctx, Some(&[DType::I8, DType::U8, DType::I16]))?;
            imp.add_result(ctx, io.out, Op::Quantize(Default::default()), vec![x], ty)
                .map(drop)
        }
        op::DEQUANTIZE => {
            let (x, _) = act_in(
                imp,
                io.req(0, ctx)?,
                ctx,
                &[DType::I8, DType::U8, DType::I16, DType::I32],
            )?;
            let ty = out_ty(imp, &io, ctx, Some(&[DType::F32]))?;
            imp.add_result(ctx, io.out, Op::Dequantize, vec![x], ty)
                .map(drop)
        }
        op::LOGISTIC => unary(imp, ctx, &io, Op::Sigmoid),
        op::TANH => unary(imp, ctx, &io, Op::Tanh),
        op::RELU => unary(imp, ctx, &io, Op::Relu),
        op::RELU6 => unary(imp, ctx, &io, Op::Relu6),
        op::RELU_N1_TO_1 => unary(
            imp,
            ctx,
            &io,
            Op::Clip(ClipAttrs {
                min: -1.0,
                max: 1.0,
            }),
        ),
        op::HARD_SWISH => unary(imp, ctx, &io, Op::HardSwish),
        op::LEAKY_RELU => {
            let alpha = match opr.options(ot::LEAKY_RELU)? {
                Some(o) => o.scalar(opts::leaky_relu::ALPHA, 0.0f32)?,
                None => 0.0,
            };
            unary(imp, ctx, &io, Op::LeakyRelu(LeakyReluAttrs { alpha }))
        }
        op::BATCH_MATMUL => {
            if let Some(o) = opr.options(ot::BATCH_MATMUL)? {
                let adj_x = o.scalar(opts::batch_matmul::ADJ_X, false)?;
                let adj_y = o.scalar(opts::batch_matmul::ADJ_Y, false)?;
                if adj_x || adj_y {
                    return Err(ctx.unsupported("with adj_x/adj_y (adjoint operands)"));
                }
            }
            let (a, _) = act_in(imp, io.req(0, ctx)?, ctx, F32_I8)?;
            let (b, _) = act_in(imp, io.req(1, ctx)?, ctx, F32_I8)?;
            let ty = out_ty(imp, &io, ctx, Some(F32_I8))?;
            imp.add_result(ctx, io.out, Op::MatMul, vec![a, b], ty)
                .map(drop)
        }
        _ => Err(TfliteError::UnsupportedOp {
            node: ctx.node,
            op: ctx.op.to_string(),
        }),
    }
}

/// A one-operand op on f32 or i8 activations.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_tflite() {
        // micro_speech: 49x40 input, 10x8 window, stride 2: out 25x20,
        // total pad 9 and 6: odd remainder at the bottom.
        assert_eq!(tflite_padding(PADDING_SAME, 49, 10, 2, 1), Ok((4, 5)));
        assert_eq!(tflite_padding(PADDING_SAME, 40, 8, 2, 1), Ok((3, 3)));
        // 3x3 stride 1: 1 each side.
        assert_eq!(tflite_padding(PADDING_SAME, 96, 3, 1, 1), Ok((1, 1)));
        // 3x3 stride 2 on an even input: 0 before, 1 after.
        assert_eq!(tflite_padding(PADDING_SAME, 96, 3, 2, 1), Ok((0, 1)));
        // Dilation 2 makes a 3-tap window 5 wide.
        assert_eq!(tflite_padding(PADDING_SAME, 10, 3, 1, 2), Ok((2, 2)));
    }

    #[test]
    fn valid_padding_is_zero() {
        assert_eq!(tflite_padding(PADDING_VALID, 7, 7, 1, 1), Ok((0, 0)));
        assert_eq!(tflite_padding(PADDING_VALID, 224, 3, 2, 1), Ok((0, 0)));
        assert!(tflite_padding(PADDING_VALID, 2, 3, 1, 1).is_err());
    }

    #[test]
    fn bad_padding_inputs_are_errors() {
        assert!(tflite_padding(7, 10, 3, 1, 1).is_err());
        assert!(tflite_padding(PADDING_SAME, 10, 3, 0, 1).is_err());
        assert!(tflite_padding(PADDING_SAME, 10, 0, 1, 1).is_err());
        assert!(tflite_padding(PADDING_SAME, 10, usize::MAX, 1, 2).is_err());
    }
}
