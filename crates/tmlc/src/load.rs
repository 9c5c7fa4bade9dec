//! Reading models and tensors.

use crate::Error;
use std::io::Read;
use std::path::Path;
use tmlc_ir::{Graph, Tensor, TensorData, TensorType};

fn display(p: &Path) -> String {
    p.display().to_string()
}

fn read_bytes(p: &Path) -> Result<Vec<u8>, Error> {
    if p == Path::new("-") {
        let mut v = Vec::new();
        std::io::stdin()
            .read_to_end(&mut v)
            .map_err(|source| Error::Io {
                path: "<stdin>".into(),
                source,
            })?;
        return Ok(v);
    }
    std::fs::read(p).map_err(|source| Error::Io {
        path: display(p),
        source,
    })
}

/// Reads at most `limit` bytes of `p`, so that a huge or endless file
/// (e.g. a device) cannot exhaust memory.
fn read_at_most(p: &Path, limit: usize) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io {
        path: display(p),
        source,
    };
    let f = std::fs::File::open(p).map_err(io)?;
    let mut v = Vec::new();
    f.take(limit as u64).read_to_end(&mut v).map_err(io)?;
    Ok(v)
}

/// How models are read.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Shapes of graph inputs by name (ONNX: resolves symbolic dimensions).
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// ONNX: the layout of rank-4 inputs and outputs (TFLite models are
    /// NHWC already).
    pub io_layout: tmlc_onnx::IoLayout,
}

/// Reads a model by its extension (`.onnx`, `.tflite`, or `.tir` text IR;
/// `-` is text IR on standard input) into a verified graph named after the
/// file stem.
pub fn load_model(p: &Path) -> Result<Graph, Error> {
    load_model_with(p, &LoadOptions::default())
}

/// [`load_model`] with options.
pub fn load_model_with(p: &Path, opts: &LoadOptions) -> Result<Graph, Error> {
    let path = display(p);
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "tflite" => {
            let bytes = read_bytes(p)?;
            tmlc_tflite::import(&bytes, &stem(p)).map_err(|source| Error::Tflite { path, source })
        }
        "onnx" => {
            let bytes = read_bytes(p)?;
            let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
            let external = move |location: &str, offset: u64, len: usize| {
                read_range(&dir.join(location), offset, len)
            };
            let opts = tmlc_onnx::ImportOptions {
                input_shapes: opts.input_shapes.clone(),
                external: Some(&external),
                io_layout: opts.io_layout,
                ..Default::default()
            };
            tmlc_onnx::import(&bytes, &stem(p), &opts)
                .map_err(|source| Error::Onnx { path, source })
        }
        "tir" | "" => {
            let bytes = read_bytes(p)?;
            let text = String::from_utf8(bytes).map_err(|e| Error::Usage {
                path: path.clone(),
                message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
            })?;
            let g = tmlc_ir::parse(&text).map_err(|source| Error::Parse {
                path: path.clone(),
                source,
            })?;
            tmlc_ir::verify(&g).map_err(|source| Error::Verify { path, source })?;
            Ok(g)
        }
        _ => Err(Error::Usage {
            path,
            message: "unknown model format (expected .onnx, .tflite or .tir)".into(),
        }),
    }
}

/// Exactly `len` bytes of `p` from `offset`: a shorter file is an error,
/// and nothing beyond `len` is read.
fn read_range(p: &Path, offset: u64, len: usize) -> Result<Vec<u8>, String> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(p).map_err(|e| e.to_string())?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    if !matches!(offset.checked_add(len as u64), Some(end) if end <= size) {
        return Err(format!(
            "bytes {offset}..+{len} are outside the file ({size} bytes)"
        ));
    }
    f.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
    let mut v = Vec::with_capacity(len);
    f.take(len as u64)
        .read_to_end(&mut v)
        .map_err(|e| e.to_string())?;
    Ok(v)
}

/// Reads a raw little-endian tensor of type `ty` from `p` (exactly
/// `ty.byte_size()` bytes); `what` names it in errors.
pub fn read_tensor(p: &Path, ty: &TensorType, what: &str) -> Result<Tensor, Error> {
    let want = ty.byte_size();
    let bytes = read_at_most(p, want.saturating_add(1))?;
    let data = (bytes.len() == want)
        .then(|| TensorData::from_le_bytes(ty.dtype, &bytes))
        .flatten()
        .ok_or_else(|| Error::Usage {
            path: display(p),
            message: format!(
                "{what} of type {ty} needs {want} bytes, the file has {}",
                if bytes.len() > want {
                    "more".to_string()
                } else {
                    bytes.len().to_string()
                }
            ),
        })?;
    Ok(Tensor {
        ty: ty.clone(),
        data,
    })
}

/// The file stem of `p`, or `model`.
pub fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("model")
        .to_string()
}

/// Makes `s` a C identifier: other characters become `_`, and a leading
/// digit gets a `m_` prefix.
pub fn c_identifier(s: &str) -> String {
    let mut t: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if t.is_empty() || t.starts_with(|c: char| c.is_ascii_digit()) {
        t.insert_str(0, "m_");
    }
    t
}
