//! Tensor contents: constants in the graph, and values in the interpreter.

use crate::DType;

/// Typed, row-major element storage.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    /// `f32` elements.
    F32(Vec<f32>),
    /// `i8` elements.
    I8(Vec<i8>),
    /// `i4` elements, one per byte (`-8..=7`).
    I4(Vec<i8>),
    /// `u8` elements.
    U8(Vec<u8>),
    /// `i16` elements.
    I16(Vec<i16>),
    /// `i32` elements.
    I32(Vec<i32>),
    /// `i64` elements.
    I64(Vec<i64>),
    /// `bool` elements.
    Bool(Vec<bool>),
}

impl TensorData {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::I8(_) => DType::I8,
            TensorData::I4(_) => DType::I4,
            TensorData::U8(_) => DType::U8,
            TensorData::I16(_) => DType::I16,
            TensorData::I32(_) => DType::I32,
            TensorData::I64(_) => DType::I64,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::I8(v) | TensorData::I4(v) => v.len(),
            TensorData::U8(v) => v.len(),
            TensorData::I16(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::Bool(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `n` zero elements of `dtype`.
    pub fn zeros(dtype: DType, n: usize) -> TensorData {
        match dtype {
            DType::F32 => TensorData::F32(vec![0.0; n]),
            DType::I8 => TensorData::I8(vec![0; n]),
            DType::I4 => TensorData::I4(vec![0; n]),
            DType::U8 => TensorData::U8(vec![0; n]),
            DType::I16 => TensorData::I16(vec![0; n]),
            DType::I32 => TensorData::I32(vec![0; n]),
            DType::I64 => TensorData::I64(vec![0; n]),
            DType::Bool => TensorData::Bool(vec![false; n]),
        }
    }

    /// Little-endian bytes of the elements.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I8(v) | TensorData::I4(v) => v.iter().map(|&x| x as u8).collect(),
            TensorData::U8(v) => v.clone(),
            TensorData::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::Bool(v) => v.iter().map(|&x| x as u8).collect(),
        }
    }

    /// Decodes little-endian bytes. Returns `None` when the length is not a
    /// multiple of the element size, or a bool byte is not 0 or 1.
    pub fn from_le_bytes(dtype: DType, bytes: &[u8]) -> Option<TensorData> {
        if bytes.len() % dtype.size() != 0 {
            return None;
        }
        fn chunks<const N: usize, T>(b: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
            b.chunks_exact(N)
                .map(|c| {
                    let mut a = [0u8; N];
                    a.copy_from_slice(c);
                    f(a)
                })
                .collect()
        }
        Some(match dtype {
            DType::F32 => TensorData::F32(chunks(bytes, f32::from_le_bytes)),
            DType::I8 => TensorData::I8(bytes.iter().map(|&b| b as i8).collect()),
            DType::I4 => {
                if bytes.iter().any(|&b| !(-8..=7).contains(&(b as i8))) {
                    return None;
                }
                TensorData::I4(bytes.iter().map(|&b| b as i8).collect())
            }
            DType::U8 => TensorData::U8(bytes.to_vec()),
            DType::I16 => TensorData::I16(chunks(bytes, i16::from_le_bytes)),
            DType::I32 => TensorData::I32(chunks(bytes, i32::from_le_bytes)),
            DType::I64 => TensorData::I64(chunks(bytes, i64::from_le_bytes)),
            DType::Bool => {
                if bytes.iter().any(|&b| b > 1) {
                    return None;
                }
                TensorData::Bool(bytes.iter().map(|&b| b == 1).collect())
            }
        })
    }

    /// Element `i` widened to `f64` (bool as 0/1).
    pub fn get_f64(&self, i: usize) -> f64 {
        match self {
            TensorData::F32(v) => v[i] as f64,
            TensorData::I8(v) | TensorData::I4(v) => v[i] as f64,
            TensorData::U8(v) => v[i] as f64,
            TensorData::I16(v) => v[i] as f64,
            TensorData::I32(v) => v[i] as f64,
            TensorData::I64(v) => v[i] as f64,
            TensorData::Bool(v) => v[i] as u8 as f64,
        }
    }

    /// Element `i` as `i64` (integers and bools only; floats truncate).
    pub fn get_i64(&self, i: usize) -> i64 {
        match self {
            TensorData::F32(v) => v[i] as i64,
            TensorData::I8(v) | TensorData::I4(v) => v[i] as i64,
            TensorData::U8(v) => v[i] as i64,
            TensorData::I16(v) => v[i] as i64,
            TensorData::I32(v) => v[i] as i64,
            TensorData::I64(v) => v[i],
            TensorData::Bool(v) => v[i] as i64,
        }
    }

    /// Builds integer data of `dtype` from `i64` values, saturating to the
    /// dtype's range. `F32` converts exactly as `as f32`.
    pub fn from_i64(dtype: DType, vals: impl IntoIterator<Item = i64>) -> TensorData {
        let it = vals.into_iter();
        match dtype {
            DType::F32 => TensorData::F32(it.map(|x| x as f32).collect()),
            DType::I8 => TensorData::I8(it.map(|x| x.clamp(-128, 127) as i8).collect()),
            DType::I4 => TensorData::I4(it.map(|x| x.clamp(-8, 7) as i8).collect()),
            DType::U8 => TensorData::U8(it.map(|x| x.clamp(0, 255) as u8).collect()),
            DType::I16 => TensorData::I16(
                it.map(|x| x.clamp(i16::MIN as i64, i16::MAX as i64) as i16)
                    .collect(),
            ),
            DType::I32 => TensorData::I32(
                it.map(|x| x.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
                    .collect(),
            ),
            DType::I64 => TensorData::I64(it.collect()),
            DType::Bool => TensorData::Bool(it.map(|x| x != 0).collect()),
        }
    }

    /// Gathers elements by index into new storage of the same dtype.
    pub fn gather(&self, idx: &[usize]) -> TensorData {
        match self {
            TensorData::F32(v) => TensorData::F32(idx.iter().map(|&i| v[i]).collect()),
            TensorData::I8(v) => TensorData::I8(idx.iter().map(|&i| v[i]).collect()),
            TensorData::I4(v) => TensorData::I4(idx.iter().map(|&i| v[i]).collect()),
            TensorData::U8(v) => TensorData::U8(idx.iter().map(|&i| v[i]).collect()),
            TensorData::I16(v) => TensorData::I16(idx.iter().map(|&i| v[i]).collect()),
            TensorData::I32(v) => TensorData::I32(idx.iter().map(|&i| v[i]).collect()),
            TensorData::I64(v) => TensorData::I64(idx.iter().map(|&i| v[i]).collect()),
            TensorData::Bool(v) => TensorData::Bool(idx.iter().map(|&i| v[i]).collect()),
        }
    }

    /// Like [`TensorData::gather`], but `None` indices produce `fill`
    /// (element 0 of `fill`, which must have the same dtype).
    pub fn gather_or(&self, idx: &[Option<usize>], fill: &TensorData) -> TensorData {
        fn g<T: Copy>(v: &[T], idx: &[Option<usize>], f: T) -> Vec<T> {
            idx.iter().map(|i| i.map_or(f, |i| v[i])).collect()
        }
        match (self, fill) {
            (TensorData::F32(v), TensorData::F32(f)) => TensorData::F32(g(v, idx, f[0])),
            (TensorData::I8(v), TensorData::I8(f)) => TensorData::I8(g(v, idx, f[0])),
            (TensorData::I4(v), TensorData::I4(f)) => TensorData::I4(g(v, idx, f[0])),
            (TensorData::U8(v), TensorData::U8(f)) => TensorData::U8(g(v, idx, f[0])),
            (TensorData::I16(v), TensorData::I16(f)) => TensorData::I16(g(v, idx, f[0])),
            (TensorData::I32(v), TensorData::I32(f)) => TensorData::I32(g(v, idx, f[0])),
            (TensorData::I64(v), TensorData::I64(f)) => TensorData::I64(g(v, idx, f[0])),
            (TensorData::Bool(v), TensorData::Bool(f)) => TensorData::Bool(g(v, idx, f[0])),
            _ => self.gather(&[]),
        }
    }

    /// Concatenates storages of the same dtype; `None` when dtypes differ.
    pub fn concat(parts: &[&TensorData]) -> Option<TensorData> {
        let first = parts.first()?;
        let mut out = TensorData::zeros(first.dtype(), 0);
        for p in parts {
            match (&mut out, p) {
                (TensorData::F32(o), TensorData::F32(v)) => o.extend_from_slice(v),
                (TensorData::I8(o), TensorData::I8(v)) => o.extend_from_slice(v),
                (TensorData::I4(o), TensorData::I4(v)) => o.extend_from_slice(v),
                (TensorData::U8(o), TensorData::U8(v)) => o.extend_from_slice(v),
                (TensorData::I16(o), TensorData::I16(v)) => o.extend_from_slice(v),
                (TensorData::I32(o), TensorData::I32(v)) => o.extend_from_slice(v),
                (TensorData::I64(o), TensorData::I64(v)) => o.extend_from_slice(v),
                (TensorData::Bool(o), TensorData::Bool(v)) => o.extend_from_slice(v),
                _ => return None,
            }
        }
        Some(out)
    }
}

/// A tensor value: a type and its contents.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Type (dtype, shape, quantization).
    pub ty: crate::TensorType,
    /// Contents; `data.len() == ty.numel()` and `data.dtype() == ty.dtype`.
    pub data: TensorData,
}
