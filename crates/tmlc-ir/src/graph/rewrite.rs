//! The rewrite API: every edit of a graph's operand relation, keeping the
//! petgraph edges and the use lists in sync, with typed errors that leave
//! the graph unchanged (in the spirit of tract's `ModelPatch`).

use super::{Graph, NodeId, ValueDef, ValueId};
use crate::{Op, TensorData, TensorType};
use std::mem;

/// A graph edit that cannot be made. Each is a bug in the caller (or, for
/// [`GraphError::Type`], an op that cannot take these operands); the graph
/// is left unchanged.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GraphError {
    /// A value id that is not live.
    #[error("value #{0} is not a live value of the graph")]
    DanglingValue(usize),
    /// A node id that is not live.
    #[error("node #{0} is not a live node of the graph")]
    DanglingNode(usize),
    /// An operand index past the node's operand list.
    #[error("`%{value}` has {count} operands, there is no operand #{index}")]
    OperandIndex {
        /// The node's result name.
        value: String,
        /// The index asked for.
        index: usize,
        /// The node's operand count.
        count: usize,
    },
    /// The edit would make a node read its own result (a cycle).
    #[error("`%{0}` would read its own result")]
    SelfUse(String),
    /// The value still has uses (or is a graph output).
    #[error("`%{0}` is still used")]
    StillUsed(String),
    /// The op does not accept these operands (the type rule's message).
    #[error("`{op}`: {message}")]
    Type {
        /// Op name.
        op: &'static str,
        /// The broken rule.
        message: String,
    },
}

/// How [`Graph::add_op`] and the insertion methods type a new result.
#[derive(Clone, Debug, PartialEq)]
pub enum ResultType {
    /// Inferred ([`crate::infer_type`]); a free quantization stays unset,
    /// so this is for float results and ops whose rule fixes it.
    Inferred,
    /// Inferred, with this quantization (for ops whose rule leaves it free).
    Quantized(crate::Quant),
    /// Exactly this type (checked against the op's rule).
    Given(TensorType),
}

impl Graph {
    /// The type `ty` asks for, for `op` on `operands` (checked).
    fn result_type(
        &self,
        op: &Op,
        operands: &[ValueId],
        ty: ResultType,
    ) -> Result<TensorType, GraphError> {
        let mut tys = Vec::with_capacity(operands.len());
        for &v in operands {
            tys.push(&self.live_value(v)?.ty);
        }
        let type_err = |message| GraphError::Type {
            op: op.name(),
            message,
        };
        let t = match ty {
            ResultType::Given(t) => t,
            ResultType::Inferred => crate::infer_type(op, &tys).map_err(type_err)?,
            ResultType::Quantized(q) => TensorType {
                quant: Some(q),
                ..crate::infer_type(op, &tys).map_err(type_err)?
            },
        };
        crate::verify::check_type(&t).map_err(type_err)?;
        crate::check_op(op, &tys, &t).map_err(type_err)?;
        Ok(t)
    }

    /// Adds an op node with a checked result type ([`ResultType`]); returns
    /// the result value. Nothing changes on error.
    pub fn add_op(
        &mut self,
        op: Op,
        operands: Vec<ValueId>,
        name: &str,
        ty: ResultType,
    ) -> Result<ValueId, GraphError> {
        let t = self.result_type(&op, &operands, ty)?;
        Ok(self.add_node(op, operands, name, t))
    }

    /// Inserts `op(v, extra...)` after `v` and moves every use of `v`
    /// (operands and graph outputs) to the new result, which is returned.
    pub fn insert_after(
        &mut self,
        v: ValueId,
        op: Op,
        extra: Vec<ValueId>,
        name: &str,
        ty: ResultType,
    ) -> Result<ValueId, GraphError> {
        let mut operands = vec![v];
        operands.extend(extra);
        let t = self.result_type(&op, &operands, ty)?;
        let old_uses = self.uses(v);
        let r = self.add_node(op, operands, name, t);
        for (n, i) in old_uses {
            self.relink(n, i, r);
        }
        for o in &mut self.outputs {
            if *o == v {
                *o = r;
            }
        }
        Ok(r)
    }

    /// Inserts `op(x, extra...)` on operand `i` of node `n`, where `x` is
    /// that operand, and makes the node read the new result instead (only
    /// this use of `x` changes). Returns the new result.
    pub fn insert_before(
        &mut self,
        n: NodeId,
        i: usize,
        op: Op,
        extra: Vec<ValueId>,
        name: &str,
        ty: ResultType,
    ) -> Result<ValueId, GraphError> {
        let x = self.operand(n, i)?;
        let mut operands = vec![x];
        operands.extend(extra);
        let t = self.result_type(&op, &operands, ty)?;
        let r = self.add_node(op, operands, name, t);
        self.relink(n, i, r);
        Ok(r)
    }

    /// Replaces the op and operands of node `n`; its result value (name,
    /// type, uses) stays. The new op must produce the result's type.
    pub fn replace_node(
        &mut self,
        n: NodeId,
        op: Op,
        operands: Vec<ValueId>,
    ) -> Result<(), GraphError> {
        let result = self.live_node(n)?.result;
        if operands.contains(&result) {
            return Err(GraphError::SelfUse(self.value(result).name.clone()));
        }
        let ty = self.value(result).ty.clone();
        self.result_type(&op, &operands, ResultType::Given(ty))?;
        self.unlink_all(n);
        if let Some(node) = self.nodes.node_weight_mut(n.ix()) {
            node.op = op;
            node.operands = operands.clone();
        }
        for (i, v) in operands.into_iter().enumerate() {
            self.link(n, i, v);
        }
        Ok(())
    }

    /// Sets operand `i` of node `n` to `v`, keeping edges and use lists in
    /// sync.
    pub fn set_operand(&mut self, n: NodeId, i: usize, v: ValueId) -> Result<(), GraphError> {
        self.operand(n, i)?;
        self.live_value(v)?;
        if self.producer(v) == Some(n) {
            return Err(GraphError::SelfUse(self.value(v).name.clone()));
        }
        self.relink(n, i, v);
        Ok(())
    }

    /// Appends `v` to the operands of node `n`.
    pub fn add_operand(&mut self, n: NodeId, v: ValueId) -> Result<(), GraphError> {
        let node = self.live_node(n)?;
        if node.result == v {
            return Err(GraphError::SelfUse(self.value(v).name.clone()));
        }
        self.live_value(v)?;
        let i = node.operands.len();
        if let Some(node) = self.nodes.node_weight_mut(n.ix()) {
            node.operands.push(v);
        }
        self.link(n, i, v);
        Ok(())
    }

    /// Removes operand `i` of node `n`; later operands move down by one.
    pub fn remove_operand(&mut self, n: NodeId, i: usize) -> Result<ValueId, GraphError> {
        let v = self.operand(n, i)?;
        self.unlink_all(n);
        let mut ops = mem::take(&mut self.nodes[n.ix()].operands);
        ops.remove(i);
        for (k, &o) in ops.iter().enumerate() {
            self.link(n, k, o);
        }
        self.nodes[n.ix()].operands = ops;
        Ok(v)
    }

    /// Replaces every use of `old` (operands and graph outputs) with `new`,
    /// except in the node that produces `new` (which may read `old`, e.g. a
    /// `quantize` just inserted after it). If `new` depends on `old`
    /// through other nodes, use [`Graph::insert_after`] or
    /// [`Graph::replace_uses_except`]: this would make a cycle.
    pub fn replace_all_uses(&mut self, old: ValueId, new: ValueId) {
        let except: Vec<NodeId> = self.producer(new).into_iter().collect();
        self.replace_uses_except(old, new, &except);
    }

    /// Replaces every use of `old` with `new` except in the nodes of
    /// `except`; graph outputs are replaced too.
    pub fn replace_uses_except(&mut self, old: ValueId, new: ValueId, except: &[NodeId]) {
        if old == new {
            return;
        }
        for (n, i) in self.uses(old) {
            if !except.contains(&n) {
                self.relink(n, i, new);
            }
        }
        for o in &mut self.outputs {
            if *o == old {
                *o = new;
            }
        }
    }

    /// Removes node `id` and its result value. The result must be unused
    /// (not an operand, not a graph output).
    pub fn remove_node(&mut self, id: NodeId) -> Result<(), GraphError> {
        let r = self.live_node(id)?.result;
        if self.is_used(r) {
            return Err(GraphError::StillUsed(self.value(r).name.clone()));
        }
        self.unlink_all(id);
        self.nodes.remove_node(id.ix());
        self.drop_value(r);
        Ok(())
    }

    /// Removes an unused value: a constant, an op's result (with its node),
    /// or a graph input (which changes the graph's signature).
    pub fn remove_value(&mut self, id: ValueId) -> Result<(), GraphError> {
        if let Some(n) = self.producer(id) {
            return self.remove_node(n);
        }
        self.live_value(id)?;
        if self.is_used(id) {
            return Err(GraphError::StillUsed(self.value(id).name.clone()));
        }
        self.inputs.retain(|&i| i != id);
        self.drop_value(id);
        Ok(())
    }

    fn drop_value(&mut self, id: ValueId) {
        if let Some(slot) = self.values.get_mut(id.index()) {
            if let Some(v) = slot.take() {
                self.names.remove(&v.name);
            }
        }
    }

    /// Turns the value `id` into a constant with `data`, removing the node
    /// that produced it (if any). The type is kept.
    pub fn make_const(&mut self, id: ValueId, data: TensorData) {
        if let Some(n) = self.producer(id) {
            self.unlink_all(n);
            self.nodes.remove_node(n.ix());
        }
        self.value_mut(id).def = ValueDef::Const(data);
    }
}
