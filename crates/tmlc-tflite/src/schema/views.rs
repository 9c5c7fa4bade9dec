//! Views: thin typed wrappers over [`crate::reader::Table`] for the
//! tables of a verified buffer.

use super::*;
use crate::reader::{Table, Tables, Vector as RVector};
use crate::TfliteError;

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
