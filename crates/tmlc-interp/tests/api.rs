//! `run` and `eval_op`: input checking, typed errors, graph plumbing.

#![allow(clippy::panic, clippy::unwrap_used)]

mod common;
use common::{graph, run, run_err};
use tmlc_interp::{eval_op, InterpError, MAX_ELEMENTS};
use tmlc_ir::{DType, Graph, Op, PadAttrs, Quant, SoftmaxAttrs, Tensor, TensorData, TensorType};

const TWO_LAYERS: &str = "graph @t(%x: f32[1,2], %z: f32[2]) -> (%y, %x, %w, %h) {
  %w = const f32[2,2] [1.0, 2.0, 3.0, 4.0]
  %h = fully_connected(%x, %w) : f32[1,2]
  %r = relu(%h) : f32[1,2]
  %y = add(%r, %z) : f32[1,2]
}";

#[test]
fn run_returns_outputs_in_order_including_inputs_and_constants() {
    let g = graph(TWO_LAYERS);
    let out = run(
        &g,
        vec![
            TensorData::F32(vec![1.0, -1.0]),
            TensorData::F32(vec![0.5, 0.5]),
        ],
    );
    assert_eq!(out[0], TensorData::F32(vec![0.5, 0.5]));
    assert_eq!(out[1], TensorData::F32(vec![1.0, -1.0]));
    assert_eq!(out[2], TensorData::F32(vec![1.0, 2.0, 3.0, 4.0]));
    assert_eq!(out[3], TensorData::F32(vec![-1.0, -1.0]));
}

#[test]
fn run_result_carries_graph_types() {
    let g = graph(TWO_LAYERS);
    let ins = [
        Tensor {
            ty: TensorType::new(DType::F32, [1, 2]),
            data: TensorData::F32(vec![1.0, 1.0]),
        },
        Tensor {
            ty: TensorType::new(DType::F32, [2]),
            data: TensorData::F32(vec![0.0, 0.0]),
        },
    ];
    let out = tmlc_interp::run(&g, &ins).unwrap();
    assert_eq!(out[0].ty, TensorType::new(DType::F32, [1, 2]));
    assert_eq!(out[0].data, TensorData::F32(vec![3.0, 7.0]));
}

#[test]
fn wrong_input_count() {
    let g = graph(TWO_LAYERS);
    let e = tmlc_interp::run(&g, &[]).unwrap_err();
    assert_eq!(
        e,
        InterpError::InputCount {
            expected: 2,
            got: 0
        }
    );
}

#[test]
fn input_type_mismatch_names_the_input() {
    let g = graph(TWO_LAYERS);
    let ok = Tensor {
        ty: TensorType::new(DType::F32, [1, 2]),
        data: TensorData::F32(vec![1.0, 1.0]),
    };
    let bad_shape = Tensor {
        ty: TensorType::new(DType::F32, [1, 2]),
        data: TensorData::F32(vec![0.0, 0.0]),
    };
    let e = tmlc_interp::run(&g, &[ok.clone(), bad_shape]).unwrap_err();
    match e {
        InterpError::InputType {
            index: 1,
            expected,
            got,
        } => {
            assert_eq!(expected.shape, [2]);
            assert_eq!(got.shape, [1, 2]);
        }
        e => panic!("unexpected {e:?}"),
    }
    let bad_dtype = Tensor {
        ty: TensorType::new(DType::I32, [2]),
        data: TensorData::I32(vec![0, 0]),
    };
    let e = tmlc_interp::run(&g, &[ok.clone(), bad_dtype]).unwrap_err();
    assert!(
        matches!(e, InterpError::InputType { index: 1, .. }),
        "{e:?}"
    );
    // Quantization is ignored: an i8 input with other parameters is accepted.
    let q = graph(
        "graph @q(%x: i8[2] q(0.5, 0)) -> (%y) {
  %y = relu(%x) : i8[2] q(0.5, 0)
}",
    );
    let x = Tensor {
        ty: TensorType::quantized(DType::I8, [2], Quant::per_tensor(9.0, 3)),
        data: TensorData::I8(vec![-1, 1]),
    };
    let out = tmlc_interp::run(&q, &[x]).unwrap();
    assert_eq!(out[0].data, TensorData::I8(vec![0, 1]));
    assert_eq!(out[0].ty.quant, Some(Quant::per_tensor(0.5, 0)));
    // Data that does not match its own type.
    let short = Tensor {
        ty: TensorType::new(DType::F32, [2]),
        data: TensorData::F32(vec![0.0]),
    };
    let e = tmlc_interp::run(&g, &[ok, short]).unwrap_err();
    assert!(matches!(e, InterpError::BadTensor { .. }), "{e:?}");
}

#[test]
fn cycle_is_an_error() {
    let mut g = Graph::new("c");
    let x = g.add_input("x", TensorType::new(DType::F32, [2]));
    let a = g.add_node(Op::Relu, vec![x], "a", TensorType::new(DType::F32, [2]));
    let b = g.add_node(Op::Relu, vec![a], "b", TensorType::new(DType::F32, [2]));
    g.set_outputs(vec![b]);
    let na = g.producer(a).unwrap();
    g.set_operand(na, 0, b).unwrap();
    let e = tmlc_interp::run(
        &g,
        &[Tensor {
            ty: TensorType::new(DType::F32, [2]),
            data: TensorData::F32(vec![1.0, 2.0]),
        }],
    )
    .unwrap_err();
    assert!(matches!(e, InterpError::Cycle { .. }), "{e:?}");
}

#[test]
fn node_errors_carry_context() {
    // softmax int8 needs beta * s_in * 2^26 > 1.
    let g = graph(
        "graph @t(%x: i8[2] q(1e-9, 0)) -> (%y) {
  %y = softmax(%x) : i8[2] q(0.00390625, -128)
}",
    );
    let e = run_err(&g, vec![TensorData::I8(vec![0, 1])]);
    match &e {
        InterpError::AtNode {
            value,
            op: "softmax",
            ..
        } => assert_eq!(value, "y"),
        e => panic!("unexpected {e:?}"),
    }
    assert!(matches!(
        e.root(),
        InterpError::Unsupported { op: "softmax", .. }
    ));
    assert!(e.to_string().contains("`%y = softmax`"), "{e}");
}

#[test]
fn add_with_too_small_output_scale_is_unsupported() {
    // tw / (2^20 s_out) = 2 / (2^20 * 1e-7) > 1: TFLM's QuantizeMultiplierSmallerThanOneExp fails.
    let g = graph(
        "graph @t(%a: i8[1] q(1.0, 0), %b: i8[1] q(1.0, 0)) -> (%y) {
  %y = add(%a, %b) : i8[1] q(1e-7, 0)
}",
    );
    let e = run_err(&g, vec![TensorData::I8(vec![1]), TensorData::I8(vec![1])]);
    assert!(
        matches!(e.root(), InterpError::Unsupported { op: "add", .. }),
        "{e}"
    );
}

fn f32_tensor(shape: &[usize], data: Vec<f32>) -> Tensor {
    Tensor {
        ty: TensorType::new(DType::F32, shape),
        data: TensorData::F32(data),
    }
}

#[test]
fn eval_op_matches_run_and_checks_operands() {
    let x = f32_tensor(&[1, 3], vec![1.0, 2.0, 3.0]);
    let out = TensorType::new(DType::F32, [1, 3]);
    let y = eval_op(&Op::Softmax(SoftmaxAttrs::last_axis(1.0)), &[&x], &out).unwrap();
    let g = graph(
        "graph @t(%x: f32[1,3]) -> (%y) {
  %y = softmax(%x) : f32[1,3]
}",
    );
    assert_eq!(run(&g, vec![x.data.clone()])[0], y);
    // Wrong arity.
    let e = eval_op(&Op::Relu, &[&x, &x], &out).unwrap_err();
    assert!(
        matches!(e, InterpError::InvalidOp { op: "relu", .. }),
        "{e:?}"
    );
    // Wrong result shape.
    let e = eval_op(&Op::Relu, &[&x], &TensorType::new(DType::F32, [3])).unwrap_err();
    assert!(
        matches!(e, InterpError::InvalidOp { op: "relu", .. }),
        "{e:?}"
    );
    // Malformed operand data.
    let bad = f32_tensor(&[1, 3], vec![1.0]);
    let e = eval_op(&Op::Relu, &[&bad], &out).unwrap_err();
    assert!(matches!(e, InterpError::BadTensor { .. }), "{e:?}");
    // Malformed quantization (per-tensor with no scale) is rejected, not a panic.
    let q = Tensor {
        ty: TensorType::quantized(
            DType::I8,
            [1],
            Quant {
                scale: vec![],
                zero_point: vec![],
                axis: None,
            },
        ),
        data: TensorData::I8(vec![1]),
    };
    let e = eval_op(
        &Op::Relu,
        &[&q],
        &TensorType::quantized(DType::I8, [1], Quant::per_tensor(1.0, 0)),
    )
    .unwrap_err();
    assert!(matches!(e, InterpError::BadTensor { .. }), "{e:?}");
}

#[test]
fn eval_op_refuses_huge_results() {
    let x = f32_tensor(&[1], vec![1.0]);
    let op = Op::Pad(PadAttrs {
        before: vec![MAX_ELEMENTS],
        after: vec![0],
        value: 0.0,
    });
    let e = eval_op(&op, &[&x], &TensorType::new(DType::F32, [MAX_ELEMENTS + 1])).unwrap_err();
    assert_eq!(
        e,
        InterpError::TooLarge {
            elements: MAX_ELEMENTS + 1,
            limit: MAX_ELEMENTS
        }
    );
}

#[test]
fn eval_op_empty_results() {
    let x = f32_tensor(&[0, 3], vec![]);
    let y = eval_op(
        &Op::Softmax(SoftmaxAttrs::last_axis(1.0)),
        &[&x],
        &TensorType::new(DType::F32, [0, 3]),
    )
    .unwrap();
    assert_eq!(y, TensorData::F32(vec![]));
}

/// Every op result reaches the observer once, in evaluation order, with
/// the values `run` computes; several threads can run one graph at once.
#[test]
fn run_observed_sees_every_intermediate() {
    let g = tmlc_ir::parse(
        "graph @o(%x: f32[2]) -> (%y) {
  %k = const f32[2] [1.0, -3.0]
  %a = add(%x, %k) : f32[2]
  %r = relu(%a) : f32[2]
  %y = mul(%r, %r) : f32[2]
}",
    )
    .unwrap();
    let input = |v: f32| Tensor {
        ty: TensorType::new(DType::F32, [2]),
        data: TensorData::F32(vec![v, 2.0]),
    };
    let mut seen = Vec::new();
    let out = tmlc_interp::run_observed(&g, &[input(0.5)], |v, t| {
        seen.push((g.value(v).name.clone(), t.data.clone()));
    })
    .unwrap();
    assert_eq!(
        seen,
        vec![
            ("a".to_string(), TensorData::F32(vec![1.5, -1.0])),
            ("r".to_string(), TensorData::F32(vec![1.5, 0.0])),
            ("y".to_string(), TensorData::F32(vec![2.25, 0.0])),
        ]
    );
    assert_eq!(out[0].data, TensorData::F32(vec![2.25, 0.0]));
    // One graph, four threads, four samples: each sees its own values.
    let maxima: Vec<f32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let g = &g;
                s.spawn(move || {
                    let mut max = f32::MIN;
                    tmlc_interp::run_observed(g, &[input(i as f32)], |_, t| {
                        if let TensorData::F32(v) = &t.data {
                            max = v.iter().fold(max, |m, &x| m.max(x));
                        }
                    })
                    .unwrap();
                    max
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(maxima, vec![1.0, 4.0, 9.0, 16.0]);
}
