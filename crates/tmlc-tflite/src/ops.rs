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
    op, options_type as ot, opts, Operator, ACTIVATION_NAMES, PADDING_SAME, PADDING_VALID,
};
use crate::TfliteError;
use tmlc_ir::{
    numel, Activation, BinaryAttrs, ClipAttrs, ConcatAttrs, Conv2dAttrs, DType,
    FullyConnectedAttrs, LeakyReluAttrs, MeanAttrs, Op, PadAttrs, Pool2dAttrs, ReshapeAttrs,
    SoftmaxAttrs, TensorData, TensorType, TransposeAttrs, ValueId,
};

/// Builtin codes the frontend maps.
pub(crate) fn is_supported(code: i32) -> bool {
    matches!(
        code,
        op::ADD
            | op::AVERAGE_POOL_2D
            | op::CONCATENATION
            | op::CONV_2D
            | op::DEPTHWISE_CONV_2D
            | op::DEQUANTIZE
            | op::FULLY_CONNECTED
            | op::LOGISTIC
            | op::MAX_POOL_2D
            | op::MUL
            | op::RELU
            | op::RELU_N1_TO_1
            | op::RELU6
            | op::RESHAPE
            | op::SOFTMAX
            | op::TANH
            | op::PAD
            | op::TRANSPOSE
            | op::MEAN
            | op::SUB
            | op::PADV2
            | op::LEAKY_RELU
            | op::QUANTIZE
            | op::HARD_SWISH
            | op::BATCH_MATMUL
    )
}

/// The TFLite names of the supported operators, for documentation and tests.
pub const SUPPORTED_OPS: [&str; 25] = [
    "ADD",
    "AVERAGE_POOL_2D",
    "BATCH_MATMUL",
    "CONCATENATION",
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "DEQUANTIZE",
    "FULLY_CONNECTED",
    "HARD_SWISH",
    "LEAKY_RELU",
    "LOGISTIC",
    "MAX_POOL_2D",
    "MEAN",
    "MUL",
    "PAD",
    "PADV2",
    "QUANTIZE",
    "RELU",
    "RELU6",
    "RELU_N1_TO_1",
    "RESHAPE",
    "SOFTMAX",
    "SUB",
    "TANH",
    "TRANSPOSE",
];

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
            imp.add_result(ctx, io.out, Op::Quantize, vec![x], ty)
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
fn unary(imp: &mut Importer<'_>, ctx: Ctx<'_>, io: &Io, op: Op) -> Result<(), TfliteError> {
    let (x, _) = act_in(imp, io.req(0, ctx)?, ctx, F32_I8)?;
    let ty = out_ty(imp, io, ctx, Some(F32_I8))?;
    imp.add_result(ctx, io.out, op, vec![x], ty).map(drop)
}

/// The bias operand: for a quantized op, a constant bias loses its
/// quantization metadata (TFLite Micro adds the int32 raw and never reads
/// it; person_detect's is inconsistent).
fn bias(
    imp: &mut Importer<'_>,
    t: Option<usize>,
    quantized: bool,
    ctx: Ctx<'_>,
) -> Result<Option<ValueId>, TfliteError> {
    let Some(t) = t else { return Ok(None) };
    if quantized && imp.defined(t).is_none() && imp.const_data(t)?.is_some() {
        return imp
            .const_value(t, ConstKind::DropQuant, Some(ctx))
            .map(Some);
    }
    imp.operand(t, ctx).map(Some)
}

fn conv2d(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    io: &Io,
    opr: &Operator<'_>,
    depthwise: bool,
) -> Result<(), TfliteError> {
    // (padding, stride_w, stride_h, activation, dilation_w, dilation_h)
    let (padding, sw, sh, act, dw, dh) = if depthwise {
        use opts::depthwise as f;
        match opr.options(ot::DEPTHWISE_CONV2D)? {
            Some(o) => (
                o.scalar(f::PADDING, 0i8)?,
                o.scalar(f::STRIDE_W, 0i32)?,
                o.scalar(f::STRIDE_H, 0i32)?,
                o.scalar(f::FUSED_ACTIVATION, 0i8)?,
                o.scalar(f::DILATION_W, 1i32)?,
                o.scalar(f::DILATION_H, 1i32)?,
            ),
            None => (0, 0, 0, 0, 1, 1),
        }
    } else {
        use opts::conv2d as f;
        match opr.options(ot::CONV2D)? {
            Some(o) => (
                o.scalar(f::PADDING, 0i8)?,
                o.scalar(f::STRIDE_W, 0i32)?,
                o.scalar(f::STRIDE_H, 0i32)?,
                o.scalar(f::FUSED_ACTIVATION, 0i8)?,
                o.scalar(f::DILATION_W, 1i32)?,
                o.scalar(f::DILATION_H, 1i32)?,
            ),
            None => (0, 0, 0, 0, 1, 1),
        }
    };
    let act = fused(act, ctx)?;
    let (x, xty) = act_in(imp, io.req(0, ctx)?, ctx, F32_I8)?;
    let w_t = io.req(1, ctx)?;
    let w = if depthwise {
        imp.const_value(w_t, ConstKind::DepthwiseFilter, Some(ctx))?
    } else {
        imp.operand(w_t, ctx)?
    };
    let [_, h, wd, cin] = rank4(&xty, "input", ctx)?;
    let [o, kh, kw, i] = rank4(&imp.ty(w), "filter", ctx)?;
    let groups = if depthwise {
        if cin == 0 || o % cin != 0 {
            return Err(ctx.bad(format!(
                "filter has {o} channels, not a multiple of the {cin} input channels"
            )));
        }
        cin
    } else {
        if i == 0 || cin % i != 0 {
            return Err(ctx.bad(format!(
                "input channels {cin} are not a multiple of the filter's {i} input channels"
            )));
        }
        cin / i
    };
    let b = bias(imp, io.opt(2), xty.quant.is_some(), ctx)?;
    let stride = [
        positive(sh, "stride_h", ctx)?,
        positive(sw, "stride_w", ctx)?,
    ];
    let dilation = [
        positive(dh, "dilation_h_factor", ctx)?,
        positive(dw, "dilation_w_factor", ctx)?,
    ];
    let (top, bottom) =
        tflite_padding(padding, h, kh, stride[0], dilation[0]).map_err(|m| ctx.bad(m))?;
    let (left, right) =
        tflite_padding(padding, wd, kw, stride[1], dilation[1]).map_err(|m| ctx.bad(m))?;
    let ty = out_ty(imp, io, ctx, Some(F32_I8))?;
    let attrs = Conv2dAttrs {
        stride,
        dilation,
        pad: [top, left, bottom, right],
        groups,
        act,
    };
    let mut operands = vec![x, w];
    operands.extend(b);
    imp.add_result(ctx, io.out, Op::Conv2d(attrs), operands, ty)
        .map(drop)
}

fn fully_connected(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    io: &Io,
    opr: &Operator<'_>,
) -> Result<(), TfliteError> {
    use opts::fully_connected as f;
    let (act, format, keep) = match opr.options(ot::FULLY_CONNECTED)? {
        Some(o) => (
            o.scalar(f::FUSED_ACTIVATION, 0i8)?,
            o.scalar(f::WEIGHTS_FORMAT, 0i8)?,
            o.scalar(f::KEEP_NUM_DIMS, false)?,
        ),
        None => (0, 0, false),
    };
    let act = fused(act, ctx)?;
    if format != 0 {
        return Err(ctx.unsupported(format_args!("with weights format {format} (shuffled)")));
    }
    let (mut x, xty) = act_in(imp, io.req(0, ctx)?, ctx, F32_I8)?;
    let w = imp.operand(io.req(1, ctx)?, ctx)?;
    let wty = imp.ty(w);
    let [_, k] = wty.shape[..] else {
        return Err(ctx.bad(format!(
            "weights must have rank 2, have shape {:?}",
            wty.shape
        )));
    };
    if xty.shape.last() != Some(&k) {
        // TFLite flattens the input to [numel / K, K]; the IR wants the
        // input's last dimension to be K, so make the reshape explicit.
        let n = numel(&xty.shape);
        if keep {
            return Err(ctx.bad(format!(
                "keep_num_dims needs the input's last dimension to be {k}, input has shape {:?}",
                xty.shape
            )));
        }
        if k == 0 || n % k != 0 {
            return Err(ctx.bad(format!(
                "input of {n} elements cannot be flattened to rows of {k}"
            )));
        }
        let flat = TensorType {
            dtype: xty.dtype,
            shape: vec![n / k, k],
            quant: xty.quant.clone(),
        };
        let name = format!("{}_flat", imp.g.value(x).name);
        let shape = flat.shape.clone();
        x = imp.add_node(
            ctx,
            Op::Reshape(ReshapeAttrs { shape }),
            vec![x],
            &name,
            flat,
        );
    }
    let b = bias(imp, io.opt(2), xty.quant.is_some(), ctx)?;
    let ty = out_ty(imp, io, ctx, Some(F32_I8))?;
    let mut operands = vec![x, w];
    operands.extend(b);
    // keep_num_dims matters only where it changes the result's shape.
    let rows = numel(&imp.ty(x).shape) / k.max(1);
    let keep_dims = ty.shape != [rows, wty.shape[0]];
    imp.add_result(
        ctx,
        io.out,
        Op::FullyConnected(FullyConnectedAttrs { act, keep_dims }),
        operands,
        ty,
    )
    .map(drop)
}

fn binary(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    io: &Io,
    opr: &Operator<'_>,
    code: i32,
) -> Result<(), TfliteError> {
    let tag = match code {
        op::ADD => ot::ADD,
        op::SUB => ot::SUB,
        _ => ot::MUL,
    };
    let act = match opr.options(tag)? {
        Some(o) => o.scalar(opts::binary::FUSED_ACTIVATION, 0i8)?,
        None => 0,
    };
    let attrs = BinaryAttrs {
        act: fused(act, ctx)?,
    };
    let (a, _) = act_in(imp, io.req(0, ctx)?, ctx, F32_I8)?;
    let (b, _) = act_in(imp, io.req(1, ctx)?, ctx, F32_I8)?;
    let ty = out_ty(imp, io, ctx, Some(F32_I8))?;
    let op = match code {
        op::ADD => Op::Add(attrs),
        op::SUB => Op::Sub(attrs),
        _ => Op::Mul(attrs),
    };
    imp.add_result(ctx, io.out, op, vec![a, b], ty).map(drop)
}

fn pool(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    io: &Io,
    opr: &Operator<'_>,
    max: bool,
) -> Result<(), TfliteError> {
    use opts::pool2d as f;
    let (padding, sw, sh, fw, fh, act) = match opr.options(ot::POOL2D)? {
        Some(o) => (
            o.scalar(f::PADDING, 0i8)?,
            o.scalar(f::STRIDE_W, 0i32)?,
            o.scalar(f::STRIDE_H, 0i32)?,
            o.scalar(f::FILTER_WIDTH, 0i32)?,
            o.scalar(f::FILTER_HEIGHT, 0i32)?,
            o.scalar(f::FUSED_ACTIVATION, 0i8)?,
        ),
        None => (0, 0, 0, 0, 0, 0),
    };
    let act = fused(act, ctx)?;
    let (x, xty) = act_in(imp, io.req(0, ctx)?, ctx, F32_I8)?;
    let [_, h, w, _] = rank4(&xty, "input", ctx)?;
    let kernel = [
        positive(fh, "filter_height", ctx)?,
        positive(fw, "filter_width", ctx)?,
    ];
    let stride = [
        positive(sh, "stride_h", ctx)?,
        positive(sw, "stride_w", ctx)?,
    ];
    let (top, bottom) =
        tflite_padding(padding, h, kernel[0], stride[0], 1).map_err(|m| ctx.bad(m))?;
    let (left, right) =
        tflite_padding(padding, w, kernel[1], stride[1], 1).map_err(|m| ctx.bad(m))?;
    let ty = out_ty(imp, io, ctx, Some(F32_I8))?;
    let attrs = Pool2dAttrs {
        kernel,
        stride,
        pad: [top, left, bottom, right],
        count_include_pad: false,
        act,
    };
    let op = if max {
        Op::MaxPool2d(attrs)
    } else {
        Op::AvgPool2d(attrs)
    };
    imp.add_result(ctx, io.out, op, vec![x], ty).map(drop)
}

fn pad(imp: &mut Importer<'_>, ctx: Ctx<'_>, io: &Io, v2: bool) -> Result<(), TfliteError> {
    let x_t = io.req(0, ctx)?;
    let x = imp.operand(x_t, ctx)?;
    let xty = imp.ty(x);
    let rank = xty.rank();
    let (pshape, p) = const_ints(imp, io.req(1, ctx)?, "paddings", ctx)?;
    if pshape != [rank, 2] {
        return Err(ctx.bad(format!(
            "paddings must have shape [{rank},2] for a rank-{rank} input, has {pshape:?}"
        )));
    }
    let mut before = Vec::with_capacity(rank);
    let mut after = Vec::with_capacity(rank);
    for pair in p.chunks_exact(2) {
        let (Ok(b), Ok(a)) = (usize::try_from(pair[0]), usize::try_from(pair[1])) else {
            return Err(ctx.bad(format!("paddings must be non-negative, are {p:?}")));
        };
        before.push(b);
        after.push(a);
    }
    let mut value = 0.0f32;
    if let Some(c) = io.opt(2).filter(|_| v2) {
        if imp.const_data(c)?.is_none() {
            return Err(ctx.bad("constant_values must be a constant tensor"));
        }
        let (cty, data) = imp.decode_const(c, true, Some(ctx))?;
        if data.len() != 1 {
            return Err(ctx.bad(format!(
                "constant_values must hold one value, holds {}",
                data.len()
            )));
        }
        let raw = data.get_f64(0);
        value = match cty.qparams() {
            Some((s, z)) => (s as f64 * (raw - z as f64)) as f32,
            None => raw as f32,
        };
    }
    let ty = out_ty(imp, io, ctx, None)?;
    for (t, tt) in [(x_t, &xty), (io.out, &ty)] {
        if tt.quant.is_some() {
            check_dtype(imp, t, tt, &[DType::I8], ctx)?;
        }
    }
    imp.add_result(
        ctx,
        io.out,
        Op::Pad(PadAttrs {
            before,
            after,
            value,
        }),
        vec![x],
        ty,
    )
    .map(drop)
}

fn mean(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    io: &Io,
    opr: &Operator<'_>,
) -> Result<(), TfliteError> {
    let keep_dims = match opr.options(ot::REDUCER)? {
        Some(o) => o.scalar(opts::reducer::KEEP_DIMS, false)?,
        None => false,
    };
    let (x, xty) = act_in(imp, io.req(0, ctx)?, ctx, F32_I8)?;
    let (_, raw) = const_ints(imp, io.req(1, ctx)?, "axes", ctx)?;
    let mut axes = raw
        .iter()
        .map(|&a| norm_axis(a, xty.rank(), ctx))
        .collect::<Result<Vec<_>, _>>()?;
    axes.sort_unstable();
    axes.dedup();
    if axes.is_empty() {
        return Err(ctx.bad("axes must not be empty"));
    }
    let ty = out_ty(imp, io, ctx, Some(F32_I8))?;
    imp.add_result(
        ctx,
        io.out,
        Op::Mean(MeanAttrs { axes, keep_dims }),
        vec![x],
        ty,
    )
    .map(drop)
}

fn transpose(imp: &mut Importer<'_>, ctx: Ctx<'_>, io: &Io) -> Result<(), TfliteError> {
    let x = imp.operand(io.req(0, ctx)?, ctx)?;
    let rank = imp.ty(x).rank();
    let (_, raw) = const_ints(imp, io.req(1, ctx)?, "perm", ctx)?;
    let mut seen = vec![false; rank];
    let mut perm = Vec::with_capacity(rank);
    for &p in &raw {
        match usize::try_from(p).ok().filter(|&p| p < rank) {
            Some(p) if !seen.get(p).copied().unwrap_or(true) => {
                if let Some(s) = seen.get_mut(p) {
                    *s = true;
                }
                perm.push(p);
            }
            _ => return Err(ctx.bad(format!("perm {raw:?} is not a permutation of rank {rank}"))),
        }
    }
    if perm.len() != rank {
        return Err(ctx.bad(format!("perm {raw:?} is not a permutation of rank {rank}")));
    }
    let ty = out_ty(imp, io, ctx, None)?;
    imp.add_result(
        ctx,
        io.out,
        Op::Transpose(TransposeAttrs { perm }),
        vec![x],
        ty,
    )
    .map(drop)
}

fn concat(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    io: &Io,
    opr: &Operator<'_>,
) -> Result<(), TfliteError> {
    use opts::concatenation as f;
    let (axis, act) = match opr.options(ot::CONCATENATION)? {
        Some(o) => (
            o.scalar(f::AXIS, 0i32)?,
            o.scalar(f::FUSED_ACTIVATION, 0i8)?,
        ),
        None => (0, 0),
    };
    if fused(act, ctx)? != Activation::None {
        let name = usize::try_from(act)
            .ok()
            .and_then(|i| ACTIVATION_NAMES.get(i))
            .copied()
            .unwrap_or("?");
        return Err(ctx.unsupported(format_args!("with fused activation {name}")));
    }
    if io.ins.is_empty() {
        return Err(ctx.bad("needs at least one input"));
    }
    let mut operands = Vec::with_capacity(io.ins.len());
    let mut rank = 0;
    for i in 0..io.ins.len() {
        let (v, ty) = act_in(imp, io.req(i, ctx)?, ctx, F32_I8)?;
        rank = ty.rank();
        operands.push(v);
    }
    let axis = norm_axis(axis as i64, rank, ctx)?;
    let ty = out_ty(imp, io, ctx, Some(F32_I8))?;
    imp.add_result(ctx, io.out, Op::Concat(ConcatAttrs { axis }), operands, ty)
        .map(drop)
}

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
