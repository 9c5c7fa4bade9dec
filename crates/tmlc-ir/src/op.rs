//! Operations and their typed attributes.
//!
//! [`define_ops!`] below is the one description of every op: its variant,
//! text name, operand count, family and quantization rule. Names, parsing,
//! printing, arity checks and families are generated from it; attribute
//! structs are declared with [`crate::op_attrs!`], whose field lists drive
//! the text form of attributes. Operand order and the meaning of every
//! attribute are specified in `spec/ir.md`; the typing rule of each op is in
//! [`crate::infer`].

use crate::attr::{AttrError, AttrReader, AttrSet};
use std::fmt;

/// An activation fused into the op that produces a value (TFLite's
/// `fused_activation_function`, ONNX `Clip` after a conv). Applied last,
/// as a clamp.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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
    /// `clamp(x, lo, hi)`; `lo <= hi`, either may be infinite.
    Clamp {
        /// Lower bound.
        lo: f32,
        /// Upper bound.
        hi: f32,
    },
}

impl Activation {
    /// The named activations (everything but [`Activation::Clamp`]).
    const NAMED: [Activation; 4] = [
        Activation::None,
        Activation::Relu,
        Activation::ReluN1To1,
        Activation::Relu6,
    ];

    /// Text-form name (`clamp` for [`Activation::Clamp`], whose text form
    /// is `clamp(lo, hi)`).
    pub fn name(self) -> &'static str {
        match self {
            Activation::None => "none",
            Activation::Relu => "relu",
            Activation::ReluN1To1 => "relu_n1_to_1",
            Activation::Relu6 => "relu6",
            Activation::Clamp { .. } => "clamp",
        }
    }

    /// Parses the name of a named activation.
    pub fn from_name(s: &str) -> Option<Activation> {
        Activation::NAMED.into_iter().find(|a| a.name() == s)
    }

    /// The real-valued clamp range `(lo, hi)` of the activation.
    pub fn range(self) -> (f32, f32) {
        match self {
            Activation::None => (f32::NEG_INFINITY, f32::INFINITY),
            Activation::Relu => (0.0, f32::INFINITY),
            Activation::ReluN1To1 => (-1.0, 1.0),
            Activation::Relu6 => (0.0, 6.0),
            Activation::Clamp { lo, hi } => (lo, hi),
        }
    }

    /// The activation clamping to `[lo, hi]`, by its name when it has one.
    pub fn from_range(lo: f32, hi: f32) -> Activation {
        Activation::NAMED
            .into_iter()
            .find(|a| {
                let (l, h) = a.range();
                l.to_bits() == lo.to_bits() && h.to_bits() == hi.to_bits()
            })
            .unwrap_or(Activation::Clamp { lo, hi })
    }

    /// The activation applying `self`, then `other` (the intersection of
    /// the two ranges).
    pub fn then(self, other: Activation) -> Activation {
        let (a, b) = self.range();
        let (c, d) = other.range();
        Activation::from_range(a.max(c), b.min(d))
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Clamp { lo, hi } => write!(f, "clamp({lo:?}, {hi:?})"),
            a => f.write_str(a.name()),
        }
    }
}

/// How `quantize` rounds a real value to the nearest integer when it lies
/// exactly half way between two.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rounding {
    /// Half away from zero (`roundf`; TFLite).
    #[default]
    HalfAway,
    /// Half to even (`rintf` in the default rounding mode; ONNX).
    HalfEven,
}

impl Rounding {
    /// Text-form name.
    pub fn name(self) -> &'static str {
        match self {
            Rounding::HalfAway => "half_away",
            Rounding::HalfEven => "half_even",
        }
    }

    /// Parses a text-form name.
    pub fn from_name(s: &str) -> Option<Rounding> {
        [Rounding::HalfAway, Rounding::HalfEven]
            .into_iter()
            .find(|r| r.name() == s)
    }

    /// Rounds `x` to an integral value.
    pub fn round(self, x: f32) -> f32 {
        match self {
            Rounding::HalfAway => x.round(),
            Rounding::HalfEven => {
                let r = x.round();
                if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
                    r - x.signum()
                } else {
                    r
                }
            }
        }
    }
}

/// How a weight-only conv2d / fully_connected (f32 input, int8 weights)
/// treats its input (`spec/ir.md` §5.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DynamicQuant {
    /// The input stays f32; the weights are dequantized.
    #[default]
    None,
    /// Each input slice is quantized to int8 at run time over its
    /// min/max (TFLite's asymmetric dynamic-range kernels).
    Asymmetric,
    /// Each input slice is quantized to int8 at run time over its largest
    /// magnitude, zero point 0.
    Symmetric,
}

impl DynamicQuant {
    const ALL: [DynamicQuant; 3] = [
        DynamicQuant::None,
        DynamicQuant::Asymmetric,
        DynamicQuant::Symmetric,
    ];

    /// Text-form name.
    pub fn name(self) -> &'static str {
        match self {
            DynamicQuant::None => "none",
            DynamicQuant::Asymmetric => "asymmetric",
            DynamicQuant::Symmetric => "symmetric",
        }
    }

    /// Parses a text-form name.
    pub fn from_name(s: &str) -> Option<DynamicQuant> {
        DynamicQuant::ALL.into_iter().find(|d| d.name() == s)
    }
}

crate::op_attrs! {
    /// 2-D convolution over NHWC input. Filter `[O, KH, KW, I/groups]`,
    /// optional bias `[O]`. Depthwise is `groups == C_in` with `I/groups == 1`.
    pub struct Conv2dAttrs {
        /// Stride `[sh, sw]`.
        pub stride: [usize; 2] = [1, 1],
        /// Dilation `[dh, dw]`.
        pub dilation: [usize; 2] = [1, 1],
        /// Explicit padding `[top, left, bottom, right]`.
        pub pad: [usize; 4] = [0; 4],
        /// Number of groups; `C_in` and `O` are multiples of it.
        pub groups: usize = 1,
        /// Fused activation.
        pub act: Activation = Activation::None,
        /// Run-time quantization of the input (weight-only form only).
        pub dynamic: DynamicQuant = DynamicQuant::None,
    }

    /// Fully connected: `y[b, n] = sum_k x[b, k] * w[n, k] + bias[n]`, the
    /// input flattened to `[numel / K, K]`.
    pub struct FullyConnectedAttrs {
        /// Fused activation.
        pub act: Activation = Activation::None,
        /// Keep the input's leading dimensions: the result is the input's
        /// shape with the last dimension `N` instead of `[numel / K, N]`.
        pub keep_dims: bool = false,
        /// Run-time quantization of the input (weight-only form only).
        pub dynamic: DynamicQuant = DynamicQuant::None,
    }

    /// Attributes of `add`, `sub`, `mul`, `div` (numpy broadcasting).
    pub struct BinaryAttrs {
        /// Fused activation.
        pub act: Activation = Activation::None,
    }

    /// `clip`: clamp to `[min, max]` (real values).
    pub struct ClipAttrs {
        /// Lower bound (may be `-inf`).
        pub min: f32,
        /// Upper bound (may be `inf`).
        pub max: f32,
    }

    /// `leaky_relu`: `x >= 0 ? x : alpha * x`.
    pub struct LeakyReluAttrs {
        /// Slope for negative inputs.
        pub alpha: f32,
    }

    /// `elu`: `x >= 0 ? x : alpha * (exp(x) - 1)`.
    pub struct EluAttrs {
        /// Scale of the negative part.
        pub alpha: f32 = 1.0,
    }

    /// Attributes of `max_pool2d` and `avg_pool2d` (NHWC).
    pub struct Pool2dAttrs {
        /// Window `[kh, kw]`.
        pub kernel: [usize; 2],
        /// Stride `[sh, sw]`.
        pub stride: [usize; 2] = [1, 1],
        /// Explicit padding `[top, left, bottom, right]`.
        pub pad: [usize; 4] = [0; 4],
        /// `avg_pool2d` only: divide by the full window size instead of the
        /// number of in-image taps.
        pub count_include_pad: bool = false,
        /// Fused activation.
        pub act: Activation = Activation::None,
    }

    /// `mean`: average over `axes`.
    pub struct MeanAttrs {
        /// Reduced axes, strictly increasing.
        pub axes: Vec<usize>,
        /// Keep reduced axes as size 1.
        pub keep_dims: bool = false,
    }

    /// `reshape`: same elements in the same order, a new shape.
    pub struct ReshapeAttrs {
        /// The result shape (same number of elements).
        pub shape: Vec<usize>,
    }

    /// `transpose`: `out.shape[i] = in.shape[perm[i]]`.
    pub struct TransposeAttrs {
        /// A permutation of `0..rank`.
        pub perm: Vec<usize>,
    }

    /// `concat` along `axis`.
    pub struct ConcatAttrs {
        /// Concatenation axis.
        pub axis: usize,
    }

    /// `pad` with a constant.
    pub struct PadAttrs {
        /// Elements added before each dimension.
        pub before: Vec<usize>,
        /// Elements added after each dimension.
        pub after: Vec<usize>,
        /// Real value of the padding (quantized with the output's parameters).
        pub value: f32 = 0.0,
    }

    /// `slice`: elements `begin[d], begin[d] + step[d], ...` below `end[d]`
    /// of every dimension `d`.
    pub struct SliceAttrs {
        /// First index per dimension.
        pub begin: Vec<usize>,
        /// One past the last index per dimension (`begin <= end <= dim`).
        pub end: Vec<usize>,
        /// Step per dimension (positive).
        pub step: Vec<usize>,
    }

    /// `softmax` over one axis.
    pub struct SoftmaxAttrs {
        /// Inverse temperature.
        pub beta: f32 = 1.0,
        /// The normalised axis; negative counts from the end (`-1`: the
        /// last axis).
        pub axis: i64 = -1,
    }

    /// `quantize`: how a real operand rounds (a quantized operand is
    /// requantized with the fixed-point rules of §5.20 either way).
    pub struct QuantizeAttrs {
        /// Rounding of ties.
        pub round: Rounding = Rounding::HalfAway,
    }

    /// `batch_norm` (inference): per-channel affine normalisation over the
    /// last axis.
    pub struct BatchNormAttrs {
        /// Added to the variance.
        pub epsilon: f32 = 1e-5,
    }
}

impl Default for Conv2dAttrs {
    fn default() -> Self {
        Conv2dAttrs {
            stride: [1, 1],
            dilation: [1, 1],
            pad: [0; 4],
            groups: 1,
            act: Activation::None,
            dynamic: DynamicQuant::None,
        }
    }
}

impl Default for FullyConnectedAttrs {
    fn default() -> Self {
        FullyConnectedAttrs {
            act: Activation::None,
            keep_dims: false,
            dynamic: DynamicQuant::None,
        }
    }
}

impl Default for QuantizeAttrs {
    fn default() -> Self {
        QuantizeAttrs {
            round: Rounding::HalfAway,
        }
    }
}

impl Default for BinaryAttrs {
    fn default() -> Self {
        BinaryAttrs {
            act: Activation::None,
        }
    }
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

impl SoftmaxAttrs {
    /// Softmax over the last axis with `beta`.
    pub fn last_axis(beta: f32) -> Self {
        SoftmaxAttrs { beta, axis: -1 }
    }

    /// The normalised axis for an operand of rank `rank`, if in range.
    pub fn axis_for(&self, rank: usize) -> Option<usize> {
        let r = rank as i64;
        let a = if self.axis < 0 {
            self.axis + r
        } else {
            self.axis
        };
        (0..r).contains(&a).then_some(a as usize)
    }
}

impl Default for SoftmaxAttrs {
    fn default() -> Self {
        SoftmaxAttrs::last_axis(1.0)
    }
}

/// What kind of computation an op is; passes and backends dispatch on
/// families instead of listing ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpFamily {
    /// Weighted window or dense layer with optional bias: conv2d,
    /// fully_connected.
    Weighted,
    /// Matrix product of two activations.
    MatMul,
    /// Element-wise binary op with broadcasting.
    Binary,
    /// The same function applied to every element of one operand.
    Unary,
    /// Window reduction (pooling).
    Pool,
    /// Reduction over axes.
    Reduce,
    /// Normalisation along an axis (softmax, batch_norm).
    Normalize,
    /// Moves elements without arithmetic (dtype-generic).
    Movement,
    /// Changes the representation: quantize, dequantize.
    Convert,
}

/// How the quantization of an op's quantized result relates to its
/// operands: the rule the verifier checks and the quantizer follows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum QuantRule {
    /// Chosen freely (by the converter or the quantizer).
    Free,
    /// Equal to the operands' (which must agree): pooling, concat, data
    /// movement.
    SameAsInput,
    /// Fixed by the op for int8 results (TFLite's fixed output ranges).
    Fixed {
        /// Scale.
        scale: f32,
        /// Zero point.
        zero_point: i32,
    },
}

/// Marks a variadic op in the table: no upper bound on operands.
const MANY: usize = usize::MAX;

#[doc(hidden)]
macro_rules! __attrs_of {
    ($self:ident, $v:ident) => {};
    ($self:ident, $v:ident, $t:ty) => {
        if let Op::$v(a) = $self {
            return Some(a);
        }
    };
}

#[doc(hidden)]
macro_rules! __attr_keys {
    () => {
        &[]
    };
    ($t:ty) => {
        <$t>::KEYS
    };
}

/// The op table: generates [`Op`] and its descriptive methods.
macro_rules! define_ops {
    ($(
        $(#[$doc:meta])*
        $v:ident $(($attrs:ty))? = $name:literal, arity($lo:expr, $hi:expr), $fam:ident, $quant:expr;
    )*) => {
        /// An operation. Attributes are typed per op.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Op { $( $(#[$doc])* $v $(($attrs))?, )* }

        impl Op {
            /// Every op name, in table order.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// Text-form name.
            pub fn name(&self) -> &'static str {
                match self { $( Op::$v { .. } => $name, )* }
            }

            /// Allowed operand counts `(min, max)`; `max == usize::MAX`
            /// means variadic.
            pub fn arity(&self) -> (usize, usize) {
                match self { $( Op::$v { .. } => ($lo, $hi), )* }
            }

            /// The op's family.
            pub fn family(&self) -> OpFamily {
                match self { $( Op::$v { .. } => OpFamily::$fam, )* }
            }

            /// How a quantized result's parameters are determined.
            pub fn quant_rule(&self) -> QuantRule {
                match self { $( Op::$v { .. } => $quant, )* }
            }

            /// The attribute keys the op takes, in canonical order.
            pub fn attr_keys(&self) -> &'static [&'static str] {
                match self { $( Op::$v { .. } => __attr_keys!($($attrs)?), )* }
            }

            /// The op's attributes, if it has any.
            pub fn attrs(&self) -> Option<&dyn AttrSet> {
                $( __attrs_of!(self, $v $(, $attrs)?); )*
                None
            }

            /// Builds the op named `name` from its text-form attributes;
            /// `None` for an unknown name.
            pub fn from_text<'a>(
                name: &str,
                r: &mut AttrReader<'a>,
            ) -> Option<Result<Op, AttrError<'a>>> {
                let op = match name {
                    $( $name => Op::$v $( (match <$attrs>::read(r) {
                        Ok(a) => a,
                        Err(e) => return Some(Err(e)),
                    }) )?, )*
                    _ => return None,
                };
                let keys = op.attr_keys();
                Some(r.finish(keys).map(|()| op))
            }
        }
    };
}

const SIGMOID_Q: QuantRule = QuantRule::Fixed {
    scale: 1.0 / 256.0,
    zero_point: -128,
};

define_ops! {
    /// `conv2d(x, w [, bias])`.
    Conv2d(Conv2dAttrs) = "conv2d", arity(2, 3), Weighted, QuantRule::Free;
    /// `fully_connected(x, w [, bias])`.
    FullyConnected(FullyConnectedAttrs) = "fully_connected", arity(2, 3), Weighted, QuantRule::Free;
    /// `matmul(a, b)`: batched matrix product with broadcast batch dims.
    MatMul = "matmul", arity(2, 2), MatMul, QuantRule::Free;
    /// `add(a, b)`.
    Add(BinaryAttrs) = "add", arity(2, 2), Binary, QuantRule::Free;
    /// `sub(a, b)`.
    Sub(BinaryAttrs) = "sub", arity(2, 2), Binary, QuantRule::Free;
    /// `mul(a, b)`.
    Mul(BinaryAttrs) = "mul", arity(2, 2), Binary, QuantRule::Free;
    /// `div(a, b)`, f32 only.
    Div(BinaryAttrs) = "div", arity(2, 2), Binary, QuantRule::Free;
    /// `relu(x)`.
    Relu = "relu", arity(1, 1), Unary, QuantRule::Free;
    /// `relu6(x)`.
    Relu6 = "relu6", arity(1, 1), Unary, QuantRule::Free;
    /// `clip(x)`.
    Clip(ClipAttrs) = "clip", arity(1, 1), Unary, QuantRule::Free;
    /// `leaky_relu(x)`.
    LeakyRelu(LeakyReluAttrs) = "leaky_relu", arity(1, 1), Unary, QuantRule::Free;
    /// `elu(x)`.
    Elu(EluAttrs) = "elu", arity(1, 1), Unary, QuantRule::Free;
    /// `sigmoid(x)`.
    Sigmoid = "sigmoid", arity(1, 1), Unary, SIGMOID_Q;
    /// `tanh(x)`.
    Tanh = "tanh", arity(1, 1), Unary, QuantRule::Fixed { scale: 1.0 / 128.0, zero_point: 0 };
    /// `hard_swish(x) = x * relu6(x + 3) / 6`.
    HardSwish = "hard_swish", arity(1, 1), Unary, QuantRule::Free;
    /// `max_pool2d(x)`.
    MaxPool2d(Pool2dAttrs) = "max_pool2d", arity(1, 1), Pool, QuantRule::SameAsInput;
    /// `avg_pool2d(x)`.
    AvgPool2d(Pool2dAttrs) = "avg_pool2d", arity(1, 1), Pool, QuantRule::SameAsInput;
    /// `mean(x)`.
    Mean(MeanAttrs) = "mean", arity(1, 1), Reduce, QuantRule::Free;
    /// `reshape(x)`.
    Reshape(ReshapeAttrs) = "reshape", arity(1, 1), Movement, QuantRule::SameAsInput;
    /// `transpose(x)`.
    Transpose(TransposeAttrs) = "transpose", arity(1, 1), Movement, QuantRule::SameAsInput;
    /// `concat(x0, x1, ...)`.
    Concat(ConcatAttrs) = "concat", arity(1, MANY), Movement, QuantRule::SameAsInput;
    /// `pad(x)`.
    Pad(PadAttrs) = "pad", arity(1, 1), Movement, QuantRule::SameAsInput;
    /// `slice(x)`.
    Slice(SliceAttrs) = "slice", arity(1, 1), Movement, QuantRule::SameAsInput;
    /// `softmax(x)`.
    Softmax(SoftmaxAttrs) = "softmax", arity(1, 1), Normalize, SIGMOID_Q;
    /// `batch_norm(x, scale, bias, mean, var)`: f32 inference batch
    /// normalisation over the last axis.
    BatchNorm(BatchNormAttrs) = "batch_norm", arity(5, 5), Normalize, QuantRule::Free;
    /// `quantize(x)`: f32 to a quantized integer type, or requantize.
    Quantize(QuantizeAttrs) = "quantize", arity(1, 1), Convert, QuantRule::Free;
    /// `dequantize(x)`: quantized integer to f32.
    Dequantize = "dequantize", arity(1, 1), Convert, QuantRule::Free;
    /// `lookup(x, table)`: `table[byte(x)]` for every element of an 8-bit
    /// `x`; the 256-entry table is a constant of the result's dtype.
    Lookup = "lookup", arity(2, 2), Unary, QuantRule::Free;
}

impl Op {
    /// The fused activation, for ops that have one.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            Op::Conv2d(a) => Some(a.act),
            Op::FullyConnected(a) => Some(a.act),
            Op::Add(a) | Op::Sub(a) | Op::Mul(a) | Op::Div(a) => Some(a.act),
            Op::MaxPool2d(a) | Op::AvgPool2d(a) => Some(a.act),
            _ => None,
        }
    }

    /// Sets the fused activation; false (and no change) for ops without one.
    pub fn set_activation(&mut self, act: Activation) -> bool {
        match self {
            Op::Conv2d(a) => a.act = act,
            Op::FullyConnected(a) => a.act = act,
            Op::Add(a) | Op::Sub(a) | Op::Mul(a) | Op::Div(a) => a.act = act,
            Op::MaxPool2d(a) | Op::AvgPool2d(a) => a.act = act,
            _ => return false,
        }
        true
    }

    /// The run-time input quantization of a conv2d / fully_connected
    /// ([`DynamicQuant::None`] for every other op).
    pub fn dynamic_quant(&self) -> DynamicQuant {
        match self {
            Op::Conv2d(a) => a.dynamic,
            Op::FullyConnected(a) => a.dynamic,
            _ => DynamicQuant::None,
        }
    }

    /// True for ops that apply the same function to every element of one
    /// operand.
    pub fn is_unary_elementwise(&self) -> bool {
        self.family() == OpFamily::Unary
    }

    /// `(key, text)` of every attribute that differs from its default, in
    /// canonical order.
    pub fn attr_text(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(a) = self.attrs() {
            a.write(&mut out);
        }
        out
    }
}
