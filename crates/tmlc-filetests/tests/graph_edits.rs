#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! Random edit sequences on random graphs through the `Graph` rewrite API:
//! after every edit the graph verifies (edges, use lists, types), every
//! use list equals a scan of the operands, and at the end the graph
//! round-trips through the text form.

use tmlc_filetests::{build_graph, Choices};
use tmlc_ir::*;

fn lcg(seed: u64, len: usize) -> Vec<u32> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15).wrapping_add(7);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        })
        .collect()
}

/// A reshape to the same shape: valid on any value, of its own type.
fn same_shape(g: &Graph, v: ValueId) -> Op {
    Op::Reshape(ReshapeAttrs {
        shape: g.value(v).ty.shape.clone(),
    })
}

fn scanned_uses(g: &Graph, v: ValueId) -> Vec<(NodeId, usize)> {
    let mut out = Vec::new();
    for n in g.node_ids() {
        for (i, &o) in g.node(n).operands.iter().enumerate() {
            if o == v {
                out.push((n, i));
            }
        }
    }
    out
}

fn check(g: &Graph, what: &str) {
    verify(g).unwrap_or_else(|e| panic!("after {what}: {e}\n{}", print(g)));
    for (v, _) in g.values() {
        assert_eq!(
            g.uses(v),
            scanned_uses(g, v),
            "after {what}: uses of #{}",
            v.index()
        );
    }
}

/// One random edit; returns its name, or `None` if it did not apply.
fn edit(g: &mut Graph, c: &mut Choices<'_>) -> Option<&'static str> {
    let values: Vec<ValueId> = g.values().map(|(v, _)| v).collect();
    let nodes = g.node_ids();
    let v = c.pick(&values);
    match c.below(7) {
        0 => {
            let op = same_shape(g, v);
            g.insert_after(v, op, vec![], "ins", ResultType::Inferred)
                .unwrap();
            Some("insert_after")
        }
        1 if !nodes.is_empty() => {
            let n = c.pick(&nodes);
            let i = c.below(g.node(n).operands.len().max(1));
            let op = same_shape(g, g.operand(n, i).ok()?);
            g.insert_before(n, i, op, vec![], "pre", ResultType::Inferred)
                .unwrap();
            Some("insert_before")
        }
        2 => {
            let op = same_shape(g, v);
            let r = g
                .add_op(op, vec![v], "alias", ResultType::Inferred)
                .unwrap();
            g.replace_all_uses(v, r);
            Some("replace_all_uses")
        }
        3 if !nodes.is_empty() => {
            // Another input or constant of the operand's type: no cycle.
            let n = c.pick(&nodes);
            let i = c.below(g.node(n).operands.len().max(1));
            let old = g.operand(n, i).ok()?;
            let same: Vec<ValueId> = g
                .values()
                .filter(|(w, val)| {
                    *w != old && val.ty == g.value(old).ty && g.producer(*w).is_none()
                })
                .map(|(w, _)| w)
                .collect();
            if same.is_empty() {
                let ty = g.value(old).ty.clone();
                let data = TensorData::zeros(ty.dtype, ty.numel());
                let k = g.add_const("k", ty, data);
                g.set_operand(n, i, k).unwrap();
            } else {
                g.set_operand(n, i, c.pick(&same)).unwrap();
            }
            Some("set_operand")
        }
        4 => {
            let dead: Vec<NodeId> = nodes
                .iter()
                .copied()
                .filter(|&n| !g.is_used(g.node(n).result))
                .collect();
            if dead.is_empty() {
                return None;
            }
            g.remove_node(c.pick(&dead)).unwrap();
            Some("remove_node")
        }
        5 if !nodes.is_empty() => {
            let n = c.pick(&nodes);
            let node = g.node(n).clone();
            g.replace_node(n, node.op, node.operands).unwrap();
            Some("replace_node")
        }
        6 => {
            // A concat grows an operand, loses it again, keeps its type.
            let cat = Op::Concat(ConcatAttrs { axis: 0 });
            let ty = g.value(v).ty.clone();
            if ty.shape.is_empty() {
                return None;
            }
            // Given: a per-axis quantization on axis 0 is not inferred.
            let r = g
                .add_op(cat, vec![v], "cat", ResultType::Given(ty))
                .unwrap();
            let n = g.producer(r)?;
            g.add_operand(n, v).unwrap();
            g.remove_operand(n, c.below(2)).unwrap();
            Some("add_operand/remove_operand")
        }
        _ => None,
    }
}

#[test]
fn random_edit_sequences_keep_the_graph_consistent() {
    let mut sequences = 0;
    let mut edits = 0;
    for seed in 0..1000u64 {
        let mut g = build_graph(&lcg(seed, 160));
        check(&g, "generation");
        let data = lcg(seed + 1_000_000, 64);
        let mut c = Choices::new(&data);
        for _ in 0..c.range(1, 12) {
            if let Some(what) = edit(&mut g, &mut c) {
                check(&g, what);
                edits += 1;
            }
        }
        let text = print(&g);
        assert_eq!(print(&parse(&text).unwrap()), text);
        sequences += 1;
    }
    assert_eq!(sequences, 1000);
    assert!(edits >= 3000, "only {edits} edits applied");
}
