//! The verifier: the invariants every graph satisfies between passes.
//!
//! Structural invariants:
//! 1. every name is valid ([`crate::is_valid_name`]) and unique;
//! 2. every operand and graph output is a live value; graph inputs are
//!    `Input` values; every op result points back at its node;
//! 3. the petgraph edges are exactly the operand relation (producer ->
//!    consumer, weighted by operand index);
//! 4. the graph is acyclic;
//! 5. constants hold exactly `numel` elements of their dtype;
//! 6. quantization parameters are well-formed: only on integer dtypes,
//!    positive finite scales, zero points in range, per-axis lengths match.
//!
//! Per-op invariants (operand count, dtypes, shapes, quantization): the
//! declared result type must be the one [`crate::infer`] computes, as
//! specified in `spec/ir.md`.
//!
//! A verifier error on a graph that came out of a pass is a bug in that pass.

use crate::infer::check_op;
use crate::{DType, Graph, Loc, NodeId, Op, OpFamily, Phase, TensorType, ValueDef};
use std::fmt;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct VerifyError {
    /// Source location of the offending definition, if known.
    pub loc: Option<Loc>,
    /// Name of the offending value (`%name`), if any.
    pub value: Option<String>,
    /// Op name, if the error is about an op.
    pub op: Option<&'static str>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.loc {
            write!(f, "{l}: ")?;
        }
        match (&self.value, self.op) {
            (Some(v), Some(op)) => write!(f, "`%{v} = {op}`: ")?,
            (Some(v), None) => write!(f, "`%{v}`: ")?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

/// All broken invariants of a graph (at least one).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct VerifyErrors(pub Vec<VerifyError>);

impl fmt::Display for VerifyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.first() {
            Some(e) => write!(f, "{e}")?,
            None => f.write_str("invalid graph")?,
        }
        if self.0.len() > 1 {
            write!(f, " (and {} more errors)", self.0.len() - 1)?;
        }
        Ok(())
    }
}

/// Checks every invariant; returns all the errors found.
pub fn verify(g: &Graph) -> Result<(), VerifyErrors> {
    let mut errs = Vec::new();
    let mut push = |loc, value: Option<&str>, op, message: String| {
        errs.push(VerifyError {
            loc,
            value: value.map(str::to_string),
            op,
            message,
        })
    };

    if !crate::is_valid_name(&g.name) {
        push(None, None, None, format!("invalid graph name `{}`", g.name));
    }
    if !g.name_table_consistent() {
        push(None, None, None, "value names are not unique".into());
    }
    if !g.use_lists_consistent() {
        push(
            None,
            None,
            None,
            "use lists do not match the operands".into(),
        );
    }
    let inputs: std::collections::HashSet<_> = g.inputs().iter().copied().collect();
    for (id, v) in g.values() {
        if !crate::is_valid_name(&v.name) {
            push(
                v.loc,
                None,
                None,
                format!("invalid value name `{}`", v.name),
            );
        }
        if let Err(m) = check_type(&v.ty) {
            push(v.loc, Some(&v.name), None, m);
        }
        if v.ty.dtype == DType::I4 && !matches!(v.def, ValueDef::Const(_)) {
            push(
                v.loc,
                Some(&v.name),
                None,
                "i4 is for constant weights only".into(),
            );
        }
        match &v.def {
            ValueDef::Input => {
                if !inputs.contains(&id) {
                    push(
                        v.loc,
                        Some(&v.name),
                        None,
                        "input value is not a graph input".into(),
                    );
                }
            }
            ValueDef::Const(d) => {
                if d.dtype() != v.ty.dtype || d.len() != v.ty.numel() {
                    push(
                        v.loc,
                        Some(&v.name),
                        None,
                        format!(
                            "constant holds {} {} elements, its type {} needs {}",
                            d.len(),
                            d.dtype(),
                            v.ty,
                            v.ty.numel()
                        ),
                    );
                }
            }
            ValueDef::Node(n) => {
                if g.try_node(*n).map(|n| n.result) != Some(id) {
                    push(
                        v.loc,
                        Some(&v.name),
                        None,
                        "result does not match its node".into(),
                    );
                }
            }
        }
    }
    for &i in g.inputs() {
        match g.try_value(i) {
            Some(v) if v.def == ValueDef::Input => {}
            _ => push(
                None,
                None,
                None,
                format!("graph input #{} is not an input value", i.index()),
            ),
        }
    }
    for (k, &o) in g.outputs().iter().enumerate() {
        if g.try_value(o).is_none() {
            push(
                None,
                None,
                None,
                format!("graph output #{k} is not defined"),
            );
        }
    }

    for n in g.node_ids() {
        let node = g.node(n);
        let res = g.try_value(node.result);
        let name = res.map(|v| v.name.as_str());
        let loc = node.loc.or(res.and_then(|v| v.loc));
        let op = Some(node.op.name());
        // Operands defined, edges in sync.
        let mut ok = true;
        let mut expect_edges = Vec::new();
        for (i, o) in node.operands.iter().enumerate() {
            match g.try_value(*o) {
                None => {
                    push(loc, name, op, format!("operand #{i} is not defined"));
                    ok = false;
                }
                Some(v) => {
                    if let ValueDef::Node(p) = v.def {
                        expect_edges.push((p, i));
                    }
                }
            }
        }
        expect_edges.sort();
        if g.incoming_edges(n) != expect_edges {
            push(
                loc,
                name,
                op,
                "graph edges do not match the operands".into(),
            );
        }
        if !ok || res.is_none() {
            continue;
        }
        let tys: Vec<&TensorType> = node.operands.iter().map(|o| &g.value(*o).ty).collect();
        let out = &g.value(node.result).ty;
        if let Err(m) = check_op(&node.op, &tys, out) {
            push(loc, name, op, m);
        }
    }

    if g.phase() > Phase::Imported {
        for n in g.node_ids() {
            if let Some(m) = phase_violation(g, n) {
                let node = g.node(n);
                let v = g.try_value(node.result);
                push(
                    node.loc.or(v.and_then(|v| v.loc)),
                    v.map(|v| v.name.as_str()),
                    Some(node.op.name()),
                    format!("{m} in phase `{}`", g.phase().name()),
                );
            }
        }
    }

    if let Err(n) = g.topo_order() {
        let node = g.node(n);
        let v = g.try_value(node.result);
        push(
            node.loc,
            v.map(|v| v.name.as_str()),
            Some(node.op.name()),
            "the graph has a cycle through this op".into(),
        );
    }

    if errs.is_empty() {
        Ok(())
    } else {
        Err(VerifyErrors(errs))
    }
}

/// Why node `n` breaks an invariant of the graph's phase (`spec/ir.md`
/// §3.4), if it does.
fn phase_violation(g: &Graph, n: NodeId) -> Option<String> {
    let node = g.node(n);
    let phase = g.phase();
    let x = node.operands.first().and_then(|&o| g.try_value(o))?;
    let y = g.try_value(node.result)?;
    let identity = match &node.op {
        Op::BatchNorm(_) => return Some("`batch_norm` is not folded".into()),
        Op::Reshape(_) => x.ty.shape == y.ty.shape,
        Op::Transpose(t) => t.perm.iter().enumerate().all(|(i, &p)| i == p),
        Op::Concat(_) => node.operands.len() == 1,
        _ => false,
    };
    if identity {
        return Some("an identity op is left".into());
    }
    let arithmetic = !matches!(node.op.family(), OpFamily::Movement | OpFamily::Convert);
    if phase == Phase::Quantized && arithmetic && y.ty.dtype == DType::F32 {
        return Some("an f32 arithmetic op is left".into());
    }
    if phase == Phase::Lowered
        && node.op.family() == OpFamily::Unary
        && node.op != Op::Lookup
        && y.ty.dtype.size() == 1
    {
        return Some("an 8-bit unary op is not a `lookup` table".into());
    }
    None
}

/// Largest supported rank.
pub const MAX_RANK: usize = 8;
/// Largest supported tensor, in bytes.
pub const MAX_TENSOR_BYTES: u128 = 1 << 40;

/// Checks that a type is well-formed on its own (quantization parameters).
pub fn check_type(t: &TensorType) -> Result<(), String> {
    if t.rank() > MAX_RANK {
        return Err(format!("rank {} is above the maximum {MAX_RANK}", t.rank()));
    }
    let bytes = t
        .shape
        .iter()
        .fold(t.dtype.size() as u128, |a, &d| a.saturating_mul(d as u128));
    if bytes > MAX_TENSOR_BYTES {
        return Err("tensor is too large (more than 2^40 bytes)".into());
    }
    // A zero-sized tensor has no bytes; its other dimensions still count.
    if let Some(d) = t.shape.iter().find(|&&d| d as u128 > MAX_TENSOR_BYTES) {
        return Err(format!("dimension {d} is too large (more than 2^40)"));
    }
    let Some(q) = &t.quant else { return Ok(()) };
    let Some((lo, hi)) = t.dtype.int_range() else {
        return Err(format!("{} cannot be quantized", t.dtype));
    };
    let n = match q.axis {
        None => 1,
        Some(a) => match t.shape.get(a) {
            Some(&d) => d,
            None => {
                return Err(format!(
                    "quantization axis {a} is out of range for rank {}",
                    t.rank()
                ))
            }
        },
    };
    if q.scale.len() != n || q.zero_point.len() != n {
        return Err(format!(
            "quantization needs {n} scales and zero points, has {} and {}",
            q.scale.len(),
            q.zero_point.len()
        ));
    }
    if let Some(s) = q.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(format!(
            "quantization scale {s:?} is not positive and finite"
        ));
    }
    if let Some(z) = q
        .zero_point
        .iter()
        .find(|&&z| (z as i64) < lo || (z as i64) > hi)
    {
        return Err(format!("zero point {z} is out of range for {}", t.dtype));
    }
    Ok(())
}

/// The verifier's view of a node, for callers that need one op checked.
pub fn verify_node(g: &Graph, n: NodeId) -> Result<(), String> {
    let node = g.node(n);
    let tys: Vec<&TensorType> = node.operands.iter().map(|o| &g.value(*o).ty).collect();
    check_op(&node.op, &tys, &g.value(node.result).ty)
}
