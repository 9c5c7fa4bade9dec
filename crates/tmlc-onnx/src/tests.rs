//! Hostile and malformed models: each a one-line error naming the node or
//! tensor, never a panic. Models are built here with the generated types.

#![allow(clippy::unwrap_used, clippy::panic)]

use crate::proto::tensor_proto::{DataLocation, DataType};
use crate::proto::tensor_shape_proto::{dimension, Dimension};
use crate::proto::type_proto::{self, Value};
use crate::proto::*;
use crate::{import, ExternalData, ImportOptions};
use prost::Message;

pub(crate) fn vi(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(if d >= 0 {
                dimension::Value::DimValue(d)
            } else {
                dimension::Value::DimParam(format!("d{d}"))
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn node(op: &str, ins: &[&str], outs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: outs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

pub(crate) fn floats(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: DataType::Float as i32,
        float_data: v.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn model(
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: &[&str],
    opset: i64,
) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(GraphProto {
            node: nodes,
            initializer: inits,
            input: inputs,
            output: outputs.iter().map(|o| vi(o, &[])).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// `y = relu(x + k)`, x [1, 2].
fn good() -> Vec<u8> {
    model(
        vec![
            node("Add", &["x", "k"], &["s"]),
            node("Relu", &["s"], &["y"]),
        ],
        vec![floats("k", &[2], &[1.0, -1.0])],
        vec![vi("x", &[1, 2])],
        &["y"],
        13,
    )
}

fn err(bytes: &[u8]) -> String {
    err_with(bytes, &ImportOptions::default())
}

fn err_with(bytes: &[u8], opts: &ImportOptions<'_>) -> String {
    match import(bytes, "m", opts) {
        Ok(_) => panic!("imported a bad model"),
        Err(e) => {
            let s = e.to_string();
            assert!(!s.contains('\n'), "not one line: {s}");
            s
        }
    }
}

#[test]
fn a_small_model_imports() {
    let g = import(&good(), "m", &ImportOptions::default()).unwrap();
    assert_eq!(g.node_count(), 2);
    assert_eq!(g.value(g.inputs()[0]).ty.shape, vec![1, 2]);
}

#[test]
fn truncated_and_garbage_bytes_are_decode_errors() {
    let b = good();
    for n in [1, 2, 7, b.len() / 2, b.len() - 1] {
        let e = err(&b[..n]);
        assert!(
            e.starts_with("not a valid ONNX model") || e.contains("no graph"),
            "{n}: {e}"
        );
    }
    // A field with a wire type its number does not have (ir_version, 1, as
    // a length-delimited field running past the end).
    assert!(err(&[0x0a, 0x7f, 0x01]).starts_with("not a valid ONNX model"));
    assert_eq!(err(&[]), "the model has no graph");
}

#[test]
fn nesting_past_the_decoder_limit_is_refused() {
    // Graphs nested in graph attributes, 200 deep.
    let mut g = GraphProto::default();
    for _ in 0..200 {
        let mut n = node("If", &[], &["o"]);
        n.attribute.push(AttributeProto {
            name: "then_branch".into(),
            g: Some(g),
            ..Default::default()
        });
        g = GraphProto {
            node: vec![n],
            ..Default::default()
        };
    }
    let b = ModelProto {
        graph: Some(g),
        ..Default::default()
    }
    .encode_to_vec();
    assert!(err(&b).contains("recursion limit"), "{}", err(&b));
}

#[test]
fn opsets_and_domains() {
    let mut m = ModelProto::decode(good().as_slice()).unwrap();
    m.opset_import[0].version = 26;
    assert_eq!(
        err(&m.encode_to_vec()),
        "opset 26 of domain `ai.onnx` is not supported (supported: default domain, opsets 7 to 25)"
    );
    let mut m = ModelProto::decode(good().as_slice()).unwrap();
    if let Some(g) = &mut m.graph {
        g.node[1].domain = "com.microsoft".into();
    }
    assert_eq!(
        err(&m.encode_to_vec()),
        "unsupported operator com.microsoft.Relu (node `y`)"
    );
}

#[test]
fn graph_structure_errors_name_the_node() {
    // Reads a value defined later (or never): also how a cycle shows.
    let b = model(
        vec![node("Relu", &["y"], &["y"])],
        vec![],
        vec![vi("x", &[1])],
        &["y"],
        13,
    );
    assert_eq!(
        err(&b),
        "node `y` (Relu): reads `y`, which nothing defines before it"
    );
    let b = model(
        vec![node("Relu", &["x"], &["r"])],
        vec![],
        vec![vi("x", &[1])],
        &["nope"],
        13,
    );
    assert_eq!(
        err(&b),
        "tensor `nope`: graph output is not defined by any node"
    );
    let b = model(
        vec![node("Gelu", &["x"], &["y"])],
        vec![],
        vec![vi("x", &[1])],
        &["y"],
        13,
    );
    assert_eq!(err(&b), "unsupported operator Gelu (node `y`)");
    let b = model(
        vec![node("Relu", &[], &["y"])],
        vec![],
        vec![vi("x", &[1])],
        &["y"],
        13,
    );
    assert_eq!(err(&b), "node `y` (Relu): input #0 is missing");
    // An initializer a node needs is missing.
    let b = model(
        vec![node("Add", &["x", "k"], &["y"])],
        vec![],
        vec![vi("x", &[2])],
        &["y"],
        13,
    );
    assert_eq!(
        err(&b),
        "node `y` (Add): reads `k`, which nothing defines before it"
    );
}

#[test]
fn tensor_errors_name_the_tensor() {
    let with = |t: TensorProto| {
        model(
            vec![node("Add", &["x", "k"], &["y"])],
            vec![t],
            vec![vi("x", &[2])],
            &["y"],
            13,
        )
    };
    let mut t = floats("k", &[2], &[]);
    t.raw_data = vec![0; 7];
    assert_eq!(
        err(&with(t)),
        "tensor `k`: f32[2] has 8 bytes, raw data has 7"
    );
    assert_eq!(
        err(&with(floats("k", &[3], &[1.0]))),
        "tensor `k`: needs 3 elements, holds 1"
    );
    assert_eq!(
        err(&with(floats("k", &[-2], &[]))),
        "tensor `k`: negative dimension -2"
    );
    let huge = err(&with(floats("k", &[1 << 40, 1 << 20], &[])));
    assert!(
        huge.starts_with("tensor `k`: ") && huge.contains("too large"),
        "{huge}"
    );
    let mut t = floats("k", &[2], &[]);
    t.data_type = DataType::Complex64 as i32;
    assert_eq!(
        err(&with(t)),
        "tensor `k`: element type complex64 is not supported"
    );
    let mut t = floats("k", &[2], &[]);
    t.data_type = DataType::Int8 as i32;
    t.int32_data = vec![1, 300];
    assert_eq!(
        err(&with(t)),
        "tensor `k`: value 300 is out of range for i8"
    );
}

#[test]
fn external_data_stays_in_the_model_folder() {
    let ext = |loc: &str, len: Option<&str>| {
        let mut t = floats("k", &[2], &[]);
        t.data_location = DataLocation::External as i32;
        t.external_data.push(StringStringEntryProto {
            key: "location".into(),
            value: loc.into(),
        });
        if let Some(l) = len {
            t.external_data.push(StringStringEntryProto {
                key: "length".into(),
                value: l.into(),
            });
        }
        model(
            vec![node("Add", &["x", "k"], &["y"])],
            vec![t],
            vec![vi("x", &[2])],
            &["y"],
            13,
        )
    };
    let reader: &ExternalData<'_> = &|loc, off, len| {
        assert_eq!((loc, off, len), ("w.data", 0, 8));
        Ok(vec![0; len])
    };
    let opts = ImportOptions {
        external: Some(reader),
        ..Default::default()
    };
    for bad in ["../../etc/passwd", "/etc/passwd", "a/../../b", ""] {
        let e = err_with(&ext(bad, None), &opts);
        assert!(e.contains("outside the model's folder"), "{bad}: {e}");
    }
    assert_eq!(
        err_with(&ext("w.data", Some("12")), &opts),
        "tensor `k`: external data length 12, the tensor needs 8 bytes"
    );
    assert!(err(&ext("w.data", None)).contains("no model folder"));
    import(&ext("w.data", Some("8")), "m", &opts).unwrap();
    // The reader's refusal (a short file) is reported with the tensor.
    let short: &ExternalData<'_> =
        &|_, _, _| Err("bytes 0..+8 are outside the file (4 bytes)".into());
    let opts = ImportOptions {
        external: Some(short),
        ..Default::default()
    };
    assert!(err_with(&ext("w.data", None), &opts).ends_with("outside the file (4 bytes)"));
}

#[test]
fn unknown_dimensions_need_a_shape() {
    let b = model(
        vec![node("Relu", &["x"], &["y"])],
        vec![],
        vec![vi("x", &[-1, -1])],
        &["y"],
        13,
    );
    assert_eq!(
        err(&b),
        "tensor `x`: dimension 1 is unknown: give it with --input-shape x=..."
    );
    let opts = ImportOptions {
        input_shapes: vec![("x".into(), vec![3, 4])],
        ..Default::default()
    };
    let g = import(&b, "m", &opts).unwrap();
    assert_eq!(g.value(g.inputs()[0]).ty.shape, vec![3, 4]);
    // A symbolic batch dimension alone defaults to 1.
    let b = model(
        vec![node("Relu", &["x"], &["y"])],
        vec![],
        vec![vi("x", &[-1, 4])],
        &["y"],
        13,
    );
    let g = import(&b, "m", &ImportOptions::default()).unwrap();
    assert_eq!(g.value(g.inputs()[0]).ty.shape, vec![1, 4]);
}

/// `--io-layout nhwc`: a 4-D input and output are NHWC, and the only
/// transposes left are of constants (the weights), which fold.
#[test]
fn nhwc_io_layout_has_no_boundary_transposes() {
    let m = model(
        vec![
            node("Conv", &["x", "w"], &["c"]),
            node("Relu", &["c"], &["y"]),
        ],
        vec![floats("w", &[2, 3, 1, 1], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])],
        vec![vi("x", &[1, 3, 4, 5])],
        &["y"],
        13,
    );
    let transposes_of_data = |g: &tmlc_ir::Graph| {
        g.node_ids()
            .into_iter()
            .filter(|&n| {
                let node = g.node(n);
                matches!(node.op, tmlc_ir::Op::Transpose(_))
                    && g.const_data(node.operands[0]).is_none()
            })
            .count()
    };
    let g = import(&m, "m", &ImportOptions::default()).unwrap();
    assert_eq!(g.value(g.inputs()[0]).ty.shape, vec![1, 3, 4, 5]);
    assert_eq!(g.value(g.outputs()[0]).ty.shape, vec![1, 2, 4, 5]);
    assert_eq!(transposes_of_data(&g), 2);
    let opts = ImportOptions {
        io_layout: crate::IoLayout::Nhwc,
        ..Default::default()
    };
    let g = import(&m, "m", &opts).unwrap();
    assert_eq!(g.value(g.inputs()[0]).ty.shape, vec![1, 4, 5, 3]);
    assert_eq!(g.value(g.outputs()[0]).ty.shape, vec![1, 4, 5, 2]);
    assert_eq!(transposes_of_data(&g), 0);
}
