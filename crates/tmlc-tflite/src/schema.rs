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

use crate::reader::{Table, Tables, Vector as RVector};
use crate::TfliteError;
use flatbuffers::{
    ForwardsUOffset, InvalidFlatbuffer, Vector, Verifiable, Verifier, VerifierOptions,
};

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

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

type Off<T> = ForwardsUOffset<T>;
type VecOf<T> = Vector<'static, ForwardsUOffset<T>>;
type Str = ForwardsUOffset<&'static str>;
type Scalars<T> = ForwardsUOffset<Vector<'static, T>>;

/// A table the frontend never reads: only its vtable is checked.
struct OpaqueV;
impl Verifiable for OpaqueV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?.finish();
        Ok(())
    }
}

struct ModelV;
impl Verifiable for ModelV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<u32>("version", model::VERSION, false)?
            .visit_field::<Off<VecOf<OperatorCodeV>>>(
                "operator_codes",
                model::OPERATOR_CODES,
                false,
            )?
            .visit_field::<Off<VecOf<SubGraphV>>>("subgraphs", model::SUBGRAPHS, false)?
            .visit_field::<Str>("description", model::DESCRIPTION, false)?
            .visit_field::<Off<VecOf<BufferV>>>("buffers", model::BUFFERS, false)?
            .visit_field::<Scalars<i32>>("metadata_buffer", model::METADATA_BUFFER, false)?
            .visit_field::<Off<VecOf<OpaqueV>>>("metadata", model::METADATA, false)?
            .visit_field::<Off<VecOf<OpaqueV>>>("signature_defs", model::SIGNATURE_DEFS, false)?
            .finish();
        Ok(())
    }
}

struct OperatorCodeV;
impl Verifiable for OperatorCodeV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<i8>(
                "deprecated_builtin_code",
                opcode::DEPRECATED_BUILTIN_CODE,
                false,
            )?
            .visit_field::<Str>("custom_code", opcode::CUSTOM_CODE, false)?
            .visit_field::<i32>("version", opcode::VERSION, false)?
            .visit_field::<i32>("builtin_code", opcode::BUILTIN_CODE, false)?
            .finish();
        Ok(())
    }
}

struct SubGraphV;
impl Verifiable for SubGraphV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<Off<VecOf<TensorV>>>("tensors", subgraph::TENSORS, false)?
            .visit_field::<Scalars<i32>>("inputs", subgraph::INPUTS, false)?
            .visit_field::<Scalars<i32>>("outputs", subgraph::OUTPUTS, false)?
            .visit_field::<Off<VecOf<OperatorV>>>("operators", subgraph::OPERATORS, false)?
            .visit_field::<Str>("name", subgraph::NAME, false)?
            .finish();
        Ok(())
    }
}

struct TensorV;
impl Verifiable for TensorV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<Scalars<i32>>("shape", tensor::SHAPE, false)?
            .visit_field::<i8>("type", tensor::TYPE, false)?
            .visit_field::<u32>("buffer", tensor::BUFFER, false)?
            .visit_field::<Str>("name", tensor::NAME, false)?
            .visit_field::<Off<QuantizationV>>("quantization", tensor::QUANTIZATION, false)?
            .visit_field::<bool>("is_variable", tensor::IS_VARIABLE, false)?
            .visit_field::<Off<OpaqueV>>("sparsity", tensor::SPARSITY, false)?
            .visit_field::<Scalars<i32>>("shape_signature", tensor::SHAPE_SIGNATURE, false)?
            .visit_field::<bool>("has_rank", tensor::HAS_RANK, false)?
            .visit_field::<Off<VecOf<OpaqueV>>>("variant_tensors", tensor::VARIANT_TENSORS, false)?
            .visit_field::<u32>("external_buffer", tensor::EXTERNAL_BUFFER, false)?
            .finish();
        Ok(())
    }
}

struct QuantizationV;
impl Verifiable for QuantizationV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        let mut t = v
            .visit_table(pos)?
            .visit_field::<Scalars<f32>>("min", quant::MIN, false)?
            .visit_field::<Scalars<f32>>("max", quant::MAX, false)?
            .visit_field::<Scalars<f32>>("scale", quant::SCALE, false)?
            .visit_field::<Scalars<i64>>("zero_point", quant::ZERO_POINT, false)?
            .visit_field::<u8>("details_type", quant::DETAILS_TYPE, false)?
            .visit_field::<i32>("quantized_dimension", quant::QUANTIZED_DIMENSION, false)?;
        // Every details variant is a table; only the tag is read later (any
        // non-NONE tag is rejected), so a vtable check is enough.
        let key = t.deref(quant::DETAILS_TYPE)?;
        if let (Some(k), Some(p)) = (key, t.deref(quant::DETAILS)?) {
            let tag = t.verifier().get_u8(k)?;
            if tag == CUSTOM_QUANTIZATION {
                t.verifier()
                    .verify_union_variant::<Off<CustomQuantizationV>>("CustomQuantization", p)?;
            } else if tag != 0 {
                t.verifier()
                    .verify_union_variant::<Off<OpaqueV>>("QuantizationDetails", p)?;
            }
        }
        t.finish();
        Ok(())
    }
}

struct CustomQuantizationV;
impl Verifiable for CustomQuantizationV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<Scalars<u8>>("custom", 4, false)?
            .finish();
        Ok(())
    }
}

struct BufferV;
impl Verifiable for BufferV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<Scalars<u8>>("data", buffer::DATA, false)?
            .visit_field::<u64>("offset", buffer::OFFSET, false)?
            .visit_field::<u64>("size", buffer::SIZE, false)?
            .finish();
        Ok(())
    }
}

struct OperatorV;
impl Verifiable for OperatorV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        let mut t = v
            .visit_table(pos)?
            .visit_field::<u32>("opcode_index", operator::OPCODE_INDEX, false)?
            .visit_field::<Scalars<i32>>("inputs", operator::INPUTS, false)?
            .visit_field::<Scalars<i32>>("outputs", operator::OUTPUTS, false)?
            .visit_field::<u8>(
                "builtin_options_type",
                operator::BUILTIN_OPTIONS_TYPE,
                false,
            )?
            .visit_field::<Scalars<u8>>("custom_options", operator::CUSTOM_OPTIONS, false)?
            .visit_field::<i8>(
                "custom_options_format",
                operator::CUSTOM_OPTIONS_FORMAT,
                false,
            )?
            .visit_field::<Scalars<bool>>(
                "mutating_variable_inputs",
                operator::MUTATING_VARIABLE_INPUTS,
                false,
            )?
            .visit_field::<Scalars<i32>>("intermediates", operator::INTERMEDIATES, false)?
            .visit_field::<u64>(
                "large_custom_options_offset",
                operator::LARGE_CUSTOM_OPTIONS_OFFSET,
                false,
            )?
            .visit_field::<u64>(
                "large_custom_options_size",
                operator::LARGE_CUSTOM_OPTIONS_SIZE,
                false,
            )?
            .visit_field::<u8>(
                "builtin_options_2_type",
                operator::BUILTIN_OPTIONS_2_TYPE,
                false,
            )?
            .visit_field::<i32>(
                "debug_metadata_index",
                operator::DEBUG_METADATA_INDEX,
                false,
            )?;
        // builtin_options: verify the variants the frontend reads with their
        // fields; any other variant is a table whose vtable is checked (its
        // contents are never read). A tag without a value reads as "no
        // options"; a value with tag NONE is ignored.
        let key = t.deref(operator::BUILTIN_OPTIONS_TYPE)?;
        if let (Some(k), Some(p)) = (key, t.deref(operator::BUILTIN_OPTIONS)?) {
            let tag = t.verifier().get_u8(k)?;
            verify_builtin_options(t.verifier(), tag, p)?;
        }
        let key = t.deref(operator::BUILTIN_OPTIONS_2_TYPE)?;
        if let (Some(k), Some(p)) = (key, t.deref(operator::BUILTIN_OPTIONS_2)?) {
            if t.verifier().get_u8(k)? != 0 {
                t.verifier()
                    .verify_union_variant::<Off<OpaqueV>>("BuiltinOptions2", p)?;
            }
        }
        t.finish();
        Ok(())
    }
}

/// Declares a `Verifiable` marker for an options table from its scalar
/// fields (all options tables the frontend reads hold only scalars, except
/// `ReshapeOptions`).
macro_rules! options_verifier {
    ($name:ident { $($field:literal : $ty:ty = $slot:expr),* $(,)? }) => {
        struct $name;
        impl Verifiable for $name {
            fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
                v.visit_table(pos)?
                    $(.visit_field::<$ty>($field, $slot, false)?)*
                    .finish();
                Ok(())
            }
        }
    };
}

options_verifier!(Conv2DOptionsV {
    "padding": i8 = opts::conv2d::PADDING,
    "stride_w": i32 = opts::conv2d::STRIDE_W,
    "stride_h": i32 = opts::conv2d::STRIDE_H,
    "fused_activation_function": i8 = opts::conv2d::FUSED_ACTIVATION,
    "dilation_w_factor": i32 = opts::conv2d::DILATION_W,
    "dilation_h_factor": i32 = opts::conv2d::DILATION_H,
    "quantized_bias_type": i8 = opts::conv2d::QUANTIZED_BIAS_TYPE,
});
options_verifier!(DepthwiseConv2DOptionsV {
    "padding": i8 = opts::depthwise::PADDING,
    "stride_w": i32 = opts::depthwise::STRIDE_W,
    "stride_h": i32 = opts::depthwise::STRIDE_H,
    "depth_multiplier": i32 = opts::depthwise::DEPTH_MULTIPLIER,
    "fused_activation_function": i8 = opts::depthwise::FUSED_ACTIVATION,
    "dilation_w_factor": i32 = opts::depthwise::DILATION_W,
    "dilation_h_factor": i32 = opts::depthwise::DILATION_H,
});
options_verifier!(Pool2DOptionsV {
    "padding": i8 = opts::pool2d::PADDING,
    "stride_w": i32 = opts::pool2d::STRIDE_W,
    "stride_h": i32 = opts::pool2d::STRIDE_H,
    "filter_width": i32 = opts::pool2d::FILTER_WIDTH,
    "filter_height": i32 = opts::pool2d::FILTER_HEIGHT,
    "fused_activation_function": i8 = opts::pool2d::FUSED_ACTIVATION,
});
options_verifier!(FullyConnectedOptionsV {
    "fused_activation_function": i8 = opts::fully_connected::FUSED_ACTIVATION,
    "weights_format": i8 = opts::fully_connected::WEIGHTS_FORMAT,
    "keep_num_dims": bool = opts::fully_connected::KEEP_NUM_DIMS,
    "asymmetric_quantize_inputs": bool = opts::fully_connected::ASYMMETRIC_QUANTIZE_INPUTS,
    "quantized_bias_type": i8 = opts::fully_connected::QUANTIZED_BIAS_TYPE,
});
options_verifier!(SoftmaxOptionsV { "beta": f32 = opts::softmax::BETA });
options_verifier!(ConcatenationOptionsV {
    "axis": i32 = opts::concatenation::AXIS,
    "fused_activation_function": i8 = opts::concatenation::FUSED_ACTIVATION,
});
options_verifier!(BinaryOptionsV {
    "fused_activation_function": i8 = opts::binary::FUSED_ACTIVATION,
    "pot_scale_int16": bool = opts::binary::POT_SCALE_INT16,
});
options_verifier!(ReducerOptionsV { "keep_dims": bool = opts::reducer::KEEP_DIMS });
options_verifier!(LeakyReluOptionsV { "alpha": f32 = opts::leaky_relu::ALPHA });
options_verifier!(BatchMatMulOptionsV {
    "adj_x": bool = opts::batch_matmul::ADJ_X,
    "adj_y": bool = opts::batch_matmul::ADJ_Y,
    "asymmetric_quantize_inputs": bool = opts::batch_matmul::ASYMMETRIC_QUANTIZE_INPUTS,
});
options_verifier!(ReshapeOptionsV { "new_shape": Scalars<i32> = opts::reshape::NEW_SHAPE });

fn verify_builtin_options(v: &mut Verifier, tag: u8, pos: usize) -> Result<(), InvalidFlatbuffer> {
    use options_type as o;
    match tag {
        0 => Ok(()),
        o::CONV2D => v.verify_union_variant::<Off<Conv2DOptionsV>>("Conv2DOptions", pos),
        o::DEPTHWISE_CONV2D => {
            v.verify_union_variant::<Off<DepthwiseConv2DOptionsV>>("DepthwiseConv2DOptions", pos)
        }
        o::POOL2D => v.verify_union_variant::<Off<Pool2DOptionsV>>("Pool2DOptions", pos),
        o::FULLY_CONNECTED => {
            v.verify_union_variant::<Off<FullyConnectedOptionsV>>("FullyConnectedOptions", pos)
        }
        o::SOFTMAX => v.verify_union_variant::<Off<SoftmaxOptionsV>>("SoftmaxOptions", pos),
        o::CONCATENATION => {
            v.verify_union_variant::<Off<ConcatenationOptionsV>>("ConcatenationOptions", pos)
        }
        o::ADD | o::SUB | o::MUL => {
            v.verify_union_variant::<Off<BinaryOptionsV>>("BinaryOptions", pos)
        }
        o::REDUCER => v.verify_union_variant::<Off<ReducerOptionsV>>("ReducerOptions", pos),
        o::LEAKY_RELU => v.verify_union_variant::<Off<LeakyReluOptionsV>>("LeakyReluOptions", pos),
        o::BATCH_MATMUL => {
            v.verify_union_variant::<Off<BatchMatMulOptionsV>>("BatchMatMulOptions", pos)
        }
        o::RESHAPE => v.verify_union_variant::<Off<ReshapeOptionsV>>("ReshapeOptions", pos),
        _ => v.verify_union_variant::<Off<OpaqueV>>("BuiltinOptions", pos),
    }
}

/// Verifier limits for a file of `len` bytes.
///
/// - `max_depth`: the schema nests at most 6 tables deep (Model, SubGraph,
///   Tensor, QuantizationParameters, details); 32 leaves room.
/// - `max_tables`: a table is at least 4 bytes (its soffset), so a file
///   cannot hold more than `len / 4` distinct ones; shared tables are counted
///   per visit, so allow twice that.
/// - `max_apparent_size`: the bytes visited, counting shared data once per
///   reference. Bounded by a small multiple of the file so that a file whose
///   vectors all point at one large table cannot make the import slow or the
///   allocations large.
pub(crate) fn verifier_options(len: usize) -> VerifierOptions {
    VerifierOptions {
        max_depth: 32,
        max_tables: (len / 2).max(64),
        max_apparent_size: len.saturating_mul(4).saturating_add(1 << 16).min(1 << 31),
        ignore_missing_null_terminator: false,
    }
}

/// Verifies the whole buffer as a `Model` root table, the way
/// `flatbuffers::root::<Model>` does: the root `uoffset` at byte 0, then
/// every table, vector and string reachable from it.
pub(crate) fn verify(buf: &[u8]) -> Result<(), InvalidFlatbuffer> {
    let opts = verifier_options(buf.len());
    let mut v = Verifier::new(&opts, buf);
    <ForwardsUOffset<ModelV>>::run_verifier(&mut v, 0)
}

// ---------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------

/// `table Model`.
#[derive(Clone, Copy)]
pub(crate) struct Model<'a>(pub Table<'a>);

impl<'a> Model<'a> {
    /// The root table of a verified buffer.
    pub fn root(buf: &'a [u8]) -> Result<Model<'a>, TfliteError> {
        Ok(Model(Table::root(buf)?))
    }
    pub fn version(&self) -> Result<u32, TfliteError> {
        self.0.scalar(model::VERSION, 0u32)
    }
    pub fn operator_codes(&self) -> Result<Option<Tables<'a>>, TfliteError> {
        self.0.tables(model::OPERATOR_CODES)
    }
    pub fn subgraphs(&self) -> Result<Option<Tables<'a>>, TfliteError> {
        self.0.tables(model::SUBGRAPHS)
    }
    pub fn buffers(&self) -> Result<Option<Tables<'a>>, TfliteError> {
        self.0.tables(model::BUFFERS)
    }
}

/// `table SubGraph`.
#[derive(Clone, Copy)]
pub(crate) struct SubGraph<'a>(pub Table<'a>);

impl<'a> SubGraph<'a> {
    pub fn tensors(&self) -> Result<Option<Tables<'a>>, TfliteError> {
        self.0.tables(subgraph::TENSORS)
    }
    pub fn inputs(&self) -> Result<Option<RVector<'a, i32>>, TfliteError> {
        self.0.vector(subgraph::INPUTS)
    }
    pub fn outputs(&self) -> Result<Option<RVector<'a, i32>>, TfliteError> {
        self.0.vector(subgraph::OUTPUTS)
    }
    pub fn operators(&self) -> Result<Option<Tables<'a>>, TfliteError> {
        self.0.tables(subgraph::OPERATORS)
    }
}

/// `table Tensor`.
#[derive(Clone, Copy)]
pub(crate) struct Tensor<'a>(pub Table<'a>);

impl<'a> Tensor<'a> {
    pub fn shape(&self) -> Result<Option<RVector<'a, i32>>, TfliteError> {
        self.0.vector(tensor::SHAPE)
    }
    pub fn ty(&self) -> Result<TensorType, TfliteError> {
        Ok(TensorType(self.0.scalar(tensor::TYPE, 0i8)?))
    }
    pub fn buffer(&self) -> Result<u32, TfliteError> {
        self.0.scalar(tensor::BUFFER, 0u32)
    }
    pub fn name(&self) -> Result<Option<String>, TfliteError> {
        self.0.string(tensor::NAME)
    }
    pub fn quantization(&self) -> Result<Option<Quantization<'a>>, TfliteError> {
        Ok(self.0.table(tensor::QUANTIZATION)?.map(Quantization))
    }
    pub fn is_variable(&self) -> Result<bool, TfliteError> {
        self.0.scalar(tensor::IS_VARIABLE, false)
    }
    pub fn has_sparsity(&self) -> Result<bool, TfliteError> {
        self.0.has(tensor::SPARSITY)
    }
    pub fn external_buffer(&self) -> Result<u32, TfliteError> {
        self.0.scalar(tensor::EXTERNAL_BUFFER, 0u32)
    }
}

/// `table QuantizationParameters`.
#[derive(Clone, Copy)]
pub(crate) struct Quantization<'a>(pub Table<'a>);

impl<'a> Quantization<'a> {
    pub fn scale(&self) -> Result<Option<RVector<'a, f32>>, TfliteError> {
        self.0.vector(quant::SCALE)
    }
    pub fn zero_point(&self) -> Result<Option<RVector<'a, i64>>, TfliteError> {
        self.0.vector(quant::ZERO_POINT)
    }
    pub fn details_type(&self) -> Result<u8, TfliteError> {
        self.0.scalar(quant::DETAILS_TYPE, 0u8)
    }
    pub fn quantized_dimension(&self) -> Result<i32, TfliteError> {
        self.0.scalar(quant::QUANTIZED_DIMENSION, 0i32)
    }
}

/// `table Buffer`.
#[derive(Clone, Copy)]
pub(crate) struct Buffer<'a>(pub Table<'a>);

impl<'a> Buffer<'a> {
    pub fn data(&self) -> Result<Option<RVector<'a, u8>>, TfliteError> {
        self.0.vector(buffer::DATA)
    }
    pub fn offset(&self) -> Result<u64, TfliteError> {
        self.0.scalar(buffer::OFFSET, 0u64)
    }
    pub fn size(&self) -> Result<u64, TfliteError> {
        self.0.scalar(buffer::SIZE, 0u64)
    }
}

/// `table OperatorCode`.
#[derive(Clone, Copy)]
pub(crate) struct OperatorCode<'a>(pub Table<'a>);

impl OperatorCode<'_> {
    /// The builtin code: `max(deprecated_builtin_code, builtin_code)`. Old
    /// files only set the `byte` field; new files set both, with the
    /// deprecated one saturated at 127 (PLACEHOLDER_FOR_GREATER_OP_CODES)
    /// for codes above it.
    pub fn code(&self) -> Result<i32, TfliteError> {
        let dep = self.0.scalar(opcode::DEPRECATED_BUILTIN_CODE, 0i8)? as i32;
        let new = self.0.scalar(opcode::BUILTIN_CODE, 0i32)?;
        Ok(dep.max(new))
    }
    pub fn custom_code(&self) -> Result<Option<String>, TfliteError> {
        self.0.string(opcode::CUSTOM_CODE)
    }
}

/// `table Operator`.
#[derive(Clone, Copy)]
pub(crate) struct Operator<'a>(pub Table<'a>);

impl<'a> Operator<'a> {
    pub fn opcode_index(&self) -> Result<u32, TfliteError> {
        self.0.scalar(operator::OPCODE_INDEX, 0u32)
    }
    pub fn inputs(&self) -> Result<Option<RVector<'a, i32>>, TfliteError> {
        self.0.vector(operator::INPUTS)
    }
    pub fn outputs(&self) -> Result<Option<RVector<'a, i32>>, TfliteError> {
        self.0.vector(operator::OUTPUTS)
    }
    /// The builtin options table, when its union tag is `tag`.
    pub fn options(&self, tag: u8) -> Result<Option<Table<'a>>, TfliteError> {
        if self.0.scalar(operator::BUILTIN_OPTIONS_TYPE, 0u8)? != tag {
            return Ok(None);
        }
        self.0.table(operator::BUILTIN_OPTIONS)
    }
}
