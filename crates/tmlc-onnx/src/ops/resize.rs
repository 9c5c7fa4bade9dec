//! `Resize` and `Upsample` in nearest mode by integer factors on the
//! spatial axes: every pixel repeated, which is what PyTorch's
//! `nn.Upsample(scale_factor=k)` exports. Repeating is done with movement
//! ops (reshape, concat of copies), in NHWC, so it also runs in int8.

use super::{out, R};
use crate::import::{const_ints, Importer, Node};
use tmlc_ir::{ConcatAttrs, Op, ReshapeAttrs, TensorData, ValueId};

/// The largest repeat factor accepted (a bound on the graph a hostile
/// model can make).
const MAX_FACTOR: usize = 64;

/// The integer factor of `out / inp`, if it is one (and not above
/// [`MAX_FACTOR`]).
fn factor(inp: usize, out: usize) -> Option<usize> {
    (inp > 0 && out % inp == 0 && out / inp <= MAX_FACTOR).then(|| out / inp)
}

pub(super) fn resize(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let mode = n.string("mode").unwrap_or_else(|| "nearest".into());
    if mode != "nearest" {
        return Err(n.err(format!("mode {mode} is not supported (nearest is)")));
    }
    let coord = n
        .string("coordinate_transformation_mode")
        .unwrap_or_else(|| "half_pixel".into());
    let nearest = n
        .string("nearest_mode")
        .unwrap_or_else(|| "round_prefer_floor".into());
    // With an integer factor, every one of these maps output pixel
    // k*f + j (0 <= j < f) to input pixel k.
    let repeats = match coord.as_str() {
        "asymmetric" => nearest == "floor",
        "half_pixel" | "pytorch_half_pixel" => nearest != "floor" && nearest != "ceil",
        _ => false,
    };
    if n.op() == "Resize" && !repeats {
        return Err(n.err(format!(
            "coordinate_transformation_mode {coord} with nearest_mode {nearest} is not supported"
        )));
    }
    let xn = n.req(0)?;
    let x = imp.nhwc(n, xn)?;
    let xs = imp.ty(x).shape.clone();
    let nchw = [xs[0], xs[3], xs[1], xs[2]];
    let out_nchw = out_shape(imp, n, nchw)?;
    let f = [0, 1, 2, 3].map(|d| factor(nchw[d], out_nchw[d]));
    let (Some(1), Some(1), Some(fh), Some(fw)) = (f[0], f[1], f[2], f[3]) else {
        return Err(n.err(format!(
            "only integer factors up to {MAX_FACTOR} on the spatial axes are supported \
             ({nchw:?} to {out_nchw:?})"
        )));
    };
    let [b, h, w, c] = [xs[0], xs[1], xs[2], xs[3]];
    // Repeat along W: [B, H, W, 1, C] -> f copies on axis 3 -> [B, H, W*f, C].
    let y = repeat(imp, n, x, vec![b, h, w, 1, c], 3, fw, "w")?;
    // Repeat along H: [B, H, 1, W*fw*C] -> copies on axis 2.
    let y = repeat(imp, n, y, vec![b, h, 1, w * fw * c], 2, fh, "h")?;
    let shape = vec![b, h * fh, w * fw, c];
    let y = imp.op(
        n,
        Op::Reshape(ReshapeAttrs { shape }),
        vec![y],
        n.output(0)?,
    )?;
    out(imp, n, y, true)
}

/// `x` reshaped to `shape` (size 1 at `axis`), `times` copies concatenated
/// on `axis`.
fn repeat(
    imp: &mut Importer<'_>,
    n: &Node<'_>,
    x: ValueId,
    shape: Vec<usize>,
    axis: usize,
    times: usize,
    what: &str,
) -> R<ValueId> {
    if times == 1 {
        return Ok(x);
    }
    let name = format!("{}_{what}1", n.name);
    let r = imp.op(n, Op::Reshape(ReshapeAttrs { shape }), vec![x], &name)?;
    let name = format!("{}_{what}{times}", n.name);
    imp.op(n, Op::Concat(ConcatAttrs { axis }), vec![r; times], &name)
}

/// The NCHW output shape: from `sizes`, else `scales` (input, or the
/// attribute of `Upsample` 7).
fn out_shape(imp: &mut Importer<'_>, n: &Node<'_>, x: [usize; 4]) -> R<[usize; 4]> {
    // Resize: (X, roi, scales, sizes) from opset 11, (X, scales) in 10;
    // Upsample 9: (X, scales).
    let (scales_at, sizes_at) = match (n.op(), imp.opset) {
        ("Resize", 11..) => (2, Some(3)),
        _ => (1, None),
    };
    if let Some(s) = sizes_at.and_then(|i| n.input(i)) {
        let v = imp.plain(n, s)?;
        let sizes = imp.const_data(v).and_then(const_ints);
        let sizes = sizes.ok_or_else(|| n.err("sizes must be a constant"))?;
        if n.has_attr("axes") || sizes.len() != 4 {
            return Err(n.err("sizes must give the four dimensions"));
        }
        let d = |i: usize| usize::try_from(sizes[i]).map_err(|_| n.err("negative size"));
        return Ok([d(0)?, d(1)?, d(2)?, d(3)?]);
    }
    let scales = match n.input(scales_at) {
        Some(s) => {
            let v = imp.plain(n, s)?;
            match imp.const_data(v) {
                Some(TensorData::F32(d)) => d.clone(),
                _ => return Err(n.err("scales must be an f32 constant")),
            }
        }
        None => n
            .floats("scales")
            .map(<[f32]>::to_vec)
            .ok_or_else(|| n.err("needs scales or sizes"))?,
    };
    if n.has_attr("axes") || scales.len() != 4 {
        return Err(n.err("scales must give the four dimensions"));
    }
    let mut out = [0; 4];
    for d in 0..4 {
        let s = scales[d];
        if !(s.is_finite() && s > 0.0 && s.fract() == 0.0 && s <= MAX_FACTOR as f32) {
            return Err(n.err(format!(
                "scale {s} is not an integer from 1 to {MAX_FACTOR}"
            )));
        }
        out[d] = x[d] * s as usize;
    }
    Ok(out)
}
