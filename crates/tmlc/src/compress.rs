//! The compression passes a compile runs, from the command line's terms:
//! `--prune` items and `--recover`.
//!
//! A `--prune` value is a comma-separated list of items, and the option
//! may be repeated:
//! - `sparsity=R`: unstructured pruning, the fraction `R` of each layer's
//!   weights (the `prune` pass; `block=N`, `ranking=layer|global`,
//!   `ends=BOOL` are its other options);
//! - `LAYER=R`: unstructured pruning of layer `LAYER` (its result name) at
//!   `R`, whatever the other layers get;
//! - `channels=R`: structured pruning, the fraction `R` of each layer
//!   group's channels (the `prune-channels` pass; `score=l1|l2|activation`).
//!
//! The passes run in the order channels, weights, recovery: structured
//! pruning first (it changes shapes), unstructured pruning of what
//! remains, then one recovery from the teacher for both.

use crate::Error;
use tmlc_passes::passes::recover::Mode;
use tmlc_passes::{Pipeline, Registry};

/// Pruning asked for on the command line, as pass options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PruneSpec {
    /// Options of `prune` (`key=value`), empty when not asked.
    pub weights: Vec<String>,
    /// Per-layer sparsities (`LAYER=R`).
    pub layers: Vec<String>,
    /// Options of `prune-channels`, empty when not asked.
    pub channels: Vec<String>,
}

const WEIGHT_KEYS: [&str; 4] = ["sparsity", "block", "ranking", "ends"];

impl PruneSpec {
    /// Adds the items of one `--prune` value.
    pub fn add(&mut self, value: &str) -> Result<(), String> {
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, v) = item.split_once('=').ok_or_else(|| {
                format!("`{item}` is not KEY=VALUE (e.g. sparsity=0.5, channels=0.25)")
            })?;
            match key {
                "channels" => self.channels.push(format!("ratio={v}")),
                "score" => self.channels.push(format!("score={v}")),
                k if WEIGHT_KEYS.contains(&k) => self.weights.push(item.to_string()),
                _ => self.layers.push(item.to_string()),
            }
        }
        Ok(())
    }

    /// True when nothing is pruned.
    pub fn is_empty(&self) -> bool {
        !self.weights.iter().any(|w| w.starts_with("sparsity="))
            && self.layers.is_empty()
            && !self.channels.iter().any(|c| c.starts_with("ratio="))
    }

    /// The pruning and recovery passes, as a pipeline text.
    pub fn pipeline_text(&self, recover: Mode) -> String {
        let mut passes = Vec::new();
        if self.channels.iter().any(|c| c.starts_with("ratio=")) {
            passes.push(format!("prune-channels{{{}}}", self.channels.join(",")));
        }
        let unstructured =
            self.weights.iter().any(|w| w.starts_with("sparsity=")) || !self.layers.is_empty();
        if unstructured {
            let mut opts = self.weights.clone();
            if !opts.iter().any(|w| w.starts_with("sparsity=")) {
                // Only named layers.
                opts.push("sparsity=0".into());
            }
            if !self.layers.is_empty() {
                opts.push(format!("layers={}", self.layers.join(":")));
            }
            passes.push(format!("prune{{{}}}", opts.join(",")));
        }
        if !passes.is_empty() && recover != Mode::None {
            passes.push(format!("recover{{mode={recover}}}"));
        }
        passes.join(",")
    }

    /// The pruning and recovery passes (empty when nothing is pruned).
    pub fn pipeline(&self, recover: Mode) -> Result<Pipeline, Error> {
        Ok(Pipeline::parse(
            &self.pipeline_text(recover),
            &Registry::builtin(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(items: &[&str], recover: Mode) -> String {
        let mut p = PruneSpec::default();
        for i in items {
            p.add(i).unwrap_or_default();
        }
        p.pipeline_text(recover)
    }

    #[test]
    fn prune_items_become_passes() {
        assert_eq!(text(&[], Mode::Full), "");
        assert_eq!(
            text(&["sparsity=0.5"], Mode::Full),
            "prune{sparsity=0.5},recover{mode=full}"
        );
        assert_eq!(
            text(&["sparsity=0.5,block=4", "conv2=0.7"], Mode::Lsq),
            "prune{sparsity=0.5,block=4,layers=conv2=0.7},recover{mode=lsq}"
        );
        assert_eq!(
            text(&["conv2=0.7"], Mode::None),
            "prune{sparsity=0,layers=conv2=0.7}"
        );
        assert_eq!(
            text(
                &["channels=0.25,score=activation", "sparsity=0.5"],
                Mode::Bias
            ),
            "prune-channels{ratio=0.25,score=activation},prune{sparsity=0.5},recover{mode=bias}"
        );
        assert!(PruneSpec::default().add("sparsity").is_err());
    }
}
