//! What a layer re-fit needs from the calibration data: for each group of
//! the layer (one for a convolution or fully_connected, one per channel for
//! a depthwise convolution), `G = sum p p^T` and `C = sum p y^T` over every
//! output position, where `p` is the student's input patch (the `K`
//! values one output reads, then a 1 for the bias) and `y` the teacher's
//! result there before its activation, at the teacher channels the student
//! kept. Least squares, bias shifts and rounding choices all follow from
//! `G` and `C`.

use crate::calibrate::{fold_samples, CalibrationData};
use crate::teacher::KeptChannels;
use tmlc_interp::{run_observed, InterpError};
use tmlc_ir::{Activation, Conv2dAttrs, Graph, NodeId, Op, Tensor, TensorData};

/// The shape of a re-fitted layer.
#[derive(Clone, Debug)]
pub(crate) enum Geometry {
    /// conv2d: NHWC input `[n, h, w, c]`, output `[n, ho, wo, o]`, weights
    /// `[o, kh, kw, c / groups]`.
    Conv {
        a: Conv2dAttrs,
        input: [usize; 4],
        out: [usize; 4],
        kh: usize,
        kw: usize,
    },
    /// fully_connected: `rows` inputs of `k`, `o` outputs.
    Dense { rows: usize, k: usize, o: usize },
}

impl Geometry {
    /// The geometry of conv2d / fully_connected node `n`.
    pub(crate) fn of(g: &Graph, n: NodeId) -> Option<Geometry> {
        let node = g.node(n);
        let xs = &g.value(node.operands[0]).ty.shape;
        let ws = &g.value(*node.operands.get(1)?).ty.shape;
        let ys = &g.value(node.result).ty.shape;
        match &node.op {
            Op::Conv2d(a) if xs.len() == 4 && ws.len() == 4 && ys.len() == 4 => {
                Some(Geometry::Conv {
                    a: a.clone(),
                    input: [xs[0], xs[1], xs[2], xs[3]],
                    out: [ys[0], ys[1], ys[2], ys[3]],
                    kh: ws[1],
                    kw: ws[2],
                })
            }
            Op::FullyConnected(_) if ws.len() == 2 => {
                let k = ws[1];
                let rows = g.value(node.operands[0]).ty.numel().checked_div(k)?;
                Some(Geometry::Dense { rows, k, o: ws[0] })
            }
            _ => None,
        }
    }

    /// Groups, input values per patch (`K`, the bias aside) and outputs
    /// per group.
    pub(crate) fn dims(&self) -> (usize, usize, usize) {
        match self {
            Geometry::Conv {
                a,
                input,
                out,
                kh,
                kw,
                ..
            } => {
                let groups = a.groups.max(1);
                (groups, kh * kw * input[3] / groups, out[3] / groups)
            }
            Geometry::Dense { k, o, .. } => (1, *k, *o),
        }
    }

    /// Output positions (pixels or rows).
    fn positions(&self) -> usize {
        match self {
            Geometry::Conv { out, .. } => out[0] * out[1] * out[2],
            Geometry::Dense { rows, .. } => *rows,
        }
    }

    /// Writes the patch of group `gi` at output position `pos` of input
    /// `x` into `p` (`K` values, zero padding, then 1).
    fn patch(&self, x: &[f32], pos: usize, gi: usize, p: &mut [f64]) {
        match self {
            Geometry::Conv {
                a,
                input,
                out,
                kh,
                kw,
            } => {
                let [_, h, w, c] = *input;
                let cg = c / a.groups.max(1);
                let (b, rest) = (pos / (out[1] * out[2]), pos % (out[1] * out[2]));
                let (oy, ox) = (rest / out[2], rest % out[2]);
                let mut i = 0;
                for ky in 0..*kh {
                    for kx in 0..*kw {
                        let iy =
                            (oy * a.stride[0] + ky * a.dilation[0]) as isize - a.pad[0] as isize;
                        let ix =
                            (ox * a.stride[1] + kx * a.dilation[1]) as isize - a.pad[1] as isize;
                        let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                        for ch in 0..cg {
                            p[i] = if inside {
                                let at =
                                    ((b * h + iy as usize) * w + ix as usize) * c + gi * cg + ch;
                                f64::from(x[at])
                            } else {
                                0.0
                            };
                            i += 1;
                        }
                    }
                }
                p[i] = 1.0;
            }
            Geometry::Dense { k, .. } => {
                for (d, &s) in p.iter_mut().zip(&x[pos * k..(pos + 1) * k]) {
                    *d = f64::from(s);
                }
                p[*k] = 1.0;
            }
        }
    }
}

/// `G` (`D x D`, `D = K + 1`, upper triangle filled) and `C` (`D x O_g`)
/// per group, and the number of positions summed.
#[derive(Clone, Debug)]
pub(crate) struct Stats {
    pub(crate) d: usize,
    pub(crate) og: usize,
    pub(crate) gram: Vec<Vec<f64>>,
    pub(crate) cross: Vec<Vec<f64>>,
    pub(crate) count: u64,
}

impl Stats {
    fn new(groups: usize, d: usize, og: usize) -> Stats {
        Stats {
            d,
            og,
            gram: vec![vec![0.0; d * d]; groups],
            cross: vec![vec![0.0; d * og]; groups],
            count: 0,
        }
    }

    fn merge(mut self, o: Stats) -> Stats {
        for (a, b) in self.gram.iter_mut().zip(o.gram) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        for (a, b) in self.cross.iter_mut().zip(o.cross) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self.count += o.count;
        self
    }

    /// `G` of group `gi` with its lower triangle filled in.
    pub(crate) fn full_gram(&self, gi: usize) -> Vec<f64> {
        let (d, mut m) = (self.d, self.gram[gi].clone());
        for i in 0..d {
            for j in 0..i {
                m[i * d + j] = m[j * d + i];
            }
        }
        m
    }
}

fn floats(t: &Tensor) -> Vec<f32> {
    match &t.data {
        TensorData::F32(v) => v.clone(),
        d => (0..d.len()).map(|i| d.get_f64(i) as f32).collect(),
    }
}

/// Gathers [`Stats`] for student layer `n` of `student`, whose result has
/// the name of teacher layer `nt` of `teacher`, on `data`.
pub(crate) fn gather(
    student: &Graph,
    n: NodeId,
    teacher: &Graph,
    nt: NodeId,
    kept: &KeptChannels,
    data: &CalibrationData,
) -> Result<Option<Stats>, InterpError> {
    let Some(geo) = Geometry::of(student, n) else {
        return Ok(None);
    };
    let (groups, k, og) = geo.dims();
    let d = k + 1;
    // The teacher's result before its activation.
    let mut pre = teacher.clone();
    let mut op = pre.node(nt).op.clone();
    op.set_activation(Activation::None);
    pre.set_op(nt, op);
    let (x, y) = (student.node(n).operands[0], pre.node(nt).result);
    let name = &student.value(student.node(n).result).name;
    let ot = *teacher.value(y).ty.shape.last().unwrap_or(&1);
    let map: Vec<usize> = kept
        .of(name)
        .map_or_else(|| (0..ot).collect(), <[usize]>::to_vec);
    if map.len() != groups * og || map.iter().any(|&m| m >= ot) {
        return Ok(None);
    }
    let stats = fold_samples(
        &data.samples,
        || Stats::new(groups, d, og),
        |mut acc, sample| -> Result<Stats, InterpError> {
            let xs = match student.inputs().iter().position(|&v| v == x) {
                Some(i) => floats(&sample[i]),
                None => {
                    let mut out = Vec::new();
                    run_observed(student, sample, |v, t| {
                        if v == x {
                            out = floats(t);
                        }
                    })?;
                    out
                }
            };
            let mut yt = Vec::new();
            run_observed(&pre, sample, |v, t| {
                if v == y {
                    yt = floats(t);
                }
            })?;
            let mut p = vec![0.0; d];
            for pos in 0..geo.positions() {
                for gi in 0..groups {
                    geo.patch(&xs, pos, gi, &mut p);
                    let gm = &mut acc.gram[gi];
                    for i in 0..d {
                        if p[i] == 0.0 {
                            continue;
                        }
                        for j in i..d {
                            gm[i * d + j] += p[i] * p[j];
                        }
                    }
                    let cm = &mut acc.cross[gi];
                    for o in 0..og {
                        let target = f64::from(yt[pos * ot + map[gi * og + o]]);
                        for i in 0..d {
                            cm[i * og + o] += p[i] * target;
                        }
                    }
                }
            }
            acc.count += geo.positions() as u64;
            Ok(acc)
        },
        Stats::merge,
    )?;
    Ok(Some(stats))
}
