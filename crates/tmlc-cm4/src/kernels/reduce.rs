//! Arguments of the pooling and reduction kernels: `pool_s8.c`,
//! `pool_f32.c`, `mean_s8.c`, `mean_f32.c`, `softmax_s8.c`,
//! `softmax_f32.c`.

use super::args::{kernel_args, Arg, IntoArgs};

/// The window of `pool_s8.c` and `pool_f32.c`: `batches, h, w, c, ho, wo,
/// kh, kw, sh, sw, pt, pl, is_max, count_pad`.
#[derive(Clone, Debug)]
pub(crate) struct PoolGeometry {
    pub(crate) batches: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) c: usize,
    pub(crate) ho: usize,
    pub(crate) wo: usize,
    pub(crate) kernel: [usize; 2],
    pub(crate) stride: [usize; 2],
    /// Top and left padding.
    pub(crate) pad_tl: [usize; 2],
    pub(crate) is_max: bool,
    pub(crate) count_pad: bool,
}

impl IntoArgs for PoolGeometry {
    const COUNT: usize = 14;
    fn push_args(self, out: &mut Vec<Arg>) {
        [self.batches, self.h, self.w, self.c, self.ho, self.wo].push_args(out);
        self.kernel.push_args(out);
        self.stride.push_args(out);
        self.pad_tl.push_args(out);
        self.is_max.push_args(out);
        self.count_pad.push_args(out);
    }
}

kernel_args! {
    /// `tmlc_pool_f32`.
    struct PoolF32 = "tmlc_pool_f32" {
        x: Arg,
        y: Arg,
        geo: PoolGeometry,
        lo: f32,
        hi: f32,
    }

    /// `tmlc_pool_s8`.
    struct PoolS8 = "tmlc_pool_s8" {
        x: Arg,
        y: Arg,
        geo: PoolGeometry,
        zp_in: i32,
        lo: i32,
        hi: i32,
    }

    /// `tmlc_mean_f32`.
    struct MeanF32 = "tmlc_mean_f32" {
        x: Arg,
        y: Arg,
        shape: Arg,
        ostr: Arg,
        slots: usize,
        n: usize,
    }

    /// `tmlc_mean_s8`: sums in the int32 scratch `acc`.
    struct MeanS8 = "tmlc_mean_s8" {
        x: Arg,
        y: Arg,
        shape: Arg,
        ostr: Arg,
        slots: usize,
        n: usize,
        zp_in: i32,
        m: i32,
        shift: i32,
        zp_out: i32,
        acc: Arg,
    }

    /// `tmlc_softmax_f32`.
    struct SoftmaxF32 = "tmlc_softmax_f32" {
        x: Arg,
        y: Arg,
        rows: usize,
        depth: usize,
        beta: f32,
    }

    /// `tmlc_softmax_s8`.
    struct SoftmaxS8 = "tmlc_softmax_s8" {
        x: Arg,
        y: Arg,
        rows: usize,
        depth: usize,
        mult: i32,
        left_shift: i32,
        diff_min: i32,
    }
}
