//! The C kernel library: each kernel is one `static` C function in its own
//! `.c` file (pulled in with `include_str!`), plus the `static inline`
//! helpers of `common.c` (always emitted; unused inline helpers cost
//! nothing). A model's C file contains only the kernels its layers call and
//! their dependencies, in the fixed order of [`Kernel::ALL`].

/// A C kernel function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kernel {
    /// gemmlowp fixed-point exp / reciprocal helpers (inline).
    FixedPoint,
    /// int8 matrix product with folded bias (the 1x1 / FC / im2col core).
    MmS8,
    /// 1x1 convolution driver.
    Conv1x1S8,
    /// General convolution via im2col.
    ConvS8,
    /// Depthwise convolution.
    DwConvS8,
    /// int8 add / sub (broadcast).
    AddS8,
    /// int8 mul (broadcast).
    MulS8,
    /// 8-bit to 8-bit lookup table.
    LutS8,
    /// 8-bit to 16-bit lookup table.
    LutS16,
    /// 8-bit to float lookup table.
    LutF32,
    /// int8 max / average pool.
    PoolS8,
    /// int8 mean.
    MeanS8,
    /// int8 softmax.
    SoftmaxS8,
    /// int8 batched matmul.
    MatMulS8,
    /// Requantisation between 8/16-bit integer types.
    RequantInt,
    /// float to integer quantisation.
    QuantizeF32,
    /// integer to float dequantisation.
    Dequantize,
    /// float convolution.
    ConvF32,
    /// float fully connected.
    FcF32,
    /// float batched matmul.
    MatMulF32,
    /// float add / sub / mul (broadcast).
    BinaryF32,
    /// float relu / relu6 / clip.
    ClampF32,
    /// float leaky relu.
    LeakyReluF32,
    /// float sigmoid.
    SigmoidF32,
    /// float tanh.
    TanhF32,
    /// float hard swish.
    HardSwishF32,
    /// float max / average pool.
    PoolF32,
    /// float mean.
    MeanF32,
    /// float softmax.
    SoftmaxF32,
    /// N-D transpose (any element size).
    Transpose,
    /// N-D constant pad (any element size).
    Pad,
    /// Strided block copy (concat).
    CopyBlocks,
}

/// The helpers every model gets.
pub(crate) const COMMON: &str = include_str!("common.c");

impl Kernel {
    /// Every kernel, in emission order (dependencies first).
    pub(crate) const ALL: [Kernel; 32] = [
        Kernel::FixedPoint,
        Kernel::MmS8,
        Kernel::Conv1x1S8,
        Kernel::ConvS8,
        Kernel::DwConvS8,
        Kernel::AddS8,
        Kernel::MulS8,
        Kernel::LutS8,
        Kernel::LutS16,
        Kernel::LutF32,
        Kernel::PoolS8,
        Kernel::MeanS8,
        Kernel::SoftmaxS8,
        Kernel::MatMulS8,
        Kernel::RequantInt,
        Kernel::QuantizeF32,
        Kernel::Dequantize,
        Kernel::ConvF32,
        Kernel::FcF32,
        Kernel::MatMulF32,
        Kernel::BinaryF32,
        Kernel::ClampF32,
        Kernel::LeakyReluF32,
        Kernel::SigmoidF32,
        Kernel::TanhF32,
        Kernel::HardSwishF32,
        Kernel::PoolF32,
        Kernel::MeanF32,
        Kernel::SoftmaxF32,
        Kernel::Transpose,
        Kernel::Pad,
        Kernel::CopyBlocks,
    ];

    /// The C source.
    pub(crate) fn source(self) -> &'static str {
        match self {
            Kernel::FixedPoint => include_str!("fixedpoint.c"),
            Kernel::MmS8 => include_str!("mm_s8.c"),
            Kernel::Conv1x1S8 => include_str!("conv1x1_s8.c"),
            Kernel::ConvS8 => include_str!("conv_s8.c"),
            Kernel::DwConvS8 => include_str!("dwconv_s8.c"),
            Kernel::AddS8 => include_str!("add_s8.c"),
            Kernel::MulS8 => include_str!("mul_s8.c"),
            Kernel::LutS8 => include_str!("lut_s8.c"),
            Kernel::LutS16 => include_str!("lut_s16.c"),
            Kernel::LutF32 => include_str!("lut_f32.c"),
            Kernel::PoolS8 => include_str!("pool_s8.c"),
            Kernel::MeanS8 => include_str!("mean_s8.c"),
            Kernel::SoftmaxS8 => include_str!("softmax_s8.c"),
            Kernel::MatMulS8 => include_str!("matmul_s8.c"),
            Kernel::RequantInt => include_str!("requant_int.c"),
            Kernel::QuantizeF32 => include_str!("quantize_f32.c"),
            Kernel::Dequantize => include_str!("dequantize.c"),
            Kernel::ConvF32 => include_str!("conv_f32.c"),
            Kernel::FcF32 => include_str!("fc_f32.c"),
            Kernel::MatMulF32 => include_str!("matmul_f32.c"),
            Kernel::BinaryF32 => include_str!("binary_f32.c"),
            Kernel::ClampF32 => include_str!("clamp_f32.c"),
            Kernel::LeakyReluF32 => include_str!("leaky_relu_f32.c"),
            Kernel::SigmoidF32 => include_str!("sigmoid_f32.c"),
            Kernel::TanhF32 => include_str!("tanh_f32.c"),
            Kernel::HardSwishF32 => include_str!("hard_swish_f32.c"),
            Kernel::PoolF32 => include_str!("pool_f32.c"),
            Kernel::MeanF32 => include_str!("mean_f32.c"),
            Kernel::SoftmaxF32 => include_str!("softmax_f32.c"),
            Kernel::Transpose => include_str!("transpose.c"),
            Kernel::Pad => include_str!("pad.c"),
            Kernel::CopyBlocks => include_str!("copy_blocks.c"),
        }
    }

    /// Kernels this one calls.
    pub(crate) fn deps(self) -> &'static [Kernel] {
        match self {
            Kernel::Conv1x1S8 | Kernel::ConvS8 => &[Kernel::MmS8],
            Kernel::SoftmaxS8 => &[Kernel::FixedPoint],
            _ => &[],
        }
    }

    /// True when the kernel calls `<math.h>` functions.
    pub(crate) fn needs_math(self) -> bool {
        matches!(
            self,
            Kernel::QuantizeF32 | Kernel::SigmoidF32 | Kernel::TanhF32 | Kernel::SoftmaxF32
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_lists_dependencies_first() {
        for (i, k) in Kernel::ALL.iter().enumerate() {
            for d in k.deps() {
                let j = Kernel::ALL
                    .iter()
                    .position(|x| x == d)
                    .unwrap_or(usize::MAX);
                assert!(j < i, "{k:?} depends on {d:?}, listed later");
            }
        }
    }
}
