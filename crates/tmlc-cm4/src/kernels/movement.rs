//! Arguments of the data-movement kernels: `transpose.c` (any strided
//! gather), `pad.c`, `copy_blocks.c`.

use super::args::{kernel_args, Arg};

kernel_args! {
    /// `tmlc_transpose`: `y` row-major over the collapsed output shape
    /// takes `x[sum_d i_d * istr_d]`.
    struct Transpose = "tmlc_transpose" {
        x: Arg,
        y: Arg,
        oshape: Arg,
        istr: Arg,
        esize: usize,
    }

    /// `tmlc_pad`.
    struct Pad = "tmlc_pad" {
        x: Arg,
        y: Arg,
        ishape: Arg,
        before: Arg,
        after: Arg,
        esize: usize,
        fill: Arg,
    }

    /// `tmlc_copy_blocks`: `outer` blocks of `block` bytes, `dst_stride`
    /// apart in `y`, contiguous in `x`.
    struct CopyBlocks = "tmlc_copy_blocks" {
        y: Arg,
        dst_stride: usize,
        x: Arg,
        block: usize,
        outer: usize,
    }
}
