//! `int4-weights`: 4-bit weights. The f32 weights of the chosen conv2d (one
//! group) / fully_connected layers are snapped to the grid of symmetric
//! per-output-channel 4-bit quantization (`scale = max|w| / 7`, integers
//! `-7..=7`), and the layers are recorded in the context
//! ([`Int4Layers`], with their scales) so that `quantize` makes their
//! weights `i4` instead of `i8`.
//!
//! Rounding (`method`): `nearest`, or `reconstruct` (the default), which
//! chooses up or down for each weight to reproduce the teacher's result of
//! the layer on the calibration data ([`super::recover::round`], the
//! AdaRound objective), layer after layer, each on the inputs the rounded
//! layers before it give; the bias is then re-fitted to the teacher (mean
//! shift). The teacher is the graph before any compression (kept by the
//! first compression pass, or here).
//!
//! Which layers: every conv2d (one group) and fully_connected with f32
//! weights but the first and the last (`ends = false`, the default:
//! they hold few weights and decide much of the accuracy), or those named
//! in `layers`.

use crate::calibrate::CalibrationData;
use crate::named::named_enum;
use crate::passes::recover::round::{nearest, reconstruct};
use crate::passes::recover::stats::gather;
use crate::passes::weighted::{f32_const, weight_layers};
use crate::teacher::{keep_teacher, KeptChannels, Teacher};
use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use std::collections::BTreeMap;
use tmlc_ir::{DType, Graph, NodeId, Op, TensorData, TensorType};

/// The layers whose weights `quantize` makes 4-bit: result name -> scale
/// per output channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Int4Layers(pub BTreeMap<String, Vec<f32>>);

named_enum! {
    /// How weights are rounded to the 4-bit grid.
    #[derive(Default)]
    pub enum Rounding {
        /// To the nearest grid point.
        Nearest = "nearest",
        /// Up or down, by the layer's reconstruction error.
        #[default]
        Reconstruct = "reconstruct",
    }
}

/// The `int4-weights` pass.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Int4Weights {
    /// Rounding to the grid.
    pub method: Rounding,
    /// Only these layers (result names); empty: the default choice.
    pub layers: Vec<String>,
    /// Include the first and last weighted layers in the default choice.
    pub ends: bool,
}

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "int4-weights",
    description: "4-bit weights (per output channel) for conv / fully_connected layers, rounded by reconstruction",
    options: &[
        ("method", "reconstruct (by the layer's error against the teacher) or nearest"),
        ("layers", "layers made 4-bit, separated by `:` (default: all but the first and last)"),
        ("ends", "include the first and last layers by default (true or false)"),
    ],
    build: |o| {
        let d = Int4Weights::default();
        let layers: String = o.get("layers", String::new())?;
        Ok(Box::new(Int4Weights {
            method: o.get("method", d.method)?,
            layers: layers.split(':').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            ends: o.get("ends", d.ends)?,
        }))
    },
};

/// Integer levels either side of zero.
const LEVELS: i32 = 7;

fn failed(e: impl std::fmt::Display) -> PassError {
    PassError::failed(INFO.name, e)
}

impl Int4Weights {
    /// The layers to make 4-bit, in execution order.
    fn chosen(&self, g: &Graph) -> Result<Vec<NodeId>, PassError> {
        let fits = |n: NodeId| {
            let node = g.node(n);
            let one_group = match &node.op {
                Op::Conv2d(a) => a.groups == 1,
                _ => true,
            };
            one_group
                && g.value(node.result).ty.dtype == DType::F32
                && f32_const(g, node.operands[1]).is_some()
                && node
                    .operands
                    .get(2)
                    .map_or(true, |&b| f32_const(g, b).is_some())
        };
        let all = weight_layers(g);
        if !self.layers.is_empty() {
            return self
                .layers
                .iter()
                .map(|name| {
                    g.value_by_name(name)
                        .and_then(|v| g.producer(v))
                        .filter(|&n| all.contains(&n) && fits(n))
                        .ok_or_else(|| {
                            failed(format!(
                                "`{name}` is not a conv2d (one group) / fully_connected layer with f32 weights"
                            ))
                        })
                })
                .collect();
        }
        let last = all.len().saturating_sub(1);
        Ok(all
            .iter()
            .enumerate()
            .filter(|&(i, &n)| (self.ends || (i != 0 && i != last)) && fits(n))
            .map(|(_, &n)| n)
            .collect())
    }
}

impl Pass for Int4Weights {
    fn name(&self) -> &'static str {
        INFO.name
    }

    fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("method", self.method.to_string()),
            ("layers", self.layers.join(":")),
            ("ends", self.ends.to_string()),
        ]
    }

    fn run(&self, g: &mut Graph, cx: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let chosen = self.chosen(g)?;
        if chosen.is_empty() {
            return Ok(Changed::No);
        }
        if self.method == Rounding::Reconstruct && cx.get::<CalibrationData>().is_none() {
            return Err(failed(
                "reconstruction rounding needs calibration data (--calibration), or method=nearest",
            ));
        }
        keep_teacher(g, cx);
        let teacher = cx
            .get::<Teacher>()
            .map(|t| t.0.clone())
            .unwrap_or_else(|| g.clone());
        let kept = cx.get::<KeptChannels>().cloned().unwrap_or_default();
        let mut int4 = cx.get::<Int4Layers>().cloned().unwrap_or_default();
        for n in chosen {
            let node = g.node(n).clone();
            let name = g.value(node.result).name.clone();
            let w = f32_const(g, node.operands[1])
                .map(<[f32]>::to_vec)
                .unwrap_or_default();
            let rows = g.value(node.operands[1]).ty.shape[0].max(1);
            let k = w.len() / rows;
            let mut b = match node.operands.get(2) {
                Some(&b) => f32_const(g, b).map(<[f32]>::to_vec).unwrap_or_default(),
                None => vec![0.0; rows],
            };
            let scales: Vec<f32> = w
                .chunks(k.max(1))
                .map(|r| {
                    let m = r.iter().fold(0.0f32, |m, x| m.max(x.abs()));
                    if m > 0.0 && m.is_finite() {
                        m / LEVELS as f32
                    } else {
                        1.0
                    }
                })
                .collect();
            let stats = match (self.method, cx.get::<CalibrationData>()) {
                (Rounding::Reconstruct, Some(data)) => {
                    let nt = teacher
                        .value_by_name(&name)
                        .and_then(|v| teacher.producer(v));
                    match nt {
                        Some(nt) => gather(g, n, &teacher, nt, &kept, data).map_err(failed)?,
                        None => None,
                    }
                }
                _ => None,
            };
            let mut snapped = Vec::with_capacity(w.len());
            for (o, row) in w.chunks(k.max(1)).enumerate() {
                let s = scales[o];
                let q = match &stats {
                    Some(st) => {
                        let (d, og) = (st.d, st.og);
                        let gram = st.full_gram(0);
                        // The target without the bias's share.
                        let c: Vec<f64> = (0..k)
                            .map(|i| st.cross[0][i * og + o] - gram[i * d + k] * f64::from(b[o]))
                            .collect();
                        let q = reconstruct(row, s, LEVELS, &gram, d, &c);
                        // The bias that fits the rounded weights best.
                        let n_pos = gram[k * d + k].max(1.0);
                        let pred: f64 = (0..k)
                            .map(|i| gram[k * d + i] * f64::from(s) * f64::from(q[i]))
                            .sum();
                        b[o] = ((st.cross[0][k * og + o] - pred) / n_pos) as f32;
                        q
                    }
                    None => nearest(row, s, LEVELS),
                };
                snapped.extend(q.iter().map(|&v| s * v as f32));
            }
            g.make_const(node.operands[1], TensorData::F32(snapped));
            if stats.is_some() {
                let ty = TensorType::new(DType::F32, vec![rows]);
                let bc = g.add_const(
                    &g.fresh_name(&format!("{name}_bias")),
                    ty,
                    TensorData::F32(b),
                );
                if node.operands.len() > 2 {
                    g.set_operand(n, 2, bc).map_err(failed)?;
                } else {
                    g.add_operand(n, bc).map_err(failed)?;
                }
            }
            int4.0.insert(name, scales);
        }
        let count = int4.0.len();
        cx.insert(int4);
        crate::passes::dce::DeadCodeElimination.run(g, cx)?;
        cx.report(
            INFO.name,
            format!(
                "{count} layers with 4-bit weights ({} rounding)",
                self.method
            ),
        );
        Ok(Changed::Yes)
    }
}
