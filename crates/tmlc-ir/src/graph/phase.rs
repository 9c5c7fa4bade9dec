//! Phases: how far a graph has come through the pipeline.

/// How far a graph has come through the pipeline: the invariants that
/// hold at this point, beyond those of every graph (checked by the
/// verifier, see `spec/ir.md` §3.4). Phases only move forward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// As a frontend or the text form made it: no further invariant.
    #[default]
    Imported,
    /// Canonicalised: no `batch_norm`, no identity reshapes, transposes or
    /// single-operand concats.
    Canonical,
    /// Quantized: canonical, and no arithmetic op has an f32 result.
    Quantized,
    /// Lowered for code generation: canonical, and every element-wise op on
    /// an 8-bit operand with an 8-bit result is a `lookup` table. (A
    /// quantized graph stays quantized through lowering; that is not
    /// checked again.)
    Lowered,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 4] = [
        Phase::Imported,
        Phase::Canonical,
        Phase::Quantized,
        Phase::Lowered,
    ];

    /// Text-form name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Imported => "imported",
            Phase::Canonical => "canonical",
            Phase::Quantized => "quantized",
            Phase::Lowered => "lowered",
        }
    }

    /// Parses a text-form name.
    pub fn from_name(s: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.name() == s)
    }
}
