//! Compute operators: element-wise, convolution, fully connected, binary,
//! pooling.

use super::*;

pub(super) fn unary(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    io: &Io,
    op: Op,
) -> Result<(), TfliteError> {
    let (x, _) = act_in(imp, io.req(0, ctx)?, ctx, F32_I8)?;
    let ty = out_ty(imp, io, ctx, Some(F32_I8))?;
    imp.add_result(ctx, io.out, op, vec![x], ty).map(drop)
}

/// The bias operand: for a quantized op, a constant bias loses its
/// quantization metadata (TFLite Micro adds the int32 raw and never reads
/// it; person_detect's is inconsistent).
pub(super) fn bias(
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

pub(super) fn conv2d(
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
    // A dynamic-range ("hybrid") layer, f32 input with int8 weights,
    // quantizes its input at run time: asymmetric with per-channel
    // weights, symmetric with per-tensor ones (TFLite's hybrid kernels).
    let dynamic = match &imp.ty(w).quant {
        Some(q) if xty.quant.is_none() && (q.axis.is_some() || q.scale.len() > 1) => {
            DynamicQuant::Asymmetric
        }
        Some(_) if xty.quant.is_none() => DynamicQuant::Symmetric,
        _ => DynamicQuant::None,
    };
    let attrs = Conv2dAttrs {
        stride,
        dilation,
        pad: [top, left, bottom, right],
        groups,
        act,
        dynamic,
    };
    let mut operands = vec![x, w];
    operands.extend(b);
    imp.add_result(ctx, io.out, Op::Conv2d(attrs), operands, ty)
        .map(drop)
}

pub(super) fn fully_connected(
    imp: &mut Importer<'_>,
    ctx: Ctx<'_>,
    io: &Io,
    opr: &Operator<'_>,
) -> Result<(), TfliteError> {
    use opts::fully_connected as f;
    let (act, format, keep, asymmetric) = match opr.options(ot::FULLY_CONNECTED)? {
        Some(o) => (
            o.scalar(f::FUSED_ACTIVATION, 0i8)?,
            o.scalar(f::WEIGHTS_FORMAT, 0i8)?,
            o.scalar(f::KEEP_NUM_DIMS, false)?,
            o.scalar(f::ASYMMETRIC_QUANTIZE_INPUTS, false)?,
        ),
        None => (0, 0, false, false),
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
    // A dynamic-range ("hybrid") layer quantizes its input rows at run
    // time, asymmetrically when the model asks.
    let dynamic = match (&wty.quant, &xty.quant, asymmetric) {
        (Some(_), None, true) => DynamicQuant::Asymmetric,
        (Some(_), None, false) => DynamicQuant::Symmetric,
        _ => DynamicQuant::None,
    };
    imp.add_result(
        ctx,
        io.out,
        Op::FullyConnected(FullyConnectedAttrs {
            act,
            keep_dims,
            dynamic,
        }),
        operands,
        ty,
    )
    .map(drop)
}

pub(super) fn binary(
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

pub(super) fn pool(
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
