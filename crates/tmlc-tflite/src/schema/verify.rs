//! [`verify`]: the `flatbuffers` crate's [`Verifier`] over the whole
//! buffer, with a [`Verifiable`] impl per table the frontend reads.

use super::*;
use flatbuffers::{
    ForwardsUOffset, InvalidFlatbuffer, Vector, Verifiable, Verifier, VerifierOptions,
};

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
