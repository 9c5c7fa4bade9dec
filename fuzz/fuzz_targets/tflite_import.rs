//! Any bytes: the TFLite importer returns a verified graph or an error,
//! never panics, hangs or allocates without bound.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = tmlc_tflite::import(data, "fuzz") {
        assert!(tmlc_ir::verify(&g).is_ok());
    }
});
