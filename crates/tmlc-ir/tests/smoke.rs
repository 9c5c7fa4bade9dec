#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

#[test]
fn roundtrip_small() {
    let t = "graph @mlp(%x: f32[1,4]) -> (%y) {
  %w = const f32[2,4] [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
  %b = const i32[2] q(0.25, 0) [1, -2]
  %h = fully_connected(%x, %w) {act = relu} : f32[1,2]
  %y = softmax(%h) {beta = 2.0} : f32[1,2]
}
";
    let g = tmlc_ir::parse(t).unwrap();
    assert_eq!(tmlc_ir::print(&g), t);
    tmlc_ir::verify(&g).unwrap();
}
