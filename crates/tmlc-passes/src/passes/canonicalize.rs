//! `canonicalize`: the canonicalisation and fusion passes
//! ([`CANONICAL_PASSES`]), run in order again and again until a round
//! changes nothing (or `max-rounds` rounds): one fold can enable another
//! (a pad folded into a conv lets its activation fuse, a collapsed
//! reshape chain becomes an identity, ...). The compiler's default
//! pipeline.

use crate::{Changed, Pass, PassContext, PassError, PassInfo, Pipeline, Registry};
use tmlc_ir::Graph;

/// The passes one round runs, in order.
pub const CANONICAL_PASSES: &str = "transpose-to-reshape,cancel-transposes,collapse-reshapes,\
remove-identity,fuse-qdq,fold-constants,fold-batchnorm,fold-channel-scale,fold-bias-add,\
fold-pad,fuse-activation,dce";

/// The `canonicalize` pass.
#[derive(Clone, Copy, Debug)]
pub struct Canonicalize {
    /// Most rounds run.
    pub max_rounds: usize,
}

impl Default for Canonicalize {
    fn default() -> Self {
        Canonicalize { max_rounds: 8 }
    }
}

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "canonicalize",
    description: "run the canonicalisation and fusion passes to a fixed point",
    options: &[("max-rounds", "most rounds of the passes")],
    build: |o| {
        Ok(Box::new(Canonicalize {
            max_rounds: o.get("max-rounds", Canonicalize::default().max_rounds)?,
        }))
    },
};

impl Pass for Canonicalize {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![("max-rounds", self.max_rounds.to_string())]
    }
    fn run(&self, g: &mut Graph, cx: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let round = Pipeline::parse(CANONICAL_PASSES, &Registry::builtin())?;
        let mut changed = false;
        for _ in 0..self.max_rounds {
            if round.run(g, cx)? == Changed::No {
                break;
            }
            changed = true;
        }
        Ok(changed.into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_round_parses() {
        let p = crate::Pipeline::parse(super::CANONICAL_PASSES, &crate::Registry::builtin());
        let names = p.map(|p| p.names().join(",")).unwrap_or_default();
        assert_eq!(names, super::CANONICAL_PASSES);
    }
}
