//! f32 semantics of every op, with hand-computed expectations.

#![allow(clippy::panic, clippy::unwrap_used)]

mod common;
use common::{assert_close, run_f32};

#[test]
fn conv2d_stride_dilation_padding_bias() {
    // x(i, j) = 5i + j. Taps read rows/cols oh*2 - 1 + k*2, k in {0, 1}.
    let x: Vec<f32> = (0..25).map(|v| v as f32).collect();
    let y = run_f32(
        "graph @t(%x: f32[1,5,5,1]) -> (%y) {
  %w = const f32[1,2,2,1] [1.0, 1.0, 1.0, 1.0]
  %b = const f32[1] [0.5]
  %y = conv2d(%x, %w, %b) {stride = [2, 2], dilation = [2, 2], pad = [1, 1, 1, 1]} : f32[1,3,3,1]
}",
        &[&x],
    );
    assert_eq!(y, [6.5, 14.5, 8.5, 22.5, 48.5, 26.5, 16.5, 34.5, 18.5]);
}

#[test]
fn conv2d_groups_and_relu() {
    // Two groups of two output channels: o0, o1 read channels 0..2, o2, o3 read 2..4.
    let y = run_f32(
        "graph @t(%x: f32[1,1,1,4]) -> (%y) {
  %w = const f32[4,1,1,2] [1.0, 10.0, -1.0, -10.0, 100.0, 1000.0, 0.0, 1.0]
  %y = conv2d(%x, %w) {groups = 2, act = relu} : f32[1,1,1,4]
}",
        &[&[1.0, 2.0, 3.0, 4.0]],
    );
    assert_eq!(y, [21.0, 0.0, 4300.0, 4.0]);
}

#[test]
fn depthwise_with_channel_multiplier() {
    // groups == C_in == 2, O = 4: output channel o reads input channel o / 2.
    // Padding on the right: the last column's second tap is skipped.
    let y = run_f32(
        "graph @t(%x: f32[1,2,2,2]) -> (%y) {
  %w = const f32[4,1,2,1] [1.0, 1.0, 1.0, -1.0, 2.0, 0.0, 0.0, 3.0]
  %y = conv2d(%x, %w) {pad = [0, 0, 0, 1], groups = 2} : f32[1,2,2,4]
}",
        &[&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]],
    );
    assert_eq!(
        y,
        [4.0, -2.0, 4.0, 12.0, 3.0, 3.0, 8.0, 0.0, 12.0, -2.0, 12.0, 24.0, 7.0, 7.0, 16.0, 0.0]
    );
}

#[test]
fn fully_connected_bias_act_and_keep_dims() {
    let w = "%w = const f32[2,3] [1.0, 0.0, -1.0, 0.5, 0.5, 0.5]
  %b = const f32[2] [0.25, -1.0]";
    let x = [1.0, 2.0, 3.0, -1.0, 0.0, 1.0];
    let y = run_f32(
        &format!(
            "graph @t(%x: f32[2,3]) -> (%y) {{
  {w}
  %y = fully_connected(%x, %w, %b) : f32[2,2]
}}"
        ),
        &[&x],
    );
    assert_eq!(y, [-1.75, 2.0, -1.75, -1.0]);
    let y = run_f32(
        &format!(
            "graph @t(%x: f32[1,2,3]) -> (%y) {{
  {w}
  %y = fully_connected(%x, %w, %b) {{act = relu6, keep_dims = true}} : f32[1,2,2]
}}"
        ),
        &[&x],
    );
    assert_eq!(y, [0.0, 2.0, 0.0, 0.0]);
}

#[test]
fn matmul_broadcasts_batch_dims() {
    let y = run_f32(
        "graph @t(%a: f32[2,2,2]) -> (%y) {
  %b = const f32[2,2] [0.0, 1.0, 1.0, 0.0]
  %y = matmul(%a, %b) : f32[2,2,2]
}",
        &[&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]],
    );
    assert_eq!(y, [2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 8.0, 7.0]);
    let y = run_f32(
        "graph @t(%a: f32[2,3]) -> (%y) {
  %b = const f32[2,3,1] [1.0, 1.0, 1.0, 1.0, 0.0, -1.0]
  %y = matmul(%a, %b) : f32[2,2,1]
}",
        &[&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]],
    );
    assert_eq!(y, [6.0, 15.0, -2.0, -2.0]);
}

#[test]
fn binary_ops_broadcast_with_activation() {
    let a = [0.5, -2.0, 3.0, 0.0, 0.0, 0.0];
    let y = run_f32(
        "graph @t(%a: f32[2,3], %b: f32[3]) -> (%y) {
  %y = add(%a, %b) {act = relu_n1_to_1} : f32[2,3]
}",
        &[&a, &[0.25, 0.5, -2.5]],
    );
    assert_eq!(y, [0.75, -1.0, 0.5, 0.25, 0.5, -1.0]);
    let y = run_f32(
        "graph @t(%a: f32[2,3], %b: f32[2,1]) -> (%y) {
  %y = sub(%a, %b) : f32[2,3]
}",
        &[&a, &[1.0, 2.0]],
    );
    assert_eq!(y, [-0.5, -3.0, 2.0, -2.0, -2.0, -2.0]);
    let y = run_f32(
        "graph @t(%a: f32[2,3]) -> (%y) {
  %s = const f32[] [2.0]
  %y = mul(%s, %a) {act = relu} : f32[2,3]
}",
        &[&a],
    );
    assert_eq!(y, [1.0, 0.0, 6.0, 0.0, 0.0, 0.0]);
}

const XS: [f32; 9] = [-4.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 7.0];

fn unary(op: &str, attrs: &str) -> Vec<f32> {
    run_f32(
        &format!(
            "graph @t(%x: f32[9]) -> (%y) {{
  %y = {op}(%x){attrs} : f32[9]
}}"
        ),
        &[&XS],
    )
}

#[test]
fn clamps_and_leaky_relu() {
    assert_eq!(
        unary("relu", ""),
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 3.0, 7.0]
    );
    assert_eq!(
        unary("relu6", ""),
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 3.0, 6.0]
    );
    assert_eq!(
        unary("clip", " {min = -1.0, max = 2.0}"),
        [-1.0, -1.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 2.0]
    );
    assert_eq!(
        unary("clip", " {min = -inf, max = 0.5}"),
        [-4.0, -3.0, -1.0, -0.5, 0.0, 0.5, 0.5, 0.5, 0.5]
    );
    assert_close(
        &unary("leaky_relu", " {alpha = 0.1}"),
        &[-0.4, -0.3, -0.1, -0.05, 0.0, 0.5, 1.0, 3.0, 7.0],
        1e-7,
    );
}

#[test]
fn smooth_activations() {
    let want: Vec<f32> = XS
        .iter()
        .map(|&x| (1.0 / (1.0 + (-(x as f64)).exp())) as f32)
        .collect();
    assert_close(&unary("sigmoid", ""), &want, 1e-6);
    let want: Vec<f32> = XS.iter().map(|&x| (x as f64).tanh() as f32).collect();
    assert_close(&unary("tanh", ""), &want, 1e-6);
    assert_close(
        &unary("hard_swish", ""),
        &[
            0.0,
            0.0,
            -1.0 / 3.0,
            -0.5 * 2.5 / 6.0,
            0.0,
            0.5 * 3.5 / 6.0,
            4.0 / 6.0,
            3.0,
            7.0,
        ],
        1e-6,
    );
}

#[test]
fn pools_skip_padding() {
    let x = [-4.0, -3.0, -2.0, -1.0];
    // Top/left padding: every window sees x(0,0); padding (0.0) is never the max.
    let y = run_f32(
        "graph @t(%x: f32[1,2,2,1]) -> (%y) {
  %y = max_pool2d(%x) {kernel = [2, 2], pad = [1, 1, 0, 0]} : f32[1,2,2,1]
}",
        &[&x],
    );
    assert_eq!(y, [-4.0, -3.0, -2.0, -1.0]);
    let y = run_f32(
        "graph @t(%x: f32[1,2,2,1]) -> (%y) {
  %y = avg_pool2d(%x) {kernel = [2, 2], pad = [1, 1, 0, 0]} : f32[1,2,2,1]
}",
        &[&x],
    );
    assert_eq!(y, [-4.0, -3.5, -3.0, -2.5]);
    let y = run_f32(
        "graph @t(%x: f32[1,2,2,1]) -> (%y) {
  %y = avg_pool2d(%x) {kernel = [2, 2], pad = [1, 1, 0, 0], count_include_pad = true, act = relu_n1_to_1} : f32[1,2,2,1]
}",
        &[&x],
    );
    assert_eq!(y, [-1.0, -1.0, -1.0, -1.0]);
    let y = run_f32(
        "graph @t(%x: f32[1,2,2,1]) -> (%y) {
  %y = avg_pool2d(%x) {kernel = [2, 2], pad = [1, 1, 0, 0], count_include_pad = true} : f32[1,2,2,1]
}",
        &[&x],
    );
    assert_eq!(y, [-1.0, -1.75, -1.5, -2.5]);
}

#[test]
fn mean_over_axes() {
    let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let y = run_f32(
        "graph @t(%x: f32[2,3,2]) -> (%y) {
  %y = mean(%x) {axes = [1]} : f32[2,2]
}",
        &[&x],
    );
    assert_eq!(y, [2.0, 3.0, 8.0, 9.0]);
    let y = run_f32(
        "graph @t(%x: f32[2,3,2]) -> (%y) {
  %y = mean(%x) {axes = [0, 2], keep_dims = true} : f32[1,3,1]
}",
        &[&x],
    );
    assert_eq!(y, [3.5, 5.5, 7.5]);
}

#[test]
fn softmax_rows_with_beta() {
    let x = [1.0f32, 2.0, 3.0, 0.0, 0.0, 0.0];
    let y = run_f32(
        "graph @t(%x: f32[2,3]) -> (%y) {
  %y = softmax(%x) {beta = 2.0} : f32[2,3]
}",
        &[&x],
    );
    let e: Vec<f64> = [-4.0f64, -2.0, 0.0].iter().map(|v| v.exp()).collect();
    let s: f64 = e.iter().sum();
    let third = 1.0 / 3.0;
    let want: Vec<f32> = e
        .iter()
        .map(|v| (v / s) as f32)
        .chain([third as f32; 3])
        .collect();
    assert_close(&y, &want, 1e-6);
}

#[test]
fn nan_propagates_through_fused_clamps() {
    let y = run_f32(
        "graph @t(%a: f32[2]) -> (%y) {
  %b = const f32[2] [1.0, 1.0]
  %y = add(%a, %b) {act = relu6} : f32[2]
}",
        &[&[f32::NAN, 10.0]],
    );
    assert!(y[0].is_nan());
    assert_eq!(y[1], 6.0);
}
