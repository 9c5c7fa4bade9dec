//! Hostile and broken inputs: each must give a specific, one-line error
//! (never a panic). Inputs are patched copies of `hello_world_int8.tflite`
//! or small models written with `flatbuffers::FlatBufferBuilder`.
// Tests fail by panicking; the workspace's `clippy::panic` lint is for library code.
#![allow(clippy::panic)]

mod common;

use common::{
    deref, field_pos, read_u32, write_u32, CodeSpec, Field, ModelSpec, OpSpec, TensorSpec,
};
use tmlc_tflite::{import, TfliteError};

fn err(bytes: &[u8]) -> TfliteError {
    let e = import(bytes, "m").expect_err("import should fail");
    assert!(!e.to_string().contains('\n'), "not one line: {e}");
    e
}

fn hello() -> Vec<u8> {
    common::model("hello_world_int8")
}

#[test]
fn empty_file() {
    let e = err(&[]);
    assert_eq!(e, TfliteError::Empty);
    assert_eq!(e.to_string(), "empty file: not a TFLite model");
}

#[test]
fn truncated_header() {
    let b = hello();
    for n in 1..8 {
        let e = err(&b[..n]);
        assert_eq!(e, TfliteError::TooShort { len: n });
        assert!(
            e.to_string()
                .starts_with(&format!("truncated file: {n} bytes")),
            "{e}"
        );
    }
}

#[test]
fn bad_identifier() {
    let mut b = hello();
    b[4..8].copy_from_slice(b"ONNX");
    let e = err(&b);
    assert_eq!(
        e,
        TfliteError::BadIdentifier {
            found: "ONNX".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "bad file identifier ONNX: expected \"TFL3\" at bytes 4..8 (not a TFLite model)"
    );
    // Non-printable bytes are escaped.
    b[4..8].copy_from_slice(&[0, 0xff, b'L', b'3']);
    assert_eq!(
        err(&b).to_string(),
        "bad file identifier \\x00\\xffL3: expected \"TFL3\" at bytes 4..8 (not a TFLite model)"
    );
}

#[test]
fn root_offset_out_of_range() {
    let mut b = hello();
    let len = b.len();
    write_u32(&mut b, 0, len as u32 + 100);
    let e = err(&b);
    assert_eq!(
        e.to_string(),
        format!(
            "malformed flatbuffer: root table offset {} points outside the file ({len} bytes)",
            len + 100
        )
    );
}

#[test]
fn vtable_offset_outside() {
    let mut b = hello();
    let root = read_u32(&b, 0) as usize;
    write_u32(&mut b, root, 0x7fff_0000);
    let e = err(&b);
    assert!(matches!(e, TfliteError::Malformed(_)), "{e:?}");
    assert!(e.to_string().contains("vtable offset 2147418112"), "{e}");
    assert!(e.to_string().contains("points outside the file"), "{e}");
}

#[test]
fn vector_offset_outside() {
    let mut b = hello();
    let root = read_u32(&b, 0) as usize;
    // Model.subgraphs (slot 8): point its offset past the end of the file.
    let p = field_pos(&b, root, 8);
    let len = b.len();
    write_u32(&mut b, p, (len - p + 64) as u32);
    let e = err(&b);
    assert!(matches!(e, TfliteError::Malformed(_)), "{e:?}");
    let m = e.to_string();
    assert!(m.contains("points outside the file"), "{m}");
    assert!(m.contains("(in subgraphs)"), "{m}");
}

#[test]
fn vector_length_too_large() {
    let mut b = hello();
    let root = read_u32(&b, 0) as usize;
    // Model.buffers (slot 12): claim 100 million buffers.
    let v = deref(&b, field_pos(&b, root, 12));
    write_u32(&mut b, v, 100_000_000);
    let e = err(&b);
    let m = e.to_string();
    assert!(m.starts_with("malformed flatbuffer: range"), "{m}");
    assert!(m.contains("(in buffers)"), "{m}");
}

#[test]
fn truncated_at_every_length() {
    for stem in ["hello_world_int8", "simple_add_model"] {
        let b = common::model(stem);
        for n in 0..b.len() {
            let r = import(&b[..n], stem);
            assert!(r.is_err(), "{stem} truncated to {n} bytes imported");
        }
    }
    // Bigger models: every 97th length.
    let b = common::model("micro_speech_quantized");
    for n in (0..b.len()).step_by(97) {
        assert!(
            import(&b[..n], "ms").is_err(),
            "micro_speech truncated to {n} bytes imported"
        );
    }
}

#[test]
fn builder_model_imports() {
    let g = import(&ModelSpec::fc_float().build(), "fc").expect("the reference test model imports");
    assert_eq!(g.node_count(), 1);
    assert!(tmlc_ir::verify(&g).is_ok());
}

#[test]
fn negative_dim() {
    let mut m = ModelSpec::fc_float();
    m.tensors[0].shape = vec![-1, 2];
    let e = err(&m.build());
    assert!(
        matches!(e, TfliteError::BadShape { tensor: 0, .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "tensor 0 `x` has invalid shape [-1, 2]: negative dimension -1"
    );
}

#[test]
fn huge_constant_dim() {
    let mut m = ModelSpec::fc_float();
    m.tensors[1].shape = vec![1 << 30, 1 << 30];
    let e = err(&m.build());
    assert!(
        matches!(e, TfliteError::BadShape { tensor: 1, .. }),
        "{e:?}"
    );
    let s = e.to_string();
    assert!(s.starts_with("tensor 1 `w` has invalid shape [1073741824, 1073741824]: the constant needs 4611686018427387904 bytes, more than the whole file"), "{s}");
}

#[test]
fn huge_activation_dim() {
    let mut m = ModelSpec::fc_float();
    m.tensors[0].shape = vec![65536, 65536];
    let e = err(&m.build());
    assert_eq!(
        e.to_string(),
        "tensor 0 `x` has invalid shape [65536, 65536]: the tensor needs 17179869184 bytes, more than the 2 GiB limit"
    );
    // A product that overflows usize.
    m.tensors[0].shape = vec![i32::MAX, i32::MAX, i32::MAX, i32::MAX, 2];
    let e = err(&m.build());
    assert!(e.to_string().ends_with("its size overflows"), "{e}");
}

#[test]
fn buffer_shorter_than_shape() {
    let mut m = ModelSpec::fc_float();
    m.buffers[1].truncate(20);
    let e = err(&m.build());
    assert_eq!(
        e,
        TfliteError::BufferSize {
            tensor: 1,
            name: "w".into(),
            buffer: 1,
            have: 20,
            need: 24,
            ty: "f32[3,2]".into(),
        }
    );
    assert_eq!(
        e.to_string(),
        "buffer 1 of tensor 1 `w` holds 20 bytes, its type f32[3,2] needs 24"
    );
}

#[test]
fn buffer_index_out_of_range() {
    let mut m = ModelSpec::fc_float();
    m.tensors[1].buffer = 42;
    let e = err(&m.build());
    assert_eq!(
        e.to_string(),
        "buffer index 42 out of range (have 3) (node 0)"
    );
}

#[test]
fn opcode_index_out_of_range() {
    let mut m = ModelSpec::fc_float();
    m.ops[0].opcode_index = 3;
    let e = err(&m.build());
    assert_eq!(
        e,
        TfliteError::IndexOutOfRange {
            what: "opcode",
            index: 3,
            len: 1,
            node: Some(0)
        }
    );
    assert_eq!(
        e.to_string(),
        "opcode index 3 out of range (have 1) (node 0)"
    );
}

#[test]
fn tensor_index_out_of_range() {
    let mut m = ModelSpec::fc_float();
    m.ops[0].inputs = vec![0, 7, 2];
    assert_eq!(
        err(&m.build()).to_string(),
        "tensor index 7 out of range (have 4) (node 0)"
    );
    m.ops[0].inputs = vec![0, -5, 2];
    assert_eq!(
        err(&m.build()).to_string(),
        "tensor index -5 out of range (have 4) (node 0)"
    );
    let mut m = ModelSpec::fc_float();
    m.outputs = vec![9];
    assert_eq!(
        err(&m.build()).to_string(),
        "subgraph output tensor index 9 out of range (have 4)"
    );
}

#[test]
fn unknown_builtin_code() {
    let mut m = ModelSpec::fc_float();
    m.codes[0] = CodeSpec::builtin(9999);
    let e = err(&m.build());
    assert_eq!(
        e,
        TfliteError::UnknownOp {
            node: 0,
            code: 9999
        }
    );
    assert_eq!(e.to_string(), "unknown builtin operator code 9999 (node 0)");
}

#[test]
fn builtin_code_is_the_max_of_both_fields() {
    // Old files: only the deprecated byte.
    let mut m = ModelSpec::fc_float();
    m.codes[0] = CodeSpec {
        deprecated: 9,
        builtin: 0,
        custom: None,
    };
    assert!(import(&m.build(), "old").is_ok());
    // New files: only the int32 field.
    m.codes[0] = CodeSpec {
        deprecated: 0,
        builtin: 9,
        custom: None,
    };
    assert!(import(&m.build(), "new").is_ok());
    // Codes above 127: the byte holds PLACEHOLDER_FOR_GREATER_OP_CODES.
    m.codes[0] = CodeSpec {
        deprecated: 127,
        builtin: 150,
        custom: None,
    };
    assert_eq!(
        err(&m.build()).to_string(),
        "unsupported operator GELU (node 0)"
    );
}

#[test]
fn custom_op_is_named() {
    let mut m = ModelSpec::fc_float();
    m.codes[0] = CodeSpec {
        deprecated: 32,
        builtin: 32,
        custom: Some("MyOp".into()),
    };
    assert_eq!(
        err(&m.build()).to_string(),
        "unsupported operator CUSTOM:MyOp (node 0)"
    );
}

#[test]
fn unsupported_tensor_type() {
    let mut m = ModelSpec::fc_float();
    m.tensors[0].ty = 1; // FLOAT16
    let e = err(&m.build());
    assert!(
        matches!(
            e,
            TfliteError::UnsupportedTensorType {
                tensor: 0,
                node: None,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "unsupported tensor type FLOAT16 for tensor 0 `x` (graph input)"
    );
    let mut m = ModelSpec::fc_float();
    m.tensors[3].ty = 15; // UINT32 output
    assert_eq!(
        err(&m.build()).to_string(),
        "unsupported tensor type UINT32 for tensor 3 `y` (FULLY_CONNECTED, node 0)"
    );
}

#[test]
fn schema_version() {
    let mut m = ModelSpec::fc_float();
    m.version = 2;
    assert_eq!(err(&m.build()), TfliteError::SchemaVersion { version: 2 });
}

#[test]
fn non_constant_paddings() {
    let m = ModelSpec {
        version: 3,
        codes: vec![CodeSpec::builtin(34)],
        tensors: vec![
            TensorSpec::new("x", &[1, 4], 0, 0),
            TensorSpec::new("p", &[2, 2], 2, 0),
            TensorSpec::new("y", &[1, 6], 0, 0),
        ],
        inputs: vec![0, 1],
        outputs: vec![2],
        ops: vec![OpSpec::new(0, &[0, 1], &[2])],
        buffers: vec![Vec::new()],
    };
    let e = err(&m.build());
    assert_eq!(
        e.to_string(),
        "PAD (node 0): paddings must be a constant tensor (tensor 1 is not)"
    );
}

#[test]
fn reads_tensor_before_it_is_written() {
    let mut m = ModelSpec::fc_float();
    // y = fc(z, w, b); z = fc(x, w, b): operators out of order.
    m.tensors[3].shape = vec![1, 2];
    m.tensors.push(TensorSpec::new("z", &[1, 2], 0, 0));
    m.tensors[1].shape = vec![2, 2];
    m.buffers[1].truncate(16);
    m.tensors[2].shape = vec![2];
    m.buffers[2].truncate(8);
    m.ops = vec![
        OpSpec::new(0, &[4, 1, 2], &[3]),
        OpSpec::new(0, &[0, 1, 2], &[4]),
    ];
    assert_eq!(
        err(&m.build()).to_string(),
        "malformed flatbuffer: operator 0 (FULLY_CONNECTED) reads tensor 4 `z`, which is not a graph input, a constant or the output of an earlier operator"
    );
}

#[test]
fn writes_a_tensor_twice() {
    let mut m = ModelSpec::fc_float();
    m.ops.push(OpSpec::new(0, &[0, 1, 2], &[3]));
    let e = err(&m.build());
    assert!(
        e.to_string()
            .starts_with("malformed flatbuffer: operator 1 (FULLY_CONNECTED) writes tensor 3 `y`"),
        "{e}"
    );
}

#[test]
fn quantization_counts_are_checked() {
    let mut m = ModelSpec::fc_float();
    m.tensors[0].ty = 9;
    m.tensors[0] = m.tensors[0].clone().quant(&[0.5, 0.25], &[0], 1);
    let e = err(&m.build());
    assert_eq!(
        e.to_string(),
        "tensor 0 `x` has invalid quantization: 2 scales but 1 zero points"
    );
    m.tensors[0] = m.tensors[0].clone().quant(&[0.5, 0.25, 0.1], &[0, 0, 0], 1);
    let e = err(&m.build());
    assert_eq!(
        e.to_string(),
        "tensor 0 `x` has invalid quantization: 3 per-channel scales for dimension 1 of size 2"
    );
    m.tensors[0] = m.tensors[0].clone().quant(&[0.0], &[0], 0);
    assert_eq!(
        err(&m.build()).to_string(),
        "tensor 0 `x` has invalid quantization: scale 0.0 is not positive and finite"
    );
    m.tensors[0] = m.tensors[0].clone().quant(&[0.5], &[300], 0);
    assert_eq!(
        err(&m.build()).to_string(),
        "tensor 0 `x` has invalid quantization: zero point 300 is out of range for i8"
    );
}

#[test]
fn concatenation_with_fused_activation_is_unsupported() {
    let m = ModelSpec {
        version: 3,
        codes: vec![CodeSpec::builtin(2)],
        tensors: vec![
            TensorSpec::new("a", &[1, 2], 0, 0),
            TensorSpec::new("b", &[1, 3], 0, 0),
            TensorSpec::new("y", &[1, 5], 0, 0),
        ],
        inputs: vec![0, 1],
        outputs: vec![2],
        ops: vec![
            OpSpec::new(0, &[0, 1], &[2]).options(10, &[(4, Field::I32(-1)), (6, Field::I8(1))])
        ],
        buffers: vec![Vec::new()],
    };
    let e = err(&m.build());
    assert!(
        matches!(e, TfliteError::UnsupportedOp { node: 0, .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "unsupported operator CONCATENATION with fused activation RELU (node 0)"
    );
}

#[test]
fn fused_tanh_is_unsupported() {
    let mut m = ModelSpec::fc_float();
    m.ops[0] = m.ops[0].clone().options(8, &[(4, Field::I8(4))]);
    assert_eq!(
        err(&m.build()).to_string(),
        "unsupported operator FULLY_CONNECTED with fused activation TANH (node 0)"
    );
}

#[test]
fn batch_matmul_adjoint_is_unsupported() {
    let m = ModelSpec {
        version: 3,
        codes: vec![CodeSpec::builtin(126)],
        tensors: vec![
            TensorSpec::new("a", &[2, 3], 0, 0),
            TensorSpec::new("b", &[2, 3], 0, 0),
            TensorSpec::new("y", &[3, 3], 0, 0),
        ],
        inputs: vec![0, 1],
        outputs: vec![2],
        ops: vec![OpSpec::new(0, &[0, 1], &[2]).options(101, &[(4, Field::Bool(true))])],
        buffers: vec![Vec::new()],
    };
    assert_eq!(
        err(&m.build()).to_string(),
        "unsupported operator BATCH_MATMUL with adj_x/adj_y (adjoint operands) (node 0)"
    );
}

#[test]
fn no_subgraph() {
    // A Model table with only a version: no subgraphs.
    let mut b = flatbuffers::FlatBufferBuilder::new();
    let t = b.start_table();
    b.push_slot::<u32>(4, 3, 0);
    let t = b.end_table(t);
    b.finish(t, Some("TFL3"));
    assert_eq!(
        err(b.finished_data()).to_string(),
        "malformed flatbuffer: the model has no subgraphs"
    );
}

#[test]
fn unterminated_string() {
    // Replace the NUL after the model description with a letter.
    let mut b = ModelSpec::fc_float().build();
    let pos = b
        .windows(16)
        .position(|w| w == b"tmlc test model\0")
        .expect("description present");
    b[pos + 15] = b'!';
    let e = err(&b);
    assert!(
        e.to_string()
            .contains("has no null terminator (in description)"),
        "{e}"
    );
}
