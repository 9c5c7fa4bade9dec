//! Test-only support for tmlc: the generator of random valid graphs used by
//! the property tests (and by fuzz targets), and deterministic input data.
//!
//! The generator draws every decision from a [`Choices`] stream, so a
//! failing case is reproduced by its choice vector, and proptest shrinks it
//! by shrinking that vector.

pub mod gen;
pub mod golden;

pub use gen::{arb_graph, build_graph, sample_inputs, Choices};
