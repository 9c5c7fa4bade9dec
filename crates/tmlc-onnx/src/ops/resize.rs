//! `Resize` and `Upsample` on the spatial axes of an image, in NHWC.
//!
//! - Nearest by integer factors with a coordinate mode that maps output
//!   pixel `k*f + j` to input pixel `k` (PyTorch's `nn.Upsample`, nearest):
//!   every pixel repeated with movement ops (reshape, concat of copies), so
//!   it also runs in int8.
//! - Anything else in `nearest` or `linear` mode (bilinear upsampling, any
//!   coordinate transformation, non-integer scales): resizing is linear in
//!   the input, one axis at a time, so each axis is a constant
//!   interpolation matrix `M[out, in]` applied with the IR's matmul.

use super::{out, R};
use crate::import::{const_ints, Importer, Node};
use tmlc_ir::{ConcatAttrs, DType, Op, ReshapeAttrs, TensorData, TensorType, ValueId};

/// The largest repeat factor or scale accepted (a bound on the graph a
/// hostile model can make).
const MAX_FACTOR: usize = 64;

/// The most elements of an interpolation matrix.
const MAX_MATRIX: usize = 1 << 22;

/// The integer factor of `out / inp`, if it is one.
fn factor(inp: usize, out: usize) -> Option<usize> {
    (inp > 0 && out % inp == 0).then(|| out / inp)
}

pub(super) fn resize(imp: &mut Importer<'_>, n: &Node<'_>) -> R<()> {
    let mode = n.string("mode").unwrap_or_else(|| "nearest".into());
    if mode != "nearest" && mode != "linear" {
        return Err(n.err(format!(
            "mode {mode} is not supported (nearest and linear are)"
        )));
    }
    // Upsample always maps output pixel o to input o / scale.
    let default_coord = if n.op() == "Upsample" {
        "asymmetric"
    } else {
        "half_pixel"
    };
    let coord = n
        .string("coordinate_transformation_mode")
        .unwrap_or_else(|| default_coord.into());
    let default_nearest = if n.op() == "Upsample" {
        "floor"
    } else {
        "round_prefer_floor"
    };
    let nearest = n
        .string("nearest_mode")
        .unwrap_or_else(|| default_nearest.into());
    if n.int("antialias", 0) != 0 {
        return Err(n.err("antialias is not supported"));
    }
    let xn = n.req(0)?;
    let x = imp.nhwc(n, xn)?;
    let xs = imp.ty(x).shape.clone();
    let nchw = [xs[0], xs[3], xs[1], xs[2]];
    let (out_nchw, scales) = out_shape(imp, n, nchw)?;
    if out_nchw[0] != nchw[0] || out_nchw[1] != nchw[1] {
        return Err(n.err("only the spatial axes may be resized"));
    }
    let [b, h, w, c] = [xs[0], xs[1], xs[2], xs[3]];
    let (oh, ow) = (out_nchw[2], out_nchw[3]);
    // With an integer factor, these map output pixel k*f + j to pixel k.
    let repeats = match coord.as_str() {
        "asymmetric" => nearest == "floor",
        "half_pixel" | "pytorch_half_pixel" => nearest != "floor" && nearest != "ceil",
        _ => false,
    };
    if let (true, true, Some(fh), Some(fw)) =
        (mode == "nearest", repeats, factor(h, oh), factor(w, ow))
    {
        // Repeat along W: [B, H, W, 1, C] -> copies on axis 3 -> [B, H, W*f, C].
        let y = repeat(imp, n, x, vec![b, h, w, 1, c], 3, fw, "w")?;
        // Repeat along H: [B, H, 1, W*fw*C] -> copies on axis 2.
        let y = repeat(imp, n, y, vec![b, h, 1, w * fw * c], 2, fh, "h")?;
        let shape = vec![b, oh, ow, c];
        let y = imp.op(
            n,
            Op::Reshape(ReshapeAttrs { shape }),
            vec![y],
            n.output(0)?,
        )?;
        return out(imp, n, y, true);
    }
    let axis = Axis {
        linear: mode == "linear",
        coord: &coord,
        nearest: &nearest,
    };
    let mw = axis.matrix(n, w, ow, scales[1])?;
    let mh = axis.matrix(n, h, oh, scales[0])?;
    // Along W: [B*H, W, C] -> M_w @ . -> [B*H, OW, C].
    let y = apply(imp, n, x, vec![b * h, w, c], mw, (ow, w), "w")?;
    // Along H: [B, H, OW*C] -> M_h @ . -> [B, OH, OW*C].
    let y = apply(imp, n, y, vec![b, h, ow * c], mh, (oh, h), "h")?;
    let shape = vec![b, oh, ow, c];
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

/// `matrix @ reshape(x, shape)` (nothing when the matrix is `None`, the
/// identity).
fn apply(
    imp: &mut Importer<'_>,
    n: &Node<'_>,
    x: ValueId,
    shape: Vec<usize>,
    matrix: Option<Vec<f32>>,
    (rows, cols): (usize, usize),
    what: &str,
) -> R<ValueId> {
    let Some(m) = matrix else {
        return Ok(x);
    };
    let name = format!("{}_{what}_in", n.name);
    let r = imp.op(n, Op::Reshape(ReshapeAttrs { shape }), vec![x], &name)?;
    let ty = TensorType::new(DType::F32, vec![rows, cols]);
    let k = imp.konst(
        &format!("{}_{what}_weights", n.name),
        ty,
        TensorData::F32(m),
    );
    imp.op(
        n,
        Op::MatMul,
        vec![k, r],
        &format!("{}_{what}_resized", n.name),
    )
}

/// How one axis is resampled.
struct Axis<'a> {
    linear: bool,
    coord: &'a str,
    nearest: &'a str,
}

impl Axis<'_> {
    /// The input coordinate of output pixel `o` (ONNX's
    /// coordinate_transformation_mode), with `out` output pixels and the
    /// resized length `inp * scale` (not an integer in general).
    fn source(&self, n: &Node<'_>, o: usize, inp: usize, out: usize, scale: f64) -> R<f64> {
        let (o, inp_f) = (o as f64, inp as f64);
        let resized = inp_f * scale;
        Ok(match self.coord {
            "half_pixel" => (o + 0.5) / scale - 0.5,
            "pytorch_half_pixel" if resized > 1.0 => (o + 0.5) / scale - 0.5,
            "pytorch_half_pixel" => 0.0,
            "align_corners" if resized > 1.0 => o * (inp_f - 1.0) / (resized - 1.0),
            "align_corners" => 0.0,
            "asymmetric" => o / scale,
            "half_pixel_symmetric" => {
                let adjustment = out as f64 / resized;
                let center = inp_f / 2.0;
                center * (1.0 - adjustment) + (o + 0.5) / scale - 0.5
            }
            c => {
                return Err(n.err(format!(
                    "coordinate_transformation_mode {c} is not supported"
                )))
            }
        })
    }

    /// The nearest input pixel to coordinate `x` (ONNX's nearest_mode).
    fn round(&self, n: &Node<'_>, x: f64) -> R<f64> {
        let half = x - x.floor() == 0.5;
        Ok(match self.nearest {
            "round_prefer_floor" if half => x.floor(),
            "round_prefer_ceil" if half => x.ceil(),
            "round_prefer_floor" | "round_prefer_ceil" => x.round(),
            "floor" => x.floor(),
            "ceil" => x.ceil(),
            m => return Err(n.err(format!("nearest_mode {m} is not supported"))),
        })
    }

    /// The `[out, inp]` interpolation matrix, or `None` for the identity.
    fn matrix(&self, n: &Node<'_>, inp: usize, out: usize, scale: f64) -> R<Option<Vec<f32>>> {
        if out.checked_mul(inp).map_or(true, |c| c > MAX_MATRIX) {
            return Err(n.err(format!("resizing {inp} to {out} pixels is too large")));
        }
        let mut m = vec![0.0f64; out * inp];
        let last = inp.saturating_sub(1) as f64;
        for o in 0..out {
            let x = self.source(n, o, inp, out, scale)?;
            let row = &mut m[o * inp..(o + 1) * inp];
            if self.linear {
                let x = x.clamp(0.0, last);
                let i0 = x.floor();
                let frac = x - i0;
                let i1 = (i0 + 1.0).min(last);
                row[i0 as usize] += 1.0 - frac;
                row[i1 as usize] += frac;
            } else {
                let i = self.round(n, x)?.clamp(0.0, last);
                row[i as usize] = 1.0;
            }
        }
        let identity = out == inp && (0..out).all(|o| m[o * inp + o] == 1.0);
        Ok((!identity).then(|| m.iter().map(|&v| v as f32).collect()))
    }
}

/// The NCHW output shape and the spatial scales `[h, w]`: from `sizes`
/// (scale = out / in), else `scales` (input, or the attribute of
/// `Upsample` 7).
fn out_shape(imp: &mut Importer<'_>, n: &Node<'_>, x: [usize; 4]) -> R<([usize; 4], [f64; 2])> {
    // Resize: (X, roi, scales, sizes) from opset 11, (X, scales) in 10;
    // Upsample 9: (X, scales).
    let (scales_at, sizes_at) = match (n.op(), imp.opset) {
        ("Resize", 11..) => (2, Some(3)),
        _ => (1, None),
    };
    // `axes` (opset 18) names the dimensions scales / sizes give.
    let axes: Vec<usize> = match n.ints("axes") {
        None => (0..4).collect(),
        Some(a) => a
            .iter()
            .map(|&a| {
                let v = if a < 0 { a + 4 } else { a };
                usize::try_from(v)
                    .ok()
                    .filter(|&v| v < 4)
                    .ok_or_else(|| n.err(format!("axis {a} is out of range")))
            })
            .collect::<R<_>>()?,
    };
    if let Some(s) = sizes_at.and_then(|i| n.input(i)) {
        let v = imp.plain(n, s)?;
        let sizes = imp.const_data(v).and_then(const_ints);
        let sizes = sizes.ok_or_else(|| n.err("sizes must be a constant"))?;
        if sizes.len() != axes.len() {
            return Err(n.err("sizes and axes differ in length"));
        }
        let mut out = x;
        for (&d, &size) in axes.iter().zip(&sizes) {
            out[d] = usize::try_from(size)
                .ok()
                .filter(|&s| s <= x[d].max(1) * MAX_FACTOR)
                .ok_or_else(|| n.err(format!("size {size} is out of range")))?;
        }
        let ratio = |d: usize| out[d] as f64 / x[d].max(1) as f64;
        // Aspect-ratio policies: one scale for every axis given, the
        // smallest (not_larger) or the largest (not_smaller).
        let policy = n.string("keep_aspect_ratio_policy");
        let one = match policy.as_deref() {
            None | Some("stretch") => None,
            Some("not_larger") => axes.iter().map(|&d| ratio(d)).reduce(f64::min),
            Some("not_smaller") => axes.iter().map(|&d| ratio(d)).reduce(f64::max),
            Some(p) => return Err(n.err(format!("keep_aspect_ratio_policy {p} is not supported"))),
        };
        if let Some(scale) = one {
            for &d in &axes {
                out[d] = (x[d] as f64 * scale).round() as usize;
            }
            let mut scales = [1.0; 2];
            for &d in axes.iter().filter(|&&d| d >= 2) {
                scales[d - 2] = scale;
            }
            return Ok((out, scales));
        }
        return Ok((out, [ratio(2), ratio(3)]));
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
    if scales.len() != axes.len() {
        return Err(n.err("scales and axes differ in length"));
    }
    let mut full = [1.0f32; 4];
    for (&d, &s) in axes.iter().zip(&scales) {
        full[d] = s;
    }
    let mut out = [0; 4];
    for d in 0..4 {
        let s = full[d];
        if !(s.is_finite() && s > 0.0 && s <= MAX_FACTOR as f32) {
            return Err(n.err(format!("scale {s} is out of range (0, {MAX_FACTOR}]")));
        }
        // ONNX: floor(input * scale).
        out[d] = (x[d] as f64 * s as f64).floor() as usize;
    }
    Ok((out, [full[2] as f64, full[3] as f64]))
}
