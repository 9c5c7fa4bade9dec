//! Fuzz-style robustness: thousands of random mutations of real models must
//! import or fail with an error, never panic or hang.
// Tests fail by panicking; the workspace's `clippy::panic` lint is for library code.
#![allow(clippy::panic)]

mod common;

use common::Rng;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// One random mutation of `base`: overwrite bytes (often in the flatbuffer
/// metadata near the ends of the file rather than in weight data), write a
/// boundary value as a `u32`, truncate, or splice.
fn mutate(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = base.to_vec();
    let len = b.len();
    // Positions: half uniform, half in the first or last 1 KiB, where the
    // root table, vtables, offsets and small vectors usually are.
    let pos = |rng: &mut Rng| -> usize {
        match rng.below(4) {
            0 | 1 => rng.below(len),
            2 => rng.below(len.min(1024)),
            _ => len - 1 - rng.below(len.min(1024)),
        }
    };
    match rng.below(6) {
        0 | 1 => {
            for _ in 0..1 + rng.below(8) {
                let p = pos(rng);
                b[p] = rng.next() as u8;
            }
        }
        2 => {
            let p = pos(rng) & !3;
            if p + 4 <= len {
                const EDGES: [u32; 8] =
                    [0, 1, 4, 0x7f, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];
                let v = if rng.below(2) == 0 {
                    EDGES[rng.below(EDGES.len())]
                } else {
                    rng.next() as u32
                };
                b[p..p + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        3 => {
            // Flip one bit.
            let p = pos(rng);
            b[p] ^= 1 << rng.below(8);
        }
        4 => b.truncate(rng.below(len)),
        _ => {
            // Copy a chunk of the file over another place.
            let n = 1 + rng.below(64);
            let (src, dst) = (rng.below(len), pos(rng));
            for i in 0..n {
                if let (Some(&v), true) = (base.get(src + i), dst + i < len) {
                    b[dst + i] = v;
                }
            }
        }
    }
    b
}

/// Iterations per model: 2000, or `TMLC_FUZZ_ITERS` for longer local runs.
fn iters() -> usize {
    std::env::var("TMLC_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
}

fn fuzz(stem: &str, seed: u64, iters: usize) {
    let base = common::model(stem);
    let mut rng = Rng(seed);
    let start = Instant::now();
    let mut errors = 0;
    for i in 0..iters {
        let m = mutate(&base, &mut rng);
        let t = Instant::now();
        let r = catch_unwind(AssertUnwindSafe(|| tmlc_tflite::import(&m, stem)));
        assert!(r.is_ok(), "{stem}: mutation {i} (seed {seed}) panicked");
        if let Ok(Err(e)) = r {
            errors += 1;
            assert!(
                !e.to_string().contains('\n'),
                "{stem}: mutation {i}: multi-line error {e}"
            );
        }
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "{stem}: mutation {i} took {:?}",
            t.elapsed()
        );
    }
    // Most mutations hit weight data and still import; many must not.
    assert!(
        errors > iters / 20,
        "{stem}: only {errors} of {iters} mutations failed"
    );
    if std::env::var_os("TMLC_FUZZ_VERBOSE").is_some() {
        eprintln!(
            "{stem}: {errors} of {iters} mutations rejected in {:?}",
            start.elapsed()
        );
    }
    assert!(start.elapsed() < Duration::from_secs(60 + iters as u64 / 100));
}

#[test]
fn mutations_of_hello_world_int8() {
    fuzz("hello_world_int8", 0x7f1e_0001, iters());
}

#[test]
fn mutations_of_micro_speech_quantized() {
    fuzz("micro_speech_quantized", 0x7f1e_0002, iters());
}

#[test]
fn mutations_of_builder_models() {
    let base = common::ModelSpec::fc_float().build();
    let mut rng = Rng(0x7f1e_0003);
    for i in 0..iters() {
        let m = mutate(&base, &mut rng);
        let r = catch_unwind(AssertUnwindSafe(|| tmlc_tflite::import(&m, "fc")));
        assert!(r.is_ok(), "builder model: mutation {i} panicked");
    }
}
