//! int8 softmax, sigmoid, tanh and hard_swish (gemmlowp / int16 fixed
//! point). Expected values were computed with an independent Python
//! transcription of `spec/ir.md` §5.9–5.11, §5.20 and Appendix A; each test
//! also checks the result against the real function to within 1 LSB.

#![allow(clippy::panic, clippy::unwrap_used)]

mod common;
use common::run_i8;

fn softmax(row: &[i8], s_in: &str, beta: &str) -> Vec<i8> {
    let n = row.len();
    run_i8(
        &format!(
            "graph @t(%x: i8[1,{n}] q({s_in}, 0)) -> (%y) {{
  %y = softmax(%x) {{beta = {beta}}} : i8[1,{n}] q(0.00390625, -128)
}}"
        ),
        &[row],
    )
}

/// Float softmax of the dequantized row, as int8 with q(1/256, -128).
fn softmax_ref(row: &[i8], s_in: f64, beta: f64) -> Vec<f64> {
    let max = row.iter().copied().max().unwrap_or(0) as f64;
    let e: Vec<f64> = row
        .iter()
        .map(|&x| (beta * s_in * (x as f64 - max)).exp())
        .collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s * 256.0 - 128.0).collect()
}

fn assert_within_one(got: &[i8], want: &[f64]) {
    for (g, w) in got.iter().zip(want) {
        let w = w.clamp(-128.0, 127.0);
        assert!((*g as f64 - w).abs() <= 1.0, "got {got:?}, real {want:?}");
    }
}

#[test]
fn softmax_small_rows() {
    // Mb = 1717986944, eb = 23, diff_min = -248; -128 is 15.8 below the max
    // (still above diff_min) but its share rounds to 0.
    let row = [10, 20, 30, 25, -128];
    let y = softmax(&row, "0.1", "1.0");
    assert_eq!(y, [-112, -83, -7, -54, -128]);
    assert_within_one(&y, &softmax_ref(&row, 0.1f32 as f64, 1.0));

    let row = [0, 1, 2, 3, 4, 5, 6, 7];
    let y = softmax(&row, "0.05", "2.0");
    assert_eq!(y, [-106, -104, -101, -98, -95, -92, -88, -84]);
    assert_within_one(&y, &softmax_ref(&row, 0.05f32 as f64, 2.0));

    // A uniform row: 1/4 each = 64 - 128.
    assert_eq!(softmax(&[-5, -5, -5, -5], "0.25", "1.0"), [-64; 4]);
}

#[test]
fn softmax_below_diff_min_is_minus_128() {
    // s_in = 1.0: real = 2^26, eb = 27, diff_min = -floor(31 * 2^26 / 2^27) = -15.
    // d = -15 still contributes (its share rounds to 0); d = -16 is skipped.
    let y = softmax(&[0, -15, -16, -128], "1.0", "1.0");
    assert_eq!(y, [127, -128, -128, -128]);
    // Two equal maxima share 1.0: 128 - 128 = 0 each.
    assert_eq!(softmax(&[7, 7, -100], "1.0", "1.0"), [0, 0, -128]);
}

#[test]
fn softmax_several_rows() {
    let y = run_i8(
        "graph @t(%x: i8[2,1,2] q(0.5, 3)) -> (%y) {
  %y = softmax(%x) : i8[2,1,2] q(0.00390625, -128)
}",
        &[&[0, 0, 2, 0]],
    );
    // Row 1: equal -> 0.5 each. Row 2: d = 0 and -2 (real -1): 1/(1+e^-1) = 0.731.
    assert_eq!(y[..2], [0, 0]);
    assert_within_one(
        &y[2..],
        &[0.7310585786 * 256.0 - 128.0, 0.2689414214 * 256.0 - 128.0],
    );
}

const XS: [i8; 16] = [
    -128, -16, -15, -14, -5, -1, 0, 1, 2, 3, 5, 10, 14, 15, 16, 127,
];
const XS2: [i8; 14] = [-128, -100, -50, -20, -10, -1, 0, 1, 5, 10, 20, 50, 100, 127];

fn unary(op: &str, x: &[i8], q_in: &str, q_out: &str) -> Vec<i8> {
    let n = x.len();
    run_i8(
        &format!(
            "graph @t(%x: i8[{n}] {q_in}) -> (%y) {{
  %y = {op}(%x) : i8[{n}] {q_out}
}}"
        ),
        &[x],
    )
}

#[test]
fn sigmoid_quantized() {
    // s_in = 0.5: M = 2^30, e = 27, R = 15: d <= -15 -> -128, d >= 15 -> 127.
    let y = unary("sigmoid", &XS, "q(0.5, 0)", "q(0.00390625, -128)");
    assert_eq!(
        y,
        [-128, -128, -128, -128, -109, -31, 0, 31, 59, 81, 109, 126, 127, 127, 127, 127]
    );
    let want: Vec<f64> = XS
        .iter()
        .map(|&x| 256.0 / (1.0 + (-0.5 * x as f64).exp()) - 128.0)
        .collect();
    assert_within_one(&y, &want);
    // s_in = 0.1, zp = 10: M = 1717986944, e = 24, R = 120; the range test uses x - zp.
    let y = unary("sigmoid", &XS2, "q(0.1, 10)", "q(0.00390625, -128)");
    assert_eq!(
        y,
        [-128, -128, -127, -116, -97, -64, -59, -54, -31, 0, 59, 123, 127, 127]
    );
}

#[test]
fn sigmoid_saturation_region_uses_the_radius() {
    // s_in = 0.5, zp = 10 -> R = 15: x = -5 (d = -15) and below give -128,
    // x = 25 (d = 15) and above give 127, whatever the fixed-point path says.
    let y = unary(
        "sigmoid",
        &[-128, -6, -5, 25, 26, 127],
        "q(0.5, 10)",
        "q(0.00390625, -128)",
    );
    assert_eq!(y, [-128, -128, -128, 127, 127, 127]);
}

#[test]
fn tanh_quantized() {
    let y = unary("tanh", &XS, "q(0.5, 0)", "q(0.0078125, 0)");
    assert_eq!(
        y,
        [-128, -128, -128, -128, -126, -59, 0, 59, 97, 116, 126, 127, 127, 127, 127, 127]
    );
    let want: Vec<f64> = XS
        .iter()
        .map(|&x| 128.0 * (0.5 * x as f64).tanh())
        .collect();
    assert_within_one(&y, &want);
    let y = unary("tanh", &XS2, "q(0.1, 10)", "q(0.0078125, 0)");
    assert_eq!(
        y,
        [-128, -128, -128, -127, -123, -102, -97, -92, -59, 0, 97, 127, 127, 127]
    );
    // Saturation region with a zero point: d = x - 10 <= -15 -> -128, >= 15 -> 127.
    let y = unary("tanh", &[-5, -4, 25, 24], "q(0.5, 10)", "q(0.0078125, 0)");
    assert_eq!(y, [-128, -128, 127, 127]);
}

const HS: [i8; 18] = [
    -128, -100, -60, -31, -30, -29, -10, -1, 0, 1, 5, 10, 29, 30, 31, 60, 100, 127,
];

fn hard_swish(q_in: &str, q_out: &str) -> Vec<i8> {
    unary("hard_swish", &HS, q_in, q_out)
}

fn hard_swish_ref(s_in: f64, zp_in: i32, s_out: f64, zp_out: i32) -> Vec<f64> {
    HS.iter()
        .map(|&x| {
            let r = s_in * (x as i32 - zp_in) as f64;
            r * (r + 3.0).clamp(0.0, 6.0) / 6.0 / s_out + zp_out as f64
        })
        .collect()
}

#[test]
fn hard_swish_quantized() {
    // reluish exponent 4 (> 0: saturating left shifts), output exponent -6.
    let y = hard_swish("q(0.1, 0)", "q(0.1, 0)");
    assert_eq!(
        y,
        [0, 0, 0, 0, 0, 0, -3, 0, 0, 1, 3, 7, 29, 30, 31, 60, 100, 127]
    );
    assert_within_one(&y, &hard_swish_ref(0.1, 0, 0.1, 0));
    // Negative zero points.
    let y = hard_swish("q(0.1, -10)", "q(0.05, -20)");
    assert_eq!(
        y,
        [-20, -20, -20, -26, -27, -27, -20, -8, -7, -5, 3, 13, 58, 60, 62, 120, 127, 127]
    );
    assert_within_one(&y, &hard_swish_ref(0.1, -10, 0.05, -20));
    // reluish exponent 0.
    let y = hard_swish("q(0.01, 3)", "q(0.02, -128)");
    assert_eq!(
        y,
        [
            -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -127, -126, -121, -121,
            -120, -111, -96, -84
        ]
    );
    // reluish exponent -3 (rounding right shift).
    let y = hard_swish("q(0.001, 0)", "q(0.0005, 0)");
    assert_eq!(
        y,
        [-123, -97, -59, -31, -30, -29, -10, -1, 0, 1, 5, 10, 29, 30, 31, 61, 103, 127]
    );
    assert_within_one(&y, &hard_swish_ref(0.001, 0, 0.0005, 0));
    // reluish exponent 8: most inputs are beyond +-3 and saturate the reluish value.
    let y = hard_swish("q(2.0, 5)", "q(1.0, -1)");
    assert_eq!(
        y,
        [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 9, 47, 49, 51, 109, 127, 127]
    );
    assert_within_one(&y, &hard_swish_ref(2.0, 5, 1.0, -1));
}

#[test]
fn hard_swish_rejects_a_left_shifting_output_multiplier() {
    // hires / s_out = (1/128) / 0.001 = 7.8: QM exponent 3 > 0.
    let g = common::graph(
        "graph @t(%x: i8[2] q(1.0, 0)) -> (%y) {
  %y = hard_swish(%x) : i8[2] q(0.001, 0)
}",
    );
    let e = common::run_err(&g, vec![tmlc_ir::TensorData::I8(vec![1, 2])]);
    assert!(
        matches!(
            e.root(),
            tmlc_interp::InterpError::Unsupported {
                op: "hard_swish",
                ..
            }
        ),
        "{e}"
    );
}
