#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! `int4-weights` and `quantize` on a graph whose right answer is known by
//! hand: `%h` repeats `x1` twice, so only the sum of the first two
//! weights of `%z` matters.

use tmlc_ir::{parse, DType, Graph, Tensor, TensorData, TensorType};
use tmlc_passes::calibrate::CalibrationData;
use tmlc_passes::passes::int4_weights::{Int4Layers, Int4Weights, Rounding};
use tmlc_passes::passes::quantize::Quantize;
use tmlc_passes::{PassContext, Pipeline};

const GRAPH: &str = "graph @t(%x: f32[1,2]) -> (%z) {
  %w1 = const f32[3,2] [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
  %w2 = const f32[1,3] [0.4, 0.4, 7.0]
  %h = fully_connected(%x, %w1) : f32[1,3]
  %z = fully_connected(%h, %w2) : f32[1,1]
}";

/// Inputs (x1, x2): x1 has mean 2.
fn data() -> CalibrationData {
    let xs = [(1.0, 0.5), (3.0, -1.0), (2.0, 2.0), (2.0, 0.0)];
    CalibrationData::new(
        xs.iter()
            .map(|&(a, b)| {
                vec![Tensor {
                    ty: TensorType::new(DType::F32, vec![1, 2]),
                    data: TensorData::F32(vec![a, b]),
                }]
            })
            .collect(),
    )
}

fn floats(g: &Graph, name: &str) -> Vec<f32> {
    let v = g.value_by_name(name).unwrap();
    match g.const_data(v) {
        Some(TensorData::F32(d)) => d.clone(),
        d => panic!("{name}: {d:?}"),
    }
}

fn run(method: Rounding) -> (Graph, PassContext<'static>) {
    let mut g = parse(GRAPH).unwrap();
    let mut cx = PassContext::new(true);
    cx.insert(data());
    let pass = Int4Weights {
        method,
        layers: vec!["z".into()],
        ends: false,
    };
    Pipeline::new().then(pass).run(&mut g, &mut cx).unwrap();
    (g, cx)
}

#[test]
fn nearest_rounds_each_weight() {
    // Scale 7 / 7 = 1: 0.4 and 0.4 round to 0.
    let (g, cx) = run(Rounding::Nearest);
    assert_eq!(floats(&g, "w2"), vec![0.0, 0.0, 7.0]);
    assert_eq!(cx.get::<Int4Layers>().unwrap().0["z"], vec![1.0]);
}

#[test]
fn reconstruction_rounds_one_weight_up_and_refits_the_bias() {
    // 0.4 x1 + 0.4 x1 = 0.8 x1: one of the two goes up (the first, as the
    // descent visits it first), the other down, and the bias takes the
    // mean of what is left, -0.2 * mean(x1) = -0.4.
    let (g, _) = run(Rounding::Reconstruct);
    let z = g.producer(g.value_by_name("z").unwrap()).unwrap();
    let w = g.node(z).operands[1];
    let b = g.node(z).operands[2];
    assert_eq!(g.const_data(w), Some(&TensorData::F32(vec![1.0, 0.0, 7.0])));
    match g.const_data(b) {
        Some(TensorData::F32(v)) => assert!((v[0] + 0.4).abs() < 1e-5, "{v:?}"),
        d => panic!("{d:?}"),
    }
}

#[test]
fn quantize_makes_the_chosen_layers_i4() {
    let (mut g, mut cx) = run(Rounding::Reconstruct);
    Pipeline::new()
        .then(Quantize::default())
        .run(&mut g, &mut cx)
        .unwrap();
    let z = g.producer(g.value_by_name("z_q").unwrap()).unwrap();
    let w = g.value(g.node(z).operands[1]);
    assert_eq!(w.ty.dtype, DType::I4, "{}", tmlc_ir::print(&g));
    assert_eq!(
        g.const_data(g.node(z).operands[1]),
        Some(&TensorData::I4(vec![1, 0, 7]))
    );
    // %h stays int8.
    let h = g.producer(g.value_by_name("h").unwrap()).unwrap();
    assert_eq!(g.value(g.node(h).operands[1]).ty.dtype, DType::I8);
}
