//! The C kernel library: each kernel is one `static` C function in its own
//! `.c` file (pulled in with `include_str!`), plus the `static inline`
//! helpers of `common.c` (always emitted; unused inline helpers cost
//! nothing). A model's C file contains only the kernels its layers call and
//! their dependencies, in the order of the registry below.
//!
//! [`kernel_registry!`] is the one list of kernels (C file, dependencies,
//! `<math.h>` use). Each kernel's arguments are a typed struct, declared
//! beside the `.c` files by family (`conv.rs`, `dense.rs`,
//! `elementwise.rs`, `reduce.rs`, `movement.rs`, `convert.rs`) with
//! [`kernel_args!`]; a struct becomes the C call with its fields in the C
//! parameter order.

mod args;
pub(crate) mod conv;
pub(crate) mod convert;
pub(crate) mod dense;
pub(crate) mod elementwise;
pub(crate) mod movement;
pub(crate) mod reduce;

pub(crate) use args::{Arg, Call, Requant, SparseWeights};

/// The helpers every model gets.
pub(crate) const COMMON: &str = include_str!("common.c");

macro_rules! kernel_registry {
    ($( $(#[$doc:meta])* $k:ident = $file:literal, deps [$($d:ident),*], math $math:literal; )*) => {
        /// A C kernel function.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) enum Kernel { $( $(#[$doc])* $k, )* }

        impl Kernel {
            /// Every kernel, in emission order (dependencies first).
            pub(crate) const ALL: &'static [Kernel] = &[$(Kernel::$k),*];

            /// The C source.
            pub(crate) fn source(self) -> &'static str {
                match self { $( Kernel::$k => include_str!($file), )* }
            }

            /// Kernels this one calls.
            pub(crate) fn deps(self) -> &'static [Kernel] {
                match self { $( Kernel::$k => &[$(Kernel::$d),*], )* }
            }

            /// True when the kernel calls `<math.h>` functions.
            pub(crate) fn needs_math(self) -> bool {
                match self { $( Kernel::$k => $math, )* }
            }
        }
    };
}

kernel_registry! {
    /// gemmlowp fixed-point exp / reciprocal helpers (inline).
    FixedPoint = "fixedpoint.c", deps [], math false;
    /// int8 matrix product with folded bias (the 1x1 / FC / im2col core).
    MmS8 = "mm_s8.c", deps [], math false;
    /// int8 matrix product with sparse weights (bitmaps of blocks).
    SpmmS8 = "spmm_s8.c", deps [], math false;
    /// int8 matrix product with 4-bit weights.
    MmS4 = "mm_s4.c", deps [], math false;
    /// im2col rows (inline helper of the convolutions).
    Im2colS8 = "im2col_s8.c", deps [], math false;
    /// 1x1 convolution driver.
    Conv1x1S8 = "conv1x1_s8.c", deps [MmS8], math false;
    /// General convolution via im2col.
    ConvS8 = "conv_s8.c", deps [MmS8, Im2colS8], math false;
    /// General convolution with 4-bit weights.
    ConvS4 = "conv_s4.c", deps [MmS4, Im2colS8], math false;
    /// General convolution with sparse weights.
    SpConvS8 = "spconv_s8.c", deps [SpmmS8, Im2colS8], math false;
    /// Depthwise convolution.
    DwConvS8 = "dwconv_s8.c", deps [], math false;
    /// int8 add / sub (broadcast).
    AddS8 = "add_s8.c", deps [], math false;
    /// int8 mul (broadcast).
    MulS8 = "mul_s8.c", deps [], math false;
    /// 8-bit to 8-bit lookup table.
    LutS8 = "lut_s8.c", deps [], math false;
    /// 8-bit to 16-bit lookup table.
    LutS16 = "lut_s16.c", deps [], math false;
    /// 8-bit to float lookup table.
    LutF32 = "lut_f32.c", deps [], math false;
    /// int8 max / average pool.
    PoolS8 = "pool_s8.c", deps [], math false;
    /// int8 mean.
    MeanS8 = "mean_s8.c", deps [], math false;
    /// int8 softmax.
    SoftmaxS8 = "softmax_s8.c", deps [FixedPoint], math false;
    /// int8 batched matmul.
    MatMulS8 = "matmul_s8.c", deps [], math false;
    /// Requantisation between 8/16-bit integer types.
    RequantInt = "requant_int.c", deps [], math false;
    /// float to integer quantisation.
    QuantizeF32 = "quantize_f32.c", deps [], math true;
    /// integer to float dequantisation.
    Dequantize = "dequantize.c", deps [], math false;
    /// float convolution.
    ConvF32 = "conv_f32.c", deps [], math false;
    /// float convolution with int8 weights (weight-only quantization).
    ConvF32W8 = "conv_f32_w8.c", deps [], math false;
    /// run-time quantization of a float slice (dynamic-range layers).
    DynQuant = "dyn_quant.c", deps [], math true;
    /// dynamic-range ("hybrid") convolution.
    ConvF32Dyn = "conv_f32_dyn.c", deps [DynQuant], math false;
    /// float fully connected.
    FcF32 = "fc_f32.c", deps [], math false;
    /// float fully connected with int8 weights (weight-only quantization).
    FcF32W8 = "fc_f32_w8.c", deps [], math false;
    /// dynamic-range ("hybrid") fully connected.
    FcF32Dyn = "fc_f32_dyn.c", deps [DynQuant], math false;
    /// float batched matmul.
    MatMulF32 = "matmul_f32.c", deps [], math false;
    /// float add / sub / mul / div (broadcast).
    BinaryF32 = "binary_f32.c", deps [], math false;
    /// float relu / relu6 / clip.
    ClampF32 = "clamp_f32.c", deps [], math false;
    /// float leaky relu.
    LeakyReluF32 = "leaky_relu_f32.c", deps [], math false;
    /// float elu.
    EluF32 = "elu_f32.c", deps [], math true;
    /// float sigmoid.
    SigmoidF32 = "sigmoid_f32.c", deps [], math true;
    /// float tanh.
    TanhF32 = "tanh_f32.c", deps [], math true;
    /// float hard swish.
    HardSwishF32 = "hard_swish_f32.c", deps [], math false;
    /// float max / average pool.
    PoolF32 = "pool_f32.c", deps [], math false;
    /// float mean.
    MeanF32 = "mean_f32.c", deps [], math false;
    /// float softmax.
    SoftmaxF32 = "softmax_f32.c", deps [], math true;
    /// N-D strided gather (transpose, slice; any element size).
    Transpose = "transpose.c", deps [], math false;
    /// N-D constant pad (any element size).
    Pad = "pad.c", deps [], math false;
    /// Strided block copy (concat).
    CopyBlocks = "copy_blocks.c", deps [], math false;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every typed argument struct passes as many arguments as its C
    /// function takes.
    #[test]
    fn argument_structs_match_the_c_prototypes() {
        let all = [
            conv::SIGNATURES,
            convert::SIGNATURES,
            dense::SIGNATURES,
            elementwise::SIGNATURES,
            movement::SIGNATURES,
            reduce::SIGNATURES,
        ];
        let mut seen = 0;
        for &(func, count) in all.iter().flat_map(|s| s.iter()) {
            let head = format!("static void {func}(");
            let src = Kernel::ALL
                .iter()
                .map(|k| k.source())
                .find(|s| s.contains(&head))
                .unwrap_or_else(|| panic!("no C function {func}"));
            let params = &src[src.find(&head).unwrap_or(0) + head.len()..];
            let params = &params[..params.find(')').unwrap_or(0)];
            assert_eq!(params.split(',').count(), count, "{func}({params})");
            seen += 1;
        }
        // One struct per C kernel function (the inline helpers aside).
        assert_eq!(seen, 40);
    }

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
