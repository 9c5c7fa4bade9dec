//! The digits models and data of `tests/models/digits` and what the
//! tests that compress them measure: top-1, SQNR of the logits, the
//! generated C's logits on the host or qemu, instructions per inference.
#![allow(dead_code, clippy::panic, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use tmlc::cm4::Artifacts;
use tmlc::ir::{Graph, Tensor, TensorData};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn digits() -> PathBuf {
    repo().join("tests/models/digits")
}

pub fn npy<T: npyz::Deserialize>(name: &str) -> Vec<T> {
    let bytes = std::fs::read(digits().join(name)).unwrap();
    npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap()
}

pub fn reference(model: &str, key: &str) -> f64 {
    let p = digits().join("reference.json");
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    j["models"][model][key]
        .as_f64()
        .unwrap_or_else(|| panic!("reference.json has no {model}.{key}"))
}

/// The samples of `file` for `g`'s input.
pub fn samples(g: &Graph, file: &str) -> Vec<Vec<Tensor>> {
    tmlc::read_calibration(g, &[(None, digits().join(file))]).unwrap()
}

/// 10 * log10(sum f^2 / sum (f - q)^2).
pub fn sqnr(f: &[f32], q: &[f32]) -> f64 {
    let s: f64 = f.iter().map(|&x| f64::from(x).powi(2)).sum();
    let n: f64 = f
        .iter()
        .zip(q)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    10.0 * (s / n.max(1e-30)).log10()
}

pub fn top1(logits: &[f32], labels: &[i64]) -> f64 {
    let hits = logits
        .chunks_exact(10)
        .zip(labels)
        .filter(|(l, &y)| {
            let best = (0..10).fold(0, |b, i| if l[i] > l[b] { i } else { b });
            best as i64 == y
        })
        .count();
    hits as f64 / labels.len() as f64
}

/// The logits of `g` on every test image, by the interpreter.
pub fn interp_logits(g: &Graph, test: &[Vec<Tensor>]) -> Vec<f32> {
    let mut out = Vec::new();
    for s in test {
        let r = tmlc::interp::run(g, s).unwrap_or_else(|e| panic!("{e}"));
        match &r[0].data {
            TensorData::F32(v) => out.extend(v),
            d => panic!("logits are {:?}", d.dtype()),
        }
    }
    out
}

/// The logits of the generated C on every test image (one build, one
/// run), on `target` (`host` or `m4`).
pub fn c_logits(art: &Artifacts, test: &[Vec<Tensor>], target: &str, tag: &str) -> Vec<f32> {
    let dir = std::env::temp_dir().join(format!("tmlc-digits-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.c"), &art.c).unwrap();
    std::fs::write(dir.join("model.h"), &art.h).unwrap();
    let input: Vec<u8> = test.iter().flat_map(|s| s[0].data.to_le_bytes()).collect();
    let (inp, out) = (dir.join("in.bin"), dir.join(format!("out-{target}.bin")));
    std::fs::write(&inp, input).unwrap();
    let r = Command::new("bash")
        .arg(repo().join("harness/run-model.sh"))
        .args([
            dir.as_os_str(),
            "digits".as_ref(),
            inp.as_os_str(),
            out.as_os_str(),
            target.as_ref(),
        ])
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "{tag} on {target}: {}{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Instructions per inference of the C under qemu (`--count`).
pub fn instructions(art: &Artifacts, test: &[Vec<Tensor>], tag: &str) -> u64 {
    let dir = std::env::temp_dir().join(format!("tmlc-digits-count-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.c"), &art.c).unwrap();
    std::fs::write(dir.join("model.h"), &art.h).unwrap();
    let inp = dir.join("in.bin");
    std::fs::write(&inp, test[0][0].data.to_le_bytes()).unwrap();
    let r = Command::new("bash")
        .arg(repo().join("harness/run-model.sh"))
        .args([
            dir.as_os_str(),
            "digits".as_ref(),
            inp.as_os_str(),
            dir.join("out.bin").as_os_str(),
        ])
        .args(["m4", "--count"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(
        r.status.success(),
        "{tag}: {text}{}",
        String::from_utf8_lossy(&r.stderr)
    );
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("insns_per_inference=")?.parse().ok())
        .unwrap_or_else(|| panic!("no count in {text}"))
}

pub struct Figures {
    pub top1: f64,
    pub sqnr: f64,
}

pub fn figures(logits: &[f32], float: &[f32], labels: &[i64]) -> Figures {
    Figures {
        top1: top1(logits, labels),
        sqnr: sqnr(float, logits),
    }
}
