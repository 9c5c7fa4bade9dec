//! Compiling to fit a flash and a RAM budget: the compression is chosen
//! by measuring, on the calibration data, what each choice costs in
//! accuracy, and by compiling to measure what it saves.
//!
//! - **RAM** (`--ram-budget`): the arena shrinks with the activations, so
//!   whole channels go: the smallest `prune-channels` ratio (in steps of
//!   0.05, by bisection) whose compiled arena fits, recovered from the
//!   teacher.
//! - **Flash** (`--flash-budget`, the constants of the C): per layer, one
//!   of sparse weights at 50% or 75% (blocks of 4) or 4-bit weights. Each
//!   choice's cost is the output noise it adds alone (noise-to-signal
//!   ratio of the graph's outputs on the calibration data, against the
//!   graph before it), its gain the bytes it saves; choices are taken
//!   greedily by gain per added noise (a layer may move to a choice that
//!   saves more) until the estimated size fits, then compiled, measured,
//!   and continued if the estimate was short.
//!
//! Each compile starts from the same canonical graph, so the teacher of
//! every recovery is the uncompressed model. When nothing fits, the error
//! says what the smallest setting tried needs.

use crate::{compile_with, CompileOptions, Error};
use tmlc_cm4::Artifacts;
use tmlc_ir::{Graph, Op, Tensor, TensorData};
use tmlc_passes::calibrate::{sqnr, CalibrationData};
use tmlc_passes::passes::recover::Mode;
use tmlc_passes::{PassContext, Pipeline, Registry};

/// Memory limits, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of the C file's constants (weights, biases, tables).
    pub flash: Option<usize>,
    /// Bytes of the activation arena.
    pub ram: Option<usize>,
}

/// A compile that fits its budget.
pub struct Fitted {
    /// The compression passes chosen (a pipeline text).
    pub passes: String,
    /// The generated C.
    pub artifacts: Artifacts,
    /// The graph the backend compiled (`lowered`).
    pub graph: Graph,
    /// The pass context of that compile (sensitivity, ranges).
    pub context: PassContext<'static>,
    /// What the search did, one line each.
    pub notes: Vec<String>,
}

/// Samples of the calibration data the sensitivity sweep runs on.
const SWEEP_SAMPLES: usize = 64;

/// Compressions of one layer the flash search may choose, with the
/// fraction of its int8 weight bytes each saves (estimates: a bitmap
/// word per 32 blocks of 4; two weights per byte).
const CHOICES: [(&str, f64); 3] = [("sparse 50%", 0.47), ("int4", 0.5), ("sparse 75%", 0.72)];

struct Search<'a> {
    canonical: Graph,
    opts: &'a CompileOptions,
    samples: &'a [Vec<Tensor>],
    recover: Mode,
    notes: Vec<String>,
}

impl Search<'_> {
    /// Compiles the canonical graph with `passes` before quantization.
    fn trial(&mut self, passes: &str) -> Result<Fitted, Error> {
        let mut g = self.canonical.clone();
        let mut opts = CompileOptions::new(&self.opts.name);
        opts.header_file_name = self.opts.header_file_name.clone();
        opts.quantize = self.opts.quantize.clone();
        opts.pipeline = Pipeline::parse(passes, &Registry::builtin())?;
        let mut cx = PassContext::new(self.opts.verify_each);
        cx.insert(CalibrationData::new(self.samples.to_vec()));
        let artifacts = compile_with(&mut g, &opts, &mut cx)?;
        Ok(Fitted {
            passes: passes.to_string(),
            artifacts,
            graph: g,
            context: cx,
            notes: Vec::new(),
        })
    }

    fn recover_text(&self) -> String {
        match self.recover {
            Mode::None => String::new(),
            m => format!("recover{{mode={m}}}"),
        }
    }

    /// The passes of channel pruning at `ratio`.
    fn channels(&self, ratio: f64) -> String {
        join(&[
            format!("prune-channels{{ratio={ratio:.2}}}"),
            self.recover_text(),
        ])
    }

    /// The smallest channel ratio whose arena fits `ram`.
    fn fit_ram(&mut self, ram: usize, base: Fitted) -> Result<Fitted, Error> {
        let arena = base.artifacts.report.arena_bytes;
        if arena <= ram {
            self.notes.push(format!(
                "ram: the arena takes {arena} B of {ram} B: no channel pruning"
            ));
            return Ok(base);
        }
        // Ratios in steps of 0.05 (1 = 0.05 ... 18 = 0.90).
        let (mut lo, mut hi) = (0usize, 18usize);
        let mut best = self.trial(&self.channels(hi as f64 * 0.05))?;
        if best.artifacts.report.arena_bytes > ram {
            return Err(Error::Usage {
                path: self.canonical.name.clone(),
                message: format!(
                    "no setting fits --ram-budget {ram}: with 90% of the channels removed the arena still needs {} B (dense int8: {arena} B)",
                    best.artifacts.report.arena_bytes
                ),
            });
        }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            let f = self.trial(&self.channels(mid as f64 * 0.05))?;
            if f.artifacts.report.arena_bytes <= ram {
                hi = mid;
                best = f;
            } else {
                lo = mid;
            }
        }
        self.notes.push(format!(
            "ram: {}% of the channels removed: arena {} B of {ram} B (dense int8: {arena} B)",
            hi * 5,
            best.artifacts.report.arena_bytes
        ));
        Ok(best)
    }

    /// Per-layer choices until the constants fit `flash`.
    fn fit_flash(&mut self, flash: usize, base: Fitted) -> Result<Fitted, Error> {
        let bytes = base.artifacts.report.total_weight_bytes;
        if bytes <= flash {
            self.notes.push(format!(
                "flash: the constants take {bytes} B of {flash} B: nothing more to compress"
            ));
            return Ok(base);
        }
        // The float graph the per-layer choices apply to.
        let mut float = self.canonical.clone();
        let mut cx = PassContext::new(self.opts.verify_each);
        cx.insert(CalibrationData::new(self.samples.to_vec()));
        Pipeline::parse(&base.passes, &Registry::builtin())?.run(&mut float, &mut cx)?;
        let layers = candidates(&float);
        let sweep =
            CalibrationData::new(self.samples.iter().take(SWEEP_SAMPLES).cloned().collect());
        // noise[l][c]: output noise-to-signal ratio of choice c on layer l alone.
        let mut noise = Vec::new();
        for (name, _) in &layers {
            let mut row = Vec::new();
            for (c, _) in CHOICES.iter().enumerate() {
                row.push(self.noise(
                    &float,
                    &sweep,
                    &choice_passes(&[(name.clone(), c)], Mode::None),
                )?);
            }
            noise.push(row);
        }
        let mut chosen: Vec<Option<usize>> = vec![None; layers.len()];
        let saved = |chosen: &[Option<usize>]| -> f64 {
            chosen
                .iter()
                .zip(&layers)
                .map(|(c, (_, w))| c.map_or(0.0, |c| CHOICES[c].1 * *w as f64))
                .sum()
        };
        let mut target = bytes as f64 - flash as f64;
        let base_text = base.passes.clone();
        for _round in 0..8 {
            // Greedy moves until the estimate fits.
            let mut stuck = false;
            while saved(&chosen) < target {
                let mut best: Option<(f64, usize, usize)> = None;
                for (l, (_, w)) in layers.iter().enumerate() {
                    let (s0, n0) = chosen[l].map_or((0.0, 0.0), |c| (CHOICES[c].1, noise[l][c]));
                    for (c, &(_, s)) in CHOICES.iter().enumerate() {
                        if s <= s0 {
                            continue;
                        }
                        let gain = (s - s0) * *w as f64 / (noise[l][c] - n0).max(1e-12);
                        if best.map_or(true, |b| gain > b.0) {
                            best = Some((gain, l, c));
                        }
                    }
                }
                let Some((_, l, c)) = best else {
                    stuck = true;
                    break;
                };
                chosen[l] = Some(c);
            }
            let picks: Vec<(String, usize)> = chosen
                .iter()
                .zip(&layers)
                .filter_map(|(c, (n, _))| Some((n.clone(), (*c)?)))
                .collect();
            let passes = join(&[base_text.clone(), choice_passes(&picks, self.recover)]);
            let f = self.trial(&passes)?;
            let got = f.artifacts.report.total_weight_bytes;
            if got <= flash {
                let list: Vec<String> = picks
                    .iter()
                    .map(|(n, c)| format!("{n}: {}", CHOICES[*c].0))
                    .collect();
                self.notes.push(format!(
                    "flash: constants {got} B of {flash} B (before: {bytes} B) with {}",
                    list.join(", ")
                ));
                return Ok(f);
            }
            if stuck {
                return Err(Error::Usage {
                    path: self.canonical.name.clone(),
                    message: format!(
                        "no setting fits --flash-budget {flash}: the smallest tried needs {got} B of constants (dense int8: {bytes} B)"
                    ),
                });
            }
            // The estimate was short: ask for the difference too.
            target += (got - flash) as f64;
        }
        Err(Error::Usage {
            path: self.canonical.name.clone(),
            message: format!("no setting fits --flash-budget {flash} after 8 compiles"),
        })
    }

    /// Output noise-to-signal ratio of `passes` applied to `float`.
    fn noise(&self, float: &Graph, data: &CalibrationData, passes: &str) -> Result<f64, Error> {
        let mut g = float.clone();
        let mut cx = PassContext::new(false);
        Pipeline::parse(passes, &Registry::builtin())?.run(&mut g, &mut cx)?;
        let pairs: Vec<(String, String)> = float
            .outputs()
            .iter()
            .map(|&o| (float.value(o).name.clone(), float.value(o).name.clone()))
            .collect();
        let db = sqnr(float, &g, data, &pairs)?;
        Ok(db
            .iter()
            .map(|d| d.map_or(0.0, |d| 10f64.powf(-d / 10.0)))
            .sum())
    }
}

fn join(parts: &[String]) -> String {
    let v: Vec<&str> = parts
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    v.join(",")
}

/// The passes of per-layer choices (layer result name, index in
/// [`CHOICES`]): sparse ones through `prune` (blocks of 4), then
/// recovery, then 4-bit ones through `int4-weights`.
fn choice_passes(picks: &[(String, usize)], recover: Mode) -> String {
    let sparse: Vec<String> = picks
        .iter()
        .filter(|(_, c)| *c != 1)
        .map(|(n, c)| format!("{n}={}", if *c == 0 { "0.5" } else { "0.75" }))
        .collect();
    let int4: Vec<&str> = picks
        .iter()
        .filter(|(_, c)| *c == 1)
        .map(|(n, _)| n.as_str())
        .collect();
    let mut out = Vec::new();
    if !sparse.is_empty() {
        out.push(format!(
            "prune{{sparsity=0,block=4,layers={}}}",
            sparse.join(":")
        ));
        if recover != Mode::None {
            out.push(format!("recover{{mode={recover}}}"));
        }
    }
    if !int4.is_empty() {
        let method = if recover == Mode::Full {
            "reconstruct"
        } else {
            "nearest"
        };
        out.push(format!(
            "int4-weights{{method={method},layers={}}}",
            int4.join(":")
        ));
    }
    out.join(",")
}

/// The layers the flash search may compress (conv2d of one group,
/// fully_connected, with f32 weights), with their weight counts.
fn candidates(g: &Graph) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for n in g.topo_order().unwrap_or_default() {
        let node = g.node(n);
        let fits = match &node.op {
            Op::Conv2d(a) => a.groups == 1,
            Op::FullyConnected(_) => true,
            _ => false,
        };
        let w = node.operands.get(1).and_then(|&w| match g.const_data(w) {
            Some(TensorData::F32(d)) => Some(d.len()),
            _ => None,
        });
        if let (true, Some(w)) = (fits, w) {
            out.push((g.value(node.result).name.clone(), w));
        }
    }
    out
}

/// Compiles `g` (with `opts`, whose `quantize` should be set) so that it
/// fits `budget`, choosing the compression on `samples`; `recover` is how
/// compressed layers are re-fitted. `g` is left canonical.
pub fn compile_within(
    g: &mut Graph,
    opts: &CompileOptions,
    samples: &[Vec<Tensor>],
    budget: Budget,
    recover: Mode,
) -> Result<Fitted, Error> {
    let mut cx = PassContext::new(opts.verify_each);
    opts.pipeline.run(g, &mut cx)?;
    let mut s = Search {
        canonical: g.clone(),
        opts,
        samples,
        recover,
        notes: Vec::new(),
    };
    let mut fitted = s.trial("")?;
    if let Some(ram) = budget.ram {
        fitted = s.fit_ram(ram, fitted)?;
    }
    if let Some(flash) = budget.flash {
        fitted = s.fit_flash(flash, fitted)?;
    }
    fitted.notes = s.notes;
    Ok(fitted)
}
