#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! The `Graph` editing API, one test per operation: what it changes, that
//! use lists, edges and the verifier agree afterwards, and that a refused
//! edit leaves the graph unchanged.

use tmlc_ir::*;

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

/// `x -> a = relu(x) -> b = relu6(a)`, outputs `[b]`.
fn chain() -> (Graph, ValueId, ValueId, ValueId) {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[2]));
    let a = g
        .add_op(Op::Relu, vec![x], "a", ResultType::Inferred)
        .unwrap();
    let b = g
        .add_op(Op::Relu6, vec![a], "b", ResultType::Inferred)
        .unwrap();
    g.set_outputs(vec![b]);
    (g, x, a, b)
}

fn ok(g: &Graph) {
    verify(g).unwrap_or_else(|e| panic!("{e}\n{}", print(g)));
}

fn node_of(g: &Graph, v: ValueId) -> NodeId {
    g.producer(v).unwrap()
}

#[test]
fn add_op_infers_and_checks_types() {
    let (mut g, x, a, _) = chain();
    assert_eq!(g.value(a).ty, f32t(&[2]));
    // A free int8 quantization is given; fixed ones are inferred.
    let q = g.add_input(
        "q",
        TensorType::quantized(DType::I8, vec![2], Quant::per_tensor(0.5, 1)),
    );
    let r = g
        .add_op(
            Op::Relu,
            vec![q],
            "r",
            ResultType::Quantized(Quant::per_tensor(0.25, -3)),
        )
        .unwrap();
    assert_eq!(g.value(r).ty.qparams(), Some((0.25, -3)));
    let s = g
        .add_op(Op::Sigmoid, vec![q], "s", ResultType::Inferred)
        .unwrap();
    assert_eq!(g.value(s).ty.qparams(), Some((1.0 / 256.0, -128)));
    // A wrong given type, or operands the op refuses: an error, no change.
    let before = print(&g);
    let e = g
        .add_op(Op::Relu, vec![x], "bad", ResultType::Given(f32t(&[3])))
        .unwrap_err();
    assert!(matches!(e, GraphError::Type { op: "relu", .. }), "{e}");
    let e = g
        .add_op(
            Op::Add(BinaryAttrs::default()),
            vec![x, q],
            "bad",
            ResultType::Inferred,
        )
        .unwrap_err();
    assert!(e.to_string().contains("per-tensor quantized i8"), "{e}");
    assert_eq!(print(&g), before);
}

#[test]
fn uses_come_from_the_use_lists() {
    let (mut g, x, a, _) = chain();
    let c = g
        .add_op(
            Op::Add(BinaryAttrs::default()),
            vec![a, a],
            "c",
            ResultType::Inferred,
        )
        .unwrap();
    let nb = node_of(&g, g.outputs()[0]);
    let nc = node_of(&g, c);
    assert_eq!(g.uses(a), vec![(nb, 0), (nc, 0), (nc, 1)]);
    assert_eq!(g.use_count(a), 3);
    assert_eq!(g.use_count(c), 0);
    assert!(!g.is_used(c));
    assert!(g.is_used(g.outputs()[0]));
    assert_eq!(g.uses(x).len(), 1);
    ok(&g);
}

#[test]
fn insert_after_moves_every_use_and_output() {
    let (mut g, x, a, b) = chain();
    g.set_outputs(vec![b, a]);
    let t = g
        .insert_after(a, Op::Tanh, vec![], "t", ResultType::Inferred)
        .unwrap();
    assert_eq!(g.node(node_of(&g, t)).operands, vec![a]);
    assert_eq!(g.node(node_of(&g, b)).operands, vec![t]);
    assert_eq!(g.outputs(), &[b, t]);
    assert_eq!(g.uses(a), vec![(node_of(&g, t), 0)]);
    let _ = x;
    ok(&g);
}

#[test]
fn insert_before_changes_one_use() {
    let (mut g, _, a, b) = chain();
    let c = g
        .add_op(Op::Relu, vec![a], "c", ResultType::Inferred)
        .unwrap();
    g.set_outputs(vec![b, c]);
    let nb = node_of(&g, b);
    let t = g
        .insert_before(nb, 0, Op::Sigmoid, vec![], "t", ResultType::Inferred)
        .unwrap();
    assert_eq!(g.node(nb).operands, vec![t]);
    assert_eq!(g.node(node_of(&g, c)).operands, vec![a]);
    assert_eq!(g.uses(a).len(), 2); // c and t
    ok(&g);
    // Past the operand list: an error.
    let e = g
        .insert_before(nb, 1, Op::Relu, vec![], "u", ResultType::Inferred)
        .unwrap_err();
    assert!(
        matches!(
            e,
            GraphError::OperandIndex {
                index: 1,
                count: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn replace_node_keeps_the_result() {
    let (mut g, x, a, b) = chain();
    let na = node_of(&g, a);
    g.replace_node(na, Op::Tanh, vec![x]).unwrap();
    assert_eq!(g.node(na).op, Op::Tanh);
    assert_eq!(g.node(node_of(&g, b)).operands, vec![a]);
    ok(&g);
    // A replacement of another type, or reading its own result: refused.
    let before = print(&g);
    let r = Op::Reshape(ReshapeAttrs { shape: vec![1, 2] });
    assert!(matches!(
        g.replace_node(na, r, vec![x]),
        Err(GraphError::Type { .. })
    ));
    assert!(matches!(
        g.replace_node(na, Op::Relu, vec![a]),
        Err(GraphError::SelfUse(_))
    ));
    assert_eq!(print(&g), before);
}

#[test]
fn replace_all_uses_skips_the_new_values_producer() {
    // Add t = tanh(a) by hand, then move a's uses to t: t itself must keep
    // reading a (no self-cycle).
    let (mut g, _, a, b) = chain();
    g.set_outputs(vec![b, a]);
    let t = g
        .add_op(Op::Tanh, vec![a], "t", ResultType::Inferred)
        .unwrap();
    g.replace_all_uses(a, t);
    assert_eq!(g.node(node_of(&g, t)).operands, vec![a]);
    assert_eq!(g.node(node_of(&g, b)).operands, vec![t]);
    assert_eq!(g.outputs(), &[b, t]);
    ok(&g);
}

#[test]
fn replace_uses_except_leaves_the_given_nodes() {
    let (mut g, x, a, b) = chain();
    let c = g
        .add_op(Op::Relu, vec![a], "c", ResultType::Inferred)
        .unwrap();
    let y = g
        .add_op(Op::Tanh, vec![x], "y", ResultType::Inferred)
        .unwrap();
    g.set_outputs(vec![b, c, a]);
    let nc = node_of(&g, c);
    g.replace_uses_except(a, y, &[nc]);
    assert_eq!(g.node(node_of(&g, b)).operands, vec![y]);
    assert_eq!(g.node(nc).operands, vec![a]);
    assert_eq!(g.outputs(), &[b, c, y]);
    ok(&g);
}

#[test]
fn set_operand_checks_the_index_and_self_use() {
    let (mut g, x, a, b) = chain();
    let nb = node_of(&g, b);
    let before = print(&g);
    let e = g.set_operand(nb, 3, x).unwrap_err();
    assert!(
        matches!(
            e,
            GraphError::OperandIndex {
                index: 3,
                count: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(
        g.set_operand(nb, 0, b),
        Err(GraphError::SelfUse(_))
    ));
    assert_eq!(print(&g), before);
    g.set_operand(nb, 0, x).unwrap();
    assert_eq!(g.uses(x).len(), 2);
    assert_eq!(g.use_count(a), 0);
    ok(&g);
}

#[test]
fn add_and_remove_operands() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[1, 2]));
    let y = g.add_input("y", f32t(&[1, 3]));
    let c = g
        .add_op(
            Op::Concat(ConcatAttrs { axis: 1 }),
            vec![x],
            "c",
            ResultType::Inferred,
        )
        .unwrap();
    g.set_outputs(vec![c]);
    let nc = node_of(&g, c);
    g.add_operand(nc, y).unwrap();
    g.add_operand(nc, x).unwrap();
    assert_eq!(g.node(nc).operands, vec![x, y, x]);
    assert_eq!(g.uses(x), vec![(nc, 0), (nc, 2)]);
    assert_eq!(g.remove_operand(nc, 0).unwrap(), x);
    assert_eq!(g.node(nc).operands, vec![y, x]);
    assert_eq!(g.uses(x), vec![(nc, 1)]);
    assert_eq!(g.uses(y), vec![(nc, 0)]);
    g.value_mut(c).ty = f32t(&[1, 5]);
    ok(&g);
    assert!(matches!(g.add_operand(nc, c), Err(GraphError::SelfUse(_))));
    assert!(matches!(
        g.remove_operand(nc, 2),
        Err(GraphError::OperandIndex { .. })
    ));
}

#[test]
fn remove_node_and_value_refuse_used_values() {
    let (mut g, x, a, b) = chain();
    let na = node_of(&g, a);
    assert!(matches!(g.remove_node(na), Err(GraphError::StillUsed(_))));
    assert!(matches!(g.remove_value(x), Err(GraphError::StillUsed(_))));
    g.set_operand(node_of(&g, b), 0, x).unwrap();
    g.remove_node(na).unwrap();
    assert!(g.try_value(a).is_none());
    assert!(g.value_by_name("a").is_none());
    assert_eq!(g.uses(x).len(), 1);
    ok(&g);
    let k = g.add_const("k", f32t(&[2]), TensorData::F32(vec![1.0, 2.0]));
    g.remove_value(k).unwrap();
    assert!(g.try_value(k).is_none());
    assert!(matches!(
        g.remove_node(na),
        Err(GraphError::DanglingNode(_))
    ));
    ok(&g);
}

#[test]
fn make_const_drops_the_nodes_uses() {
    let (mut g, x, a, _) = chain();
    g.make_const(a, TensorData::F32(vec![0.5, 0.0]));
    assert_eq!(g.use_count(x), 0);
    assert!(g.producer(a).is_none());
    assert_eq!(g.node_count(), 1);
    ok(&g);
}

#[test]
fn ids_stay_valid_across_removals() {
    let (mut g, x, a, b) = chain();
    let c = g
        .add_op(Op::Tanh, vec![x], "c", ResultType::Inferred)
        .unwrap();
    let nb = node_of(&g, b);
    g.set_outputs(vec![a]);
    g.remove_node(nb).unwrap();
    assert_eq!(g.value(c).name, "c");
    assert_eq!(g.node(node_of(&g, c)).operands, vec![x]);
    ok(&g);
}

#[test]
fn phase_is_printed_parsed_and_verified() {
    let text = "graph @p(%x: f32[2]) -> (%y) phase canonical {\n  %y = relu(%x) : f32[2]\n}\n";
    let g = parse(text).unwrap();
    assert_eq!(g.phase(), Phase::Canonical);
    assert_eq!(print(&g), text);
    ok(&g);
    // batch_norm is not allowed once canonical.
    let bn = "graph @p(%x: f32[1,2]) -> (%y) phase canonical {
  %s = const f32[2] [1.0, 1.0]
  %y = batch_norm(%x, %s, %s, %s, %s) : f32[1,2]
}
";
    let e = verify(&parse(bn).unwrap()).unwrap_err().to_string();
    assert!(
        e.contains("`batch_norm` is not folded in phase `canonical`"),
        "{e}"
    );
    // Unknown phase: a parse error at the name.
    let e = parse("graph @p() -> () phase done {\n}\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "1:24: unknown phase `done` (expected imported, canonical, quantized, lowered)"
    );
}
