//! `prune-channels`: structured pruning. Whole output channels ("neurons")
//! of conv2d and fully_connected layers go, and with them everything that
//! reads them: the next layers' input channels, depthwise channels, biases,
//! per-channel constants (batch_norm, a per-channel add or mul), the
//! partners of a residual add, the segment of a concat, the columns of a
//! fully_connected after a flatten. Tensors, MACs and arena all shrink.
//!
//! Channels that must go together form a class ([`groups`]); layers joined
//! by a class (a residual chain) form a group, and each group loses `ratio`
//! of its classes (rounded, at least one kept), those of least importance:
//! the L1 or L2 norm of the channel's weights (each layer's norms divided
//! by their mean, summed over the class), or its mean absolute activation
//! on the calibration data (`score = activation`). A channel read by a
//! graph output or an op the analysis does not know stays.
//!
//! Not exact: `recover` re-fits the pruned graph to the unpruned one,
//! which this pass keeps as the [`Teacher`](crate::teacher::Teacher); the
//! teacher channel of each kept channel is recorded in [`KeptChannels`].

mod groups;

use crate::calibrate::{channel_mean_abs, CalibrationData};
use crate::named::named_enum;
use crate::passes::dce::DeadCodeElimination;
use crate::passes::prune::{parse_layer_ratios, ratio};
use crate::passes::weighted::{is_depthwise, real_weights};
use crate::teacher::{keep_teacher, KeptChannels};
use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use groups::Groups;
use std::collections::{BTreeMap, BTreeSet};
use tmlc_ir::{Graph, NodeId, Op, ValueId};

named_enum! {
    /// How channels are ranked.
    #[derive(Default)]
    pub enum Score {
        /// Sum of absolute weights of the channel.
        #[default]
        L1 = "l1",
        /// Euclidean norm of the channel's weights.
        L2 = "l2",
        /// Mean absolute value of the channel on the calibration data.
        Activation = "activation",
    }
}

/// The `prune-channels` pass.
#[derive(Clone, Debug, PartialEq)]
pub struct PruneChannels {
    /// Fraction of each group's channels removed.
    pub ratio: f32,
    /// Per-layer ratios, by layer result name (for the layer's group).
    pub layers: Vec<(String, f32)>,
    /// Importance of a channel.
    pub score: Score,
    /// Kept channel counts are multiples of this (when the layer's count
    /// is one and larger): the int8 kernels work on blocks of 4 channels.
    pub align: usize,
}

impl Default for PruneChannels {
    fn default() -> Self {
        PruneChannels {
            ratio: 0.25,
            layers: Vec::new(),
            score: Score::L1,
            align: 4,
        }
    }
}

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "prune-channels",
    description: "structured pruning: remove whole channels of conv / fully_connected layers and what reads them",
    options: &[
        ("ratio", "fraction of each layer group's channels removed (default 0.25)"),
        ("layers", "per-layer ratios: LAYER=RATIO separated by `:`"),
        ("score", "l1, l2 (weight norms) or activation (calibration data)"),
        ("align", "kept channel counts are multiples of this (default 4)"),
    ],
    build: |o| {
        let d = PruneChannels::default();
        Ok(Box::new(PruneChannels {
            ratio: o.get_with("ratio", d.ratio, ratio)?,
            layers: o.get_with("layers", d.layers, parse_layer_ratios)?,
            score: o.get("score", d.score)?,
            align: o.get("align", d.align)?.max(1),
        }))
    },
};

fn failed(e: impl std::fmt::Display) -> PassError {
    PassError::failed(INFO.name, e)
}

/// A small union-find over source ops (layers joined by a class).
fn group_of(parent: &mut BTreeMap<NodeId, NodeId>, n: NodeId) -> NodeId {
    let p = *parent.entry(n).or_insert(n);
    if p == n {
        n
    } else {
        let r = group_of(parent, p);
        parent.insert(n, r);
        r
    }
}

impl PruneChannels {
    /// Each source's importance per output channel, divided by its mean.
    fn importance(
        &self,
        g: &Graph,
        sources: &[NodeId],
        cx: &PassContext<'_>,
    ) -> Result<BTreeMap<NodeId, Vec<f64>>, PassError> {
        let raw: Vec<Vec<f64>> = if self.score == Score::Activation {
            let data = cx
                .get::<CalibrationData>()
                .ok_or_else(|| failed("score=activation needs calibration data (--calibration)"))?;
            let names: Vec<String> = sources
                .iter()
                .map(|&n| g.value(g.node(n).result).name.clone())
                .collect();
            let means = channel_mean_abs(g, data, &names).map_err(failed)?;
            names
                .iter()
                .map(|n| means.get(n).cloned().unwrap_or_default())
                .collect()
        } else {
            sources
                .iter()
                .map(|&n| {
                    let w = real_weights(g, g.node(n).operands[1]).unwrap_or_default();
                    let rows = g
                        .value(g.node(n).result)
                        .ty
                        .shape
                        .last()
                        .copied()
                        .unwrap_or(1);
                    w.chunks((w.len() / rows.max(1)).max(1))
                        .map(|r| match self.score {
                            Score::L2 => r.iter().map(|&x| f64::from(x * x)).sum::<f64>().sqrt(),
                            _ => r.iter().map(|&x| f64::from(x.abs())).sum(),
                        })
                        .collect()
                })
                .collect()
        };
        Ok(sources
            .iter()
            .zip(raw)
            .map(|(&n, r)| {
                let mean = r.iter().sum::<f64>() / r.len().max(1) as f64;
                let norm = r
                    .iter()
                    .map(|x| if mean > 0.0 { x / mean } else { 0.0 })
                    .collect();
                (n, norm)
            })
            .collect())
    }

    /// The classes to remove.
    fn choose(
        &self,
        g: &Graph,
        gr: &Groups,
        cx: &PassContext<'_>,
    ) -> Result<BTreeSet<usize>, PassError> {
        let imp = self.importance(g, &gr.sources, cx)?;
        let members = gr.members();
        // Sources joined by a class form a group.
        let mut parent = BTreeMap::new();
        for m in members.values() {
            for w in m.windows(2) {
                let (a, b) = (group_of(&mut parent, w[0].0), group_of(&mut parent, w[1].0));
                parent.insert(a.max(b), a.min(b));
            }
        }
        let mut groups: BTreeMap<NodeId, Vec<(usize, f64)>> = BTreeMap::new();
        for (&class, m) in &members {
            let score = m
                .iter()
                .map(|&(n, j)| imp.get(&n).and_then(|v| v.get(j)).copied().unwrap_or(0.0))
                .sum();
            let root = group_of(&mut parent, m[0].0);
            groups.entry(root).or_default().push((class, score));
        }
        let mut out = BTreeSet::new();
        for (root, mut classes) in groups {
            let ratio = gr
                .sources
                .iter()
                .filter(|&&n| group_of(&mut parent, n) == root)
                .find_map(|&n| {
                    let name = &g.value(g.node(n).result).name;
                    self.layers.iter().find(|(l, _)| l == name).map(|p| p.1)
                })
                .unwrap_or(self.ratio);
            let total = classes.len();
            let mut k = ((total as f64 * f64::from(ratio)).round() as usize).min(total - 1);
            let a = self.align;
            if a > 1 && total / a * a == total && total > a && k > 0 {
                // The nearest multiple of `a` to keep (ties: the smaller).
                let keep = total - k;
                let down = keep / a * a;
                let keep = if keep - down <= down + a - keep {
                    down
                } else {
                    down + a
                };
                k = total - keep.clamp(a, total);
            }
            classes.retain(|&(c, _)| gr.removable(c));
            classes.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            out.extend(classes.iter().take(k).map(|p| p.0));
        }
        Ok(out)
    }
}

/// Replaces constant operand `i` of `n` by its elements at `kept` along
/// `axis` (per-axis quantization along `axis` sliced too).
fn slice_operand(
    g: &mut Graph,
    n: NodeId,
    i: usize,
    axis: usize,
    kept: &[usize],
) -> Result<(), PassError> {
    let v = g.node(n).operands[i];
    let mut ty = g.value(v).ty.clone();
    let Some(data) = g.const_data(v) else {
        return Ok(());
    };
    if ty.shape.get(axis) == Some(&kept.len()) && (0..kept.len()).eq(kept.iter().copied()) {
        return Ok(());
    }
    let inner: usize = ty.shape[axis + 1..].iter().product();
    let outer: usize = ty.shape[..axis].iter().product();
    let dim = ty.shape[axis];
    let idx: Vec<usize> = (0..outer)
        .flat_map(|o| {
            kept.iter()
                .flat_map(move |&k| (0..inner).map(move |i| (o * dim + k) * inner + i))
        })
        .collect();
    let data = data.gather(&idx);
    ty.shape[axis] = kept.len();
    if let Some(q) = ty.quant.as_mut().filter(|q| q.axis == Some(axis)) {
        q.scale = kept.iter().map(|&k| q.scale[k]).collect();
        q.zero_point = kept.iter().map(|&k| q.zero_point[k]).collect();
    }
    let name = g.fresh_name(&g.value(v).name);
    let c = g.add_const(&name, ty, data);
    g.set_operand(n, i, c).map_err(failed)
}

impl Pass for PruneChannels {
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
            ("ratio", self.ratio.to_string()),
            ("layers", layers.join(":")),
            ("score", self.score.to_string()),
            ("align", self.align.to_string()),
        ]
    }

    fn run(&self, g: &mut Graph, cx: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let gr = Groups::of(g);
        for (name, _) in &self.layers {
            let n = g.value_by_name(name).and_then(|v| g.producer(v));
            if !n.is_some_and(|n| gr.sources.contains(&n)) {
                return Err(failed(format!(
                    "`{name}` is not a conv2d (one group) / fully_connected layer with constant weights"
                )));
            }
        }
        let removed = self.choose(g, &gr, cx)?;
        if removed.is_empty() {
            return Ok(Changed::No);
        }
        keep_teacher(g, cx);
        // The kept positions of every value whose channels shrink.
        let mut kept: BTreeMap<ValueId, Vec<usize>> = BTreeMap::new();
        let values: Vec<ValueId> = g.values().map(|(id, _)| id).collect();
        for v in values {
            let Some(Some(atoms)) = gr.atoms.get(v.index()) else {
                continue;
            };
            let k: Vec<usize> = (0..atoms.len())
                .filter(|&i| !removed.contains(&gr.class(atoms[i])))
                .collect();
            if k.len() < atoms.len() {
                kept.insert(v, k);
            }
        }
        let all = |v: ValueId, g: &Graph| -> Vec<usize> {
            (0..g.value(v).ty.shape.last().copied().unwrap_or(0)).collect()
        };
        let channels_of =
            |v: ValueId, g: &Graph| kept.get(&v).cloned().unwrap_or_else(|| all(v, g));
        let order = g
            .topo_order()
            .map_err(|_| failed("the graph has a cycle"))?;
        for n in order {
            let node = g.node(n).clone();
            let (x, y) = (node.operands[0], node.result);
            if !kept.contains_key(&x) && !kept.contains_key(&y) {
                continue;
            }
            let (kx, ky) = (channels_of(x, g), channels_of(y, g));
            match &node.op {
                Op::Conv2d(a) if is_depthwise(g, n) => {
                    slice_operand(g, n, 1, 0, &ky)?;
                    if node.operands.len() > 2 {
                        slice_operand(g, n, 2, 0, &ky)?;
                    }
                    let mut a = a.clone();
                    a.groups = ky.len();
                    g.set_op(n, Op::Conv2d(a));
                }
                Op::Conv2d(_) | Op::FullyConnected(_) if gr.sources.contains(&n) => {
                    let w_rank = g.value(node.operands[1]).ty.rank();
                    slice_operand(g, n, 1, 0, &ky)?;
                    slice_operand(g, n, 1, w_rank - 1, &kx)?;
                    if node.operands.len() > 2 {
                        slice_operand(g, n, 2, 0, &ky)?;
                    }
                }
                Op::Reshape(a) => {
                    let mut a = a.clone();
                    if let Some(l) = a.shape.last_mut() {
                        *l = ky.len();
                    }
                    g.set_op(n, Op::Reshape(a));
                }
                _ => {}
            }
            for &(m, i) in gr.channel_consts.iter().filter(|p| p.0 == n) {
                let r = g.value(g.node(m).operands[i]).ty.rank();
                slice_operand(g, m, i, r.saturating_sub(1), &ky)?;
            }
        }
        // The values' types, and the teacher channels they keep.
        let mut map = cx.get::<KeptChannels>().cloned().unwrap_or_default();
        let mut removed_channels = 0;
        for (&v, k) in &kept {
            let value = g.value_mut(v);
            if let Some(l) = value.ty.shape.last_mut() {
                *l = k.len();
            }
            let before = map.0.get(&value.name).cloned();
            let teacher = match before {
                Some(b) => k.iter().map(|&i| b[i]).collect(),
                None => k.clone(),
            };
            map.0.insert(value.name.clone(), teacher);
            if gr.sources.iter().any(|&s| g.node(s).result == v) {
                removed_channels += gr.atoms[v.index()].as_ref().map_or(0, Vec::len) - k.len();
            }
        }
        cx.insert(map);
        DeadCodeElimination.run(g, cx)?;
        let total: usize = gr
            .sources
            .iter()
            .map(|&s| {
                gr.atoms[g.node(s).result.index()]
                    .as_ref()
                    .map_or(0, Vec::len)
            })
            .sum();
        cx.report(
            INFO.name,
            format!(
                "removed {removed_channels} of {total} output channels of {} layers",
                gr.sources.len()
            ),
        );
        Ok(Changed::Yes)
    }
}
