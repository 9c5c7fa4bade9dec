#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! The ONNX frontend against onnxruntime's outputs on the shared float
//! ONNX models: the interpreter, and the generated C on the host and on
//! the emulated Cortex-M4, within 1e-4 relative (1e-5 absolute).

use std::path::PathBuf;
use std::process::Command;
use tmlc_filetests::golden::{models_dir, samples, split_inputs};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn close(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: output sizes differ");
    for (i, (a, b)) in got.chunks_exact(4).zip(want.chunks_exact(4)).enumerate() {
        let a = f32::from_le_bytes([a[0], a[1], a[2], a[3]]);
        let b = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        assert!(
            (a - b).abs() <= 1e-4 * b.abs() + 1e-5,
            "{what}: element {i} is {a}, onnxruntime gives {b}"
        );
    }
}

fn check(dir: &str, stem: &str) {
    let path = models_dir().join(format!("{dir}/{stem}.onnx"));
    let g = tmlc::load_model(&path).unwrap_or_else(|e| panic!("{e}"));
    let samples = samples(dir, stem);
    // The interpreter.
    for s in &samples {
        let outs = tmlc_interp::run(&g, &split_inputs(&g, &s.input)).unwrap();
        let got: Vec<u8> = outs.iter().flat_map(|t| t.data.to_le_bytes()).collect();
        close(
            &got,
            &s.output,
            &format!("{stem} (interpreter), sample {}", s.index),
        );
    }
    // The generated C, host and M4.
    let out_dir = std::env::temp_dir().join(format!("tmlc-onnx-{}-{stem}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut opts = tmlc::CompileOptions::new(&tmlc::c_identifier(stem));
    opts.header_file_name = "model.h".into();
    opts.verify_each = true;
    let art = tmlc::compile(&mut g.clone(), &opts).unwrap_or_else(|e| panic!("{stem}: {e}"));
    tmlc::write_c(&art, &out_dir.join("model.c")).unwrap();
    for target in ["host", "m4"] {
        for s in &samples {
            let inp = out_dir.join(format!("in{}.bin", s.index));
            let out = out_dir.join(format!("out-{target}{}.bin", s.index));
            std::fs::write(&inp, &s.input).unwrap();
            let r = Command::new("bash")
                .arg(repo().join("harness/run-model.sh"))
                .arg(&out_dir)
                .arg(&opts.name)
                .arg(&inp)
                .arg(&out)
                .arg(target)
                .output()
                .unwrap();
            assert!(
                r.status.success(),
                "{stem} on {target}: {}{}",
                String::from_utf8_lossy(&r.stdout),
                String::from_utf8_lossy(&r.stderr)
            );
            let got = std::fs::read(&out).unwrap();
            close(
                &got,
                &s.output,
                &format!("{stem} on {target}, sample {}", s.index),
            );
        }
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn mnist_8() {
    check("onnx2c", "mnist-8");
}

#[test]
fn atmega_mnist_simplified() {
    check("onnx2c", "atmega_mnist_simplified");
}

#[test]
fn tfl_helloworld() {
    check("onnx2c", "tfl_helloworld");
}

#[test]
fn velardo_lesson9() {
    check("onnx2c", "velardo_lesson9");
}
