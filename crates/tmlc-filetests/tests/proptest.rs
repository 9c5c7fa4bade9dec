#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! Property tests over random valid graphs: text round-trip, and every
//! pass (and the default pipeline) keeps the interpreter's results.
//!
//! Except `fuse-qdq`, whose contract is different: it replaces float
//! arithmetic between dequantize and quantize nodes by fixed-point integer
//! ops, within one LSB per op (`spec/ir.md` §6.1), and errors can grow
//! through later ops. Its filetests (`# tolerance: 1 lsb`) and the QDQ
//! golden models test it; here the default pipeline runs without it.

use proptest::prelude::*;
use tmlc_filetests::{arb_graph, sample_inputs};
use tmlc_passes::passes::canonicalize::CANONICAL_PASSES;
use tmlc_passes::{PassContext, Pipeline, Registry};

fn outputs(g: &tmlc_ir::Graph, seed: u64) -> Vec<tmlc_ir::Tensor> {
    let ins = sample_inputs(g, seed);
    match tmlc_interp::run(g, &ins) {
        Ok(o) => o,
        Err(e) => panic!("interpreter failed: {e}\n{}", tmlc_ir::print(g)),
    }
}

proptest! {
    // A fixed seed: the same 1000 graphs on every run.
    #![proptest_config(ProptestConfig {
        cases: 1000,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x746d6c63),
        ..ProptestConfig::default()
    })]

    #[test]
    fn roundtrip_and_passes_keep_results(g in arb_graph()) {
        prop_assert!(tmlc_ir::verify(&g).is_ok(), "generator made an invalid graph: {:?}\n{}", tmlc_ir::verify(&g), tmlc_ir::print(&g));
        let text = tmlc_ir::print(&g);
        let parsed = tmlc_ir::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(tmlc_ir::print(&parsed), text.clone());
        prop_assert!(tmlc_ir::verify(&parsed).is_ok());

        let reference = outputs(&g, 7);
        let registry = Registry::builtin();
        // fuse-qdq requantizes in fixed point (within 1 LSB); quantization
        // and compression change results by design (their own property
        // below); canonicalize runs fuse-qdq (the exact passes of its round
        // run below). `recover` runs: without a teacher it does nothing.
        const INEXACT: [&str; 7] = ["fuse-qdq", "int4-weights", "prune", "prune-channels", "quantize", "quantize-weights", "canonicalize"];
        let mut pipelines: Vec<String> = registry.passes().iter().map(|p| p.name.to_string()).filter(|p| !INEXACT.contains(&p.as_str())).collect();
        let exact_default: Vec<&str> = CANONICAL_PASSES.split(',').filter(|p| !INEXACT.contains(p)).collect();
        pipelines.push(exact_default.join(","));
        for p in pipelines {
            let mut h = parsed.clone();
            let pipeline = Pipeline::parse(&p, &registry).map_err(|e| TestCaseError::fail(e.to_string()))?;
            pipeline.run(&mut h, &mut PassContext::new(true)).map_err(|e| TestCaseError::fail(format!("{p}: {e}\n{text}")))?;
            if let Some(d) = tmlc_filetests::results_differ(&reference, &outputs(&h, 7)) {
                return Err(TestCaseError::fail(format!("pass {p} changed results: {d}\n{text}")));
            }
            let printed = tmlc_ir::print(&h);
            let back = tmlc_ir::parse(&printed).map_err(|e| TestCaseError::fail(format!("{e}\n{printed}")))?;
            prop_assert_eq!(tmlc_ir::print(&back), printed);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x71756e74),
        ..ProptestConfig::default()
    })]

    /// Post-training quantization never fails or breaks the IR on a valid
    /// graph: calibrated on the graph's own sample inputs, the canonical
    /// pipeline and `quantize` (with sensitivity, every method) verify after
    /// each pass, and the result still runs in the interpreter. (Accuracy
    /// is measured on real models, `quantize_digits.rs`.)
    #[test]
    fn quantization_keeps_graphs_valid(g in arb_graph(), method in 0usize..3) {
        let samples: Vec<_> = (0..4).map(|s| sample_inputs(&g, s)).collect();
        let mut cx = PassContext::new(true);
        cx.insert(tmlc_passes::calibrate::CalibrationData::new(samples));
        let method = ["minmax", "percentile", "mse"][method];
        let text = format!("canonicalize,quantize{{method={method},sensitivity=true}}");
        let pipeline = Pipeline::parse(&text, &Registry::builtin()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut h = g.clone();
        pipeline.run(&mut h, &mut cx).map_err(|e| TestCaseError::fail(format!("{e}\n{}", tmlc_ir::print(&g))))?;
        let ins = sample_inputs(&h, 9);
        tmlc_interp::run(&h, &ins).map_err(|e| TestCaseError::fail(format!("{e}\n{}", tmlc_ir::print(&h))))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x636f6d70),
        ..ProptestConfig::default()
    })]

    /// Compression never fails or breaks the IR on a valid graph: channel
    /// and weight pruning (every layer, first and last included), recovery,
    /// 4-bit weights and quantization, calibrated on the graph's own sample
    /// inputs, verify after each pass, and the result still runs in the
    /// interpreter. (Accuracy is measured on real models,
    /// `compress_digits.rs`.)
    #[test]
    fn compression_keeps_graphs_valid(g in arb_graph(), block in 0usize..2) {
        let samples: Vec<_> = (0..4).map(|s| sample_inputs(&g, s)).collect();
        let mut cx = PassContext::new(true);
        cx.insert(tmlc_passes::calibrate::CalibrationData::new(samples));
        let block = [1, 4][block];
        let text = format!(
            "canonicalize,prune-channels{{ratio=0.5}},prune{{ends=true,block={block}}},recover,int4-weights{{ends=true}},quantize"
        );
        let pipeline = Pipeline::parse(&text, &Registry::builtin()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut h = g.clone();
        pipeline.run(&mut h, &mut cx).map_err(|e| TestCaseError::fail(format!("{e}\n{}", tmlc_ir::print(&g))))?;
        let ins = sample_inputs(&h, 9);
        tmlc_interp::run(&h, &ins).map_err(|e| TestCaseError::fail(format!("{e}\n{}", tmlc_ir::print(&h))))?;
    }
}

/// The generator must reach every op, in float and int8 graphs; otherwise
/// the property above silently tests less than it claims.
#[test]
fn generator_covers_every_op() {
    use std::collections::BTreeMap;
    let mut seen: BTreeMap<(&'static str, bool), usize> = BTreeMap::new();
    let mut s: u64 = 1;
    let mut sizes = 0usize;
    for _ in 0..1000 {
        let v: Vec<u32> = (0..160)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 33) as u32
            })
            .collect();
        let g = tmlc_filetests::build_graph(&v);
        sizes += g.node_count();
        for n in g.node_ids() {
            let node = g.node(n);
            let quant = g.value(node.operands[0]).ty.quant.is_some();
            *seen.entry((node.op.name(), quant)).or_default() += 1;
        }
    }
    for name in tmlc_ir::Op::NAMES {
        let float = seen.get(&(name, false)).copied().unwrap_or(0);
        let quant = seen.get(&(name, true)).copied().unwrap_or(0);
        // quantize takes f32 (float side) and i8 (requantize); dequantize
        // and lookup take only 8-bit operands, batch_norm and div only f32.
        if !matches!(*name, "dequantize" | "lookup") {
            assert!(float > 0, "no float {name} generated: {seen:?}");
        }
        if !matches!(*name, "batch_norm" | "div") {
            assert!(quant > 0, "no int8 {name} generated: {seen:?}");
        }
    }
    assert!(
        sizes / 1000 >= 3,
        "graphs are too small: {} ops on average",
        sizes / 1000
    );
}
