//! Imports every shared TFLite model: the six core models must import,
//! verify and have the operator counts of their JSON sidecar; every other
//! model must fail with an error naming the unsupported operator or type and
//! the node.
// Tests fail by panicking; the workspace's `clippy::panic` lint is for library code.
#![allow(clippy::panic)]

mod common;

use common::{model_json, models_dir, tflite_files, Json};
use std::collections::BTreeMap;
use std::path::Path;
use tmlc_ir::{DType, Graph, Op, TensorType};
use tmlc_tflite::{import, TfliteError};

/// The IR op a TFLite builtin becomes.
fn ir_op_name(tflite: &str) -> &'static str {
    match tflite {
        "CONV_2D" | "DEPTHWISE_CONV_2D" => "conv2d",
        "FULLY_CONNECTED" => "fully_connected",
        "ADD" => "add",
        "SUB" => "sub",
        "MUL" => "mul",
        "AVERAGE_POOL_2D" => "avg_pool2d",
        "MAX_POOL_2D" => "max_pool2d",
        "RESHAPE" => "reshape",
        "SOFTMAX" => "softmax",
        "PAD" | "PADV2" => "pad",
        "MEAN" => "mean",
        "TRANSPOSE" => "transpose",
        "CONCATENATION" => "concat",
        "QUANTIZE" => "quantize",
        "DEQUANTIZE" => "dequantize",
        "LOGISTIC" => "sigmoid",
        "TANH" => "tanh",
        "RELU" => "relu",
        "RELU6" => "relu6",
        "RELU_N1_TO_1" => "clip",
        "LEAKY_RELU" => "leaky_relu",
        "HARD_SWISH" => "hard_swish",
        "BATCH_MATMUL" => "matmul",
        other => {
            assert!(
                tmlc_tflite::supported_ops().any(|o| o == other),
                "no IR op for {other}"
            );
            "?"
        }
    }
}

fn op_counts(g: &Graph) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for n in g.node_ids() {
        *m.entry(g.node(n).op.name().to_string()).or_insert(0) += 1;
    }
    m
}

fn dtype_of(name: &str) -> Option<DType> {
    Some(match name {
        "float32" => DType::F32,
        "int8" => DType::I8,
        "uint8" => DType::U8,
        "int16" => DType::I16,
        "int32" => DType::I32,
        "int64" => DType::I64,
        _ => return None,
    })
}

/// Checks a graph input/output type against the sidecar's description.
fn check_io(what: &str, ty: &TensorType, j: &Json) {
    let shape: Vec<usize> = j
        .get("shape")
        .map(|s| {
            s.as_arr()
                .iter()
                .filter_map(|d| d.as_f64())
                .map(|d| d as usize)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(ty.shape, shape, "{what}: shape");
    assert_eq!(
        Some(ty.dtype),
        j.get("dtype").and_then(|d| d.as_str()).and_then(dtype_of),
        "{what}: dtype"
    );
    let scales: Vec<f32> = j
        .get("quantization")
        .and_then(|q| q.get("scale"))
        .map(|s| {
            s.as_arr()
                .iter()
                .filter_map(|x| x.as_f64())
                .map(|x| x as f32)
                .collect()
        })
        .unwrap_or_default();
    let zps: Vec<i32> = j
        .get("quantization")
        .and_then(|q| q.get("zero_point"))
        .map(|s| {
            s.as_arr()
                .iter()
                .filter_map(|x| x.as_f64())
                .map(|x| x as i32)
                .collect()
        })
        .unwrap_or_default();
    match &ty.quant {
        Some(q) => {
            assert_eq!(q.scale, scales, "{what}: scales");
            assert_eq!(q.zero_point, zps, "{what}: zero points");
        }
        None => assert!(
            scales.is_empty(),
            "{what}: expected quantization {scales:?}"
        ),
    }
}

/// Nodes the frontend adds beyond one per TFLite operator.
fn extra_nodes(stem: &str) -> &'static [(&'static str, usize)] {
    match stem {
        // FULLY_CONNECTED on the [1,25,20,8] depthwise output: TFLite
        // flattens implicitly to [1,4000], the IR wants an explicit reshape.
        "micro_speech_quantized" => &[("reshape", 1)],
        _ => &[],
    }
}

const CORE: [&str; 6] = [
    "hello_world_float",
    "hello_world_int8",
    "simple_add_model",
    "micro_speech_quantized",
    "person_detect",
    "mobilenet_v2_quantized_1x3x224x224",
];

fn import_core(stem: &str) -> Graph {
    let path = models_dir().join(format!("{stem}.tflite"));
    let bytes = std::fs::read(&path).expect("core model present");
    match import(&bytes, stem) {
        Ok(g) => g,
        Err(e) => panic!("{stem}: import failed: {e}"),
    }
}

#[test]
fn core_models_import_with_json_op_counts() {
    for stem in CORE {
        let path = models_dir().join(format!("{stem}.tflite"));
        let g = import_core(stem);
        assert_eq!(g.name, tmlc_ir::sanitize_name(stem));
        let v = tmlc_ir::verify(&g);
        assert!(v.is_ok(), "{stem}: {v:?}");

        let j = model_json(&path);
        let mut want: BTreeMap<String, usize> = BTreeMap::new();
        let mut tflite_ops = 0;
        for (name, n) in j.get("ops").map(|o| o.as_obj()).unwrap_or_default() {
            let n = n.as_f64().unwrap_or(0.0) as usize;
            *want.entry(ir_op_name(name).to_string()).or_insert(0) += n;
            tflite_ops += n;
        }
        assert!(tflite_ops > 0, "{stem}: no ops in the JSON");
        for &(op, n) in extra_nodes(stem) {
            *want.entry(op.to_string()).or_insert(0) += n;
        }
        assert_eq!(op_counts(&g), want, "{stem}: op counts");

        let ins = j.get("inputs").map(|x| x.as_arr()).unwrap_or_default();
        let outs = j.get("outputs").map(|x| x.as_arr()).unwrap_or_default();
        assert_eq!(g.inputs().len(), ins.len(), "{stem}: inputs");
        assert_eq!(g.outputs().len(), outs.len(), "{stem}: outputs");
        for (k, (v, jv)) in g.inputs().iter().zip(ins).enumerate() {
            check_io(&format!("{stem} input {k}"), &g.value(*v).ty, jv);
        }
        for (k, (v, jv)) in g.outputs().iter().zip(outs).enumerate() {
            check_io(&format!("{stem} output {k}"), &g.value(*v).ty, jv);
        }
    }
}

#[test]
fn core_models_round_trip_through_the_text_form() {
    for stem in CORE {
        let g = import_core(stem);
        let text = tmlc_ir::print(&g);
        let back = tmlc_ir::parse(&text);
        assert!(back.is_ok(), "{stem}: {:?}", back.err());
        if let Ok(back) = back {
            assert!(
                tmlc_ir::print(&back) == text,
                "{stem}: text form does not round-trip"
            );
        }
    }
}

#[test]
fn micro_speech_depthwise_and_fc_mapping() {
    let g = import_core("micro_speech_quantized");
    let mut convs = 0;
    for n in g.node_ids() {
        let node = g.node(n);
        match &node.op {
            Op::Conv2d(a) => {
                convs += 1;
                // Input [1,49,40,1], 10x8 window, stride 2, SAME: odd padding
                // at the bottom; depth multiplier 8 on one channel.
                assert_eq!(a.stride, [2, 2]);
                assert_eq!(a.pad, [4, 3, 5, 3]);
                assert_eq!(a.groups, 1);
                assert_eq!(a.act, tmlc_ir::Activation::Relu);
                let w = &g.value(node.operands[1]).ty;
                assert_eq!(w.shape, vec![8, 10, 8, 1]);
                let q = w.quant.as_ref().expect("per-channel filter");
                assert_eq!((q.axis, q.scale.len()), (Some(0), 8));
                let b = &g.value(node.operands[2]).ty;
                assert_eq!((b.dtype, b.quant.is_none()), (DType::I32, true));
            }
            Op::FullyConnected(_) => {
                let x = &g.value(node.operands[0]).ty;
                assert_eq!(x.shape, vec![1, 4000]);
                let b = &g.value(node.operands[2]).ty;
                assert_eq!((b.dtype, b.quant.is_none()), (DType::I32, true));
            }
            _ => {}
        }
    }
    assert_eq!(convs, 1);
}

#[test]
fn depthwise_filter_is_transposed_to_ohwi() {
    // micro_speech's filter: [1,10,8,8] in the file, [8,10,8,1] in the IR.
    // Element (0,y,x,o) must land at (o,y,x,0).
    let bytes = common::model("micro_speech_quantized");
    let g = import(&bytes, "ms").expect("imports");
    let w = g
        .node_ids()
        .into_iter()
        .find_map(|n| match g.node(n).op {
            Op::Conv2d(_) => Some(g.node(n).operands[1]),
            _ => None,
        })
        .expect("a conv");
    let Some(tmlc_ir::TensorData::I8(data)) = g.const_data(w) else {
        panic!("filter is not an i8 constant");
    };
    // Find the original filter bytes: the unique 640-byte buffer in the file
    // whose transposition matches.
    let (h, wd, o) = (10usize, 8usize, 8usize);
    let raw: Vec<u8> = (0..o)
        .flat_map(|oc| (0..h).flat_map(move |y| (0..wd).map(move |x| (oc, y, x))))
        .map(|(oc, y, x)| data[(oc * h + y) * wd + x] as u8)
        .collect();
    // `raw` is in [O,H,W] order; the file stores [H,W,O]: rebuild it.
    let mut file_order = vec![0u8; raw.len()];
    for oc in 0..o {
        for y in 0..h {
            for x in 0..wd {
                file_order[(y * wd + x) * o + oc] = raw[(oc * h + y) * wd + x];
            }
        }
    }
    assert!(
        bytes
            .windows(file_order.len())
            .any(|w| w == file_order.as_slice()),
        "the transposed filter does not come from the file's [1,H,W,O] data"
    );
}

/// What each non-core model must fail with: the error kind, and the words
/// its message must contain.
fn expected_failure(rel: &str) -> Option<(&'static str, Vec<&'static str>)> {
    let stem = Path::new(rel).file_stem()?.to_str()?;
    let group = Path::new(rel)
        .parent()?
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("");
    let lstm = vec!["unsupported operator UNIDIRECTIONAL_SEQUENCE_LSTM (node 0)"];
    Some(match (group, stem) {
        ("tflite-micro", "audio_preprocessor_float" | "audio_preprocessor_int8") => (
            "op",
            vec!["unsupported operator CUSTOM:SignalWindow (node 0)"],
        ),
        (
            "tflite-micro",
            "dtln_noise_suppression" | "micro_speech_lstm" | "mnist_lstm_float" | "mnist_lstm_int8",
        ) => ("op", lstm),
        ("tflite-micro", "keyword_scrambled" | "keyword_scrambled_8bit") => {
            ("op", vec!["unsupported operator SVDF (node 1)"])
        }
        ("strided_slice", _) => ("op", vec!["unsupported operator STRIDED_SLICE (node 0)"]),
        ("transpose_conv", _) => ("op", vec!["unsupported operator TRANSPOSE_CONV (node 0)"]),
        ("add", _) => (
            "type",
            vec!["unsupported tensor type INT16 (quantized)", "(ADD, node 0)"],
        ),
        ("sub", _) => (
            "type",
            vec!["unsupported tensor type INT16 (quantized)", "(SUB, node 0)"],
        ),
        ("conv", _) => (
            "type",
            vec![
                "unsupported tensor type INT16 (quantized)",
                "(CONV_2D, node 0)",
            ],
        ),
        ("leaky_relu", _) => (
            "type",
            vec![
                "unsupported tensor type INT16 (quantized)",
                "(LEAKY_RELU, node 0)",
            ],
        ),
        ("pad", _) => (
            "type",
            vec!["unsupported tensor type INT16 (quantized)", "(PAD, node 0)"],
        ),
        ("quantize", _) => (
            "type",
            vec![
                "unsupported tensor type INT32 (quantized)",
                "(QUANTIZE, node 0)",
            ],
        ),
        _ => return None,
    })
}

#[test]
fn other_models_fail_naming_the_operator_or_type_and_node() {
    let dir = models_dir();
    let files = tflite_files(&dir);
    let mut checked = 0;
    let mut seanet = 0;
    for path in &files {
        let rel = path
            .strip_prefix(dir.parent().unwrap_or(&dir))
            .unwrap_or(path);
        let rel = rel.to_string_lossy().to_string();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        if CORE.contains(&stem.as_str()) {
            continue;
        }
        let Some((kind, words)) = expected_failure(&rel) else {
            panic!("{rel}: no expectation for this model; add one");
        };
        let bytes = std::fs::read(path).expect("readable");
        let err = import(&bytes, &stem).err();
        let Some(err) = err else {
            panic!("{rel}: imported, but should fail with {words:?}");
        };
        let msg = err.to_string();
        let kind_ok = match kind {
            "op" => matches!(err, TfliteError::UnsupportedOp { .. }),
            _ => matches!(
                err,
                TfliteError::UnsupportedTensorType { node: Some(0), .. }
            ),
        };
        assert!(kind_ok, "{rel}: wrong error kind: {err:?}");
        for w in &words {
            assert!(msg.contains(w), "{rel}: message {msg:?} lacks {w:?}");
        }
        assert!(
            !msg.contains('\n'),
            "{rel}: message is not one line: {msg:?}"
        );
        checked += 1;
        if rel.contains("seanet") {
            seanet += 1;
        }
    }
    assert_eq!(seanet, 127, "expected the 127 seanet models");
    assert_eq!(
        checked,
        8 + 127,
        "expected 8 other tflite-micro models and 127 seanet ones"
    );
}
