//! Calibration data and saved ranges: the files the `quantize` pass needs,
//! read and written here (the passes do no file I/O).
//!
//! Calibration data is float32 `.npy` (read with `npyz`): one file of N
//! samples stacked on a new first axis, or a folder of `.npy` files of one
//! sample each (read in file-name order). A sample has the graph input's
//! shape, or that shape without its leading batch dimension of 1. A graph
//! with several inputs takes one source per input, by name.
//!
//! Saved ranges are JSON: `{"value name": [min, max], ...}`.

use crate::Error;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tmlc_ir::{DType, Graph, Tensor, TensorData, TensorType};
use tmlc_passes::calibrate::{Range, Ranges};

fn usage(p: &Path, message: impl Into<String>) -> Error {
    Error::Usage {
        path: p.display().to_string(),
        message: message.into(),
    }
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: p.display().to_string(),
        source,
    }
}

/// The elements and shape of a float `.npy` file (f32, or f64 narrowed).
fn read_npy(p: &Path) -> Result<(Vec<usize>, Vec<f32>), Error> {
    let bytes = std::fs::read(p).map_err(io(p))?;
    let bad = |e: std::io::Error| usage(p, format!("not a readable .npy file: {e}"));
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(bad)?;
    if npy.order() != npyz::Order::C {
        return Err(usage(
            p,
            "Fortran-ordered arrays are not supported; save it C-ordered",
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let dtype = npy.dtype().descr();
    let data = match dtype.as_str() {
        "'<f4'" => npy.into_vec::<f32>().map_err(bad)?,
        "'<f8'" => npy
            .into_vec::<f64>()
            .map_err(bad)?
            .into_iter()
            .map(|x| x as f32)
            .collect(),
        d => {
            return Err(usage(
                p,
                format!("calibration data must be float32, is {d}"),
            ))
        }
    };
    Ok((shape, data))
}

/// Whether one sample of shape `s` fits input type `ty` (its own shape, or
/// without a leading 1).
fn sample_fits(s: &[usize], ty: &TensorType) -> bool {
    s == ty.shape.as_slice() || (ty.shape.first() == Some(&1) && s == &ty.shape[1..])
}

/// The samples for input `ty` from `p` (a file of stacked samples or a
/// folder of one-sample files).
fn samples_for(p: &Path, ty: &TensorType, input: &str) -> Result<Vec<TensorData>, Error> {
    if ty.dtype != DType::F32 {
        return Err(usage(
            p,
            format!("input `{input}` is {ty}, calibration needs f32 inputs"),
        ));
    }
    let n = ty.numel();
    let want = format!(
        "[N, {}]",
        ty.shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if p.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(io(p))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.extension().is_some_and(|e| e == "npy"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(usage(p, "the folder has no .npy files"));
        }
        return files
            .iter()
            .map(|f| {
                let (shape, data) = read_npy(f)?;
                if !sample_fits(&shape, ty) {
                    return Err(usage(
                        f,
                        format!(
                            "a sample of `{input}` must have shape {:?}, has {shape:?}",
                            ty.shape
                        ),
                    ));
                }
                Ok(TensorData::F32(data))
            })
            .collect();
    }
    let (shape, data) = read_npy(p)?;
    if shape.is_empty() || !sample_fits(&shape[1..], ty) || n == 0 {
        return Err(usage(
            p,
            format!("calibration data for `{input}` must have shape {want} (the batch dimension of 1 may be dropped), has {shape:?}"),
        ));
    }
    Ok(data
        .chunks_exact(n)
        .map(|c| TensorData::F32(c.to_vec()))
        .collect())
}

/// Calibration samples for `g` from `sources`: `(input name, path)`, the
/// name optional when the graph has one input.
pub fn read_calibration(
    g: &Graph,
    sources: &[(Option<String>, PathBuf)],
) -> Result<Vec<Vec<Tensor>>, Error> {
    let inputs: Vec<(String, TensorType)> = g
        .inputs()
        .iter()
        .map(|&v| (g.value(v).name.clone(), g.value(v).ty.clone()))
        .collect();
    let mut per_input: Vec<Option<Vec<TensorData>>> = vec![None; inputs.len()];
    for (name, p) in sources {
        let i = match name {
            Some(n) => inputs.iter().position(|(m, _)| m == n).ok_or_else(|| {
                let names: Vec<&str> = inputs.iter().map(|(m, _)| m.as_str()).collect();
                usage(
                    p,
                    format!(
                        "the model has no input `{n}` (inputs: {})",
                        names.join(", ")
                    ),
                )
            })?,
            None if inputs.len() == 1 => 0,
            None => {
                return Err(usage(
                    p,
                    format!(
                        "the model has {} inputs: give --calibration NAME=FILE for each",
                        inputs.len()
                    ),
                ))
            }
        };
        per_input[i] = Some(samples_for(p, &inputs[i].1, &inputs[i].0)?);
    }
    let mut columns = Vec::with_capacity(inputs.len());
    for ((name, _), s) in inputs.iter().zip(per_input) {
        let s = s.ok_or_else(|| Error::Usage {
            path: g.name.clone(),
            message: format!("no calibration data for input `{name}`"),
        })?;
        columns.push(s);
    }
    let count = columns.first().map_or(0, Vec::len);
    if let Some(c) = columns.iter().find(|c| c.len() != count) {
        return Err(Error::Usage {
            path: g.name.clone(),
            message: format!(
                "inputs have different sample counts ({count} and {})",
                c.len()
            ),
        });
    }
    Ok((0..count)
        .map(|k| {
            inputs
                .iter()
                .zip(&columns)
                .map(|((_, ty), c)| Tensor {
                    ty: ty.clone(),
                    data: c[k].clone(),
                })
                .collect()
        })
        .collect())
}

/// `ranges` as JSON (`{"name": [min, max], ...}`, one value per line,
/// sorted by name).
pub fn ranges_to_json(ranges: &Ranges) -> String {
    let lines: Vec<String> = ranges
        .0
        .iter()
        .map(|(k, r)| {
            let key = serde_json::to_string(k).unwrap_or_default();
            let pair = serde_json::to_string(&[r.min, r.max]).unwrap_or_default();
            format!("  {key}: {pair}")
        })
        .collect();
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}

/// Reads ranges saved by [`ranges_to_json`].
pub fn read_ranges(p: &Path) -> Result<Ranges, Error> {
    let text = std::fs::read_to_string(p).map_err(io(p))?;
    let map: BTreeMap<String, [f32; 2]> = serde_json::from_str(&text).map_err(|e| {
        usage(
            p,
            format!("not a ranges file ({{\"name\": [min, max], ...}}): {e}"),
        )
    })?;
    let mut out = BTreeMap::new();
    for (k, [min, max]) in map {
        if !(min.is_finite() && max.is_finite() && min <= max) {
            return Err(usage(p, format!("range of `{k}` is not finite min <= max")));
        }
        out.insert(k, Range { min, max });
    }
    Ok(Ranges(out))
}

/// Class labels for the calibration samples: a 1-D `.npy` of `n` integers
/// (int64, int32 or uint8).
pub fn read_labels(p: &Path, n: usize) -> Result<Vec<i64>, Error> {
    let bytes = std::fs::read(p).map_err(io(p))?;
    let bad = |e: std::io::Error| usage(p, format!("not a readable .npy file: {e}"));
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(bad)?;
    let shape: Vec<u64> = npy.shape().to_vec();
    let labels: Vec<i64> = match npy.dtype().descr().as_str() {
        "'<i8'" => npy.into_vec::<i64>().map_err(bad)?,
        "'<i4'" => npy
            .into_vec::<i32>()
            .map_err(bad)?
            .into_iter()
            .map(i64::from)
            .collect(),
        "'|u1'" => npy
            .into_vec::<u8>()
            .map_err(bad)?
            .into_iter()
            .map(i64::from)
            .collect(),
        d => {
            return Err(usage(
                p,
                format!("labels must be int64, int32 or uint8, are {d}"),
            ))
        }
    };
    if shape.len() != 1 || labels.len() != n {
        return Err(usage(
            p,
            format!("labels must be one per calibration sample ({n}), have shape {shape:?}"),
        ));
    }
    Ok(labels)
}

/// Top-1 accuracy of `g`'s first output (argmax of its last axis,
/// dequantized if int8) on `samples` against `labels`, by the interpreter.
pub fn top1(g: &Graph, samples: &[Vec<Tensor>], labels: &[i64]) -> Result<f64, Error> {
    let mut hits = 0usize;
    for (s, &y) in samples.iter().zip(labels) {
        let out = tmlc_interp::run(g, s)?;
        let Some(t) = out.first() else { break };
        let classes = t.ty.shape.last().copied().unwrap_or(1).max(1);
        let v: Vec<f64> = (0..t.data.len().min(classes))
            .map(|i| t.data.get_f64(i))
            .collect();
        let best = (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b });
        hits += usize::from(best as i64 == y);
    }
    Ok(hits as f64 / samples.len().max(1) as f64)
}
