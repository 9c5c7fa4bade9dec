//! Property tests over random valid graphs: text round-trip, and every
//! pass (and the default pipeline) keeps the interpreter's results.

use proptest::prelude::*;
use tmlc_filetests::{arb_graph, sample_inputs};
use tmlc_passes::{PassManager, Pipeline, DEFAULT_PIPELINE};

fn outputs(g: &tmlc_ir::Graph, seed: u64) -> Vec<Vec<u8>> {
    let ins = sample_inputs(g, seed);
    match tmlc_interp::run(g, &ins) {
        Ok(o) => o.iter().map(|t| t.data.to_le_bytes()).collect(),
        Err(e) => panic!("interpreter failed: {e}\n{}", tmlc_ir::print(g)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn roundtrip_and_passes_keep_results(g in arb_graph()) {
        prop_assert!(tmlc_ir::verify(&g).is_ok(), "generator made an invalid graph: {:?}\n{}", tmlc_ir::verify(&g), tmlc_ir::print(&g));
        let text = tmlc_ir::print(&g);
        let parsed = tmlc_ir::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(tmlc_ir::print(&parsed), text.clone());
        prop_assert!(tmlc_ir::verify(&parsed).is_ok());

        let reference = outputs(&g, 7);
        let pm = PassManager { verify_each: true };
        let mut pipelines: Vec<String> = tmlc_passes::registry().iter().map(|p| p.name().to_string()).collect();
        pipelines.push(DEFAULT_PIPELINE.to_string());
        for p in pipelines {
            let mut h = parsed.clone();
            let pipeline = Pipeline::parse(&p).map_err(|e| TestCaseError::fail(e.to_string()))?;
            pm.run(&pipeline, &mut h, |_, _| {}).map_err(|e| TestCaseError::fail(format!("{p}: {e}\n{text}")))?;
            prop_assert_eq!(&outputs(&h, 7), &reference, "pass {} changed results of\n{}", p, text);
            let printed = tmlc_ir::print(&h);
            let back = tmlc_ir::parse(&printed).map_err(|e| TestCaseError::fail(format!("{e}\n{printed}")))?;
            prop_assert_eq!(tmlc_ir::print(&back), printed);
        }
    }
}
