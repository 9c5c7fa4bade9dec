//! Pipelines: ordered passes, built in code or parsed from text, run with
//! verification, timing and an observer.

use crate::{Changed, Pass, PassContext, PassError, PassRun, Registry};
use std::time::Instant;
use tmlc_ir::{verify, Graph, Phase};

/// An ordered list of configured passes, optionally marking the phase the
/// graph reaches at its end.
#[derive(Default)]
pub struct Pipeline {
    passes: Vec<Box<dyn Pass>>,
    phase: Option<Phase>,
}

impl Pipeline {
    /// The empty pipeline.
    pub fn new() -> Pipeline {
        Pipeline::default()
    }

    /// Appends `pass`.
    pub fn then(mut self, pass: impl Pass + 'static) -> Pipeline {
        self.passes.push(Box::new(pass));
        self
    }

    /// Appends a boxed pass.
    pub fn then_boxed(mut self, pass: Box<dyn Pass>) -> Pipeline {
        self.passes.push(pass);
        self
    }

    /// Appends every pass of `other` (and takes its phase, if it has one).
    pub fn then_all(mut self, other: Pipeline) -> Pipeline {
        self.passes.extend(other.passes);
        self.phase = other.phase.or(self.phase);
        self
    }

    /// Records that after this pipeline the graph is in `phase` (set on
    /// the graph, and its invariants verified, when the pipeline ends).
    pub fn reaching(mut self, phase: Phase) -> Pipeline {
        self.phase = Some(phase);
        self
    }

    /// Parses `pass{key=value,...},pass,...` against `registry`
    /// (whitespace around names, keys and values allowed; the empty text
    /// is the empty pipeline).
    pub fn parse(text: &str, registry: &Registry) -> Result<Pipeline, PassError> {
        let bad = |message: &str| PassError::BadPipeline {
            text: text.to_string(),
            message: message.to_string(),
        };
        let mut pipeline = Pipeline::new();
        if text.trim().is_empty() {
            return Ok(pipeline);
        }
        let mut rest = text;
        loop {
            let end = rest.find([',', '{']).unwrap_or(rest.len());
            let name = rest[..end].trim();
            if name.is_empty() {
                return Err(bad("expected a pass name"));
            }
            rest = &rest[end..];
            let mut items = Vec::new();
            if let Some(body) = rest.strip_prefix('{') {
                let close = body.find('}').ok_or_else(|| bad("`{` without `}`"))?;
                for kv in body[..close].split(',').filter(|s| !s.trim().is_empty()) {
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| bad("options are written `{key=value,...}`"))?;
                    items.push((k.trim().to_string(), v.trim().to_string()));
                }
                rest = &body[close + 1..];
            }
            pipeline.passes.push(registry.build(name, items)?);
            rest = rest.trim_start();
            if rest.is_empty() {
                return Ok(pipeline);
            }
            rest = rest
                .strip_prefix(',')
                .ok_or_else(|| bad("passes are separated by commas"))?;
        }
    }

    /// The pipeline as text, every option written (parses back to the
    /// same pipeline).
    pub fn to_text(&self) -> String {
        let items: Vec<String> = self
            .passes
            .iter()
            .map(|p| {
                let opts = p.options();
                if opts.is_empty() {
                    p.name().to_string()
                } else {
                    let kv: Vec<String> = opts.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("{}{{{}}}", p.name(), kv.join(","))
                }
            })
            .collect();
        items.join(",")
    }

    /// Pass names in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.passes.iter().map(|p| p.name()).collect()
    }

    /// Runs every pass on `g` in order. With `cx.verify_each`, the input
    /// and the graph after every pass are verified; a failure after a pass
    /// is a [`PassError::BrokeInvariant`] naming it. Timing goes to
    /// `cx.runs`, and the observer sees the graph after each pass.
    pub fn run(&self, g: &mut Graph, cx: &mut PassContext<'_>) -> Result<Changed, PassError> {
        if cx.verify_each {
            verify(g).map_err(PassError::InvalidInput)?;
        }
        let mut any = false;
        for p in &self.passes {
            let t0 = Instant::now();
            let changed = p.run(g, cx)? == Changed::Yes;
            let time = t0.elapsed();
            if cx.verify_each {
                verify(g).map_err(|errors| PassError::BrokeInvariant {
                    pass: p.name(),
                    errors,
                })?;
            }
            cx.after_pass(p.name(), g);
            cx.runs.push(PassRun {
                pass: p.name(),
                changed,
                time,
            });
            any |= changed;
        }
        if let Some(phase) = self.phase.filter(|&p| p > g.phase()) {
            g.set_phase(phase);
            verify(g).map_err(|errors| PassError::Failed {
                pass: "pipeline",
                message: format!("the graph is not in phase `{}`: {errors}", phase.name()),
            })?;
        }
        Ok(any.into())
    }
}
