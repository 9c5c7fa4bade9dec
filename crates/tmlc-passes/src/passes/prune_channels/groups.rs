//! Which channels must be removed together: every value's last (channel)
//! axis is a list of *atoms*, one per channel. A conv2d (one group) or
//! fully_connected with constant weights makes a new atom per output
//! channel (its *source*); ops that keep channels apart (activations,
//! pooling, depthwise convolution, pad and mean over other axes, a
//! flatten that ends with the channel axis) pass their operand's atoms on,
//! concat along the channel axis joins the lists, and an element-wise op
//! of two activations unifies their atoms channel by channel (a residual
//! add: channel `j` of both operands stays or goes together). Unified
//! atoms form a *class*, the unit of removal. A class that reaches a graph
//! output, a graph input, or an op this analysis does not know is fixed.

use crate::passes::weighted::{is_depthwise, real_weights};
use std::collections::BTreeMap;
use tmlc_ir::{Graph, NodeId, Op, ValueId};

/// The channel classes of a graph.
pub(super) struct Groups {
    parent: Vec<usize>,
    fixed: Vec<bool>,
    /// The source op and output channel of each atom made by a source.
    source: Vec<Option<(NodeId, usize)>>,
    /// Atoms of each value's channel axis, by value index.
    pub(super) atoms: Vec<Option<Vec<usize>>>,
    /// Constant operands read per channel of an op's result: `(node,
    /// operand index)`, sliced along their last axis like the result.
    pub(super) channel_consts: Vec<(NodeId, usize)>,
    /// Source ops, in execution order.
    pub(super) sources: Vec<NodeId>,
}

impl Groups {
    fn atom(&mut self, fixed: bool, source: Option<(NodeId, usize)>) -> usize {
        self.parent.push(self.parent.len());
        self.fixed.push(fixed);
        self.source.push(source);
        self.parent.len() - 1
    }

    fn fresh(&mut self, n: usize, fixed: bool) -> Vec<usize> {
        (0..n).map(|_| self.atom(fixed, None)).collect()
    }

    /// The class (root atom) of atom `a`.
    pub(super) fn class(&self, mut a: usize) -> usize {
        while self.parent[a] != a {
            a = self.parent[a];
        }
        a
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.class(a), self.class(b));
        if ra != rb {
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            self.parent[hi] = lo;
            self.fixed[lo] |= self.fixed[hi];
        }
    }

    /// True when class `c` may be removed.
    pub(super) fn removable(&self, c: usize) -> bool {
        !self.fixed[self.class(c)]
    }

    fn fix(&mut self, v: ValueId) {
        let atoms = self.atoms.get(v.index()).cloned().flatten();
        for a in atoms.unwrap_or_default() {
            let r = self.class(a);
            self.fixed[r] = true;
        }
    }

    fn get(&self, v: ValueId) -> Option<Vec<usize>> {
        self.atoms.get(v.index()).cloned().flatten()
    }

    fn set(&mut self, v: ValueId, atoms: Vec<usize>) {
        self.atoms[v.index()] = Some(atoms);
    }

    /// The source atoms of class `c`: `(source op, output channel)`.
    pub(super) fn members(&self) -> BTreeMap<usize, Vec<(NodeId, usize)>> {
        let mut m: BTreeMap<usize, Vec<(NodeId, usize)>> = BTreeMap::new();
        for (a, s) in self.source.iter().enumerate() {
            if let Some(s) = s {
                m.entry(self.class(a)).or_default().push(*s);
            }
        }
        m
    }

    /// Analyses `g` (canonical: conv2d / fully_connected with constant
    /// weights; NHWC).
    pub(super) fn of(g: &Graph) -> Groups {
        let slots = g.values().map(|(id, _)| id.index() + 1).max().unwrap_or(0);
        let mut s = Groups {
            parent: Vec::new(),
            fixed: Vec::new(),
            source: Vec::new(),
            atoms: vec![None; slots],
            channel_consts: Vec::new(),
            sources: Vec::new(),
        };
        let last = |v: ValueId| g.value(v).ty.shape.last().copied();
        for &v in g.inputs() {
            if let Some(c) = last(v) {
                let a = s.fresh(c, true);
                s.set(v, a);
            }
        }
        for n in g.topo_order().unwrap_or_default() {
            let node = g.node(n);
            let y = node.result;
            let xs: Vec<ValueId> = node
                .operands
                .iter()
                .copied()
                .filter(|&v| g.const_data(v).is_none())
                .collect();
            let out = match &node.op {
                Op::Conv2d(a) if a.groups == 1 && weights_const(g, n) => s.source(g, n),
                Op::FullyConnected(_) if weights_const(g, n) => s.source(g, n),
                Op::Conv2d(_) if is_depthwise(g, n) && weights_const(g, n) => {
                    // One output channel per input channel: the same atoms.
                    let x = s.get(node.operands[0]);
                    let per_channel = x.as_ref().map(Vec::len) == last(y);
                    if per_channel {
                        x
                    } else {
                        None
                    }
                }
                Op::Relu
                | Op::Relu6
                | Op::Clip(_)
                | Op::LeakyRelu(_)
                | Op::Elu(_)
                | Op::Sigmoid
                | Op::Tanh
                | Op::HardSwish
                | Op::Lookup
                | Op::MaxPool2d(_)
                | Op::AvgPool2d(_) => s.get(node.operands[0]),
                Op::Quantize(_) | Op::Dequantize => {
                    let per_tensor = [node.operands[0], y].iter().all(|&v| {
                        g.value(v)
                            .ty
                            .quant
                            .as_ref()
                            .map_or(true, |q| q.is_per_tensor())
                    });
                    s.get(node.operands[0]).filter(|_| per_tensor)
                }
                Op::Mean(a) => {
                    let rank = g.value(node.operands[0]).ty.rank();
                    s.get(node.operands[0])
                        .filter(|_| !a.axes.contains(&(rank.saturating_sub(1))))
                }
                Op::Pad(a) => s
                    .get(node.operands[0])
                    .filter(|_| a.before.last() == Some(&0) && a.after.last() == Some(&0)),
                Op::Reshape(_) => s.flatten(g, node.operands[0], y),
                Op::Concat(a) => {
                    let rank = g.value(y).ty.rank();
                    let lists: Option<Vec<Vec<usize>>> =
                        node.operands.iter().map(|&v| s.get(v)).collect();
                    match lists {
                        Some(l) if a.axis + 1 == rank => Some(l.concat()),
                        Some(l) => s.unify_all(&l),
                        None => None,
                    }
                }
                Op::Add(_) | Op::Sub(_) | Op::Mul(_) | Op::Div(_) | Op::BatchNorm(_) => {
                    s.elementwise(g, n)
                }
                _ => None,
            };
            match out {
                Some(a) if Some(a.len()) == last(y) => s.set(y, a),
                _ => {
                    // Not understood: the operands' channels stay, and so do
                    // the result's.
                    for &x in &xs {
                        s.fix(x);
                    }
                    if let Some(c) = last(y) {
                        let a = s.fresh(c, true);
                        s.set(y, a);
                    }
                }
            }
        }
        for &v in g.outputs() {
            s.fix(v);
        }
        s
    }

    /// New atoms for the output channels of source `n`.
    fn source(&mut self, g: &Graph, n: NodeId) -> Option<Vec<usize>> {
        let c = g.value(g.node(n).result).ty.shape.last().copied()?;
        self.sources.push(n);
        Some((0..c).map(|j| self.atom(false, Some((n, j)))).collect())
    }

    /// A reshape that keeps the channel axis last: the same atoms (a
    /// squeeze), or repeated once per position (a flatten `[N, ..., C]` ->
    /// `[N, ... * C]`).
    fn flatten(&mut self, g: &Graph, x: ValueId, y: ValueId) -> Option<Vec<usize>> {
        let atoms = self.get(x)?;
        let (xs, ys) = (&g.value(x).ty.shape, &g.value(y).ty.shape);
        let last = *ys.last()?;
        // The result's last axis must be a suffix product of the operand's
        // shape ending with the channel axis.
        let mut p = 1usize;
        for &d in xs.iter().rev() {
            p = p.saturating_mul(d);
            if p == last {
                let reps = last / atoms.len().max(1);
                return Some(
                    atoms
                        .iter()
                        .copied()
                        .cycle()
                        .take(reps * atoms.len())
                        .collect(),
                );
            }
            if p > last {
                break;
            }
        }
        None
    }

    /// Element-wise op: activation operands with the result's channel count
    /// are unified; a constant with that many channels is read per
    /// channel; anything else broadcasts over channels (last axis 1).
    fn elementwise(&mut self, g: &Graph, n: NodeId) -> Option<Vec<usize>> {
        let node = g.node(n);
        let c = *g.value(node.result).ty.shape.last()?;
        let mut lists = Vec::new();
        for (i, &v) in node.operands.iter().enumerate() {
            let vc = g.value(v).ty.shape.last().copied().unwrap_or(1);
            if vc == 1 && c != 1 {
                continue;
            }
            if vc != c {
                return None;
            }
            if g.const_data(v).is_some() {
                self.channel_consts.push((n, i));
            } else {
                lists.push(self.get(v)?);
            }
        }
        self.unify_all(&lists)
    }

    /// Unifies lists of equal length channel by channel; the first list.
    fn unify_all(&mut self, lists: &[Vec<usize>]) -> Option<Vec<usize>> {
        let first = lists.first()?.clone();
        for l in &lists[1..] {
            if l.len() != first.len() {
                return None;
            }
            for (&a, &b) in first.iter().zip(l) {
                self.union(a, b);
            }
        }
        Some(first)
    }
}

/// True when node `n`'s weights (operand 1) and bias are constants with
/// real values.
fn weights_const(g: &Graph, n: NodeId) -> bool {
    let node = g.node(n);
    node.operands
        .get(1)
        .is_some_and(|&w| real_weights(g, w).is_some())
        && node.operands[2..]
            .iter()
            .all(|&b| g.const_data(b).is_some())
}
