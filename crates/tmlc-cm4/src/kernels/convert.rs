//! Arguments of the conversion kernels: `quantize_f32.c`, `dequantize.c`,
//! `requant_int.c`.

use super::args::{kernel_args, Arg};

/// The C code of an integer element type in the conversion kernels.
pub(crate) fn int_kind(d: tmlc_ir::DType) -> Option<i32> {
    use tmlc_ir::DType::*;
    match d {
        I8 => Some(1),
        U8 => Some(2),
        I16 => Some(3),
        I32 => Some(4),
        _ => None,
    }
}

kernel_args! {
    /// `tmlc_quantize_f32`: element `i` uses channel `(i / inner) %
    /// channels` of `scale` and `zp`.
    struct QuantizeF32 = "tmlc_quantize_f32" {
        x: Arg,
        y: Arg,
        kind: i32,
        half_even: bool,
        n: usize,
        inner: usize,
        channels: usize,
        scale: Arg,
        zp: Arg,
        lo: i64,
        hi: i64,
    }

    /// `tmlc_dequantize`.
    struct Dequantize = "tmlc_dequantize" {
        x: Arg,
        kind: i32,
        y: Arg,
        n: usize,
        inner: usize,
        channels: usize,
        scale: Arg,
        zp: Arg,
    }

    /// `tmlc_requant_int`.
    struct RequantInt = "tmlc_requant_int" {
        x: Arg,
        in_kind: i32,
        y: Arg,
        out_kind: i32,
        n: usize,
        zp_in: i32,
        m: i32,
        shift: i32,
        zp_out: i32,
        lo: i64,
        hi: i64,
    }
}
