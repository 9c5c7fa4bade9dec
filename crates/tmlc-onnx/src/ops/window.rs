//! Window operators: Conv and ConvTranspose (2-D, and 1-D as 2-D), MaxPool,
//! AveragePool, GlobalAveragePool and GlobalMaxPool, on the NHWC form.

use super::{out, R};
use crate::import::{Importer, Node, Val, TO_NHWC};
use tmlc_ir::{
    Activation, Conv2dAttrs, MeanAttrs, Op, PadAttrs, Pool2dAttrs, ReshapeAttrs, TensorData,
    TransposeAttrs,
};

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

pub(super) fn conv(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let w = imp.plain(n, n.req(1)?)?;
    if imp.ty(w).rank() == 3 {
        return as_2d(imp, n, 2, conv);
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
        ..Default::default()
    };
    let y = imp.op(n, Op::Conv2d(attrs), operands, n.output(0)?)?;
    out(imp, n, y, true)
}

/// `ConvTranspose` (constant weights `[C_in, C_out/g, KH, KW]`) as a
/// convolution: the input with `stride - 1` zeros inserted between pixels
/// (reshape, pad, reshape, slice), padded by `dilation * (K - 1) - pads`
/// (plus `output_padding` at the end), convolved with the weights flipped
/// in space and with input and output channels exchanged within each
/// group. The zeros cost MACs (stride² of them), not correctness.
pub(super) fn conv_transpose(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let wv = imp.plain(n, n.req(1)?)?;
    if imp.ty(wv).rank() == 3 {
        return as_2d(imp, n, 2, conv_transpose);
    }
    let Some(TensorData::F32(w)) = imp.const_data(wv).cloned() else {
        return Err(n.err("the weights must be an f32 constant"));
    };
    let ws = imp.ty(wv).shape.clone();
    let [cin, cout_g, kh, kw] = ws[..] else {
        return Err(n.err(format!(
            "only 1-D and 2-D transposed convolutions are supported (weights {ws:?})"
        )));
    };
    if n.has_attr("output_shape") {
        return Err(n.err("output_shape is not supported (give pads)"));
    }
    match n.string("auto_pad").as_deref() {
        None | Some("NOTSET") | Some("VALID") => {}
        Some(a) => return Err(n.err(format!("auto_pad {a} is not supported"))),
    }
    let groups = usize::try_from(n.int("group", 1))
        .ok()
        .filter(|&g| g > 0 && cin % g == 0)
        .ok_or_else(|| n.err("group must divide the input channels"))?;
    let stride = pair(n, "strides", 1)?;
    let dilation = pair(n, "dilations", 1)?;
    let out_pad = pair(n, "output_padding", 0)?;
    let pads = match n.sizes("pads")? {
        None => [0; 4],
        Some(p) if p.len() == 4 => [p[0], p[1], p[2], p[3]],
        Some(p) => return Err(n.err(format!("pads has {} values, a 2-D window needs 4", p.len()))),
    };
    let mut x = imp.nhwc(n, n.req(0)?)?;
    let xs = imp.ty(x).shape.clone();
    if xs[3] != cin {
        return Err(n.err(format!("input has {} channels, the weights {cin}", xs[3])));
    }
    let [b, h, wd, c] = [xs[0], xs[1], xs[2], xs[3]];
    if stride != [1, 1] {
        let [sh, sw] = stride;
        let r = imp.op(
            n,
            Op::Reshape(ReshapeAttrs {
                shape: vec![b, h, 1, wd, 1, c],
            }),
            vec![x],
            &format!("{}_cells", n.name),
        )?;
        let pad = PadAttrs {
            before: vec![0; 6],
            after: vec![0, 0, sh - 1, 0, sw - 1, 0],
            value: 0.0,
        };
        let p = imp.op(n, Op::Pad(pad), vec![r], &format!("{}_zeros", n.name))?;
        let shape = vec![b, h * sh, wd * sw, c];
        let f = imp.op(
            n,
            Op::Reshape(ReshapeAttrs { shape }),
            vec![p],
            &format!("{}_spread", n.name),
        )?;
        let slice = tmlc_ir::SliceAttrs {
            begin: vec![0; 4],
            end: vec![b, (h - 1) * sh + 1, (wd - 1) * sw + 1, c],
            step: vec![1; 4],
        };
        x = imp.op(n, Op::Slice(slice), vec![f], &format!("{}_dilated", n.name))?;
    }
    let mut pad = [0; 4];
    for (d, k) in [(0, kh), (1, kw)] {
        let reach = dilation[d] * (k.max(1) - 1);
        let (pb, pe) = (pads[d], pads[d + 2]);
        if pb > reach || pe > reach + out_pad[d] {
            return Err(n.err("pads larger than the kernel's reach are not supported"));
        }
        pad[d] = reach - pb;
        pad[d + 2] = reach - pe + out_pad[d];
    }
    // W'[g*co + o, kh', kw', i] = W[g*ci + i, o, KH-1-kh', KW-1-kw'].
    let cin_g = cin / groups;
    let cout = cout_g * groups;
    let mut flipped = vec![0.0f32; cout * kh * kw * cin_g];
    for g in 0..groups {
        for o in 0..cout_g {
            for i in 0..cin_g {
                for y in 0..kh {
                    for z in 0..kw {
                        let src = (((g * cin_g + i) * cout_g + o) * kh + (kh - 1 - y)) * kw
                            + (kw - 1 - z);
                        let dst = (((g * cout_g + o) * kh + y) * kw + z) * cin_g + i;
                        flipped[dst] = w[src];
                    }
                }
            }
        }
    }
    let wname = format!("{}_as_conv", imp.g.value(wv).name);
    let wt = tmlc_ir::TensorType::new(tmlc_ir::DType::F32, vec![cout, kh, kw, cin_g]);
    let w2 = imp.konst(&wname, wt, TensorData::F32(flipped));
    let mut operands = vec![x, w2];
    if let Some(bias) = n.input(2) {
        operands.push(imp.plain(n, bias)?);
    }
    let attrs = Conv2dAttrs {
        stride: [1, 1],
        dilation,
        pad,
        groups,
        act: Activation::None,
        ..Default::default()
    };
    let y = imp.op(n, Op::Conv2d(attrs), operands, n.output(0)?)?;
    out(imp, n, y, true)
}

/// A 1-D window op (convolution or pooling) on `[N, C, L]` is the 2-D one
/// on `[N, C, 1, L]`: its first `tensors` inputs (data, and a conv's
/// weights `[O, I, K]`) get the extra axis, its window attributes a
/// leading 1 (pads a leading 0 on each side), and `op2d` converts it.
fn as_2d(
    imp: &mut Importer<'_>,
    n: &Node<'_>,
    tensors: usize,
    op2d: fn(&mut Importer<'_>, &Node<'_>) -> R<()>,
) -> R<()> {
    let base = n.name.clone();
    let mut names = Vec::new();
    for i in 0..tensors {
        let t = n.req(i)?;
        let v = imp.plain(n, t)?;
        let mut shape = imp.ty(v).shape.clone();
        if shape.len() != 3 {
            return Err(n.err(format!(
                "a 1-D window op needs rank-3 operands, `{t}` is {}",
                imp.ty(v)
            )));
        }
        shape.insert(2, 1);
        let name = format!("{base}__2d{i}");
        if let Some(data) = imp.const_data(v).cloned() {
            // Weights stay constants (a transposed convolution rearranges them).
            let ty = tmlc_ir::TensorType {
                shape,
                ..imp.ty(v).clone()
            };
            imp.define_const(&name, ty, data);
        } else {
            let r = imp.op(n, Op::Reshape(ReshapeAttrs { shape }), vec![v], &name)?;
            imp.define(
                &name,
                Val {
                    plain: Some(r),
                    ..Val::default()
                },
            );
        }
        names.push(name);
    }
    names.extend(n.p.input.iter().skip(tensors).cloned());
    let mut p = n.p.clone();
    p.input = names;
    let y2 = format!("{base}__2d");
    p.output = vec![y2.clone()];
    for a in &mut p.attribute {
        match (a.name.as_str(), a.ints.len()) {
            ("kernel_shape" | "strides" | "dilations", 1) => a.ints.insert(0, 1),
            ("output_padding", 1) => a.ints.insert(0, 0),
            ("pads", 2) => a.ints = vec![0, a.ints[0], 0, a.ints[1]],
            ("kernel_shape" | "strides" | "dilations" | "pads" | "output_padding", _) => {
                return Err(n.err(format!(
                    "{} has {} values for a 1-D window",
                    a.name,
                    a.ints.len()
                )))
            }
            _ => {}
        }
    }
    op2d(
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

pub(super) fn pool(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    if n.p.output.get(1).is_some_and(|o| !o.is_empty()) {
        return Err(n.err("the Indices output (argmax) is not supported"));
    }
    let xv = imp.val(n, n.req(0)?)?;
    if let (None, Some(p)) = (xv.nhwc, xv.plain) {
        match imp.ty(p).rank() {
            3 => return as_2d(imp, n, 1, pool),
            4 => {}
            r => {
                return Err(n.err(format!(
                    "only 1-D and 2-D pooling is supported (input of rank {r})"
                )))
            }
        }
    }
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

pub(super) fn global_pool(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
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
