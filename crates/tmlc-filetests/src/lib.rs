//! Test-only support for tmlc: the generator of random valid graphs used by
//! the property tests (and by fuzz targets), and deterministic input data.
//!
//! The generator draws every decision from a [`Choices`] stream, so a
//! failing case is reproduced by its choice vector, and proptest shrinks it
//! by shrinking that vector.

pub mod gen;
pub mod golden;

pub use gen::{arb_graph, build_graph, sample_inputs, Choices};

use tmlc_ir::{Tensor, TensorData};

/// Why two result lists differ, if they do: integer results must be
/// identical, f32 results agree within `1e-5` relative (plus `1e-6`
/// absolute; NaN equals NaN), the exactness promised by passes that
/// re-associate float arithmetic.
pub fn results_differ(want: &[Tensor], got: &[Tensor]) -> Option<String> {
    results_differ_by(want, got, &[])
}

/// One unit (LSB) of each output of `g` that a `dequantize` produces from
/// a per-tensor quantized value: the tolerance of outputs computed with
/// fixed-point integer ops where a reference rounds in float.
pub fn output_lsb(g: &tmlc_ir::Graph) -> Vec<Option<f32>> {
    g.outputs()
        .iter()
        .map(|&v| {
            let n = g.node(g.producer(v)?);
            let scale = g.value(*n.operands.first()?).ty.qparams()?.0;
            (n.op == tmlc_ir::Op::Dequantize).then_some(scale)
        })
        .collect()
}

/// [`results_differ`], except that f32 result `k` may differ by up to
/// `abs[k]` (when given) instead of the relative tolerance.
pub fn results_differ_by(want: &[Tensor], got: &[Tensor], abs: &[Option<f32>]) -> Option<String> {
    if want.len() != got.len() {
        return Some(format!("{} results, want {}", got.len(), want.len()));
    }
    for (k, (w, g)) in want.iter().zip(got).enumerate() {
        let ok = match (&w.data, &g.data) {
            (TensorData::F32(a), TensorData::F32(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(x, y)| {
                        (x.is_nan() && y.is_nan())
                            || x == y
                            || (x - y).abs() <= 1e-5 * x.abs().max(y.abs()) + 1e-6
                            || abs
                                .get(k)
                                .copied()
                                .flatten()
                                .is_some_and(|t| (x - y).abs() <= t)
                    })
            }
            (a, b) => a == b,
        };
        if !ok {
            return Some(format!(
                "result #{k} differs: want {:?}, got {:?}",
                w.data, g.data
            ));
        }
    }
    None
}
