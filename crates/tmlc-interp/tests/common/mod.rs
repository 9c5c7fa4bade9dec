//! Helpers shared by the interpreter's integration tests: parse and verify
//! a text graph, run it, and read typed outputs.

#![allow(dead_code)]

use tmlc_ir::{Graph, Tensor, TensorData};

/// Parses and verifies a graph, panicking with the text on failure.
pub fn graph(text: &str) -> Graph {
    let g = match tmlc_ir::parse(text) {
        Ok(g) => g,
        Err(e) => panic!("parse error: {e}\n{text}"),
    };
    if let Err(e) = tmlc_ir::verify(&g) {
        panic!("verify error: {e}\n{text}");
    }
    g
}

/// Runs `g`, giving each input the graph input's type; returns all outputs.
pub fn run(g: &Graph, inputs: Vec<TensorData>) -> Vec<TensorData> {
    let ts: Vec<Tensor> = g
        .inputs()
        .iter()
        .zip(inputs)
        .map(|(&id, data)| Tensor {
            ty: g.value(id).ty.clone(),
            data,
        })
        .collect();
    match tmlc_interp::run(g, &ts) {
        Ok(out) => out.into_iter().map(|t| t.data).collect(),
        Err(e) => panic!("run error: {e}"),
    }
}

/// Runs `g` and returns the error.
pub fn run_err(g: &Graph, inputs: Vec<TensorData>) -> tmlc_interp::InterpError {
    let ts: Vec<Tensor> = g
        .inputs()
        .iter()
        .zip(inputs)
        .map(|(&id, data)| Tensor {
            ty: g.value(id).ty.clone(),
            data,
        })
        .collect();
    match tmlc_interp::run(g, &ts) {
        Ok(out) => panic!("expected an error, got {out:?}"),
        Err(e) => e,
    }
}

pub fn as_i8(d: &TensorData) -> Vec<i8> {
    match d {
        TensorData::I8(v) => v.clone(),
        other => panic!("expected i8 data, got {other:?}"),
    }
}

pub fn as_f32(d: &TensorData) -> Vec<f32> {
    match d {
        TensorData::F32(v) => v.clone(),
        other => panic!("expected f32 data, got {other:?}"),
    }
}

/// Parses, verifies and runs a graph with i8 inputs; returns output 0.
pub fn run_i8(text: &str, inputs: &[&[i8]]) -> Vec<i8> {
    let g = graph(text);
    let out = run(
        &g,
        inputs.iter().map(|v| TensorData::I8(v.to_vec())).collect(),
    );
    as_i8(&out[0])
}

/// Parses, verifies and runs a graph with f32 inputs; returns output 0.
pub fn run_f32(text: &str, inputs: &[&[f32]]) -> Vec<f32> {
    let g = graph(text);
    let out = run(
        &g,
        inputs.iter().map(|v| TensorData::F32(v.to_vec())).collect(),
    );
    as_f32(&out[0])
}

/// Asserts two f32 slices agree within `tol` (absolute).
pub fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "length: {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol,
            "element {i}: got {g}, want {w} (all: {got:?})"
        );
    }
}

/// A tiny deterministic PRNG (xorshift64*) for randomized tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1) as u64;
        lo + (self.next_u64() % span) as i64
    }
    pub fn i8s(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.int(-128, 127) as i8).collect()
    }
}

/// Formats a list for the text form.
pub fn list<T: std::fmt::Display>(v: &[T]) -> String {
    let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("[{}]", items.join(", "))
}
