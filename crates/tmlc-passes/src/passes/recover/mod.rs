//! `recover`: knowledge distillation on the compiler side. The graph
//! before compression (the [`Teacher`] that `prune` / `prune-channels`
//! kept) teaches the compressed one on the calibration data, layer by
//! layer in execution order, each layer fitted on the inputs the already
//! recovered layers before it give it (so later layers also absorb the
//! error of earlier ones):
//! - `bias`: each compressed layer's bias moves by the mean difference
//!   between the teacher's result (before the activation) and its own, per
//!   output channel;
//! - `lsq` (and `full`): each compressed layer's weights and bias are
//!   re-fitted by least squares to reproduce the teacher's result, in
//!   closed form (`(G + lambda D) w = c + lambda D w0` per output channel,
//!   `G`, `c` from [`stats`], `D` the diagonal of `G` plus its mean,
//!   `lambda` the `ridge` option: a small pull towards the current weights
//!   `w0`). Weights that
//!   pruning set to zero stay zero; after channel pruning the next layer
//!   re-fits on the channels that remain.
//!
//! A layer counts as compressed when its weights differ from the
//! teacher's (values or shape). Float layers only (f32 weights).

pub(crate) mod round;
pub(crate) mod solve;
pub(crate) mod stats;

use crate::calibrate::CalibrationData;
use crate::named::named_enum;
use crate::passes::weighted::{f32_const, weight_layers};
use crate::teacher::{KeptChannels, Teacher};
use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use solve::solve_spd;
use stats::{gather, Stats};
use tmlc_ir::{DType, Graph, NodeId, TensorData, TensorType};

named_enum! {
    /// How much of the teacher's behaviour a compressed layer is fitted to.
    #[derive(Default, PartialOrd, Ord)]
    pub enum Mode {
        /// Nothing.
        None = "none",
        /// Bias shifts only.
        Bias = "bias",
        /// Least-squares re-fit of weights and bias.
        Lsq = "lsq",
        /// `lsq`, and reconstruction rounding where weights become 4-bit.
        #[default]
        Full = "full",
    }
}

/// The `recover` pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Recover {
    /// What is re-fitted.
    pub mode: Mode,
    /// Pull of a least-squares re-fit towards the current weights,
    /// relative to the diagonal of `G`.
    pub ridge: f64,
}

impl Default for Recover {
    fn default() -> Self {
        Recover {
            mode: Mode::Full,
            ridge: 1e-2,
        }
    }
}

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "recover",
    description: "re-fit compressed layers to the uncompressed teacher on the calibration data",
    options: &[
        ("mode", "none, bias, lsq or full"),
        (
            "ridge",
            "pull of the re-fit towards the current weights (default 0.01)",
        ),
    ],
    build: |o| {
        let d = Recover::default();
        Ok(Box::new(Recover {
            mode: o.get("mode", d.mode)?,
            ridge: o.get("ridge", d.ridge)?,
        }))
    },
};

fn failed(e: impl std::fmt::Display) -> PassError {
    PassError::failed(INFO.name, e)
}

/// The teacher layer of student layer `n` (same result name, same op),
/// when `n`'s weights differ from it.
fn compressed(g: &Graph, n: NodeId, t: &Graph) -> Option<NodeId> {
    let node = g.node(n);
    let nt = t.producer(t.value_by_name(&g.value(node.result).name)?)?;
    let tn = t.node(nt);
    if tn.op.name() != node.op.name() || tn.operands.len() < 2 {
        return None;
    }
    let (w, wt) = (node.operands[1], tn.operands[1]);
    let same = g.value(w).ty == t.value(wt).ty && g.const_data(w) == t.const_data(wt);
    (!same).then_some(nt)
}

impl Recover {
    /// New weights and bias of a layer with weights `w` (rows of `k`) and
    /// bias `b`, from its statistics.
    fn refit(&self, st: &Stats, w: &[f32], b: &[f32], k: usize) -> (Vec<f32>, Vec<f32>) {
        let (mut w, mut b) = (w.to_vec(), b.to_vec());
        let (d, og) = (st.d, st.og);
        for (gi, gram) in st.gram.iter().enumerate() {
            let full = st.full_gram(gi);
            let cross = &st.cross[gi];
            for o in 0..og {
                let oc = gi * og + o;
                let row = &mut w[oc * k..(oc + 1) * k];
                if self.mode == Mode::Bias {
                    // Only the bias moves: the mean residual.
                    let n = gram[k * d + k].max(1.0);
                    let pred: f64 = (0..k).map(|i| gram[i * d + k] * f64::from(row[i])).sum();
                    let mean = (cross[k * og + o] - pred) / n;
                    b[oc] = mean as f32;
                    continue;
                }
                // The support: non-zero weights, and the bias.
                let s: Vec<usize> = (0..k).filter(|&i| row[i] != 0.0).chain([k]).collect();
                let m = s.len();
                // The pull towards w0 is at least the mean diagonal's, so
                // that an input that is (almost) always zero keeps its
                // weight instead of taking any value: harmless in f32, but
                // one large weight ruins the channel's int8 scale.
                let mean_diag = s.iter().map(|&i| full[i * d + i]).sum::<f64>() / m as f64;
                let mut a = vec![0.0; m * m];
                let mut rhs = vec![0.0; m];
                for (p, &i) in s.iter().enumerate() {
                    for (q, &j) in s.iter().enumerate() {
                        a[p * m + q] = full[i * d + j];
                    }
                    let w0 = if i == k {
                        f64::from(b[oc])
                    } else {
                        f64::from(row[i])
                    };
                    let lam = self.ridge * (full[i * d + i] + mean_diag) + 1e-12;
                    a[p * m + p] += lam;
                    rhs[p] = cross[i * og + o] + lam * w0;
                }
                if let Some(x) = solve_spd(&a, &rhs, m) {
                    for (p, &i) in s.iter().enumerate() {
                        if i == k {
                            b[oc] = x[p] as f32;
                        } else {
                            row[i] = x[p] as f32;
                        }
                    }
                }
            }
        }
        (w, b)
    }
}

impl Pass for Recover {
    fn name(&self) -> &'static str {
        INFO.name
    }

    fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("mode", self.mode.to_string()),
            ("ridge", self.ridge.to_string()),
        ]
    }

    fn run(&self, g: &mut Graph, cx: &mut PassContext<'_>) -> Result<Changed, PassError> {
        if self.mode == Mode::None {
            return Ok(Changed::No);
        }
        let Some(Teacher(teacher)) = cx.get::<Teacher>() else {
            return Ok(Changed::No);
        };
        let teacher = teacher.clone();
        let data = cx
            .get::<CalibrationData>()
            .ok_or_else(|| failed("recovery needs calibration data (--calibration)"))?;
        let kept = cx.get::<KeptChannels>().cloned().unwrap_or_default();
        let mut refitted = 0;
        for n in weight_layers(g) {
            let node = g.node(n).clone();
            let f32_layer = g.value(node.result).ty.dtype == DType::F32
                && g.value(node.operands[0]).ty.dtype == DType::F32;
            let Some(w) = f32_const(g, node.operands[1]).filter(|_| f32_layer) else {
                continue;
            };
            let Some(nt) = compressed(g, n, &teacher) else {
                continue;
            };
            let rows = g.value(node.operands[1]).ty.shape[0];
            let k = w.len() / rows.max(1);
            let b = match node.operands.get(2) {
                Some(&b) => match f32_const(g, b) {
                    Some(b) => b.to_vec(),
                    None => continue,
                },
                None => vec![0.0; rows],
            };
            let w = w.to_vec();
            let Some(st) = gather(g, n, &teacher, nt, &kept, data).map_err(failed)? else {
                continue;
            };
            let (w, b) = self.refit(&st, &w, &b, k);
            let name = g.value(node.result).name.clone();
            if self.mode != Mode::Bias {
                g.make_const(node.operands[1], TensorData::F32(w));
            }
            let bias_ty = TensorType::new(DType::F32, vec![rows]);
            let bc = g.add_const(
                &g.fresh_name(&format!("{name}_bias")),
                bias_ty,
                TensorData::F32(b),
            );
            if node.operands.len() > 2 {
                g.set_operand(n, 2, bc).map_err(failed)?;
            } else {
                g.add_operand(n, bc).map_err(failed)?;
            }
            refitted += 1;
        }
        crate::passes::dce::DeadCodeElimination.run(g, cx)?;
        cx.report(
            INFO.name,
            format!(
                "{}: {refitted} compressed layers re-fitted to the teacher",
                self.mode
            ),
        );
        Ok((refitted > 0).into())
    }
}
