//! `equalize`: cross-layer equalization (Nagel et al., "Data-Free
//! Quantization Through Weight Equalization and Bias Correction", 2019)
//! of f32 layer pairs before quantization.
//!
//! For a conv2d / fully_connected `A` whose result reaches a conv2d /
//! fully_connected `B` (as its input) only through ops that commute with a
//! positive per-channel scale (`A`'s activation none or relu; max / average
//! pooling, `mean` and reshapes that keep the channel axis last; zero
//! `pad`), output channel `c` of `A` is divided by `s[c]` (weights and
//! bias) and `B`'s weights reading channel `c` are multiplied by `s[c]`,
//! with `s[c] = sqrt(r1[c] / r2[c])`, `r1[c]` the largest magnitude of
//! `A`'s weights of channel `c` and `r2[c]` that of `B`'s weights reading
//! it. Both become `sqrt(r1 r2)`: per-channel ranges are balanced, so a
//! per-tensor activation scale and per-channel weight scales lose less.
//! The pairs are equalized in execution order, `rounds` times (chains
//! converge). Exact up to f32 rounding (`relu(x / s) = relu(x) / s`).

use crate::passes::weighted::f32_const;
use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{Activation, DType, Graph, NodeId, Op, TensorData, ValueId};

/// The `equalize` pass.
#[derive(Clone, Copy, Debug)]
pub struct Equalize {
    /// Sweeps over the pairs.
    pub rounds: usize,
}

impl Default for Equalize {
    fn default() -> Self {
        Equalize { rounds: 4 }
    }
}

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "equalize",
    description: "cross-layer equalization of conv / fully_connected pairs (before quantization)",
    options: &[("rounds", "sweeps over the layer pairs")],
    build: |o| {
        Ok(Box::new(Equalize {
            rounds: o.get("rounds", Equalize::default().rounds)?,
        }))
    },
};

/// A weighted f32 layer with constant weights (and bias).
fn weighted(g: &Graph, n: NodeId) -> bool {
    let node = g.node(n);
    matches!(node.op, Op::Conv2d(_) | Op::FullyConnected(_))
        && g.value(node.result).ty.dtype == DType::F32
        && node.operands[1..]
            .iter()
            .all(|&v| f32_const(g, v).is_some())
}

/// The layer `B` that `A`'s result `x` (with `c` channels) reaches through
/// scale-commuting ops read only once each.
fn partner(g: &Graph, mut x: ValueId, c: usize) -> Option<NodeId> {
    loop {
        let uses = g.uses(x);
        if uses.len() != 1 || g.outputs().contains(&x) {
            return None;
        }
        let (n, i) = uses[0];
        let node = g.node(n);
        let keeps_channels = g.value(node.result).ty.shape.last() == Some(&c);
        match &node.op {
            Op::Conv2d(_) | Op::FullyConnected(_) if i == 0 && weighted(g, n) => return Some(n),
            Op::MaxPool2d(p) | Op::AvgPool2d(p)
                if matches!(p.act, Activation::None | Activation::Relu) => {}
            Op::Mean(_) | Op::Reshape(_) if keeps_channels => {}
            Op::Pad(p) if p.value == 0.0 && keeps_channels => {}
            _ => return None,
        }
        if !keeps_channels {
            return None;
        }
        x = node.result;
    }
}

/// The channel of input column `k` of `B`'s weights: conv2d `[O, KH, KW,
/// I/groups]` (input channel `group * I/groups + k % (I/groups)`), or
/// fully_connected `[N, K]` over an NHWC-flattened input (`k % C`).
fn channel_of(op: &Op, shape: &[usize], c: usize, o: usize, k: usize) -> usize {
    match op {
        Op::Conv2d(a) => {
            let per_group = shape.last().copied().unwrap_or(1);
            let outs_per_group = shape[0] / a.groups.max(1);
            (o / outs_per_group.max(1)) * per_group + k % per_group
        }
        _ => k % c,
    }
}

fn equalize_pair(g: &mut Graph, a: NodeId, b: NodeId, c: usize) {
    let (wa, ba) = (g.node(a).operands[1], g.node(a).operands.get(2).copied());
    let wb = g.node(b).operands[1];
    let (Some(w1), Some(w2)) = (f32_const(g, wa), f32_const(g, wb)) else {
        return;
    };
    let (mut w1, mut w2) = (w1.to_vec(), w2.to_vec());
    let per1 = w1.len() / c;
    let shape2 = g.value(wb).ty.shape.clone();
    let rows2 = shape2[0];
    let per2 = w2.len() / rows2.max(1);
    let op_b = g.node(b).op.clone();
    let mut r1 = vec![0.0f32; c];
    for (i, w) in w1.iter().enumerate() {
        r1[i / per1] = r1[i / per1].max(w.abs());
    }
    let mut r2 = vec![0.0f32; c];
    for (i, w) in w2.iter().enumerate() {
        let ch = channel_of(&op_b, &shape2, c, i / per2, i % per2);
        r2[ch] = r2[ch].max(w.abs());
    }
    let s: Vec<f32> = r1
        .iter()
        .zip(&r2)
        .map(|(&p, &q)| {
            let s = (p / q).sqrt();
            if s.is_finite() && s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect();
    for (i, w) in w1.iter_mut().enumerate() {
        *w /= s[i / per1];
    }
    for (i, w) in w2.iter_mut().enumerate() {
        *w *= s[channel_of(&op_b, &shape2, c, i / per2, i % per2)];
    }
    g.make_const(wa, TensorData::F32(w1));
    g.make_const(wb, TensorData::F32(w2));
    if let Some(bv) = ba {
        if let Some(b1) = f32_const(g, bv) {
            let b1: Vec<f32> = b1.iter().zip(&s).map(|(b, s)| b / s).collect();
            g.make_const(bv, TensorData::F32(b1));
        }
    }
}

impl Pass for Equalize {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![("rounds", self.rounds.to_string())]
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let order = g
            .topo_order()
            .map_err(|_| PassError::failed(INFO.name, "graph has a cycle"))?;
        let mut pairs = Vec::new();
        for n in order {
            let node = g.node(n);
            let act_ok = matches!(
                node.op.activation(),
                Some(Activation::None | Activation::Relu)
            );
            let c = g.value(node.result).ty.shape.last().copied().unwrap_or(0);
            if !weighted(g, n) || !act_ok || c == 0 {
                continue;
            }
            // The weights and bias must belong to these layers alone.
            let own = |v: ValueId| g.use_count(v) == 1 && !g.outputs().contains(&v);
            if let Some(b) = partner(g, node.result, c) {
                let mine = node.operands[1..].iter().all(|&v| own(v));
                if mine && own(g.node(b).operands[1]) {
                    pairs.push((n, b, c));
                }
            }
        }
        for _ in 0..self.rounds {
            for &(a, b, c) in &pairs {
                equalize_pair(g, a, b, c);
            }
        }
        Ok((!pairs.is_empty() && self.rounds > 0).into())
    }
}
