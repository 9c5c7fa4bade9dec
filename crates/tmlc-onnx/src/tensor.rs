//! `TensorProto` to IR constants: dtypes, dims, data from `raw_data`, the
//! typed fields or external data, every size checked against the input.

use crate::proto::tensor_proto::{DataLocation, DataType};
use crate::proto::TensorProto;
use crate::{ExternalData, OnnxError};
use tmlc_ir::{DType, TensorData, TensorType};

/// The IR dtype of an ONNX element type.
pub(crate) fn dtype(code: i32) -> Option<DType> {
    Some(match DataType::try_from(code).ok()? {
        DataType::Float => DType::F32,
        DataType::Uint8 => DType::U8,
        DataType::Int8 => DType::I8,
        DataType::Int16 => DType::I16,
        DataType::Int32 => DType::I32,
        DataType::Int64 => DType::I64,
        DataType::Bool => DType::Bool,
        _ => return None,
    })
}

/// The name of an ONNX element type (errors).
pub(crate) fn dtype_name(code: i32) -> String {
    DataType::try_from(code).map_or_else(
        |_| format!("type {code}"),
        |d| d.as_str_name().to_lowercase(),
    )
}

fn bad(name: &str, message: impl Into<String>) -> OnnxError {
    OnnxError::Tensor {
        name: name.to_string(),
        message: message.into(),
    }
}

/// Reads a tensor. `external` resolves `data_location = EXTERNAL`.
pub(crate) fn read(
    t: &TensorProto,
    external: Option<&ExternalData<'_>>,
) -> Result<(TensorType, TensorData), OnnxError> {
    let name = t.name.as_str();
    let d = dtype(t.data_type).ok_or_else(|| {
        bad(
            name,
            format!("element type {} is not supported", dtype_name(t.data_type)),
        )
    })?;
    let mut shape = Vec::with_capacity(t.dims.len());
    for &x in &t.dims {
        let x = usize::try_from(x).map_err(|_| bad(name, format!("negative dimension {x}")))?;
        shape.push(x);
    }
    let ty = TensorType::new(d, shape);
    tmlc_ir::verify::check_type(&ty).map_err(|m| bad(name, m))?;
    let n = ty.numel();
    let want = n * d.size();
    let raw: Option<Vec<u8>> = if t.data_location == DataLocation::External as i32 {
        Some(read_external(t, want, external)?)
    } else if !t.raw_data.is_empty() || n == 0 {
        Some(t.raw_data.clone())
    } else {
        None
    };
    let data = match raw {
        Some(bytes) => {
            if bytes.len() != want {
                return Err(bad(
                    name,
                    format!("{} has {want} bytes, raw data has {}", ty, bytes.len()),
                ));
            }
            TensorData::from_le_bytes(d, &bytes)
                .ok_or_else(|| bad(name, "bool data holds bytes other than 0 and 1"))?
        }
        None => typed(t, d, n)?,
    };
    Ok((ty, data))
}

/// Data from the typed fields (`float_data`, `int32_data`, `int64_data`).
fn typed(t: &TensorProto, d: DType, n: usize) -> Result<TensorData, OnnxError> {
    let name = t.name.as_str();
    let count = |len: usize| {
        if len == n {
            Ok(())
        } else {
            Err(bad(name, format!("needs {n} elements, holds {len}")))
        }
    };
    Ok(match d {
        DType::F32 => {
            count(t.float_data.len())?;
            TensorData::F32(t.float_data.clone())
        }
        DType::I64 => {
            count(t.int64_data.len())?;
            TensorData::I64(t.int64_data.clone())
        }
        // int8/uint8/int16/int32/bool are stored in int32_data.
        _ => {
            count(t.int32_data.len())?;
            let (lo, hi) = match d {
                DType::Bool => (0, 1),
                _ => d.int_range().unwrap_or((i64::MIN, i64::MAX)),
            };
            if let Some(v) = t
                .int32_data
                .iter()
                .find(|&&v| (v as i64) < lo || (v as i64) > hi)
            {
                return Err(bad(name, format!("value {v} is out of range for {d}")));
            }
            match d {
                DType::Bool => TensorData::Bool(t.int32_data.iter().map(|&v| v != 0).collect()),
                _ => TensorData::from_i64(d, t.int32_data.iter().map(|&v| v as i64)),
            }
        }
    })
}

/// External data: `location` relative to the model's folder (no absolute
/// path, no `..`), `offset` and `length` checked against the size the
/// tensor needs.
fn read_external(
    t: &TensorProto,
    want: usize,
    external: Option<&ExternalData<'_>>,
) -> Result<Vec<u8>, OnnxError> {
    let name = t.name.as_str();
    let get = |k: &str| {
        t.external_data
            .iter()
            .find(|e| e.key == k)
            .map(|e| e.value.as_str())
    };
    let location = get("location").ok_or_else(|| bad(name, "external data without a location"))?;
    let relative = std::path::Path::new(location);
    let inside = !location.is_empty()
        && relative.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
    if !inside {
        return Err(bad(
            name,
            format!("external data location `{location}` is outside the model's folder"),
        ));
    }
    let number = |k: &str| -> Result<Option<u64>, OnnxError> {
        get(k)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| bad(name, format!("external data {k} `{v}` is not a number")))
            })
            .transpose()
    };
    let offset = number("offset")?.unwrap_or(0);
    if let Some(len) = number("length")? {
        if len != want as u64 {
            return Err(bad(
                name,
                format!("external data length {len}, the tensor needs {want} bytes"),
            ));
        }
    }
    let read =
        external.ok_or_else(|| bad(name, "external data, but no model folder to read it from"))?;
    read(location, offset, want).map_err(|m| bad(name, format!("external data `{location}`: {m}")))
}
