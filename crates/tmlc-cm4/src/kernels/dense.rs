//! Arguments of the dense kernels: `mm_s8.c`, `mm_s4.c`, `spmm_s8.c`,
//! `fc_f32.c`, `matmul_s8.c`, `matmul_f32.c`.

use super::args::{kernel_args, Arg, Requant, SparseWeights};

kernel_args! {
    /// `tmlc_mm_s8`: `out[r][c] = requant(bias[c] + lhs[r] . rhs[c])`.
    struct MmS8 = "tmlc_mm_s8" {
        lhs: Arg,
        rows: usize,
        lhs_stride: usize,
        rhs: Arg,
        n: usize,
        k: usize,
        bias: Arg,
        requant: Requant,
        out: Arg,
        out_stride: usize,
        zp_out: i32,
        lo: i32,
        hi: i32,
    }

    /// `tmlc_mm_s4`: [`MmS8`] with 4-bit weights, two per byte.
    struct MmS4 = "tmlc_mm_s4" {
        lhs: Arg,
        rows: usize,
        lhs_stride: usize,
        rhs: Arg,
        n: usize,
        k: usize,
        bias: Arg,
        requant: Requant,
        out: Arg,
        out_stride: usize,
        zp_out: i32,
        lo: i32,
        hi: i32,
    }

    /// `tmlc_spmm_s8`: [`MmS8`] with sparse weights.
    struct SpmmS8 = "tmlc_spmm_s8" {
        lhs: Arg,
        rows: usize,
        lhs_stride: usize,
        rhs: SparseWeights,
        n: usize,
        k: usize,
        bias: Arg,
        requant: Requant,
        out: Arg,
        out_stride: usize,
        zp_out: i32,
        lo: i32,
        hi: i32,
    }

    /// `tmlc_fc_f32`.
    struct FcF32 = "tmlc_fc_f32" {
        x: Arg,
        rows: usize,
        k: usize,
        wts: Arg,
        bias: Arg,
        n: usize,
        y: Arg,
        lo: f32,
        hi: f32,
    }

    /// `tmlc_fc_f32_w8`: f32 activations, int8 weights with a scale per
    /// output channel.
    struct FcF32W8 = "tmlc_fc_f32_w8" {
        x: Arg,
        rows: usize,
        k: usize,
        wts: Arg,
        wscale: Arg,
        bias: Arg,
        n: usize,
        y: Arg,
        lo: f32,
        hi: f32,
    }

    /// `tmlc_fc_f32_dyn`: f32 input rows quantized at run time into `d`
    /// (`mode` 1 asymmetric, 2 symmetric), int8 weights.
    struct FcF32Dyn = "tmlc_fc_f32_dyn" {
        x: Arg,
        rows: usize,
        k: usize,
        wts: Arg,
        wscale: Arg,
        bias: Arg,
        n: usize,
        y: Arg,
        lo: f32,
        hi: f32,
        mode: i32,
        d: Arg,
    }

    /// `tmlc_matmul_f32`.
    struct MatMulF32 = "tmlc_matmul_f32" {
        a: Arg,
        b: Arg,
        y: Arg,
        batches: usize,
        aoff: Arg,
        boff: Arg,
        m: usize,
        k: usize,
        n: usize,
    }

    /// `tmlc_matmul_s8`.
    struct MatMulS8 = "tmlc_matmul_s8" {
        a: Arg,
        b: Arg,
        y: Arg,
        batches: usize,
        aoff: Arg,
        boff: Arg,
        m: usize,
        k: usize,
        n: usize,
        zp_a: i32,
        zp_b: i32,
        mult: i32,
        shift: i32,
        zp_out: i32,
    }
}
