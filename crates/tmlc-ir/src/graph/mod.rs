//! The graph: values (graph inputs, constants, op results) and the ops that
//! produce them, stored as a petgraph `StableDiGraph` whose edges mirror the
//! operand lists.
//!
//! Architecture invariant: petgraph never appears in this crate's public API.
//! Ids are the newtypes [`NodeId`] and [`ValueId`]; both stay valid when
//! other nodes and values are removed.

use crate::{Op, Tensor, TensorData, TensorType};
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fmt;

mod phase;
mod rewrite;

pub use phase::Phase;
pub use rewrite::{GraphError, ResultType};

/// A source position in the text form (1-based line and column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Identifies an op node. Stable across removals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    /// The raw index (for diagnostics and deterministic ordering).
    pub fn index(self) -> usize {
        self.0 as usize
    }
    fn ix(self) -> NodeIndex<u32> {
        NodeIndex::new(self.0 as usize)
    }
    fn from_ix(ix: NodeIndex<u32>) -> NodeId {
        NodeId(ix.index() as u32)
    }
}

/// Identifies a value. Stable across removals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(u32);

impl ValueId {
    /// The raw index (for diagnostics and deterministic ordering).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueDef {
    /// A graph input.
    Input,
    /// A constant with its contents.
    Const(TensorData),
    /// The result of an op node.
    Node(NodeId),
}

/// A value: a named, typed tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// Unique name (identifier characters only, see [`is_valid_name`]).
    pub name: String,
    /// Static type.
    pub ty: TensorType,
    /// Definition.
    pub def: ValueDef,
    /// Where the value was defined in the text form, if parsed.
    pub loc: Option<Loc>,
}

/// An op node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The operation and its attributes.
    pub op: Op,
    /// Operands, in op-defined order.
    pub operands: Vec<ValueId>,
    /// The single result.
    pub result: ValueId,
    /// Where the node was written in the text form, if parsed.
    pub loc: Option<Loc>,
}

/// The dataflow graph of one model.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Graph name (identifier characters).
    pub name: String,
    values: Vec<Option<Value>>,
    nodes: StableDiGraph<Node, usize, u32>,
    inputs: Vec<ValueId>,
    outputs: Vec<ValueId>,
    names: HashMap<String, ValueId>,
    /// Use lists, indexed like `values`: every `(node, operand index)`
    /// reading the value, kept in sync by every edit.
    users: Vec<Vec<(NodeId, usize)>>,
    phase: Phase,
}

/// True when `s` is a valid value or graph name: non-empty, made of ASCII
/// letters, digits, `_` and `.`.
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// Maps an arbitrary string to a valid name (other characters become `_`).
pub fn sanitize_name(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() {
        "v".to_string()
    } else {
        t
    }
}

impl Graph {
    /// An empty graph named `name` (sanitized).
    pub fn new(name: &str) -> Graph {
        Graph {
            name: sanitize_name(name),
            ..Graph::default()
        }
    }

    /// Returns `base` (sanitized) if unused, else `base.1`, `base.2`, ...
    pub fn fresh_name(&self, base: &str) -> String {
        let base = sanitize_name(base);
        if !self.names.contains_key(&base) {
            return base;
        }
        (1..)
            .map(|i| format!("{base}.{i}"))
            .find(|n| !self.names.contains_key(n))
            .unwrap_or(base)
    }

    fn push_value(&mut self, v: Value) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.names.insert(v.name.clone(), id);
        self.values.push(Some(v));
        self.users.push(Vec::new());
        id
    }

    /// The graph's phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Records that the graph has reached `phase` (the verifier then checks
    /// its invariants).
    pub fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
    }

    /// Adds a graph input. The name is made unique with [`Graph::fresh_name`].
    pub fn add_input(&mut self, name: &str, ty: TensorType) -> ValueId {
        let name = self.fresh_name(name);
        let id = self.push_value(Value {
            name,
            ty,
            def: ValueDef::Input,
            loc: None,
        });
        self.inputs.push(id);
        id
    }

    /// Adds a constant. The name is made unique with [`Graph::fresh_name`].
    pub fn add_const(&mut self, name: &str, ty: TensorType, data: TensorData) -> ValueId {
        let name = self.fresh_name(name);
        self.push_value(Value {
            name,
            ty,
            def: ValueDef::Const(data),
            loc: None,
        })
    }

    /// Adds an op node whose result has type `ty`, unchecked (frontends and
    /// the parser build first and verify after); returns the result value.
    /// The name is made unique with [`Graph::fresh_name`]. Operands must be
    /// live values of this graph. [`Graph::add_op`] infers and checks the
    /// type instead.
    pub fn add_node(
        &mut self,
        op: Op,
        operands: Vec<ValueId>,
        name: &str,
        ty: TensorType,
    ) -> ValueId {
        let name = self.fresh_name(name);
        let result = ValueId(self.values.len() as u32);
        let nix = self.nodes.add_node(Node {
            op,
            operands: operands.clone(),
            result,
            loc: None,
        });
        let nid = NodeId::from_ix(nix);
        self.push_value(Value {
            name,
            ty,
            def: ValueDef::Node(nid),
            loc: None,
        });
        for (i, &v) in operands.iter().enumerate() {
            self.link(nid, i, v);
        }
        result
    }

    /// Sets the graph outputs.
    pub fn set_outputs(&mut self, outputs: Vec<ValueId>) {
        self.outputs = outputs;
    }

    /// Graph inputs, in order.
    pub fn inputs(&self) -> &[ValueId] {
        &self.inputs
    }

    /// Graph outputs, in order.
    pub fn outputs(&self) -> &[ValueId] {
        &self.outputs
    }

    /// The value `id`, if it is live.
    pub fn try_value(&self, id: ValueId) -> Option<&Value> {
        self.values.get(id.index()).and_then(|v| v.as_ref())
    }

    fn live_value(&self, id: ValueId) -> Result<&Value, GraphError> {
        self.try_value(id)
            .ok_or(GraphError::DanglingValue(id.index()))
    }

    fn live_node(&self, id: NodeId) -> Result<&Node, GraphError> {
        self.try_node(id)
            .ok_or(GraphError::DanglingNode(id.index()))
    }

    /// The value `id`.
    ///
    /// # Panics
    /// If `id` is not a live value of this graph (a bug in the caller).
    #[allow(clippy::panic)]
    pub fn value(&self, id: ValueId) -> &Value {
        match self.try_value(id) {
            Some(v) => v,
            None => panic!("tmlc-ir: dangling value id {}", id.index()),
        }
    }

    /// Mutable access to value `id` (changing its name is not allowed: use
    /// [`Graph::rename`]).
    #[allow(clippy::panic)]
    pub fn value_mut(&mut self, id: ValueId) -> &mut Value {
        match self.values.get_mut(id.index()).and_then(|v| v.as_mut()) {
            Some(v) => v,
            None => panic!("tmlc-ir: dangling value id {}", id.index()),
        }
    }

    /// Renames a value; the new name is made unique.
    pub fn rename(&mut self, id: ValueId, name: &str) {
        let old = self.value(id).name.clone();
        self.names.remove(&old);
        let name = self.fresh_name(name);
        self.names.insert(name.clone(), id);
        self.value_mut(id).name = name;
    }

    /// Looks a value up by name.
    pub fn value_by_name(&self, name: &str) -> Option<ValueId> {
        self.names.get(name).copied()
    }

    /// Live values in id order.
    pub fn values(&self) -> impl Iterator<Item = (ValueId, &Value)> {
        self.values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (ValueId(i as u32), v)))
    }

    /// The constant contents of `id`, if it is a constant.
    pub fn const_data(&self, id: ValueId) -> Option<&TensorData> {
        match &self.try_value(id)?.def {
            ValueDef::Const(d) => Some(d),
            _ => None,
        }
    }

    /// The constant `id` as a [`Tensor`], if it is a constant.
    pub fn const_tensor(&self, id: ValueId) -> Option<Tensor> {
        let v = self.try_value(id)?;
        match &v.def {
            ValueDef::Const(d) => Some(Tensor {
                ty: v.ty.clone(),
                data: d.clone(),
            }),
            _ => None,
        }
    }

    /// The node producing `id`, if it is an op result.
    pub fn producer(&self, id: ValueId) -> Option<NodeId> {
        match self.try_value(id)?.def {
            ValueDef::Node(n) => Some(n),
            _ => None,
        }
    }

    /// The node `id`, if it is live.
    pub fn try_node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.node_weight(id.ix())
    }

    /// The node `id`.
    ///
    /// # Panics
    /// If `id` is not a live node of this graph (a bug in the caller).
    #[allow(clippy::panic)]
    pub fn node(&self, id: NodeId) -> &Node {
        match self.try_node(id) {
            Some(n) => n,
            None => panic!("tmlc-ir: dangling node id {}", id.index()),
        }
    }

    /// Operand `i` of node `n`.
    pub fn operand(&self, n: NodeId, i: usize) -> Result<ValueId, GraphError> {
        let node = self.live_node(n)?;
        node.operands
            .get(i)
            .copied()
            .ok_or_else(|| GraphError::OperandIndex {
                value: self.value(node.result).name.clone(),
                index: i,
                count: node.operands.len(),
            })
    }

    /// Replaces the op of node `id`, keeping operands and result (the
    /// caller keeps the types consistent; the verifier checks).
    pub fn set_op(&mut self, id: NodeId, op: Op) {
        if let Some(n) = self.nodes.node_weight_mut(id.ix()) {
            n.op = op;
        }
    }

    /// Sets the source location of node `id`.
    pub fn set_node_loc(&mut self, id: NodeId, loc: Option<Loc>) {
        if let Some(n) = self.nodes.node_weight_mut(id.ix()) {
            n.loc = loc;
        }
    }

    /// Live node ids in id order.
    pub fn node_ids(&self) -> Vec<NodeId> {
        let mut v: Vec<NodeId> = self.nodes.node_indices().map(NodeId::from_ix).collect();
        v.sort();
        v
    }

    /// Number of live nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.node_count()
    }

    /// Every use of `v` as an operand: `(node, operand index)`, in node
    /// order (from the use list: no scan of the graph).
    pub fn uses(&self, v: ValueId) -> Vec<(NodeId, usize)> {
        let mut out = self.users.get(v.index()).cloned().unwrap_or_default();
        out.sort();
        out
    }

    /// Number of uses of `v` as an operand (graph outputs not counted).
    pub fn use_count(&self, v: ValueId) -> usize {
        self.users.get(v.index()).map_or(0, Vec::len)
    }

    /// True when `v` is an operand of some node or a graph output.
    pub fn is_used(&self, v: ValueId) -> bool {
        self.use_count(v) > 0 || self.outputs.contains(&v)
    }

    /// Records operand `i` of `n` reading `v`: use list and edge.
    fn link(&mut self, n: NodeId, i: usize, v: ValueId) {
        if let Some(u) = self.users.get_mut(v.index()) {
            u.push((n, i));
        }
        if let Some(p) = self.producer(v) {
            self.nodes.add_edge(p.ix(), n.ix(), i);
        }
    }

    /// Forgets operand `i` of `n` (reading `v`): use list and edge.
    fn unlink(&mut self, n: NodeId, i: usize, v: ValueId) {
        if let Some(u) = self.users.get_mut(v.index()) {
            u.retain(|&x| x != (n, i));
        }
        let edges: Vec<_> = self
            .nodes
            .edges_directed(n.ix(), Direction::Incoming)
            .filter(|e| *e.weight() == i)
            .map(|e| e.id())
            .collect();
        for e in edges {
            self.nodes.remove_edge(e);
        }
    }

    fn unlink_all(&mut self, n: NodeId) {
        let ops = self
            .try_node(n)
            .map(|x| x.operands.clone())
            .unwrap_or_default();
        for (i, v) in ops.into_iter().enumerate() {
            self.unlink(n, i, v);
        }
    }

    /// Points operand `i` of `n` (which exists) at `v`.
    fn relink(&mut self, n: NodeId, i: usize, v: ValueId) {
        let Some(old) = self.try_node(n).and_then(|x| x.operands.get(i)).copied() else {
            return;
        };
        self.unlink(n, i, old);
        if let Some(node) = self.nodes.node_weight_mut(n.ix()) {
            node.operands[i] = v;
        }
        self.link(n, i, v);
    }

    /// Nodes in a deterministic topological order: Kahn's algorithm, always
    /// taking the ready node with the smallest id. `Err` holds a node on a
    /// cycle.
    pub fn topo_order(&self) -> Result<Vec<NodeId>, NodeId> {
        let mut indeg: HashMap<NodeIndex<u32>, usize> = HashMap::new();
        let mut heap = BinaryHeap::new();
        for ix in self.nodes.node_indices() {
            let preds: HashSet<_> = self
                .nodes
                .neighbors_directed(ix, Direction::Incoming)
                .collect();
            indeg.insert(ix, preds.len());
            if preds.is_empty() {
                heap.push(Reverse(ix.index()));
            }
        }
        let mut order = Vec::with_capacity(indeg.len());
        while let Some(Reverse(i)) = heap.pop() {
            let ix = NodeIndex::new(i);
            order.push(NodeId::from_ix(ix));
            let succs: HashSet<_> = self
                .nodes
                .neighbors_directed(ix, Direction::Outgoing)
                .collect();
            for s in succs {
                if let Some(d) = indeg.get_mut(&s) {
                    *d -= 1;
                    if *d == 0 {
                        heap.push(Reverse(s.index()));
                    }
                }
            }
        }
        if order.len() == indeg.len() {
            Ok(order)
        } else {
            // Every unordered node has an unordered predecessor; walking
            // predecessors `len` times lands on a cycle.
            let done: HashSet<_> = order.iter().map(|n| n.ix()).collect();
            let mut stuck: Vec<NodeIndex<u32>> = indeg
                .keys()
                .copied()
                .filter(|ix| !done.contains(ix))
                .collect();
            stuck.sort();
            let mut at = stuck[0];
            for _ in 0..stuck.len() {
                let mut preds: Vec<_> = self
                    .nodes
                    .neighbors_directed(at, Direction::Incoming)
                    .filter(|p| !done.contains(p))
                    .collect();
                preds.sort();
                match preds.first() {
                    Some(&p) => at = p,
                    None => break,
                }
            }
            Err(NodeId::from_ix(at))
        }
    }

    /// The operand edges petgraph holds for node `n`, as `(producer, operand
    /// index)`, sorted. The verifier compares them with the operand list.
    pub(crate) fn incoming_edges(&self, n: NodeId) -> Vec<(NodeId, usize)> {
        let mut v: Vec<_> = self
            .nodes
            .edges_directed(n.ix(), Direction::Incoming)
            .map(|e| (NodeId::from_ix(e.source()), *e.weight()))
            .collect();
        v.sort();
        v
    }

    /// The use lists hold exactly the operand relation (verifier use).
    pub(crate) fn use_lists_consistent(&self) -> bool {
        let mut want: Vec<Vec<(NodeId, usize)>> = vec![Vec::new(); self.users.len()];
        for n in self.node_ids() {
            for (i, v) in self.node(n).operands.iter().enumerate() {
                match want.get_mut(v.index()) {
                    Some(u) => u.push((n, i)),
                    None => return false,
                }
            }
        }
        self.users.len() == self.values.len()
            && want.iter().zip(&self.users).all(|(w, u)| {
                let mut u = u.clone();
                u.sort();
                *w == u
            })
    }

    /// The name table maps exactly the live values' names (verifier use).
    pub(crate) fn name_table_consistent(&self) -> bool {
        self.names.len() == self.values().count()
            && self
                .values()
                .all(|(id, v)| self.names.get(&v.name) == Some(&id))
    }
}
