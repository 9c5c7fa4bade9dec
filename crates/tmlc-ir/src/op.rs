//! Operations and their typed attributes.
//!
//! Every op has exactly one result. Operand order and the meaning of every
//! attribute are specified in `spec/ir.md`.

use std::fmt;

/// An activation fused into the op that produces a value (TFLite's
/// `fused_activation_function`). Applied last, as a clamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    /// No activation.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `clamp(x, -1, 1)`.
    ReluN1To1,
    /// `clamp(x, 0, 6)`.
    Relu6,
}

impl Activation {
    /// Text-form name.
    pub fn name(self) -> &'static str {
        match self {
            Activation::None => "none",
            Activation::Relu => "relu",
            Activation::ReluN1To1 => "relu_n1_to_1",
            Activation::Relu6 => "relu6",
        }
    }

    /// Parses a text-form name.
    pub fn from_name(s: &str) -> Option<Activation> {
        [
            Activation::None,
            Activation::Relu,
            Activation::ReluN1To1,
            Activation::Relu6,
        ]
        .into_iter()
        .find(|a| a.name() == s)
    }

    /// The real-valued clamp range `(lo, hi)` of the activation.
    pub fn range(self) -> (f32, f32) {
        match self {
            Activation::None => (f32::NEG_INFINITY, f32::INFINITY),
            Activation::Relu => (0.0, f32::INFINITY),
            Activation::ReluN1To1 => (-1.0, 1.0),
            Activation::Relu6 => (0.0, 6.0),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// 2-D convolution over NHWC input. Filter `[O, KH, KW, I/groups]`,
/// optional bias `[O]`. Depthwise is `groups == C_in` with `I/groups == 1`.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dAttrs {
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Dilation `[dh, dw]`.
    pub dilation: [usize; 2],
    /// Explicit padding `[top, left, bottom, right]`.
    pub pad: [usize; 4],
    /// Number of groups; `C_in` and `O` are multiples of it.
    pub groups: usize,
    /// Fused activation.
    pub act: Activation,
}

impl Default for Conv2dAttrs {
    fn default() -> Self {
        Conv2dAttrs {
            stride: [1, 1],
            dilation: [1, 1],
            pad: [0; 4],
            groups: 1,
            act: Activation::None,
        }
    }
}

/// Fully connected: `y[b, n] = sum_k x[b, k] * w[n, k] + bias[n]`, the input
/// flattened to `[numel / K, K]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FullyConnectedAttrs {
    /// Fused activation.
    pub act: Activation,
}

/// Attributes of `add`, `sub`, `mul` (numpy broadcasting).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BinaryAttrs {
    /// Fused activation.
    pub act: Activation,
}

/// `clip`: clamp to `[min, max]` (real values).
#[derive(Clone, Debug, PartialEq)]
pub struct ClipAttrs {
    /// Lower bound (may be `-inf`).
    pub min: f32,
    /// Upper bound (may be `inf`).
    pub max: f32,
}

/// `leaky_relu`: `x >= 0 ? x : alpha * x`.
#[derive(Clone, Debug, PartialEq)]
pub struct LeakyReluAttrs {
    /// Slope for negative inputs.
    pub alpha: f32,
}

/// Attributes of `max_pool2d` and `avg_pool2d` (NHWC).
#[derive(Clone, Debug, PartialEq)]
pub struct Pool2dAttrs {
    /// Window `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Explicit padding `[top, left, bottom, right]`.
    pub pad: [usize; 4],
    /// `avg_pool2d` only: divide by the full window size instead of the
    /// number of in-image taps.
    pub count_include_pad: bool,
    /// Fused activation.
    pub act: Activation,
}

impl Pool2dAttrs {
    /// A `kh x kw` window with stride 1 and no padding.
    pub fn new(kernel: [usize; 2]) -> Self {
        Pool2dAttrs {
            kernel,
            stride: [1, 1],
            pad: [0; 4],
            count_include_pad: false,
            act: Activation::None,
        }
    }
}

/// `mean`: average over `axes`.
#[derive(Clone, Debug, PartialEq)]
pub struct MeanAttrs {
    /// Reduced axes, strictly increasing.
    pub axes: Vec<usize>,
    /// Keep reduced axes as size 1.
    pub keep_dims: bool,
}

/// `transpose`: `out.shape[i] = in.shape[perm[i]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TransposeAttrs {
    /// A permutation of `0..rank`.
    pub perm: Vec<usize>,
}

/// `concat` along `axis`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConcatAttrs {
    /// Concatenation axis.
    pub axis: usize,
}

/// `pad` with a constant.
#[derive(Clone, Debug, PartialEq)]
pub struct PadAttrs {
    /// Elements added before each dimension.
    pub before: Vec<usize>,
    /// Elements added after each dimension.
    pub after: Vec<usize>,
    /// Real value of the padding (quantized with the output's parameters).
    pub value: f32,
}

/// `softmax` over the last axis.
#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxAttrs {
    /// Inverse temperature.
    pub beta: f32,
}

impl Default for SoftmaxAttrs {
    fn default() -> Self {
        SoftmaxAttrs { beta: 1.0 }
    }
}

/// An operation. Attributes are typed per op.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `conv2d(x, w [, bias])`.
    Conv2d(Conv2dAttrs),
    /// `fully_connected(x, w [, bias])`.
    FullyConnected(FullyConnectedAttrs),
    /// `matmul(a, b)`: batched matrix product with broadcast batch dims.
    MatMul,
    /// `add(a, b)`.
    Add(BinaryAttrs),
    /// `sub(a, b)`.
    Sub(BinaryAttrs),
    /// `mul(a, b)`.
    Mul(BinaryAttrs),
    /// `relu(x)`.
    Relu,
    /// `relu6(x)`.
    Relu6,
    /// `clip(x)`.
    Clip(ClipAttrs),
    /// `leaky_relu(x)`.
    LeakyRelu(LeakyReluAttrs),
    /// `sigmoid(x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `hard_swish(x) = x * relu6(x + 3) / 6`.
    HardSwish,
    /// `max_pool2d(x)`.
    MaxPool2d(Pool2dAttrs),
    /// `avg_pool2d(x)`.
    AvgPool2d(Pool2dAttrs),
    /// `mean(x)`.
    Mean(MeanAttrs),
    /// `reshape(x)`: same elements, the result type's shape.
    Reshape,
    /// `transpose(x)`.
    Transpose(TransposeAttrs),
    /// `concat(x0, x1, ...)`.
    Concat(ConcatAttrs),
    /// `pad(x)`.
    Pad(PadAttrs),
    /// `softmax(x)`.
    Softmax(SoftmaxAttrs),
    /// `quantize(x)`: f32 to a quantized integer type, or requantize.
    Quantize,
    /// `dequantize(x)`: quantized integer to f32.
    Dequantize,
}

impl Op {
    /// Every op name, in the order of the enum.
    pub const NAMES: [&'static str; 23] = [
        "conv2d",
        "fully_connected",
        "matmul",
        "add",
        "sub",
        "mul",
        "relu",
        "relu6",
        "clip",
        "leaky_relu",
        "sigmoid",
        "tanh",
        "hard_swish",
        "max_pool2d",
        "avg_pool2d",
        "mean",
        "reshape",
        "transpose",
        "concat",
        "pad",
        "softmax",
        "quantize",
        "dequantize",
    ];

    /// Text-form name.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv2d(_) => "conv2d",
            Op::FullyConnected(_) => "fully_connected",
            Op::MatMul => "matmul",
            Op::Add(_) => "add",
            Op::Sub(_) => "sub",
            Op::Mul(_) => "mul",
            Op::Relu => "relu",
            Op::Relu6 => "relu6",
            Op::Clip(_) => "clip",
            Op::LeakyRelu(_) => "leaky_relu",
            Op::Sigmoid => "sigmoid",
            Op::Tanh => "tanh",
            Op::HardSwish => "hard_swish",
            Op::MaxPool2d(_) => "max_pool2d",
            Op::AvgPool2d(_) => "avg_pool2d",
            Op::Mean(_) => "mean",
            Op::Reshape => "reshape",
            Op::Transpose(_) => "transpose",
            Op::Concat(_) => "concat",
            Op::Pad(_) => "pad",
            Op::Softmax(_) => "softmax",
            Op::Quantize => "quantize",
            Op::Dequantize => "dequantize",
        }
    }

    /// Allowed operand counts `(min, max)`; `max == usize::MAX` means variadic.
    pub fn arity(&self) -> (usize, usize) {
        match self {
            Op::Conv2d(_) | Op::FullyConnected(_) => (2, 3),
            Op::MatMul | Op::Add(_) | Op::Sub(_) | Op::Mul(_) => (2, 2),
            Op::Concat(_) => (1, usize::MAX),
            _ => (1, 1),
        }
    }

    /// The fused activation, for ops that have one.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            Op::Conv2d(a) => Some(a.act),
            Op::FullyConnected(a) => Some(a.act),
            Op::Add(a) | Op::Sub(a) | Op::Mul(a) => Some(a.act),
            Op::MaxPool2d(a) | Op::AvgPool2d(a) => Some(a.act),
            _ => None,
        }
    }

    /// True for ops that apply the same function to every element of one operand.
    pub fn is_unary_elementwise(&self) -> bool {
        matches!(
            self,
            Op::Relu
                | Op::Relu6
                | Op::Clip(_)
                | Op::LeakyRelu(_)
                | Op::Sigmoid
                | Op::Tanh
                | Op::HardSwish
        )
    }
}
