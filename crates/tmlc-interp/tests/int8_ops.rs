//! int8 semantics (TFLite Micro reference kernels) with hand-computed
//! expectations: double rounding, ties, saturation, negative zero points,
//! fused clamps, per-channel multipliers.

#![allow(clippy::panic, clippy::unwrap_used)]

mod common;
use common::run_i8;

#[test]
fn fully_connected_relu_from_the_brief() {
    // x - zp = [4, 5, 6, 7]; acc = [70, -70]; M = f32(0.5*0.25) = 0.125:
    // 70 -> 8.75 -> 9 -> +5 = 14; -70 -> -9 + 5 = -4 -> relu clamps at Q(0) = 5.
    let y = run_i8(
        "graph @t(%x: i8[1,4] q(0.5, -3)) -> (%y) {
  %w = const i8[2,4] q(0.25, 0) [1, 2, 3, 4, -1, -2, -3, -4]
  %b = const i32[2] [10, -10]
  %y = fully_connected(%x, %w, %b) {act = relu} : i8[1,2] q(1.0, 5)
}",
        &[&[1, 2, 3, 4]],
    );
    assert_eq!(y, [14, 5]);
}

/// One fully connected layer with K = 1, x = 1 - zp = 1 and weight 1, so the
/// accumulator is `1 + bias`; the output scale sets the multiplier.
fn fc_acc(bias: &[i32], s_out: &str, zp_out: i32, act: &str) -> Vec<i8> {
    let n = bias.len();
    let w = vec!["1"; n].join(", ");
    let b: Vec<String> = bias.iter().map(|b| (b - 1).to_string()).collect();
    run_i8(
        &format!(
            "graph @t(%x: i8[1,1] q(1.0, 0)) -> (%y) {{
  %w = const i8[{n},1] q(1.0, 0) [{w}]
  %b = const i32[{n}] [{}]
  %y = fully_connected(%x, %w, %b){act} : i8[1,{n}] q({s_out}, {zp_out})
}}",
            b.join(", ")
        ),
        &[&[1]],
    )
}

#[test]
fn requantisation_is_double_rounding() {
    // M = 0.25 = (2^30, -1): SRDHM rounds first, then RDBPOT.
    //   5 * 0.25 = 1.25, but SRDHM(5, 2^30) = 3 and RDBPOT(3, 1) = 2.
    //   -6 * 0.25 = -1.5 -> -2 (RDBPOT tie away from zero).
    //   -2 * 0.25 = -0.5 -> SRDHM(-2) = -1 -> RDBPOT(-1, 1) = -1.
    //   2 * 0.25 = 0.5 -> 1; 1 * 0.25 = 0.25 -> SRDHM(1) = 1 -> RDBPOT(1, 1) = 1.
    assert_eq!(
        fc_acc(&[5, -6, -2, 2, 1, 0], "4.0", 0, ""),
        [2, -2, -1, 1, 1, 0]
    );
    // M = 0.5 = (2^30, 0): no right shift, SRDHM's tie rule (towards +inf) decides.
    //   3 -> 1.5 -> 2; -3 -> -1.5 -> -1; -1 -> -0.5 -> 0; 1 -> 0.5 -> 1.
    assert_eq!(fc_acc(&[3, -3, -1, 1], "2.0", 0, ""), [2, -1, 0, 1]);
    // M = 0.125 = (2^30, -2): 4 -> 0.5 -> 1; -4 -> -0.5 -> -1; -12 -> -1.5 -> -2; 12 -> 2.
    assert_eq!(fc_acc(&[4, -4, -12, 12], "8.0", 0, ""), [1, -1, -2, 2]);
}

#[test]
fn saturation_and_negative_zero_points() {
    // M = 1: v = acc + zp_out, clamped to [-128, 127].
    assert_eq!(
        fc_acc(&[200, -200, 130, -131, 0], "1.0", -3, ""),
        [127, -128, 127, -128, -3]
    );
    // Extreme accumulators with M = 0.25 (no left shift, so nothing wraps).
    assert_eq!(fc_acc(&[i32::MAX, i32::MIN + 1], "4.0", 0, ""), [127, -128]);
}

#[test]
fn fused_relu6_and_relu_n1_to_1_clamps() {
    // s_out = 0.05, zp = -100: Q(0) = -100, Q(6) = 20; M = 20 exactly.
    assert_eq!(
        fc_acc(&[-10, 0, 1, 10], "0.05", -100, " {act = relu6}"),
        [-100, -100, -80, 20]
    );
    // s_out = 0.25, zp = 10: Q(-1) = 6, Q(1) = 14; M = 4.
    assert_eq!(
        fc_acc(&[-2, -1, 0, 1, 2], "0.25", 10, " {act = relu_n1_to_1}"),
        [6, 6, 10, 14, 14]
    );
    assert_eq!(fc_acc(&[-30, 5], "0.25", 10, " {act = relu}"), [10, 30]);
}

#[test]
fn fully_connected_per_tensor_multiplier_uses_f32_product() {
    // QM(double(f32(0.0235 * 0.0119)) / 0.28) = (1098137252, -9) gives -66 for
    // acc = -65581; the double product (1098137221, -9) would give -65.
    let fc = |wq: &str| {
        run_i8(
            &format!(
                "graph @t(%x: i8[1,1] q(0.0235, 0)) -> (%y) {{
  %w = const i8[1,1] {wq} [1]
  %b = const i32[1] [-65582]
  %y = fully_connected(%x, %w, %b) : i8[1,1] q(0.28, 0)
}}"
            ),
            &[&[1]],
        )
    };
    assert_eq!(fc("q(0.0119, 0)"), [-66]);
    // Per-axis weights use the double product.
    assert_eq!(fc("q(axis=0, [0.0119], [0])"), [-65]);
}

#[test]
fn conv2d_per_channel_with_padding() {
    // x - zp = [[2, -2], [4, 0]]; channel 0 M = 0.25, channel 1 M = 0.125.
    // Accumulators (with bias): c0 = [11, -1, 5, 1], c1 = [4, 0, -6, -2].
    // c0: 11 -> 3, -1 -> 0, 5 -> 2 (double rounding), 1 -> 1; then zp -2.
    // c1: 4 -> 1, 0 -> 0, -6 -> -1, -2 -> 0; then zp -2.
    let g = "graph @t(%x: i8[1,2,2,1] q(0.5, 1)) -> (%y) {
  %w = const i8[2,2,2,1] q(axis=0, [0.5, 0.25], [0, 0]) [1, 2, 3, 4, -1, 0, 2, -3]
  %b = const i32[2] [1, -2]
  %y = conv2d(%x, %w, %b) {pad = [0, 0, 1, 1]ACT} : i8[1,2,2,2] q(1.0, -2)
}";
    let x: &[i8] = &[3, -1, 5, 1];
    assert_eq!(
        run_i8(&g.replace("ACT", ""), &[x]),
        [1, -1, -2, -2, 0, -3, -1, -2]
    );
    // relu: Q(0) = -2.
    assert_eq!(
        run_i8(&g.replace("ACT", ", act = relu"), &[x]),
        [1, -1, -2, -2, 0, -2, -1, -2]
    );
    // A per-tensor weight scale is broadcast to every channel (M = 0.25 for both).
    let per_tensor = g
        .replace("q(axis=0, [0.5, 0.25], [0, 0])", "q(0.5, 0)")
        .replace("ACT", "");
    // c1 with M = 0.25: 4 -> 1, 0 -> 0, -6 -> -1.5 -> -2, -2 -> -0.5 -> -1; then zp -2.
    assert_eq!(run_i8(&per_tensor, &[x]), [1, -1, -2, -2, 0, -4, -1, -3]);
}

#[test]
fn depthwise_multiplier_two_negative_zero_point_saturating_bias() {
    // Channel o reads input channel o / 2; x - zp = x + 5; the right padding tap is
    // skipped (equivalent to padding with zp_in); o3's bias of 120 saturates.
    let y = run_i8(
        "graph @t(%x: i8[1,2,2,2] q(1.0, -5)) -> (%y) {
  %w = const i8[4,1,2,1] q(1.0, 0) [1, 1, 1, -1, 2, 0, 0, 3]
  %b = const i32[4] [0, 0, 0, 120]
  %y = conv2d(%x, %w, %b) {pad = [0, 0, 0, 1], groups = 2} : i8[1,2,2,4] q(1.0, -3)
}",
        &[&[1, 2, 3, 4, 5, 6, 7, 8]],
    );
    assert_eq!(
        y,
        [11, -5, 11, 127, 5, 5, 15, 117, 19, -5, 19, 127, 9, 9, 23, 117]
    );
}

#[test]
fn conv2d_stride_and_dilation() {
    // Same geometry as the f32 test, x(i, j) = 5i + j - 12 with zp_in = -12 so
    // x - zp = 5i + j; M = 1 and bias 0: the outputs are the f32 sums.
    let x: Vec<i8> = (0..25).map(|v| (v - 12) as i8).collect();
    let y = run_i8(
        "graph @t(%x: i8[1,5,5,1] q(1.0, -12)) -> (%y) {
  %w = const i8[1,2,2,1] q(1.0, 0) [1, 1, 1, 1]
  %y = conv2d(%x, %w) {stride = [2, 2], dilation = [2, 2], pad = [1, 1, 1, 1]} : i8[1,3,3,1] q(1.0, 0)
}",
        &[&x],
    );
    assert_eq!(y, [6, 14, 8, 22, 48, 26, 16, 34, 18]);
}

#[test]
fn matmul_zero_points_and_broadcast() {
    // A - za = [[2, 0], [-2, 4]], B0 - zb = [[2, 4], [0, -2]], B1 - zb = 0; M = 1.
    let y = run_i8(
        "graph @t(%a: i8[1,2,2] q(0.5, 1), %b: i8[2,2,2] q(0.25, -2)) -> (%y) {
  %y = matmul(%a, %b) : i8[2,2,2] q(0.125, 3)
}",
        &[&[3, 1, -1, 5], &[0, 2, -2, -4, -2, -2, -2, -2]],
    );
    assert_eq!(y, [7, 11, -1, -13, 3, 3, 3, 3]);
}

const ADD_A: [i8; 6] = [-3, -3, -2, 127, -128, 10];
const ADD_B: [i8; 3] = [4, 0, 0];

fn binary(op: &str, s_out: &str, zp_out: i32, act: &str) -> Vec<i8> {
    run_i8(
        &format!(
            "graph @t(%a: i8[2,3] q(0.5, -3), %b: i8[3] q(0.25, 2)) -> (%y) {{
  %y = {op}(%a, %b){act} : i8[2,3] q({s_out}, {zp_out})
}}"
        ),
        &[&ADD_A, &ADD_B],
    )
}

#[test]
fn add_rounding_and_broadcast() {
    // Real sum = (2(a+3) + (b-2)) / 4 in units of s_out = 1.0, rounded half away.
    // (-3,4): 0.5 -> 1; (-3,0): -0.5 -> -1; (-2,0): 0; (127,4): 65.5 -> 66;
    // (-128,0): -63; (10,0): 6. Then zp_out = -1.
    assert_eq!(binary("add", "1.0", -1, ""), [0, -2, -1, 65, -64, 5]);
    assert_eq!(
        binary("add", "1.0", -1, " {act = relu}"),
        [0, -1, -1, 65, -1, 5]
    );
    // s_out = 0.5: (127,4) -> 131 -> saturates; (-128,0) -> -126 - 1.
    assert_eq!(binary("add", "0.5", -1, ""), [0, -2, -1, 127, -127, 11]);
}

#[test]
fn sub_rounding_and_broadcast() {
    // Real difference = (2(a+3) - (b-2)) / 4: (-3,4): -0.5 -> -1; (-3,0): 0.5 -> 1;
    // (-2,0): 1; (127,4): 64.5 -> 65; (-128,0): -62; (10,0): 7. Then zp_out = -1.
    assert_eq!(binary("sub", "1.0", -1, ""), [-2, 0, 0, 64, -63, 6]);
}

#[test]
fn mul_rounding_and_saturation() {
    // (a+3)(b-2) * 0.5 * 0.25 / 0.25 = p / 2 with M = 0.5 = (2^30, 0):
    // (-3,4): 0; (-3,0): 0; (-2,0): -2 -> -1; (127,4): 260 -> 130 -> 127;
    // (-128,0): 250 -> 125; (10,0): -26 -> -13.
    assert_eq!(binary("mul", "0.25", 0, ""), [0, 0, -1, 127, 125, -13]);
    // M = 0.25 = (2^30, -1): -2 * 0.25 = -0.5 -> -1; 260 / 4 = 65; -26 / 4 = -6.5 -> -7.
    assert_eq!(binary("mul", "0.5", 0, ""), [0, 0, -1, 65, 63, -7]);
    // Fused relu6 with s_out = 0.5, zp = -128: Q(0) = -128, Q(6) = -116.
    assert_eq!(
        binary("mul", "0.5", -128, " {act = relu6}"),
        [-128, -128, -128, -116, -116, -128]
    );
}

#[test]
fn avg_pool_rounds_half_away_from_raw_zero() {
    // Windows: [-3,-4,-4,-4] = -15 -> -3.75 -> -4; [-3,-3,-4,-4] = -14 -> -3.5 -> -4;
    // [2,0,0,0] -> 0.5 -> 1; [-2,0,0,0] -> -0.5 -> -1.
    let y = run_i8(
        "graph @t(%x: i8[1,2,8,1] q(0.5, -10)) -> (%y) {
  %y = avg_pool2d(%x) {kernel = [2, 2], stride = [1, 2]} : i8[1,1,4,1] q(0.5, -10)
}",
        &[&[-3, -4, -3, -3, 2, 0, -2, 0, -4, -4, -4, -4, 0, 0, 0, 0]],
    );
    assert_eq!(y, [-4, -4, 1, -1]);
}

#[test]
fn avg_pool_padding_and_count_include_pad() {
    let g = "graph @t(%x: i8[1,1,2,1] q(1.0, -2)) -> (%y) {
  %y = avg_pool2d(%x) {kernel = [1, 2], pad = [0, 0, 0, 1]CIP} : i8[1,1,2,1] q(1.0, -2)
}";
    // [5, 6] -> 5.5 -> 6; [6, pad] -> 6 (one in-image tap).
    assert_eq!(run_i8(&g.replace("CIP", ""), &[&[5, 6]]), [6, 6]);
    // count_include_pad: the padding tap counts as zp_in = -2: (6 - 2) / 2 = 2.
    assert_eq!(
        run_i8(&g.replace("CIP", ", count_include_pad = true"), &[&[5, 6]]),
        [6, 2]
    );
}

#[test]
fn max_pool_never_selects_padding_and_applies_act() {
    let g = "graph @t(%x: i8[1,1,3,1] q(0.5, 10)) -> (%y) {
  %y = max_pool2d(%x) {kernel = [1, 2], pad = [0, 1, 0, 1]ACT} : i8[1,1,4,1] q(0.5, 10)
}";
    let x: &[i8] = &[-100, -50, -60];
    assert_eq!(run_i8(&g.replace("ACT", ""), &[x]), [-100, -50, -50, -60]);
    // relu: Q(0) = zp = 10.
    assert_eq!(
        run_i8(&g.replace("ACT", ", act = relu"), &[&[-100, 50, 12]]),
        [10, 50, 50, 12]
    );
}

#[test]
fn mean_quantized() {
    // Equal qparams, n = 4: M = 2^30, e = -1 after the 1/n adjustment.
    // [3,4,4,4]: 15 + 4 = 19 -> SRDHM 10 -> RDBPOT 5 -> 4.
    // [1,0,0,0]: 1 + 4 = 5 -> 3 -> 2 -> 1 (double rounding; exact 1.25 - 1).
    // [-3,-4,-4,-4]: -15 + 4 = -11 -> -5 -> -3 -> -4.
    let y = run_i8(
        "graph @t(%x: i8[3,4] q(0.5, -1)) -> (%y) {
  %y = mean(%x) {axes = [1]} : i8[3] q(0.5, -1)
}",
        &[&[3, 4, 4, 4, 1, 0, 0, 0, -3, -4, -4, -4]],
    );
    assert_eq!(y, [4, 1, -4]);
    // Different qparams, n = 3: M0 = QM(2) = (2^30, 2), t = 1, M = 2^31 / 3 = 715827882,
    // e = 1. sum = 10 + 3 = 13 -> SRDHM(26, M) = 9 -> + 5 = 14.
    let y = run_i8(
        "graph @t(%x: i8[1,3,1] q(0.5, -1)) -> (%y) {
  %y = mean(%x) {axes = [1], keep_dims = true} : i8[1,1,1] q(0.25, 5)
}",
        &[&[2, 3, 5]],
    );
    assert_eq!(y, [14]);
}

#[test]
fn relu_relu6_clip_requantise_then_clamp() {
    // M = 0.5/0.25 = 2: v = -128 + 2(x + 10).
    let g = |op: &str, attrs: &str| {
        format!(
            "graph @t(%x: i8[6] q(0.5, -10)) -> (%y) {{
  %y = {op}(%x){attrs} : i8[6] q(0.25, -128)
}}"
        )
    };
    let x: &[i8] = &[-10, -20, 50, 60, 127, 1];
    assert_eq!(
        run_i8(&g("relu", ""), &[x]),
        [-128, -128, -8, 12, 127, -106]
    );
    // relu6: Q(6) = -128 + 24 = -104.
    assert_eq!(
        run_i8(&g("relu6", ""), &[x]),
        [-128, -128, -104, -104, -104, -106]
    );
    // clip [-1, 1] with equal qparams: Q(-1) = -4, Q(1) = 4; v = x.
    let y = run_i8(
        "graph @t(%x: i8[6] q(0.25, 0)) -> (%y) {
  %y = clip(%x) {min = -1.0, max = 1.0} : i8[6] q(0.25, 0)
}",
        &[&[-10, -4, 0, 3, 5, 100]],
    );
    assert_eq!(y, [-4, -4, 0, 3, 4, 4]);
    // An infinite bound is no bound.
    let y = run_i8(
        "graph @t(%x: i8[3] q(0.25, 0)) -> (%y) {
  %y = clip(%x) {min = -inf, max = 0.5} : i8[3] q(0.25, 0)
}",
        &[&[-128, 1, 100]],
    );
    assert_eq!(y, [-128, 1, 2]);
    // M = 0.5 (no right shift): ties go towards +inf. zp_in = -3, zp_out = -5:
    // x = 0 -> d = 3 -> 2 -> -3; x = -6 -> d = -3 -> -1 -> -6 -> relu clamps to -5.
    let y = run_i8(
        "graph @t(%x: i8[2] q(0.5, -3)) -> (%y) {
  %y = relu(%x) : i8[2] q(1.0, -5)
}",
        &[&[0, -6]],
    );
    assert_eq!(y, [-3, -5]);
}

#[test]
fn leaky_relu_quantized() {
    // identity M = 2, alpha M = 0.5 (no shift, SRDHM ties towards +inf).
    let y = run_i8(
        "graph @t(%x: i8[6] q(0.5, 2)) -> (%y) {
  %y = leaky_relu(%x) {alpha = 0.25} : i8[6] q(0.25, -1)
}",
        &[&[10, 2, -1, -2, 100, -128]],
    );
    // d = 8 -> 16 - 1; d = 0 -> -1; d = -3 -> -1.5 -> -1 -> -2; d = -4 -> -2 -> -3;
    // d = 98 -> 196 -> 127; d = -130 -> -65 -> -66.
    assert_eq!(y, [15, -1, -2, -3, 127, -66]);
}

#[test]
fn concat_and_reshape_copy_raw_values() {
    let y = run_i8(
        "graph @t(%a: i8[2,1] q(0.5, 3), %b: i8[2,2] q(0.5, 3)) -> (%y) {
  %c = concat(%a, %b) {axis = 1} : i8[2,3] q(0.5, 3)
  %y = reshape(%c) {shape = [3, 2]} : i8[3,2] q(0.5, 3)
}",
        &[&[1, 2], &[-1, -2, -3, -4]],
    );
    assert_eq!(y, [1, -1, -2, 2, -3, -4]);
}

#[test]
fn pad_quantizes_its_value() {
    // value 1.0 with q(0.25, 7): 7 + 4 = 11. Raw values are copied unchanged.
    let y = run_i8(
        "graph @t(%x: i8[1,2] q(0.25, 7)) -> (%y) {
  %y = pad(%x) {before = [0, 1], after = [1, 0], value = 1.0} : i8[2,3] q(0.25, 7)
}",
        &[&[10, -20]],
    );
    assert_eq!(y, [11, 10, -20, 11, 11, 11]);
    // Saturating pad value.
    let y = run_i8(
        "graph @t(%x: i8[1] q(0.25, 7)) -> (%y) {
  %y = pad(%x) {before = [1], after = [0], value = 1000.0} : i8[2] q(0.25, 7)
}",
        &[&[0]],
    );
    assert_eq!(y, [127, 0]);
}
