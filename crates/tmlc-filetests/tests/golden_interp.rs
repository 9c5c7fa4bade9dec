#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! The reference interpreter against TFLite Micro's outputs on the shared
//! core models: int8 bit-exact, float within 1e-5 relative.

use tmlc_filetests::golden::{compare, models_dir, samples, split_inputs};

fn check(stem: &str) {
    let path = models_dir().join(format!("tflite-micro/{stem}.tflite"));
    let bytes = std::fs::read(&path).unwrap();
    let g = tmlc_tflite::import(&bytes, stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
    let dtypes: Vec<_> = g.outputs().iter().map(|&v| g.value(v).ty.dtype).collect();
    for s in samples("tflite-micro", stem) {
        let ins = split_inputs(&g, &s.input);
        let outs = tmlc_interp::run(&g, &ins).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let bytes: Vec<Vec<u8>> = outs.iter().map(|t| t.data.to_le_bytes()).collect();
        let d = compare(&bytes, &dtypes, &s.output, 1e-5);
        if dtypes.iter().all(|&t| t != tmlc_ir::DType::F32) {
            assert_eq!(d, 0.0, "{stem} sample {}: max abs diff {d}", s.index);
        }
    }
}

#[test]
fn hello_world_int8() {
    check("hello_world_int8");
}

#[test]
fn hello_world_float() {
    check("hello_world_float");
}

#[test]
fn simple_add_model() {
    check("simple_add_model");
}

#[test]
fn micro_speech_quantized() {
    check("micro_speech_quantized");
}

#[test]
fn person_detect() {
    check("person_detect");
}

#[test]
fn mobilenet_v2() {
    check("mobilenet_v2_quantized_1x3x224x224");
}
