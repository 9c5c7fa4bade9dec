//! reshape / transpose / concat / pad on several dtypes, and quantize /
//! dequantize.

#![allow(clippy::panic, clippy::unwrap_used)]

mod common;
use common::{as_f32, as_i8, graph, run, run_f32, run_i8};
use tmlc_ir::TensorData;

#[test]
fn transpose_nchw_to_nhwc() {
    // x[n=1, c=2, h=2, w=3] = 0..12 -> y[n, h, w, c].
    let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let y = run_f32(
        "graph @t(%x: f32[1,2,2,3]) -> (%y) {
  %y = transpose(%x) {perm = [0, 2, 3, 1]} : f32[1,2,3,2]
}",
        &[&x],
    );
    assert_eq!(
        y,
        [0.0, 6.0, 1.0, 7.0, 2.0, 8.0, 3.0, 9.0, 4.0, 10.0, 5.0, 11.0]
    );
}

#[test]
fn transpose_and_reshape_any_dtype() {
    let g = graph(
        "graph @t(%x: i32[2,3]) -> (%y, %r) {
  %y = transpose(%x) {perm = [1, 0]} : i32[3,2]
  %r = reshape(%y) {shape = [6]} : i32[6]
}",
    );
    let out = run(&g, vec![TensorData::I32(vec![1, 2, 3, 4, 5, 6])]);
    assert_eq!(out[0], TensorData::I32(vec![1, 4, 2, 5, 3, 6]));
    assert_eq!(out[1], TensorData::I32(vec![1, 4, 2, 5, 3, 6]));
    // Quantized tensors move raw values (the result has the operand's
    // parameters).
    let y = run_i8(
        "graph @t(%x: i8[2,2] q(0.5, 3)) -> (%y) {
  %y = transpose(%x) {perm = [1, 0]} : i8[2,2] q(0.5, 3)
}",
        &[&[1, 2, 3, 4]],
    );
    assert_eq!(y, [1, 3, 2, 4]);
}

#[test]
fn concat_along_each_axis() {
    let text = |axis: usize, out: &str| {
        format!(
            "graph @t(%a: f32[2,2], %b: f32[2,2]) -> (%y) {{
  %c = const f32[2,1] [9.0, 10.0]
  %y = concat(%a, %b{}) {{axis = {axis}}} : f32[{out}]
}}",
            if axis == 1 { ", %c" } else { "" }
        )
    };
    let a = [1.0, 2.0, 3.0, 4.0];
    let b = [5.0, 6.0, 7.0, 8.0];
    assert_eq!(
        run_f32(&text(0, "4,2"), &[&a, &b]),
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    );
    assert_eq!(
        run_f32(&text(1, "2,5"), &[&a, &b]),
        [1.0, 2.0, 5.0, 6.0, 9.0, 3.0, 4.0, 7.0, 8.0, 10.0]
    );
}

#[test]
fn pad_values_per_dtype() {
    let y = run_f32(
        "graph @t(%x: f32[2]) -> (%y) {
  %y = pad(%x) {before = [1], after = [2], value = -0.5} : f32[5]
}",
        &[&[1.0, 2.0]],
    );
    assert_eq!(y, [-0.5, 1.0, 2.0, -0.5, -0.5]);
    // Unquantized integers: Quantize(value, 1, 0, lo, hi) rounds half away from zero.
    let g = graph(
        "graph @t(%x: i32[1], %b: bool[1], %s: i16[1]) -> (%y, %z, %w) {
  %y = pad(%x) {before = [1], after = [1], value = 2.5} : i32[3]
  %z = pad(%b) {before = [1], after = [0], value = 1.0} : bool[2]
  %w = pad(%s) {before = [0], after = [1], value = -1e9} : i16[2]
}",
    );
    let out = run(
        &g,
        vec![
            TensorData::I32(vec![7]),
            TensorData::Bool(vec![false]),
            TensorData::I16(vec![5]),
        ],
    );
    assert_eq!(out[0], TensorData::I32(vec![3, 7, 3]));
    assert_eq!(out[1], TensorData::Bool(vec![true, false]));
    assert_eq!(out[2], TensorData::I16(vec![5, i16::MIN]));
}

#[test]
fn pad_interior_of_a_4d_tensor() {
    let y = run_i8(
        "graph @t(%x: i8[1,2,2,1] q(1.0, 4)) -> (%y) {
  %y = pad(%x) {before = [0, 1, 1, 0], after = [0, 1, 1, 0]} : i8[1,4,4,1] q(1.0, 4)
}",
        &[&[1, 2, 3, 5]],
    );
    #[rustfmt::skip]
    let want = [
        4, 4, 4, 4,
        4, 1, 2, 4,
        4, 3, 5, 4,
        4, 4, 4, 4,
    ];
    assert_eq!(y, want);
}

#[test]
fn quantize_from_f32() {
    let g = graph(
        "graph @t(%x: f32[8]) -> (%y) {
  %y = quantize(%x) : i8[8] q(0.5, -3)
}",
    );
    let out = run(
        &g,
        vec![TensorData::F32(vec![
            0.25,
            -0.25,
            100.0,
            -1000.0,
            f32::NAN,
            0.74,
            f32::INFINITY,
            -0.75,
        ])],
    );
    // x / 0.5 rounded half away from zero, + zp, saturated; NaN -> zp.
    assert_eq!(as_i8(&out[0]), [-2, -4, 127, -128, -3, -2, 127, -5]);
}

#[test]
fn quantize_per_axis_and_other_dtypes() {
    let g = graph(
        "graph @t(%x: f32[2,2]) -> (%y, %u, %s) {
  %y = quantize(%x) : i8[2,2] q(axis=1, [0.5, 0.25], [0, 1])
  %u = quantize(%x) : u8[2,2] q(0.01, 128)
  %s = quantize(%x) : i16[2,2] q(0.0001, 0)
}",
    );
    let out = run(&g, vec![TensorData::F32(vec![1.0, 1.0, -1.0, -2.5])]);
    assert_eq!(as_i8(&out[0]), [2, 5, -2, -9]);
    assert_eq!(out[1], TensorData::U8(vec![228, 228, 28, 0]));
    assert_eq!(out[2], TensorData::I16(vec![10000, 10000, -10000, -25000]));
}

#[test]
fn requantize_between_integer_types() {
    // M = 2 exactly: y = 2(x - 1) - 2, saturated.
    let y = run_i8(
        "graph @t(%x: i8[4] q(0.5, 1)) -> (%y) {
  %y = quantize(%x) : i8[4] q(0.25, -2)
}",
        &[&[100, -100, 3, 1]],
    );
    assert_eq!(y, [127, -128, 2, -2]);
    // M = 0.5 (no right shift): SRDHM ties go towards +inf: 3 -> 2, -3 -> -1, -1 -> 0.
    let y = run_i8(
        "graph @t(%x: i8[4] q(0.5, 0)) -> (%y) {
  %y = quantize(%x) : i8[4] q(1.0, 0)
}",
        &[&[3, -3, -1, 1]],
    );
    assert_eq!(y, [2, -1, 0, 1]);
    // i8 -> u8 (shift by 128) and i8 -> i16.
    let g = graph(
        "graph @t(%x: i8[3] q(0.5, 0)) -> (%u, %s) {
  %u = quantize(%x) : u8[3] q(0.5, 128)
  %s = quantize(%x) : i16[3] q(0.125, 7)
}",
    );
    let out = run(&g, vec![TensorData::I8(vec![-128, 0, 127])]);
    assert_eq!(out[0], TensorData::U8(vec![0, 128, 255]));
    assert_eq!(out[1], TensorData::I16(vec![-505, 7, 515]));
}

#[test]
fn dequantize_per_tensor_and_per_axis() {
    let g = graph(
        "graph @t(%x: i8[4] q(0.5, -3), %w: i32[2,2] q(axis=0, [0.1, 0.2], [0, 5])) -> (%y, %z) {
  %y = dequantize(%x) : f32[4]
  %z = dequantize(%w) : f32[2,2]
}",
    );
    let out = run(
        &g,
        vec![
            TensorData::I8(vec![-3, 0, 127, -128]),
            TensorData::I32(vec![10, -3, 5, 15]),
        ],
    );
    assert_eq!(as_f32(&out[0]), [0.0, 1.5, 65.0, -62.5]);
    // f32(double(s) * (x - zp)).
    let want: Vec<f32> = [(0.1f32, 10), (0.1, -3), (0.2, 0), (0.2, 10)]
        .iter()
        .map(|&(s, d)| (s as f64 * d as f64) as f32)
        .collect();
    assert_eq!(as_f32(&out[1]), want);
}
