//! The subset of the TFLite flatbuffer schema (`schema.fbs`, file identifier
//! `TFL3`, schema version 3) that the frontend reads.
//!
//! Written from the format's facts, not generated: a field's vtable slot is
//! `4 + 2 * id`, where `id` is the field's position in its table (a union
//! field takes two ids, its `_type` discriminant first). Enum values are the
//! schema's.
//!
//! The module has three parts:
//! - constants: vtable slots per table, [`TensorType`] codes, the
//!   `BuiltinOperator` names, the `BuiltinOptions` union tags, `Padding` and
//!   `ActivationFunctionType`;
//! - [`verify`]: runs the `flatbuffers` crate's [`Verifier`] over the whole
//!   buffer with a [`Verifiable`] impl per table, so that every offset,
//!   vector and string the views below can reach has been bounds-checked;
//! - views ([`Model`], [`SubGraph`], [`Tensor`], ...): thin typed wrappers
//!   over [`crate::reader::Table`].

mod verify;
mod views;

pub(crate) use verify::verify;
pub(crate) use views::*;

/// Vtable slots of `table Model`.
pub(crate) mod model {
    pub const VERSION: u16 = 4;
    pub const OPERATOR_CODES: u16 = 6;
    pub const SUBGRAPHS: u16 = 8;
    pub const DESCRIPTION: u16 = 10;
    pub const BUFFERS: u16 = 12;
    pub const METADATA_BUFFER: u16 = 14;
    pub const METADATA: u16 = 16;
    pub const SIGNATURE_DEFS: u16 = 18;
}

/// Vtable slots of `table SubGraph`.
pub(crate) mod subgraph {
    pub const TENSORS: u16 = 4;
    pub const INPUTS: u16 = 6;
    pub const OUTPUTS: u16 = 8;
    pub const OPERATORS: u16 = 10;
    pub const NAME: u16 = 12;
}

/// Vtable slots of `table Tensor`.
pub(crate) mod tensor {
    pub const SHAPE: u16 = 4;
    pub const TYPE: u16 = 6;
    pub const BUFFER: u16 = 8;
    pub const NAME: u16 = 10;
    pub const QUANTIZATION: u16 = 12;
    pub const IS_VARIABLE: u16 = 14;
    pub const SPARSITY: u16 = 16;
    pub const SHAPE_SIGNATURE: u16 = 18;
    pub const HAS_RANK: u16 = 20;
    pub const VARIANT_TENSORS: u16 = 22;
    pub const EXTERNAL_BUFFER: u16 = 24;
}

/// Vtable slots of `table QuantizationParameters`.
pub(crate) mod quant {
    pub const MIN: u16 = 4;
    pub const MAX: u16 = 6;
    pub const SCALE: u16 = 8;
    pub const ZERO_POINT: u16 = 10;
    pub const DETAILS_TYPE: u16 = 12;
    pub const DETAILS: u16 = 14;
    pub const QUANTIZED_DIMENSION: u16 = 16;
}

/// Vtable slots of `table Operator`.
pub(crate) mod operator {
    pub const OPCODE_INDEX: u16 = 4;
    pub const INPUTS: u16 = 6;
    pub const OUTPUTS: u16 = 8;
    pub const BUILTIN_OPTIONS_TYPE: u16 = 10;
    pub const BUILTIN_OPTIONS: u16 = 12;
    pub const CUSTOM_OPTIONS: u16 = 14;
    pub const CUSTOM_OPTIONS_FORMAT: u16 = 16;
    pub const MUTATING_VARIABLE_INPUTS: u16 = 18;
    pub const INTERMEDIATES: u16 = 20;
    pub const LARGE_CUSTOM_OPTIONS_OFFSET: u16 = 22;
    pub const LARGE_CUSTOM_OPTIONS_SIZE: u16 = 24;
    pub const BUILTIN_OPTIONS_2_TYPE: u16 = 26;
    pub const BUILTIN_OPTIONS_2: u16 = 28;
    pub const DEBUG_METADATA_INDEX: u16 = 30;
}

/// Vtable slots of `table OperatorCode`.
pub(crate) mod opcode {
    pub const DEPRECATED_BUILTIN_CODE: u16 = 4;
    pub const CUSTOM_CODE: u16 = 6;
    pub const VERSION: u16 = 8;
    pub const BUILTIN_CODE: u16 = 10;
}

/// Vtable slots of `table Buffer`.
pub(crate) mod buffer {
    pub const DATA: u16 = 4;
    pub const OFFSET: u16 = 6;
    pub const SIZE: u16 = 8;
}

/// Vtable slots of the builtin options tables the frontend reads.
pub(crate) mod opts {
    /// `Conv2DOptions`.
    pub mod conv2d {
        pub const PADDING: u16 = 4;
        pub const STRIDE_W: u16 = 6;
        pub const STRIDE_H: u16 = 8;
        pub const FUSED_ACTIVATION: u16 = 10;
        pub const DILATION_W: u16 = 12;
        pub const DILATION_H: u16 = 14;
        pub const QUANTIZED_BIAS_TYPE: u16 = 16;
    }
    /// `DepthwiseConv2DOptions`.
    pub mod depthwise {
        pub const PADDING: u16 = 4;
        pub const STRIDE_W: u16 = 6;
        pub const STRIDE_H: u16 = 8;
        pub const DEPTH_MULTIPLIER: u16 = 10;
        pub const FUSED_ACTIVATION: u16 = 12;
        pub const DILATION_W: u16 = 14;
        pub const DILATION_H: u16 = 16;
    }
    /// `Pool2DOptions`.
    pub mod pool2d {
        pub const PADDING: u16 = 4;
        pub const STRIDE_W: u16 = 6;
        pub const STRIDE_H: u16 = 8;
        pub const FILTER_WIDTH: u16 = 10;
        pub const FILTER_HEIGHT: u16 = 12;
        pub const FUSED_ACTIVATION: u16 = 14;
    }
    /// `FullyConnectedOptions`.
    pub mod fully_connected {
        pub const FUSED_ACTIVATION: u16 = 4;
        pub const WEIGHTS_FORMAT: u16 = 6;
        pub const KEEP_NUM_DIMS: u16 = 8;
        pub const ASYMMETRIC_QUANTIZE_INPUTS: u16 = 10;
        pub const QUANTIZED_BIAS_TYPE: u16 = 12;
    }
    /// `SoftmaxOptions`.
    pub mod softmax {
        pub const BETA: u16 = 4;
    }
    /// `ConcatenationOptions`.
    pub mod concatenation {
        pub const AXIS: u16 = 4;
        pub const FUSED_ACTIVATION: u16 = 6;
    }
    /// `AddOptions`, `SubOptions`, `MulOptions` (same first field).
    pub mod binary {
        pub const FUSED_ACTIVATION: u16 = 4;
        pub const POT_SCALE_INT16: u16 = 6;
    }
    /// `ReducerOptions`.
    pub mod reducer {
        pub const KEEP_DIMS: u16 = 4;
    }
    /// `LeakyReluOptions`.
    pub mod leaky_relu {
        pub const ALPHA: u16 = 4;
    }
    /// `BatchMatMulOptions`.
    pub mod batch_matmul {
        pub const ADJ_X: u16 = 4;
        pub const ADJ_Y: u16 = 6;
        pub const ASYMMETRIC_QUANTIZE_INPUTS: u16 = 8;
    }
    /// `ReshapeOptions`.
    pub mod reshape {
        pub const NEW_SHAPE: u16 = 4;
    }
}

/// `union BuiltinOptions` tags (0 is NONE) of the options tables read (the
/// options of PAD, PADV2, TRANSPOSE, QUANTIZE, DEQUANTIZE and HARD_SWISH are
/// empty tables).
pub(crate) mod options_type {
    pub const CONV2D: u8 = 1;
    pub const DEPTHWISE_CONV2D: u8 = 2;
    pub const POOL2D: u8 = 5;
    pub const FULLY_CONNECTED: u8 = 8;
    pub const SOFTMAX: u8 = 9;
    pub const CONCATENATION: u8 = 10;
    pub const ADD: u8 = 11;
    pub const RESHAPE: u8 = 17;
    pub const MUL: u8 = 21;
    pub const REDUCER: u8 = 27;
    pub const SUB: u8 = 28;
    pub const LEAKY_RELU: u8 = 75;
    pub const BATCH_MATMUL: u8 = 101;
}

/// `union QuantizationDetails` tag of `CustomQuantization`.
const CUSTOM_QUANTIZATION: u8 = 1;

/// `enum TensorType : byte`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TensorType(pub i8);

impl TensorType {
    pub const FLOAT32: TensorType = TensorType(0);
    pub const INT32: TensorType = TensorType(2);
    pub const UINT8: TensorType = TensorType(3);
    pub const INT64: TensorType = TensorType(4);
    pub const BOOL: TensorType = TensorType(6);
    pub const INT16: TensorType = TensorType(7);
    pub const INT8: TensorType = TensorType(9);

    /// The schema's name for the type.
    pub fn name(self) -> String {
        const NAMES: [&str; 23] = [
            "FLOAT32",
            "FLOAT16",
            "INT32",
            "UINT8",
            "INT64",
            "STRING",
            "BOOL",
            "INT16",
            "COMPLEX64",
            "INT8",
            "FLOAT64",
            "COMPLEX128",
            "UINT64",
            "RESOURCE",
            "VARIANT",
            "UINT32",
            "UINT16",
            "INT4",
            "BFLOAT16",
            "INT2",
            "UINT4",
            "FLOAT8_E4M3FN",
            "FLOAT8_E5M2",
        ];
        usize::try_from(self.0)
            .ok()
            .and_then(|i| NAMES.get(i))
            .map_or_else(
                || format!("unknown tensor type {}", self.0),
                |s| s.to_string(),
            )
    }
}

/// `enum Padding : byte`.
pub(crate) const PADDING_SAME: i8 = 0;
/// `enum Padding : byte`.
pub(crate) const PADDING_VALID: i8 = 1;

/// `enum ActivationFunctionType : byte` names (NONE, RELU, RELU_N1_TO_1,
/// RELU6, TANH, SIGN_BIT).
pub(crate) const ACTIVATION_NAMES: [&str; 6] =
    ["NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT"];

/// `enum BuiltinOperator : int32` codes the frontend maps.
pub(crate) mod op {
    pub const ADD: i32 = 0;
    pub const AVERAGE_POOL_2D: i32 = 1;
    pub const CONCATENATION: i32 = 2;
    pub const CONV_2D: i32 = 3;
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    pub const DEQUANTIZE: i32 = 6;
    pub const FULLY_CONNECTED: i32 = 9;
    pub const LOGISTIC: i32 = 14;
    pub const MAX_POOL_2D: i32 = 17;
    pub const MUL: i32 = 18;
    pub const RELU: i32 = 19;
    pub const RELU_N1_TO_1: i32 = 20;
    pub const RELU6: i32 = 21;
    pub const RESHAPE: i32 = 22;
    pub const SOFTMAX: i32 = 25;
    pub const TANH: i32 = 28;
    pub const CUSTOM: i32 = 32;
    pub const PAD: i32 = 34;
    pub const TRANSPOSE: i32 = 39;
    pub const MEAN: i32 = 40;
    pub const SUB: i32 = 41;
    pub const PADV2: i32 = 60;
    pub const LEAKY_RELU: i32 = 98;
    pub const QUANTIZE: i32 = 114;
    pub const HARD_SWISH: i32 = 117;
    pub const BATCH_MATMUL: i32 = 126;
}

/// Names of `enum BuiltinOperator`, indexed by code (0..=209).
const BUILTIN_NAMES: [&str; 210] = [
    "ADD",
    "AVERAGE_POOL_2D",
    "CONCATENATION",
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "DEPTH_TO_SPACE",
    "DEQUANTIZE",
    "EMBEDDING_LOOKUP",
    "FLOOR",
    "FULLY_CONNECTED",
    "HASHTABLE_LOOKUP",
    "L2_NORMALIZATION",
    "L2_POOL_2D",
    "LOCAL_RESPONSE_NORMALIZATION",
    "LOGISTIC",
    "LSH_PROJECTION",
    "LSTM",
    "MAX_POOL_2D",
    "MUL",
    "RELU",
    "RELU_N1_TO_1",
    "RELU6",
    "RESHAPE",
    "RESIZE_BILINEAR",
    "RNN",
    "SOFTMAX",
    "SPACE_TO_DEPTH",
    "SVDF",
    "TANH",
    "CONCAT_EMBEDDINGS",
    "SKIP_GRAM",
    "CALL",
    "CUSTOM",
    "EMBEDDING_LOOKUP_SPARSE",
    "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN",
    "GATHER",
    "BATCH_TO_SPACE_ND",
    "SPACE_TO_BATCH_ND",
    "TRANSPOSE",
    "MEAN",
    "SUB",
    "DIV",
    "SQUEEZE",
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "STRIDED_SLICE",
    "BIDIRECTIONAL_SEQUENCE_RNN",
    "EXP",
    "TOPK_V2",
    "SPLIT",
    "LOG_SOFTMAX",
    "DELEGATE",
    "BIDIRECTIONAL_SEQUENCE_LSTM",
    "CAST",
    "PRELU",
    "MAXIMUM",
    "ARG_MAX",
    "MINIMUM",
    "LESS",
    "NEG",
    "PADV2",
    "GREATER",
    "GREATER_EQUAL",
    "LESS_EQUAL",
    "SELECT",
    "SLICE",
    "SIN",
    "TRANSPOSE_CONV",
    "SPARSE_TO_DENSE",
    "TILE",
    "EXPAND_DIMS",
    "EQUAL",
    "NOT_EQUAL",
    "LOG",
    "SUM",
    "SQRT",
    "RSQRT",
    "SHAPE",
    "POW",
    "ARG_MIN",
    "FAKE_QUANT",
    "REDUCE_PROD",
    "REDUCE_MAX",
    "PACK",
    "LOGICAL_OR",
    "ONE_HOT",
    "LOGICAL_AND",
    "LOGICAL_NOT",
    "UNPACK",
    "REDUCE_MIN",
    "FLOOR_DIV",
    "REDUCE_ANY",
    "SQUARE",
    "ZEROS_LIKE",
    "FILL",
    "FLOOR_MOD",
    "RANGE",
    "RESIZE_NEAREST_NEIGHBOR",
    "LEAKY_RELU",
    "SQUARED_DIFFERENCE",
    "MIRROR_PAD",
    "ABS",
    "SPLIT_V",
    "UNIQUE",
    "CEIL",
    "REVERSE_V2",
    "ADD_N",
    "GATHER_ND",
    "COS",
    "WHERE",
    "RANK",
    "ELU",
    "REVERSE_SEQUENCE",
    "MATRIX_DIAG",
    "QUANTIZE",
    "MATRIX_SET_DIAG",
    "ROUND",
    "HARD_SWISH",
    "IF",
    "WHILE",
    "NON_MAX_SUPPRESSION_V4",
    "NON_MAX_SUPPRESSION_V5",
    "SCATTER_ND",
    "SELECT_V2",
    "DENSIFY",
    "SEGMENT_SUM",
    "BATCH_MATMUL",
    "PLACEHOLDER_FOR_GREATER_OP_CODES",
    "CUMSUM",
    "CALL_ONCE",
    "BROADCAST_TO",
    "RFFT2D",
    "CONV_3D",
    "IMAG",
    "REAL",
    "COMPLEX_ABS",
    "HASHTABLE",
    "HASHTABLE_FIND",
    "HASHTABLE_IMPORT",
    "HASHTABLE_SIZE",
    "REDUCE_ALL",
    "CONV_3D_TRANSPOSE",
    "VAR_HANDLE",
    "READ_VARIABLE",
    "ASSIGN_VARIABLE",
    "BROADCAST_ARGS",
    "RANDOM_STANDARD_NORMAL",
    "BUCKETIZE",
    "RANDOM_UNIFORM",
    "MULTINOMIAL",
    "GELU",
    "DYNAMIC_UPDATE_SLICE",
    "RELU_0_TO_1",
    "UNSORTED_SEGMENT_PROD",
    "UNSORTED_SEGMENT_MAX",
    "UNSORTED_SEGMENT_SUM",
    "ATAN2",
    "UNSORTED_SEGMENT_MIN",
    "SIGN",
    "BITCAST",
    "BITWISE_XOR",
    "RIGHT_SHIFT",
    "STABLEHLO_LOGISTIC",
    "STABLEHLO_ADD",
    "STABLEHLO_DIVIDE",
    "STABLEHLO_MULTIPLY",
    "STABLEHLO_MAXIMUM",
    "STABLEHLO_RESHAPE",
    "STABLEHLO_CLAMP",
    "STABLEHLO_CONCATENATE",
    "STABLEHLO_BROADCAST_IN_DIM",
    "STABLEHLO_CONVOLUTION",
    "STABLEHLO_SLICE",
    "STABLEHLO_CUSTOM_CALL",
    "STABLEHLO_REDUCE",
    "STABLEHLO_ABS",
    "STABLEHLO_AND",
    "STABLEHLO_COSINE",
    "STABLEHLO_EXPONENTIAL",
    "STABLEHLO_FLOOR",
    "STABLEHLO_LOG",
    "STABLEHLO_MINIMUM",
    "STABLEHLO_NEGATE",
    "STABLEHLO_OR",
    "STABLEHLO_POWER",
    "STABLEHLO_REMAINDER",
    "STABLEHLO_RSQRT",
    "STABLEHLO_SELECT",
    "STABLEHLO_SUBTRACT",
    "STABLEHLO_TANH",
    "STABLEHLO_SCATTER",
    "STABLEHLO_COMPARE",
    "STABLEHLO_CONVERT",
    "STABLEHLO_DYNAMIC_SLICE",
    "STABLEHLO_DYNAMIC_UPDATE_SLICE",
    "STABLEHLO_PAD",
    "STABLEHLO_IOTA",
    "STABLEHLO_DOT_GENERAL",
    "STABLEHLO_REDUCE_WINDOW",
    "STABLEHLO_SORT",
    "STABLEHLO_WHILE",
    "STABLEHLO_GATHER",
    "STABLEHLO_TRANSPOSE",
    "DILATE",
    "STABLEHLO_RNG_BIT_GENERATOR",
    "REDUCE_WINDOW",
    "STABLEHLO_COMPOSITE",
    "STABLEHLO_SHIFT_LEFT",
    "STABLEHLO_CBRT",
    "STABLEHLO_CASE",
];

/// The schema name of builtin operator `code`, if it is one.
pub(crate) fn builtin_name(code: i32) -> Option<&'static str> {
    usize::try_from(code)
        .ok()
        .and_then(|i| BUILTIN_NAMES.get(i))
        .copied()
}
