#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! Generated C against TFLite Micro's outputs on the shared core models,
//! built with `harness/run-model.sh` (which compiles with `-Wall -Wextra
//! -Werror` on host gcc and arm-none-eabi-gcc) and run on the host and on
//! the emulated Cortex-M4 (qemu mps2-an386): bit-exact, int8 and float
//! (`hello_world_float`). Also: the generated C is byte-identical across
//! runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use tmlc_filetests::golden::{compare, models_dir, samples};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Imports `stem` and compiles it as the driver does (verifying after
/// each pass); returns the graph and the artifacts.
fn build(stem: &str) -> (tmlc_ir::Graph, tmlc_cm4::Artifacts) {
    let bytes = std::fs::read(models_dir().join(format!("tflite-micro/{stem}.tflite"))).unwrap();
    let g = tmlc_tflite::import(&bytes, stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
    let mut opts = tmlc::CompileOptions::new(stem);
    opts.header_file_name = "model.h".into();
    opts.verify_each = true;
    let mut g1 = g.clone();
    let a = tmlc::compile(&mut g1, &opts).unwrap_or_else(|e| panic!("{stem}: {e}"));
    let b = tmlc::compile(&mut g.clone(), &opts).unwrap();
    assert!(
        a.c == b.c && a.h == b.h,
        "{stem}: generated C is not deterministic"
    );
    (g1, a)
}

/// Compiles `stem` to `dir/model.{c,h}` and returns the outputs' dtypes
/// and byte sizes.
fn compile(stem: &str, dir: &Path) -> Vec<(tmlc_ir::DType, usize)> {
    let (g, a) = build(stem);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("model.c"), &a.c).unwrap();
    std::fs::write(dir.join("model.h"), &a.h).unwrap();
    g.outputs()
        .iter()
        .map(|&v| (g.value(v).ty.dtype, g.value(v).ty.byte_size()))
        .collect()
}

fn check(stem: &str, m4_target: &str) {
    let dir = std::env::temp_dir().join(format!("tmlc-golden-{}-{stem}", std::process::id()));
    let outputs = compile(stem, &dir);
    let dtypes: Vec<_> = outputs.iter().map(|o| o.0).collect();
    for target in ["host", m4_target] {
        for s in samples("tflite-micro", stem) {
            let inp = dir.join(format!("in{}.bin", s.index));
            let out = dir.join(format!("out-{target}{}.bin", s.index));
            std::fs::write(&inp, &s.input).unwrap();
            let r = Command::new("bash")
                .arg(repo().join("harness/run-model.sh"))
                .args([
                    dir.as_os_str(),
                    stem.as_ref(),
                    inp.as_os_str(),
                    out.as_os_str(),
                    target.as_ref(),
                ])
                .output()
                .unwrap_or_else(|e| panic!("cannot run the harness: {e}"));
            assert!(
                r.status.success(),
                "{stem} on {target}: {}{}",
                String::from_utf8_lossy(&r.stdout),
                String::from_utf8_lossy(&r.stderr)
            );
            let got = std::fs::read(&out).unwrap();
            let mut chunks = Vec::new();
            let mut off = 0;
            for &(_, size) in &outputs {
                chunks.push(got.get(off..off + size).unwrap_or_default().to_vec());
                off += size;
            }
            // Float models too: the canonical pipeline and the float kernels
            // keep TFLite Micro's order of operations, so the outputs are
            // the same bits.
            let d = compare(&chunks, &dtypes, &s.output, 1e-5);
            assert_eq!(
                d, 0.0,
                "{stem} on {target}, sample {}: max abs diff {d}",
                s.index
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hello_world_int8() {
    check("hello_world_int8", "m4");
}

#[test]
fn hello_world_float() {
    check("hello_world_float", "m4");
}

#[test]
fn simple_add_model() {
    check("simple_add_model", "m4");
}

#[test]
fn micro_speech_quantized() {
    check("micro_speech_quantized", "m4");
}

#[test]
fn person_detect() {
    check("person_detect", "m4");
}

#[test]
fn mobilenet_v2() {
    check("mobilenet_v2_quantized_1x3x224x224", "m4big");
}

/// The model-specific tail of a C file (constants, arena, invoke): the
/// kernels before it have their own tests.
fn model_part(c: &str) -> &str {
    let i = c.find("/* ---- constants").unwrap_or(0);
    &c[i..]
}

/// Snapshots of the generated header, the model part of the C file and
/// the report for the smallest models.
#[test]
fn snapshots_of_the_smallest_models() {
    for stem in ["hello_world_int8", "simple_add_model"] {
        let (_, a) = build(stem);
        assert!(
            a.c.contains("/* ---- constants"),
            "{stem}: no constants marker"
        );
        insta::assert_snapshot!(format!("{stem}.h"), a.h);
        insta::assert_snapshot!(format!("{stem}.c"), model_part(&a.c));
        insta::assert_snapshot!(format!("{stem}.report"), a.report.to_text());
    }
}
