//! `prune`: unstructured magnitude pruning of the weights ("synapses") of
//! conv2d and fully_connected layers.
//!
//! Each layer's weights are cut into blocks of `block` consecutive values
//! along the reduction axis (the flattened `[KH, KW, C_in]` row of one
//! output channel, NHWC order; `block = 1` prunes single weights, `block =
//! 4` the 1x4 blocks a SIMD kernel reads as a unit) and the blocks with the
//! smallest L2 norm become zero: `sparsity` of them in each layer
//! (`ranking = layer`), or the smallest over all pruned layers together
//! until `sparsity` of their blocks are zero (`ranking = global`). Weights
//! that are already zero count as pruned. int8 weights are ranked by their
//! real value and pruned to their zero point.
//!
//! Which layers: every conv2d (not depthwise: 9 weights per channel, and
//! little flash) and fully_connected with constant weights, except the
//! first and the last (`ends = false`, the default), which hold few
//! weights and decide much of the accuracy. `layers` names layers (by
//! result name) with their own sparsity, any layer included.
//!
//! Not exact: the graph computes a different function; `recover` re-fits
//! it to the unpruned graph, which this pass keeps as the [`Teacher`]. The
//! backend stores weights with enough zeros in a sparse encoding.

use crate::named::named_enum;
use crate::passes::weighted::{is_depthwise, real_weights, weight_layers};
use crate::teacher::keep_teacher;
use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{Graph, NodeId, TensorData};

named_enum! {
    /// How blocks are ranked for pruning.
    #[derive(Default)]
    pub enum Ranking {
        /// Each layer loses its own fraction of blocks.
        #[default]
        Layer = "layer",
        /// One threshold for all pruned layers.
        Global = "global",
    }
}

/// The `prune` pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Prune {
    /// Fraction of blocks set to zero, in `0..=1`.
    pub sparsity: f32,
    /// Per-layer sparsity, by layer result name (overrides `sparsity`,
    /// ranked within the layer).
    pub layers: Vec<(String, f32)>,
    /// Per layer or global ranking.
    pub ranking: Ranking,
    /// Consecutive weights pruned as a unit along the reduction axis.
    pub block: usize,
    /// Prune the first and last weighted layers too.
    pub ends: bool,
}

impl Default for Prune {
    fn default() -> Self {
        Prune {
            sparsity: 0.5,
            layers: Vec::new(),
            ranking: Ranking::Layer,
            block: 1,
            ends: false,
        }
    }
}

/// Parses `name=ratio:name=ratio`.
pub fn parse_layer_ratios(s: &str) -> Result<Vec<(String, f32)>, String> {
    s.split(':')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, r) = p
                .split_once('=')
                .ok_or_else(|| format!("`{p}` is not LAYER=RATIO"))?;
            Ok((name.to_string(), ratio(r)?))
        })
        .collect()
}

/// A fraction in `0..=1`.
pub(crate) fn ratio(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("`{s}` is not a fraction between 0 and 1")),
    }
}

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "prune",
    description: "unstructured magnitude pruning of conv / fully_connected weights",
    options: &[
        (
            "sparsity",
            "fraction of weight blocks set to zero (default 0.5)",
        ),
        ("layers", "per-layer sparsity: LAYER=RATIO separated by `:`"),
        ("ranking", "layer (each layer its own fraction) or global"),
        (
            "block",
            "weights pruned as a unit along the reduction axis: 1 or 4",
        ),
        (
            "ends",
            "prune the first and last weighted layers too (true or false)",
        ),
    ],
    build: |o| {
        let d = Prune::default();
        Ok(Box::new(Prune {
            sparsity: o.get_with("sparsity", d.sparsity, ratio)?,
            layers: o.get_with("layers", d.layers, parse_layer_ratios)?,
            ranking: o.get("ranking", d.ranking)?,
            block: o.get_with("block", d.block, |s| match s.parse() {
                Ok(b @ (1 | 4)) => Ok(b),
                _ => Err(format!("{s} is not 1 or 4")),
            })?,
            ends: o.get("ends", d.ends)?,
        }))
    },
};

/// One pruned layer: its node, real weights and block scores.
struct Candidate {
    node: NodeId,
    /// The layer's own sparsity (a `layers` entry), else the pass's.
    own: Option<f32>,
    weights: Vec<f32>,
    /// Row length (weights per output channel).
    k: usize,
    /// Squared L2 norm of each block, row by row.
    scores: Vec<f32>,
}

impl Prune {
    fn block_scores(&self, w: &[f32], k: usize) -> Vec<f32> {
        w.chunks(k.max(1))
            .flat_map(|row| {
                row.chunks(self.block)
                    .map(|b| b.iter().map(|x| x * x).sum())
            })
            .collect()
    }

    /// The layers to prune, with their scores.
    fn candidates(&self, g: &Graph) -> Vec<Candidate> {
        let all = weight_layers(g);
        let last = all.len().saturating_sub(1);
        all.iter()
            .enumerate()
            .filter_map(|(i, &n)| {
                let name = &g.value(g.node(n).result).name;
                let own = self.layers.iter().find(|(l, _)| l == name).map(|p| p.1);
                let default = (self.ends || (i != 0 && i != last)) && !is_depthwise(g, n);
                if own.is_none() && !default {
                    return None;
                }
                let w = g.node(n).operands[1];
                let weights = real_weights(g, w)?;
                let rows = g.value(w).ty.shape.first().copied().unwrap_or(1).max(1);
                let k = weights.len() / rows;
                let scores = self.block_scores(&weights, k);
                Some(Candidate {
                    node: n,
                    own,
                    weights,
                    k,
                    scores,
                })
            })
            .collect()
    }
}

/// Indices of the `count` smallest scores (ties: the lower index first).
fn smallest(scores: &[f32], count: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    idx.truncate(count);
    idx
}

fn count(blocks: usize, ratio: f32) -> usize {
    ((blocks as f64 * f64::from(ratio)).round() as usize).min(blocks)
}

impl Pass for Prune {
    fn name(&self) -> &'static str {
        INFO.name
    }

    fn options(&self) -> Vec<(&'static str, String)> {
        let layers: Vec<String> = self
            .layers
            .iter()
            .map(|(l, r)| format!("{l}={r}"))
            .collect();
        vec![
            ("sparsity", self.sparsity.to_string()),
            ("layers", layers.join(":")),
            ("ranking", self.ranking.to_string()),
            ("block", self.block.to_string()),
            ("ends", self.ends.to_string()),
        ]
    }

    fn run(&self, g: &mut Graph, cx: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let layers = weight_layers(g);
        for (name, _) in &self.layers {
            let n = g.value_by_name(name).and_then(|v| g.producer(v));
            if !n.is_some_and(|n| layers.contains(&n)) {
                return Err(PassError::failed(
                    INFO.name,
                    format!(
                        "`{name}` is not a conv2d / fully_connected layer with constant weights"
                    ),
                ));
            }
        }
        let cands = self.candidates(g);
        // Blocks to zero, per candidate.
        let mut cut: Vec<Vec<usize>> = cands
            .iter()
            .map(|c| match c.own {
                Some(r) => smallest(&c.scores, count(c.scores.len(), r)),
                None if self.ranking == Ranking::Layer => {
                    smallest(&c.scores, count(c.scores.len(), self.sparsity))
                }
                None => Vec::new(),
            })
            .collect();
        if self.ranking == Ranking::Global {
            // One ranking over the blocks of every layer without its own ratio.
            let pooled: Vec<(usize, usize)> = cands
                .iter()
                .enumerate()
                .filter(|(_, c)| c.own.is_none())
                .flat_map(|(i, c)| (0..c.scores.len()).map(move |b| (i, b)))
                .collect();
            let scores: Vec<f32> = pooled.iter().map(|&(i, b)| cands[i].scores[b]).collect();
            for j in smallest(&scores, count(scores.len(), self.sparsity)) {
                let (i, b) = pooled[j];
                cut[i].push(b);
            }
        }
        if cands.is_empty() {
            return Ok(Changed::No);
        }
        keep_teacher(g, cx);
        let (mut zeros, mut total) = (0usize, 0usize);
        let mut changed = false;
        for (c, blocks) in cands.iter().zip(cut) {
            let w = g.node(c.node).operands[1];
            let per_row = c.k.div_ceil(self.block);
            let mut data = g
                .const_data(w)
                .cloned()
                .unwrap_or(TensorData::F32(Vec::new()));
            let q = g.value(w).ty.quant.clone();
            let zp = |row: usize| {
                q.as_ref().map_or(0, |q| {
                    q.zero_point_at(if q.is_per_tensor() { 0 } else { row })
                })
            };
            for b in blocks {
                let (row, j) = (b / per_row, b % per_row);
                let start = row * c.k + j * self.block;
                let end = (start + self.block).min((row + 1) * c.k);
                match &mut data {
                    TensorData::F32(d) => d[start..end].fill(0.0),
                    TensorData::I8(d) => d[start..end].fill(zp(row) as i8),
                    _ => {}
                }
            }
            let zero = |i: usize| match &data {
                TensorData::F32(d) => d[i] == 0.0,
                TensorData::I8(d) => i32::from(d[i]) == zp(i / c.k.max(1)),
                _ => false,
            };
            let after = (0..c.weights.len()).filter(|&i| zero(i)).count();
            changed |= after != c.weights.iter().filter(|&&x| x == 0.0).count();
            zeros += after;
            total += c.weights.len();
            g.make_const(w, data);
        }
        cx.report(
            INFO.name,
            format!(
                "{} of {} weights zero in {} layer{} ({:.1}%)",
                zeros,
                total,
                cands.len(),
                if cands.len() == 1 { "" } else { "s" },
                100.0 * zeros as f64 / total.max(1) as f64
            ),
        );
        Ok(changed.into())
    }
}
