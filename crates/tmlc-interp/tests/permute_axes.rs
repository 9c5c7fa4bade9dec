#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! `Op::permute_axes`, checked with the interpreter: for each op and a
//! permutation, `transpose(op(x...), perm) == op'(transpose(x, perm)...)`,
//! and `None` where no op can do it.

use tmlc_interp::eval_op;
use tmlc_ir::*;

fn tensor(shape: &[usize], seed: i32) -> Tensor {
    let n = numel(shape);
    // Small multiples of 0.5: sums are exact in any order.
    let v = (0..n as i32)
        .map(|i| ((i * 7 + seed) % 11 - 5) as f32 * 0.5)
        .collect();
    Tensor {
        ty: TensorType::new(DType::F32, shape.to_vec()),
        data: TensorData::F32(v),
    }
}

fn eval(op: &Op, xs: &[&Tensor]) -> Tensor {
    let tys: Vec<&TensorType> = xs.iter().map(|t| &t.ty).collect();
    let ty = infer_type(op, &tys).unwrap_or_else(|e| panic!("{}: {e}", op.name()));
    Tensor {
        data: eval_op(op, xs, &ty).unwrap(),
        ty,
    }
}

fn transpose(t: &Tensor, perm: &[usize]) -> Tensor {
    eval(
        &Op::Transpose(TransposeAttrs {
            perm: perm.to_vec(),
        }),
        &[t],
    )
}

/// Checks the hook for `op` on operands of shapes `shapes` (and constant
/// per-channel operands in `params`, not transposed).
fn check(op: Op, shapes: &[&[usize]], params: &[Tensor], perm: &[usize]) {
    let xs: Vec<Tensor> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| tensor(s, i as i32))
        .collect();
    let mut all: Vec<&Tensor> = xs.iter().collect();
    all.extend(params);
    let want = transpose(&eval(&op, &all), perm);
    let moved = op
        .permute_axes(perm)
        .unwrap_or_else(|| panic!("{op:?} has no permuted form"));
    let txs: Vec<Tensor> = xs.iter().map(|x| transpose(x, perm)).collect();
    let mut targs: Vec<&Tensor> = txs.iter().collect();
    targs.extend(params);
    let got = eval(&moved, &targs);
    assert_eq!(got.ty.shape, want.ty.shape, "{op:?}");
    assert_eq!(got.data, want.data, "{op:?} -> {moved:?}");
}

#[test]
fn axis_ops_are_renumbered_and_elementwise_ops_kept() {
    let p = [2, 0, 1];
    let s: &[usize] = &[2, 3, 4];
    check(Op::Relu, &[s], &[], &p);
    check(Op::Tanh, &[s], &[], &p);
    check(Op::Add(BinaryAttrs::default()), &[s, s], &[], &p);
    check(
        Op::Softmax(SoftmaxAttrs { beta: 1.0, axis: 1 }),
        &[s],
        &[],
        &p,
    );
    check(Op::Softmax(SoftmaxAttrs::last_axis(0.5)), &[s], &[], &p);
    check(
        Op::Concat(ConcatAttrs { axis: 1 }),
        &[s, &[2, 1, 4]],
        &[],
        &p,
    );
    let mean = Op::Mean(MeanAttrs {
        axes: vec![0, 2],
        keep_dims: true,
    });
    check(mean, &[s], &[], &p);
    let pad = PadAttrs {
        before: vec![1, 0, 2],
        after: vec![0, 1, 0],
        value: 3.0,
    };
    check(Op::Pad(pad), &[s], &[], &p);
    let slice = SliceAttrs {
        begin: vec![0, 1, 1],
        end: vec![2, 3, 4],
        step: vec![1, 1, 2],
    };
    check(Op::Slice(slice), &[s], &[], &p);
    check(
        Op::Transpose(TransposeAttrs {
            perm: vec![1, 2, 0],
        }),
        &[s],
        &[],
        &p,
    );
    // batch_norm keeps its channel axis last.
    let c = |v: f32| Tensor {
        ty: TensorType::new(DType::F32, vec![4]),
        data: TensorData::F32(vec![v, 2.0 * v, 0.5, 1.0]),
    };
    let bn = Op::BatchNorm(BatchNormAttrs { epsilon: 0.0 });
    check(bn, &[s], &[c(1.0), c(0.5), c(0.25), c(4.0)], &[1, 0, 2]);
}

#[test]
fn ops_without_a_permuted_form() {
    let p = [2, 0, 1];
    assert_eq!(
        Op::Mean(MeanAttrs {
            axes: vec![1],
            keep_dims: false
        })
        .permute_axes(&p),
        None
    );
    assert_eq!(
        Op::BatchNorm(BatchNormAttrs { epsilon: 0.0 }).permute_axes(&p),
        None
    );
    assert_eq!(
        Op::Conv2d(Conv2dAttrs::default()).permute_axes(&[0, 3, 1, 2]),
        None
    );
    assert_eq!(Op::MatMul.permute_axes(&p), None);
    assert_eq!(
        Op::Reshape(ReshapeAttrs { shape: vec![24] }).permute_axes(&p),
        None
    );
    // Not a permutation.
    assert_eq!(Op::Relu.permute_axes(&[0, 0, 1]), None);
}
