//! Any text: parsing never panics; a graph that parses and verifies prints
//! to canonical text that parses back to the same text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(g) = tmlc_ir::parse(text) else { return };
    if tmlc_ir::verify(&g).is_err() {
        return;
    }
    let printed = tmlc_ir::print(&g);
    let again = tmlc_ir::parse(&printed).expect("canonical text must parse");
    assert_eq!(tmlc_ir::print(&again), printed);
});
