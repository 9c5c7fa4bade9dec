//! Weight-only conv2d / fully_connected whose f32 input is quantized to
//! int8 at run time (`dynamic = asymmetric | symmetric`, `spec/ir.md`
//! §5.1, §5.1.1): TFLite's dynamic-range ("hybrid") arithmetic.

use crate::float::act_clamp;
use crate::util::{bias_view, dim, operand, view};
use crate::window::ConvGeom;
use crate::InterpError;
use tmlc_ir::{Activation, Conv2dAttrs, DynamicQuant, Quant, Tensor, TensorData, TensorType};

/// `(q - z, s)` for one slice of f32 values (§5.1.1).
pub(crate) fn quantize_slice(x: &[f32], mode: DynamicQuant) -> (Vec<i32>, f32) {
    let round = |v: f32| v.round();
    match mode {
        DynamicQuant::Symmetric => {
            let r = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            if r == 0.0 || !r.is_finite() {
                return (vec![0; x.len()], 1.0);
            }
            let (s, inv) = (r / 127.0, 127.0 / r);
            let q = x
                .iter()
                .map(|&v| round(v * inv).clamp(-127.0, 127.0) as i32)
                .collect();
            (q, s)
        }
        _ => {
            let lo = x.iter().fold(0.0f32, |m, &v| m.min(v));
            let hi = x.iter().fold(0.0f32, |m, &v| m.max(v));
            if lo == hi || !(lo.is_finite() && hi.is_finite()) {
                return (vec![0; x.len()], 1.0);
            }
            let (l, h) = (f64::from(lo), f64::from(hi));
            let scale = (h - l) / 255.0;
            let (zl, zh) = (-128.0 - l / scale, 127.0 - h / scale);
            let zd = if 128.0 + (l / scale).abs() < 127.0 + (h / scale).abs() {
                zl
            } else {
                zh
            };
            let z = if zd <= -128.0 {
                -128.0
            } else if zd >= 127.0 {
                127.0
            } else {
                zd.round()
            };
            let s = scale as f32;
            let inv = 1.0f32 / s;
            let zf = z as f32;
            let q = x
                .iter()
                .map(|&v| round(zf + v * inv).clamp(-128.0, 127.0) as i32 - z as i32)
                .collect();
            (q, s)
        }
    }
}

fn weights<'a>(w: &'a Tensor, op: &'static str) -> Result<(Vec<i32>, &'a Quant), InterpError> {
    let q = w.ty.quant.as_ref().ok_or_else(|| InterpError::InvalidOp {
        op,
        reason: "weights are not quantized".into(),
    })?;
    let data = view::<i8>(w, op, "weights")?;
    Ok((data.iter().map(|&v| i32::from(v)).collect(), q))
}

/// `conv2d` with run-time input quantization, image by image.
pub(crate) fn conv2d(
    a: &Conv2dAttrs,
    operands: &[&Tensor],
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    const OP: &str = "conv2d";
    let x = operand(operands, 0, OP)?;
    let w = operand(operands, 1, OP)?;
    let xs = view::<f32>(x, OP, "input")?;
    let (wq, q) = weights(w, OP)?;
    let bias = bias_view::<f32>(operands, OP)?;
    let n = dim(&x.ty.shape, 0, OP)?.max(1);
    let mut one = x.ty.shape.clone();
    one[0] = 1;
    let mut one_out = out.shape.clone();
    one_out[0] = 1;
    let geo = ConvGeom::new(a, &one, &w.ty.shape, &one_out)?;
    let act = act_clamp(a.act);
    let mut v = Vec::with_capacity(out.numel());
    for image in xs.chunks((xs.len() / n).max(1)) {
        let (d, s) = quantize_slice(image, a.dynamic);
        v.extend(geo.run(
            &d,
            &wq,
            |_| 0i32,
            |acc, xv, wv| *acc = acc.wrapping_add(xv * wv),
            |acc, oc| {
                let b = bias.and_then(|b| b.get(oc).copied()).unwrap_or(0.0);
                act(acc as f32 * (s * q.scale_at(oc)) + b)
            },
        ));
    }
    Ok(TensorData::F32(v))
}

/// `fully_connected` with run-time input quantization, row by row.
pub(crate) fn fully_connected(
    act: Activation,
    dynamic: DynamicQuant,
    operands: &[&Tensor],
) -> Result<TensorData, InterpError> {
    const OP: &str = "fully_connected";
    let x = operand(operands, 0, OP)?;
    let w = operand(operands, 1, OP)?;
    let xs = view::<f32>(x, OP, "input")?;
    let (wq, q) = weights(w, OP)?;
    let bias = bias_view::<f32>(operands, OP)?;
    let n = dim(&w.ty.shape, 0, OP)?;
    let k = dim(&w.ty.shape, 1, OP)?.max(1);
    let act = act_clamp(act);
    let mut out = Vec::with_capacity(xs.len() / k * n);
    for row in xs.chunks_exact(k) {
        let (d, s) = quantize_slice(row, dynamic);
        for (c, wrow) in wq.chunks_exact(k).enumerate().take(n) {
            let acc = d
                .iter()
                .zip(wrow)
                .fold(0i32, |acc, (&x, &w)| acc.wrapping_add(x * w));
            let b = bias.and_then(|b| b.get(c).copied()).unwrap_or(0.0);
            out.push(act(acc as f32 * (s * q.scale_at(c)) + b));
        }
    }
    Ok(TensorData::F32(out))
}
