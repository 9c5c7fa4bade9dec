//! Operators imported by composition (Split, PRelu, ReduceMax, Resize):
//! the imported graph run by the reference interpreter against values
//! computed by hand from the ONNX definitions.

#![allow(clippy::unwrap_used, clippy::panic)]

use crate::proto::attribute_proto::AttributeType;
use crate::proto::tensor_proto::DataType;
use crate::proto::{AttributeProto, NodeProto, TensorProto};
use crate::tests::{floats, model, node, vi};
use crate::{import, ImportOptions};
use tmlc_ir::{DType, Tensor, TensorData, TensorType};

fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: AttributeType::Int as i32,
        ..Default::default()
    }
}

fn ints_attr(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: AttributeType::Ints as i32,
        ..Default::default()
    }
}

fn int64s(name: &str, v: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![v.len() as i64],
        data_type: DataType::Int64 as i32,
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

/// Imports a one-input model and runs it on `x`: every output's values.
fn run(
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    shape: &[usize],
    outputs: &[&str],
    x: Vec<f32>,
) -> Vec<Vec<f32>> {
    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    let m = model(nodes, inits, vec![vi("x", &dims)], outputs, 13);
    let g = import(&m, "m", &ImportOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let input = Tensor {
        ty: TensorType::new(DType::F32, shape.to_vec()),
        data: TensorData::F32(x),
    };
    tmlc_interp::run(&g, &[input])
        .unwrap()
        .into_iter()
        .map(|t| match t.data {
            TensorData::F32(v) => v,
            d => panic!("not f32: {d:?}"),
        })
        .collect()
}

/// `[0, 1, 2, ...]` as f32.
fn iota(n: usize) -> Vec<f32> {
    (0..n).map(|i| i as f32).collect()
}

#[test]
fn split_by_sizes_and_into_equal_parts() {
    // [1, 3, 2] split on axis 1 into [2, 1].
    let mut n = node("Split", &["x", "sizes"], &["a", "b"]);
    n.attribute.push(int_attr("axis", 1));
    let out = run(
        vec![n],
        vec![int64s("sizes", &[2, 1])],
        &[1, 3, 2],
        &["a", "b"],
        iota(6),
    );
    assert_eq!(out, vec![vec![0.0, 1.0, 2.0, 3.0], vec![4.0, 5.0]]);
    // No sizes: equal parts along axis 0 ([4] into 2 outputs).
    let out = run(
        vec![node("Split", &["x"], &["a", "b"])],
        vec![],
        &[4],
        &["a", "b"],
        iota(4),
    );
    assert_eq!(out, vec![vec![0.0, 1.0], vec![2.0, 3.0]]);
}

#[test]
fn channel_split_of_an_image_stays_nhwc() {
    // A conv makes the image NHWC; splitting its channels needs no
    // transpose of data.
    let conv = node("Conv", &["x", "w"], &["c"]);
    let mut split = node("Split", &["c", "sizes"], &["a", "b"]);
    split.attribute.push(int_attr("axis", 1));
    let m = model(
        vec![conv, split],
        vec![
            floats("w", &[4, 1, 1, 1], &[1.0, 2.0, 3.0, 4.0]),
            int64s("sizes", &[3, 1]),
        ],
        vec![vi("x", &[1, 1, 2, 2])],
        &["a", "b"],
        13,
    );
    let g = import(&m, "m", &ImportOptions::default()).unwrap();
    // Both slices cut the last (channel) axis of the NHWC conv result.
    let channels: Vec<(usize, usize)> = g
        .node_ids()
        .into_iter()
        .filter_map(|n| match &g.node(n).op {
            tmlc_ir::Op::Slice(s) => Some((s.begin[3], s.end[3])),
            _ => None,
        })
        .collect();
    assert_eq!(channels, vec![(0, 3), (3, 4)], "{}", tmlc_ir::print(&g));
}

#[test]
fn prelu_scales_negative_values_per_channel() {
    // x [1, 2, 1, 2], slope [2, 1, 1]: channel 0 slope 0.5, channel 1 slope 2.
    let out = run(
        vec![node("PRelu", &["x", "slope"], &["y"])],
        vec![floats("slope", &[2, 1, 1], &[0.5, 2.0])],
        &[1, 2, 1, 2],
        &["y"],
        vec![-2.0, 3.0, -1.0, 4.0],
    );
    assert_eq!(out, vec![vec![-1.0, 3.0, -2.0, 4.0]]);
}

#[test]
fn reduce_max_over_the_spatial_axes() {
    let mut n = node("ReduceMax", &["x"], &["y"]);
    n.attribute.push(ints_attr("axes", &[2, 3]));
    n.attribute.push(int_attr("keepdims", 0));
    // Channel 0: 0..3, channel 1: 4..7 (with a negative maximum).
    let x = vec![0.0, 3.0, 1.0, 2.0, -4.0, -5.0, -6.0, -7.0];
    let out = run(vec![n], vec![], &[1, 2, 2, 2], &["y"], x);
    assert_eq!(out, vec![vec![3.0, -4.0]]);
    // Any other axis is a clear error.
    let mut n = node("ReduceMax", &["x"], &["y"]);
    n.attribute.push(ints_attr("axes", &[1]));
    let m = model(vec![n], vec![], vec![vi("x", &[1, 2, 2, 2])], &["y"], 13);
    let e = import(&m, "m", &ImportOptions::default()).unwrap_err();
    assert!(e.to_string().contains("spatial axes"), "{e}");
}

#[test]
fn resize_nearest_and_linear() {
    // [1, 1, 2, 2] upsampled x2 in H and x3 in W (asymmetric / floor, as
    // PyTorch's nn.Upsample exports).
    let mut n = node("Resize", &["x", "", "scales"], &["y"]);
    for (k, v) in [
        ("coordinate_transformation_mode", "asymmetric"),
        ("nearest_mode", "floor"),
    ] {
        n.attribute.push(AttributeProto {
            name: k.into(),
            s: v.as_bytes().to_vec(),
            r#type: AttributeType::String as i32,
            ..Default::default()
        });
    }
    let out = run(
        vec![n],
        vec![floats("scales", &[4], &[1.0, 1.0, 2.0, 3.0])],
        &[1, 1, 2, 2],
        &["y"],
        vec![1.0, 2.0, 3.0, 4.0],
    );
    let row = |a: f32, b: f32| [a, a, a, b, b, b];
    let want: Vec<f32> = [row(1.0, 2.0), row(1.0, 2.0), row(3.0, 4.0), row(3.0, 4.0)].concat();
    assert_eq!(out, vec![want]);
    // Bilinear, half_pixel (the default; PyTorch's align_corners=False):
    // W 2 -> 4 samples 0, 0.25, 0.75 and 1 (clamped) of [0, 4].
    let mut n = node("Resize", &["x", "", "scales"], &["y"]);
    n.attribute.push(AttributeProto {
        name: "mode".into(),
        s: b"linear".to_vec(),
        r#type: AttributeType::String as i32,
        ..Default::default()
    });
    let out = run(
        vec![n],
        vec![floats("scales", &[4], &[1.0, 1.0, 1.0, 2.0])],
        &[1, 1, 1, 2],
        &["y"],
        vec![0.0, 4.0],
    );
    assert_eq!(out, vec![vec![0.0, 1.0, 3.0, 4.0]]);
    // Cubic resizing is refused clearly.
    let mut n = node("Resize", &["x", "", "scales"], &["y"]);
    n.attribute.push(AttributeProto {
        name: "mode".into(),
        s: b"cubic".to_vec(),
        r#type: AttributeType::String as i32,
        ..Default::default()
    });
    let m = model(
        vec![n],
        vec![floats("scales", &[4], &[1.0, 1.0, 2.0, 2.0])],
        vec![vi("x", &[1, 1, 2, 2])],
        &["y"],
        13,
    );
    let e = import(&m, "m", &ImportOptions::default()).unwrap_err();
    assert!(e.to_string().contains("mode cubic is not supported"), "{e}");
}

#[test]
fn cast_and_constant_of_shape_fold_at_import() {
    // ConstantOfShape([2, 3]) filled with 1.5 -> Cast to int32 (truncated)
    // -> Cast to float, added to x: x + 1.
    let mut fill = node("ConstantOfShape", &["shape"], &["c"]);
    fill.attribute.push(AttributeProto {
        name: "value".into(),
        t: Some(floats("v", &[1], &[1.5])),
        r#type: AttributeType::Tensor as i32,
        ..Default::default()
    });
    let mut to_int = node("Cast", &["c"], &["ci"]);
    to_int
        .attribute
        .push(int_attr("to", DataType::Int32 as i64));
    let mut to_float = node("Cast", &["ci"], &["cf"]);
    to_float
        .attribute
        .push(int_attr("to", DataType::Float as i64));
    let add = node("Add", &["x", "cf"], &["y"]);
    let out = run(
        vec![fill, to_int, to_float, add],
        vec![int64s("shape", &[2, 3])],
        &[2, 3],
        &["y"],
        iota(6),
    );
    assert_eq!(out, vec![vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]);
    // Casting an activation to another type is refused clearly.
    let mut c = node("Cast", &["x"], &["y"]);
    c.attribute.push(int_attr("to", DataType::Int8 as i64));
    let m = model(vec![c], vec![], vec![vi("x", &[2])], &["y"], 13);
    let e = import(&m, "m", &ImportOptions::default()).unwrap_err();
    assert!(e.to_string().contains("casting a f32 tensor to i8"), "{e}");
}

#[test]
fn gather_of_an_activation_selects_slices() {
    // x [2, 3], indices [2, 0] on axis 1 -> columns 2 and 0.
    let mut g = node("Gather", &["x", "idx"], &["y"]);
    g.attribute.push(int_attr("axis", 1));
    let out = run(
        vec![g],
        vec![int64s("idx", &[2, 0])],
        &[2, 3],
        &["y"],
        iota(6),
    );
    assert_eq!(out, vec![vec![2.0, 0.0, 5.0, 3.0]]);
}

#[test]
fn transposed_convolution_scatters_the_kernel() {
    // Stride 2, kernel 2x2: output pixel (2i + a, 2j + b) = x[i, j] * w[a, b].
    let mut t = node("ConvTranspose", &["x", "w"], &["y"]);
    t.attribute.push(ints_attr("strides", &[2, 2]));
    let out = run(
        vec![t],
        vec![floats("w", &[1, 1, 2, 2], &[1.0, 10.0, 100.0, 1000.0])],
        &[1, 1, 2, 2],
        &["y"],
        vec![1.0, 2.0, 3.0, 4.0],
    );
    let want = [
        [1.0, 10.0, 2.0, 20.0],
        [100.0, 1000.0, 200.0, 2000.0],
        [3.0, 30.0, 4.0, 40.0],
        [300.0, 3000.0, 400.0, 4000.0],
    ]
    .concat();
    assert_eq!(out, vec![want]);
}

/// Operators whose attributes or constant inputs size the result refuse
/// hostile values with one-line errors instead of allocating.
#[test]
fn hostile_sizes_are_refused() {
    let cases: Vec<(Vec<NodeProto>, Vec<TensorProto>, &str)> = vec![
        (
            vec![node("Resize", &["x", "", "scales"], &["y"])],
            vec![floats("scales", &[4], &[1.0, 1.0, 1e9, 1e9])],
            "out of range",
        ),
        (
            vec![node("ConstantOfShape", &["shape"], &["y"])],
            vec![int64s("shape", &[1 << 30, 1 << 30])],
            "too large",
        ),
        (
            vec![node("Gather", &["x", "idx"], &["y"])],
            vec![int64s("idx", &[7])],
            "out of range",
        ),
        (
            vec![node("Split", &["x", "sizes"], &["a", "b"])],
            vec![int64s("sizes", &[3, 3])],
            "do not cover",
        ),
    ];
    for (nodes, inits, want) in cases {
        let op = nodes[0].op_type.clone();
        let outs: Vec<&str> = nodes[0].output.iter().map(String::as_str).collect();
        let m = model(
            nodes.clone(),
            inits,
            vec![vi("x", &[1, 1, 2, 2])],
            &outs,
            18,
        );
        let e = import(&m, "m", &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(want) && !e.contains('\n'), "{op}: {e}");
    }
}

#[test]
fn elu_has_an_exponential_negative_part() {
    let mut e = node("Elu", &["x"], &["y"]);
    e.attribute.push(AttributeProto {
        name: "alpha".into(),
        f: 2.0,
        r#type: AttributeType::Float as i32,
        ..Default::default()
    });
    let out = run(vec![e], vec![], &[3], &["y"], vec![-1.0, 0.0, 3.0]);
    // 2 * (e^-1 - 1) = -1.2642411.
    assert_eq!(out, vec![vec![-1.264_241_1, 0.0, 3.0]]);
}
