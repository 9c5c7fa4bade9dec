//! Differential test over random valid graphs (every op, float and int8,
//! from tmlc-filetests' generator): the generated C, built on the host with
//! sanitizers, must match the interpreter on every graph the interpreter
//! accepts.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
use common::*;

fn choices(seed: u64, len: usize) -> Vec<u32> {
    let mut s = seed.wrapping_mul(0x2545F4914F6CDD1D).wrapping_add(12345);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        })
        .collect()
}

#[test]
fn random_graphs_match_the_interpreter() {
    let mut checked = 0;
    for seed in 0..80u64 {
        let g = tmlc_filetests::build_graph(&choices(seed, 160));
        if tmlc_ir::verify(&g).is_err() {
            continue;
        }
        // Graphs the interpreter rejects (out-of-range multipliers) are
        // not the backend's business.
        let ins = sample_inputs(&g, 1);
        if tmlc_interp::run(&g, &ins).is_err() {
            continue;
        }
        if g.outputs().len() > 8 {
            continue;
        }
        check_host(&g, 2, seed % 8 == 0);
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} graphs checked");
}
