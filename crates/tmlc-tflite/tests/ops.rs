//! Operator mapping on small hand-written models, for the operators and
//! options the shared models do not exercise: each imports, passes
//! `tmlc_ir::verify`, and has the expected IR op and attributes.
// Tests fail by panicking; the workspace's `clippy::panic` lint is for library code.
#![allow(clippy::panic)]

mod common;

use common::{CodeSpec, Field, ModelSpec, OpSpec, TensorSpec};
use tmlc_ir::{Activation, Graph, Op, TensorData};
use tmlc_tflite::import;

const F32: i8 = 0;
const I32: i8 = 2;
const I8: i8 = 9;

/// A `BuiltinOptions` tag with its table's fields.
type Options<'a> = Option<(u8, &'a [(u16, Field)])>;

/// Builds one-subgraph models tensor by tensor.
struct Builder(ModelSpec);

impl Builder {
    fn new() -> Builder {
        Builder(ModelSpec {
            version: 3,
            codes: Vec::new(),
            tensors: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            ops: Vec::new(),
            buffers: vec![Vec::new()],
        })
    }

    fn tensor(&mut self, name: &str, shape: &[i32], ty: i8, q: Option<(f32, i64)>) -> i32 {
        let mut t = TensorSpec::new(name, shape, ty, 0);
        if let Some((s, z)) = q {
            t = t.quant(&[s], &[z], 0);
        }
        self.0.tensors.push(t);
        self.0.tensors.len() as i32 - 1
    }

    fn input(&mut self, name: &str, shape: &[i32], ty: i8, q: Option<(f32, i64)>) -> i32 {
        let t = self.tensor(name, shape, ty, q);
        self.0.inputs.push(t);
        t
    }

    fn constant(
        &mut self,
        name: &str,
        shape: &[i32],
        ty: i8,
        q: Option<(f32, i64)>,
        data: Vec<u8>,
    ) -> i32 {
        let t = self.tensor(name, shape, ty, q);
        self.0.buffers.push(data);
        self.0.tensors[t as usize].buffer = self.0.buffers.len() as u32 - 1;
        t
    }

    fn op(&mut self, code: i32, ins: &[i32], out: i32, options: Options) {
        let idx = match self.0.codes.iter().position(|c| c.builtin == code) {
            Some(i) => i,
            None => {
                self.0.codes.push(CodeSpec::builtin(code));
                self.0.codes.len() - 1
            }
        };
        let mut op = OpSpec::new(idx as u32, ins, &[out]);
        if let Some((tag, fields)) = options {
            op = op.options(tag, fields);
        }
        self.0.ops.push(op);
    }

    fn output(&mut self, t: i32) {
        self.0.outputs.push(t);
    }

    fn import(&self) -> Graph {
        let r = import(&self.0.build(), "t");
        assert!(
            r.is_ok(),
            "import failed: {:?}",
            r.as_ref().err().map(|e| e.to_string())
        );
        let g = r.unwrap_or_else(|_| Graph::new("t"));
        assert!(tmlc_ir::verify(&g).is_ok());
        g
    }
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i32s(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The ops of the graph's nodes, in node order.
fn ops(g: &Graph) -> Vec<Op> {
    g.node_ids()
        .into_iter()
        .map(|n| g.node(n).op.clone())
        .collect()
}

#[test]
fn binary_ops_with_fused_activations() {
    let mut b = Builder::new();
    let x = b.input("x", &[1, 4], F32, None);
    let y = b.input("y", &[4], F32, None);
    let s = b.tensor("s", &[1, 4], F32, None);
    let m = b.tensor("m", &[1, 4], F32, None);
    let a = b.tensor("a", &[1, 4], F32, None);
    b.op(41, &[x, y], s, Some((28, &[(4, Field::I8(3))])));
    b.op(18, &[s, x], m, Some((21, &[(4, Field::I8(2))])));
    b.op(0, &[m, y], a, Some((11, &[(4, Field::I8(1))])));
    b.output(a);
    let g = b.import();
    assert_eq!(
        ops(&g),
        vec![
            Op::Sub(tmlc_ir::BinaryAttrs {
                act: Activation::Relu6
            }),
            Op::Mul(tmlc_ir::BinaryAttrs {
                act: Activation::ReluN1To1
            }),
            Op::Add(tmlc_ir::BinaryAttrs {
                act: Activation::Relu
            }),
        ]
    );
}

#[test]
fn quantized_mul() {
    let mut b = Builder::new();
    let x = b.input("x", &[1, 8], I8, Some((0.5, -3)));
    let y = b.input("y", &[1, 8], I8, Some((0.25, 2)));
    let o = b.tensor("o", &[1, 8], I8, Some((0.125, 0)));
    b.op(18, &[x, y], o, None);
    b.output(o);
    let g = b.import();
    assert!(matches!(ops(&g)[..], [Op::Mul(_)]));
}

#[test]
fn pools_with_same_and_valid_padding() {
    let mut b = Builder::new();
    let x = b.input("x", &[1, 5, 5, 3], F32, None);
    let p = b.tensor("p", &[1, 3, 3, 3], F32, None);
    let q = b.tensor("q", &[1, 2, 2, 3], F32, None);
    // MAX 2x2 stride 2 SAME on 5: out 3, total pad 1 -> [0,0,1,1].
    let same: &[(u16, Field)] = &[
        (4, Field::I8(0)),
        (6, Field::I32(2)),
        (8, Field::I32(2)),
        (10, Field::I32(2)),
        (12, Field::I32(2)),
        (14, Field::I8(3)),
    ];
    b.op(17, &[x], p, Some((5, same)));
    // AVG 2x2 stride 1 VALID on 3: out 2.
    let valid: &[(u16, Field)] = &[
        (4, Field::I8(1)),
        (6, Field::I32(1)),
        (8, Field::I32(1)),
        (10, Field::I32(2)),
        (12, Field::I32(2)),
    ];
    b.op(1, &[p], q, Some((5, valid)));
    b.output(q);
    let g = b.import();
    let o = ops(&g);
    let Op::MaxPool2d(m) = &o[0] else {
        panic!("expected {}", "max pool");
    };
    assert_eq!(
        (m.kernel, m.stride, m.pad, m.act),
        ([2, 2], [2, 2], [0, 0, 1, 1], Activation::Relu6)
    );
    let Op::AvgPool2d(a) = &o[1] else {
        panic!("expected {}", "avg pool");
    };
    assert_eq!(
        (a.kernel, a.stride, a.pad, a.count_include_pad),
        ([2, 2], [1, 1], [0; 4], false)
    );
}

#[test]
fn grouped_dilated_conv() {
    let mut b = Builder::new();
    let x = b.input("x", &[1, 7, 7, 4], F32, None);
    // 6 output channels, 2 input channels per group: groups = 2.
    let w = b.constant("w", &[6, 3, 3, 2], F32, None, f32s(&[0.5; 6 * 3 * 3 * 2]));
    let bias = b.constant("b", &[6], F32, None, f32s(&[0.0; 6]));
    let y = b.tensor("y", &[1, 4, 4, 6], F32, None);
    // SAME, stride 2, dilation 2: eff 5, out 4, total (4-1)*2+5-7 = 4.
    b.op(
        3,
        &[x, w, bias],
        y,
        Some((
            1,
            &[
                (4, Field::I8(0)),
                (6, Field::I32(2)),
                (8, Field::I32(2)),
                (12, Field::I32(2)),
                (14, Field::I32(2)),
            ],
        )),
    );
    b.output(y);
    let g = b.import();
    let Op::Conv2d(c) = &ops(&g)[0] else {
        panic!("expected {}", "conv2d");
    };
    assert_eq!(
        (c.groups, c.stride, c.dilation, c.pad),
        (2, [2, 2], [2, 2], [2, 2, 2, 2])
    );
}

#[test]
fn quantized_depthwise_with_multiplier() {
    let mut b = Builder::new();
    let x = b.input("x", &[1, 4, 4, 2], I8, Some((0.5, 0)));
    // C = 2, multiplier 2: filter [1,3,3,4], per-channel on dimension 3.
    let data: Vec<u8> = (0..36u8).collect();
    let w = b.constant("w", &[1, 3, 3, 4], I8, None, data);
    b.0.tensors[w as usize] =
        b.0.tensors[w as usize]
            .clone()
            .quant(&[0.1, 0.2, 0.3, 0.4], &[0; 4], 3);
    // The bias's metadata is dropped, whatever it says.
    let bias = b.constant("b", &[4], I32, Some((123.0, 7)), i32s(&[1, 2, 3, 4]));
    let y = b.tensor("y", &[1, 4, 4, 4], I8, Some((0.25, -1)));
    b.op(
        4,
        &[x, w, bias],
        y,
        Some((
            2,
            &[
                (4, Field::I8(0)),
                (6, Field::I32(1)),
                (8, Field::I32(1)),
                (10, Field::I32(2)),
            ],
        )),
    );
    b.output(y);
    let g = b.import();
    let n = g.node(g.node_ids()[0]);
    let Op::Conv2d(c) = &n.op else {
        panic!("expected {}", "conv2d");
    };
    assert_eq!((c.groups, c.pad), (2, [1, 1, 1, 1]));
    let w = g.value(n.operands[1]);
    assert_eq!(w.ty.shape, vec![4, 3, 3, 1]);
    let q =
        w.ty.quant
            .clone()
            .unwrap_or_else(|| tmlc_ir::Quant::per_tensor(1.0, 0));
    assert_eq!((q.axis, q.scale), (Some(0), vec![0.1, 0.2, 0.3, 0.4]));
    // Element (0,y,x,o) of the file is element (o,y,x,0) of the IR.
    let Some(TensorData::I8(d)) = g.const_data(n.operands[1]) else {
        panic!("expected {}", "i8 filter");
    };
    for o in 0..4 {
        for yx in 0..9 {
            assert_eq!(d[o * 9 + yx] as usize, yx * 4 + o);
        }
    }
    let bt = &g.value(n.operands[2]).ty;
    assert!(bt.quant.is_none());
}

#[test]
fn fully_connected_keep_num_dims() {
    let mut b = Builder::new();
    let x = b.input("x", &[2, 3, 4], F32, None);
    let w = b.constant("w", &[5, 4], F32, None, f32s(&[1.0; 20]));
    let y = b.tensor("y", &[2, 3, 5], F32, None);
    b.op(9, &[x, w, -1], y, Some((8, &[(8, Field::Bool(true))])));
    b.output(y);
    let g = b.import();
    let n = g.node(g.node_ids()[0]);
    assert_eq!(
        n.operands.len(),
        2,
        "the omitted bias (-1) is not an operand"
    );
    assert_eq!(g.value(n.result).ty.shape, vec![2, 3, 5]);
}

#[test]
fn concat_softmax_and_unary_activations() {
    let mut b = Builder::new();
    let x = b.input("x", &[2, 3], F32, None);
    let y = b.input("y", &[2, 1], F32, None);
    let c = b.tensor("c", &[2, 4], F32, None);
    b.op(2, &[x, y], c, Some((10, &[(4, Field::I32(-1))])));
    let mut prev = c;
    let chain: [(i32, Options); 8] = [
        (19, None),
        (21, None),
        (20, None),
        (98, Some((75, &[(4, Field::F32(0.2))]))),
        (117, None),
        (14, None),
        (28, None),
        (25, Some((9, &[(4, Field::F32(0.5))]))),
    ];
    for (i, (code, opts)) in chain.into_iter().enumerate() {
        let t = b.tensor(&format!("u{i}"), &[2, 4], F32, None);
        b.op(code, &[prev], t, opts);
        prev = t;
    }
    b.output(prev);
    let g = b.import();
    assert_eq!(
        ops(&g),
        vec![
            Op::Concat(tmlc_ir::ConcatAttrs { axis: 1 }),
            Op::Relu,
            Op::Relu6,
            Op::Clip(tmlc_ir::ClipAttrs {
                min: -1.0,
                max: 1.0
            }),
            Op::LeakyRelu(tmlc_ir::LeakyReluAttrs { alpha: 0.2 }),
            Op::HardSwish,
            Op::Sigmoid,
            Op::Tanh,
            Op::Softmax(tmlc_ir::SoftmaxAttrs::last_axis(0.5)),
        ]
    );
}

#[test]
fn quantize_logistic_dequantize() {
    let mut b = Builder::new();
    let x = b.input("x", &[1, 6], F32, None);
    let q = b.tensor("q", &[1, 6], I8, Some((0.05, 3)));
    let s = b.tensor("s", &[1, 6], I8, Some((1.0 / 256.0, -128)));
    let d = b.tensor("d", &[1, 6], F32, None);
    b.op(114, &[x], q, None);
    b.op(14, &[q], s, None);
    b.op(6, &[s], d, None);
    b.output(d);
    let g = b.import();
    assert_eq!(
        ops(&g),
        vec![
            Op::Quantize(Default::default()),
            Op::Sigmoid,
            Op::Dequantize
        ]
    );
}

#[test]
fn batch_matmul_mean_transpose_reshape() {
    let mut b = Builder::new();
    let a = b.input("a", &[2, 2, 3], F32, None);
    let w = b.constant("w", &[3, 4], F32, None, f32s(&[1.0; 12]));
    let m = b.tensor("m", &[2, 2, 4], F32, None);
    b.op(126, &[a, w], m, None);
    let perm = b.constant("perm", &[3], I32, None, i32s(&[0, 2, 1]));
    let t = b.tensor("t", &[2, 4, 2], F32, None);
    b.op(39, &[m, perm], t, None);
    // Axes -1 and 1, repeated: sorted and deduplicated to [1, 2].
    let axes = b.constant("axes", &[3], I32, None, i32s(&[-1, 1, -1]));
    let r = b.tensor("r", &[2], F32, None);
    b.op(40, &[t, axes], r, Some((27, &[(4, Field::Bool(false))])));
    let shape = b.constant("shape", &[2], I32, None, i32s(&[1, 2]));
    let o = b.tensor("o", &[1, 2], F32, None);
    b.op(22, &[r, shape], o, None);
    b.output(o);
    let g = b.import();
    assert_eq!(
        ops(&g),
        vec![
            Op::MatMul,
            Op::Transpose(tmlc_ir::TransposeAttrs {
                perm: vec![0, 2, 1]
            }),
            Op::Mean(tmlc_ir::MeanAttrs {
                axes: vec![1, 2],
                keep_dims: false
            }),
            Op::Reshape(tmlc_ir::ReshapeAttrs { shape: vec![1, 2] }),
        ]
    );
    // Paddings, axes, perm and shape tensors are attributes, not values.
    assert_eq!(
        g.values()
            .filter(|(_, v)| matches!(v.def, tmlc_ir::ValueDef::Const(_)))
            .count(),
        1
    );
}

#[test]
fn padv2_constant_is_dequantized() {
    let mut b = Builder::new();
    let x = b.input("x", &[1, 2, 2, 1], I8, Some((0.5, -4)));
    let p = b.constant("p", &[4, 2], I32, None, i32s(&[0, 0, 1, 2, 0, 1, 0, 0]));
    let c = b.constant("c", &[1], I8, Some((0.5, -4)), vec![6u8]);
    let y = b.tensor("y", &[1, 5, 3, 1], I8, Some((0.5, -4)));
    b.op(60, &[x, p, c], y, None);
    b.output(y);
    let g = b.import();
    assert_eq!(
        ops(&g),
        vec![Op::Pad(tmlc_ir::PadAttrs {
            before: vec![0, 1, 0, 0],
            after: vec![0, 2, 1, 0],
            value: 5.0
        })]
    );
}

#[test]
fn unused_results_and_constant_outputs() {
    let mut b = Builder::new();
    let x = b.input("x", &[4], F32, None);
    let dead = b.tensor("dead", &[4], F32, None);
    let live = b.tensor("live", &[4], F32, None);
    b.op(19, &[x], dead, None);
    b.op(21, &[x], live, None);
    let k = b.constant("k", &[2], F32, None, f32s(&[1.0, 2.0]));
    b.output(live);
    b.output(k);
    let g = b.import();
    assert_eq!(g.node_count(), 2);
    assert_eq!(g.outputs().len(), 2);
    assert!(g.const_data(g.outputs()[1]).is_some());
}

#[test]
fn duplicate_and_unnamed_tensors_get_unique_names() {
    let mut b = Builder::new();
    let x = b.input("same", &[4], F32, None);
    let y = b.tensor("same", &[4], F32, None);
    let z = b.tensor("", &[4], F32, None);
    b.op(19, &[x], y, None);
    b.op(19, &[y], z, None);
    b.output(z);
    let g = b.import();
    let names: Vec<&str> = g.values().map(|(_, v)| v.name.as_str()).collect();
    assert_eq!(names, vec!["same", "same_t1", "t2"]);
}
