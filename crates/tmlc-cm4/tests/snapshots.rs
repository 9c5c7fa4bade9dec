//! Snapshots of the generated header, the model-specific part of the C file
//! (constants, arena, invoke) and the report for two tiny graphs, and
//! determinism: emitting twice, or from a printed and re-parsed graph,
//! gives byte-identical files.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
use common::emit_c;
use tmlc_cm4::Options;

const INT8: &str = "graph @tiny(%x: i8[1,2,2,4] q(0.05, -3)) -> (%y, %p) {
  %w = const i8[3,1,1,4] q(axis=0, [0.01, 0.02, 0.015], [0, 0, 0]) [1, -2, 3, -4, 5, 6, -7, 8, 9, -10, 11, 12]
  %b = const i32[3] [100, -50, 7]
  %c = conv2d(%x, %w, %b) {act = relu} : i8[1,2,2,3] q(0.02, -128)
  %r = reshape(%c) {shape = [4, 3]} : i8[4,3] q(0.02, -128)
  %y = softmax(%r) : i8[4,3] q(0.00390625, -128)
  %p = sigmoid(%x) : i8[1,2,2,4] q(0.00390625, -128)
}
";

const F32: &str = "graph @tinyf(%x: f32[2,3]) -> (%y) {
  %w = const f32[2,3] [0.5, -1.0, 0.25, 2.0, 0.0, -0.75]
  %h = fully_connected(%x, %w) {act = relu6} : f32[2,2]
  %y = add(%h, %h) : f32[2,2]
}
";

fn opts() -> Options {
    Options {
        name: "tiny".into(),
        header_file_name: "tiny_model.h".into(),
    }
}

/// The model-specific tail of the C file (everything after the kernels).
fn model_part(c: &str) -> &str {
    let i = c.find("/* ---- constants").unwrap_or(0);
    &c[i..]
}

#[test]
fn int8_snapshot() {
    let g = tmlc_ir::parse(INT8).unwrap();
    let a = emit_c(&g, &opts()).unwrap();
    insta::assert_snapshot!("int8_header", a.h);
    insta::assert_snapshot!("int8_c_model", model_part(&a.c));
    insta::assert_snapshot!("int8_report", a.report.to_text());
    insta::assert_snapshot!("int8_report_json", a.report.to_json());
}

#[test]
fn f32_snapshot() {
    let g = tmlc_ir::parse(F32).unwrap();
    let a = emit_c(&g, &opts()).unwrap();
    insta::assert_snapshot!("f32_header", a.h);
    insta::assert_snapshot!("f32_c_model", model_part(&a.c));
    insta::assert_snapshot!("f32_report", a.report.to_text());
}

#[test]
fn deterministic() {
    for text in [INT8, F32] {
        let g = tmlc_ir::parse(text).unwrap();
        let a = emit_c(&g, &opts()).unwrap();
        let b = emit_c(&g, &opts()).unwrap();
        assert_eq!(a, b);
        let g2 = tmlc_ir::parse(&tmlc_ir::print(&g)).unwrap();
        let c = emit_c(&g2, &opts()).unwrap();
        assert_eq!(a.c, c.c);
        assert_eq!(a.h, c.h);
    }
    // Random graphs too (hash-map order must never leak into the output).
    let mut compiled = 0;
    for seed in 0..20u32 {
        let choices: Vec<u32> = (0..120u32)
            .map(|i| i.wrapping_mul(2654435761u32).wrapping_add(seed * 97))
            .collect();
        let g = tmlc_filetests::build_graph(&choices);
        if let Ok(a) = emit_c(&g, &opts()) {
            let b = emit_c(&g, &opts()).unwrap();
            assert_eq!(a, b);
            compiled += 1;
        }
    }
    // Every one of these compiles (a backend limit hit here is news).
    assert_eq!(compiled, 20, "only {compiled} of 20 random graphs compiled");
}

#[test]
fn errors_name_the_value_and_op() {
    let g = tmlc_ir::parse(
        "graph @g(%x: i8[1,4] q(0.5, 0), %w: i8[2,4] q(0.5, 0)) -> (%y) {
  %y = fully_connected(%x, %w) : i8[1,2] q(0.5, 0)
}
",
    )
    .unwrap();
    let e = emit_c(&g, &opts()).unwrap_err().to_string();
    assert_eq!(
        e,
        "`%y = fully_connected`: not supported by the Cortex-M4 backend for i8 (the weights must be a constant)"
    );
    let bad = Options {
        name: "1x".into(),
        header_file_name: "m.h".into(),
    };
    let g = tmlc_ir::parse(F32).unwrap();
    assert!(emit_c(&g, &bad)
        .unwrap_err()
        .to_string()
        .contains("not a C identifier"));
}
