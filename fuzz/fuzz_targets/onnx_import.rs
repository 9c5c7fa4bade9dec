//! Any bytes: the ONNX importer returns a verified graph or an error,
//! never panics, hangs or allocates without bound.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = tmlc_onnx::ImportOptions::default();
    if let Ok(g) = tmlc_onnx::import(data, "fuzz", &opts) {
        assert!(tmlc_ir::verify(&g).is_ok());
    }
});
