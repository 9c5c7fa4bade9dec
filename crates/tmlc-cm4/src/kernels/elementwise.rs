//! Arguments of the element-wise kernels: `add_s8.c`, `mul_s8.c`,
//! `binary_f32.c`, the f32 unary kernels and the lookup tables.

use super::args::{kernel_args, Arg};

kernel_args! {
    /// `tmlc_add_s8` (add and sub): per-input stages tabulated in `ta`,
    /// `tb`; the output stage `(m, shift)`.
    struct AddS8 = "tmlc_add_s8" {
        a: Arg,
        b: Arg,
        y: Arg,
        shape: Arg,
        sa: Arg,
        sb: Arg,
        ta: Arg,
        tb: Arg,
        is_sub: bool,
        m: i32,
        shift: i32,
        zp_out: i32,
        lo: i32,
        hi: i32,
    }

    /// `tmlc_mul_s8`.
    struct MulS8 = "tmlc_mul_s8" {
        a: Arg,
        b: Arg,
        y: Arg,
        shape: Arg,
        sa: Arg,
        sb: Arg,
        zp_a: i32,
        zp_b: i32,
        m: i32,
        shift: i32,
        zp_out: i32,
        lo: i32,
        hi: i32,
    }

    /// `tmlc_binary_f32`: `op` 0 add, 1 sub, 2 mul, 3 div.
    struct BinaryF32 = "tmlc_binary_f32" {
        a: Arg,
        b: Arg,
        y: Arg,
        shape: Arg,
        sa: Arg,
        sb: Arg,
        op: i32,
        lo: f32,
        hi: f32,
    }

    /// `tmlc_clamp_f32_op` (relu, relu6, clip).
    struct ClampF32 = "tmlc_clamp_f32_op" {
        x: Arg,
        y: Arg,
        n: usize,
        lo: f32,
        hi: f32,
    }

    /// `tmlc_leaky_relu_f32`.
    struct LeakyReluF32 = "tmlc_leaky_relu_f32" {
        x: Arg,
        y: Arg,
        n: usize,
        alpha: f32,
    }

    /// `tmlc_elu_f32`.
    struct EluF32 = "tmlc_elu_f32" {
        x: Arg,
        y: Arg,
        n: usize,
        alpha: f32,
    }

    /// `tmlc_sigmoid_f32`.
    struct SigmoidF32 = "tmlc_sigmoid_f32" { x: Arg, y: Arg, n: usize }

    /// `tmlc_tanh_f32`.
    struct TanhF32 = "tmlc_tanh_f32" { x: Arg, y: Arg, n: usize }

    /// `tmlc_hard_swish_f32`.
    struct HardSwishF32 = "tmlc_hard_swish_f32" { x: Arg, y: Arg, n: usize }

    /// `tmlc_lut_s8`: 8-bit results.
    struct LutS8 = "tmlc_lut_s8" { x: Arg, y: Arg, n: usize, lut: Arg }

    /// `tmlc_lut_s16`: 16-bit results.
    struct LutS16 = "tmlc_lut_s16" { x: Arg, y: Arg, n: usize, lut: Arg }

    /// `tmlc_lut_f32`: f32 results.
    struct LutF32 = "tmlc_lut_f32" { x: Arg, y: Arg, n: usize, lut: Arg }
}
