//! Element types of tensors.

use std::fmt;

/// The element type of a tensor value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// IEEE-754 binary32.
    F32,
    /// Signed 8-bit integer (the quantized activation/weight type).
    I8,
    /// Signed 4-bit integer, `-8..=7`: constant weights stored two per
    /// byte by the backend (one element per byte in the IR's data).
    I4,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 16-bit integer.
    I16,
    /// Signed 32-bit integer (quantized bias type).
    I32,
    /// Signed 64-bit integer.
    I64,
    /// Boolean, one byte per element (0 or 1).
    Bool,
}

impl DType {
    /// Every dtype, in a fixed order.
    pub const ALL: [DType; 8] = [
        DType::F32,
        DType::I8,
        DType::I4,
        DType::U8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::Bool,
    ];

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::I8 | DType::I4 | DType::U8 | DType::Bool => 1,
            DType::I16 => 2,
            DType::F32 | DType::I32 => 4,
            DType::I64 => 8,
        }
    }

    /// The name used in the text form (`f32`, `i8`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I8 => "i8",
            DType::I4 => "i4",
            DType::U8 => "u8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::Bool => "bool",
        }
    }

    /// Parses a text-form dtype name.
    pub fn from_name(s: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == s)
    }

    /// The representable integer range, for integer dtypes that can be quantized.
    pub fn int_range(self) -> Option<(i64, i64)> {
        match self {
            DType::I8 => Some((-128, 127)),
            DType::I4 => Some((-8, 7)),
            DType::U8 => Some((0, 255)),
            DType::I16 => Some((-32768, 32767)),
            DType::I32 => Some((i32::MIN as i64, i32::MAX as i64)),
            _ => None,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
