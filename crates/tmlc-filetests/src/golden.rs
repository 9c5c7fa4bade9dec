//! Access to the shared golden data (`../shared/models` beside the
//! repository): models and the reference runtimes' inputs and outputs.

use std::path::PathBuf;
use tmlc_ir::{Graph, Tensor, TensorData};

/// The shared models directory. Panics with a clear message if it is
/// missing, so that golden tests never pass vacuously.
#[allow(clippy::panic)]
pub fn models_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models");
    if !d.is_dir() {
        panic!(
            "golden data not found at {}: clone the repository beside `shared/`",
            d.display()
        );
    }
    d
}

/// One reference sample: concatenated input bytes and output bytes.
pub struct Sample {
    /// Sample index.
    pub index: usize,
    /// `<stem>.in<S>.bin`.
    pub input: Vec<u8>,
    /// `<stem>.out<S>.bin`.
    pub output: Vec<u8>,
}

/// Reads the three reference samples of `dir/stem` in the shared models.
pub fn samples(dir: &str, stem: &str) -> Vec<Sample> {
    samples_in(&models_dir().join(dir), stem)
}

/// Reads the three reference samples `base/stem.{in,out}<S>.bin`.
#[allow(clippy::panic)]
pub fn samples_in(base: &std::path::Path, stem: &str) -> Vec<Sample> {
    (0..3)
        .map(|s| {
            let read = |kind: &str| {
                let p = base.join(format!("{stem}.{kind}{s}.bin"));
                std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            };
            Sample {
                index: s,
                input: read("in"),
                output: read("out"),
            }
        })
        .collect()
}

/// Splits concatenated input bytes into the graph's input tensors.
#[allow(clippy::panic)]
pub fn split_inputs(g: &Graph, bytes: &[u8]) -> Vec<Tensor> {
    let mut off = 0;
    let out = g
        .inputs()
        .iter()
        .map(|&v| {
            let ty = g.value(v).ty.clone();
            let n = ty.byte_size();
            let chunk = bytes
                .get(off..off + n)
                .unwrap_or_else(|| panic!("input file too short"));
            off += n;
            let data = TensorData::from_le_bytes(ty.dtype, chunk)
                .unwrap_or_else(|| panic!("bad input bytes"));
            Tensor { ty, data }
        })
        .collect();
    assert_eq!(off, bytes.len(), "input file has extra bytes");
    out
}

/// Compares outputs with reference bytes: integers exactly, f32 within
/// `rel_tol` relative (absolute near zero). Returns the max abs difference.
#[allow(clippy::panic)]
pub fn compare(
    outputs: &[Vec<u8>],
    dtypes: &[tmlc_ir::DType],
    reference: &[u8],
    rel_tol: f32,
) -> f64 {
    let got: Vec<u8> = outputs.concat();
    assert_eq!(got.len(), reference.len(), "output sizes differ");
    let mut max_diff = 0f64;
    let mut off = 0;
    for (o, &dt) in outputs.iter().zip(dtypes) {
        let r = &reference[off..off + o.len()];
        off += o.len();
        if dt == tmlc_ir::DType::F32 {
            for (a, b) in o.chunks_exact(4).zip(r.chunks_exact(4)) {
                let a = f32::from_le_bytes([a[0], a[1], a[2], a[3]]);
                let b = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let d = (a - b).abs();
                max_diff = max_diff.max(d as f64);
                assert!(
                    d <= rel_tol * b.abs().max(1e-3),
                    "f32 output {a} vs reference {b}"
                );
            }
        } else {
            let da = TensorData::from_le_bytes(dt, o).unwrap_or_else(|| panic!("bad output"));
            let db = TensorData::from_le_bytes(dt, r).unwrap_or_else(|| panic!("bad reference"));
            for i in 0..da.len() {
                max_diff = max_diff.max((da.get_f64(i) - db.get_f64(i)).abs());
            }
        }
    }
    max_diff
}
