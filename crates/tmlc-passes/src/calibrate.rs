//! Calibration: the ranges a float graph's values take on representative
//! data, measured with the reference interpreter.
//!
//! [`calibrate`] runs the graph on every sample (in parallel over samples)
//! and reduces what each value took to one range `[min, max]` per value,
//! by a [`Method`]:
//! - `minmax`: the extremes seen;
//! - `percentile(p)`: the `(100 - p)`-th and `p`-th percentiles, from a
//!   histogram of every value (a second run over the samples), so that a
//!   few outliers do not stretch the scale;
//! - `mse`: the clipping range, shrunk from the extremes towards zero, that
//!   minimises the expected squared error of 8-bit quantization (clipping
//!   error outside the range plus rounding noise `step^2 / 12` inside), from
//!   the same histogram.
//!
//! [`Ranges`] are keyed by value name, so they can be saved, reloaded and
//! given to the `quantize` pass of a later run.

use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use tmlc_interp::{run_observed, InterpError};
use tmlc_ir::{Graph, Tensor, TensorData, ValueId};

/// Histogram bins per value (percentile and mse methods).
const BINS: usize = 2048;

/// How observed values become a range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// The extremes seen.
    MinMax,
    /// The `(100 - p)`-th and `p`-th percentiles (`p` in `(50, 100]`).
    Percentile(f32),
    /// The clipping range that minimises the expected quantization error.
    Mse,
}

impl Default for Method {
    fn default() -> Method {
        Method::Percentile(99.99)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Method::MinMax => f.write_str("minmax"),
            Method::Percentile(p) => write!(f, "percentile:{p}"),
            Method::Mse => f.write_str("mse"),
        }
    }
}

impl FromStr for Method {
    type Err = String;
    /// `minmax`, `mse`, `percentile` (99.99) or `percentile:P`.
    fn from_str(s: &str) -> Result<Method, String> {
        match s {
            "minmax" => Ok(Method::MinMax),
            "mse" => Ok(Method::Mse),
            "percentile" => Ok(Method::default()),
            _ => {
                let p = s
                    .strip_prefix("percentile:")
                    .and_then(|p| p.parse::<f32>().ok())
                    .ok_or_else(|| {
                        format!("`{s}` is not minmax, mse, percentile or percentile:P")
                    })?;
                if p > 50.0 && p <= 100.0 {
                    Ok(Method::Percentile(p))
                } else {
                    Err(format!("percentile {p} is not in (50, 100]"))
                }
            }
        }
    }
}

/// A closed real range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// Lower end.
    pub min: f32,
    /// Upper end.
    pub max: f32,
}

/// Observed ranges keyed by value name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ranges(pub BTreeMap<String, Range>);

impl Ranges {
    /// The range of the value named `name`.
    pub fn get(&self, name: &str) -> Option<Range> {
        self.0.get(name).copied()
    }
}

/// Representative inputs, one `Vec<Tensor>` per sample (in graph input
/// order), put into the pass context for the passes that calibrate.
pub struct CalibrationData {
    /// The samples.
    pub samples: Vec<Vec<Tensor>>,
    /// Called after each sample's run with `(runs done, runs in total)`
    /// (a progress bar); may be called from several threads.
    pub progress: Option<Box<dyn Fn(usize, usize) + Send + Sync>>,
}

impl CalibrationData {
    /// `samples` without progress reporting.
    pub fn new(samples: Vec<Vec<Tensor>>) -> CalibrationData {
        CalibrationData {
            samples,
            progress: None,
        }
    }
}

/// Counts the runs of one calibration and reports them.
struct Tick<'a> {
    data: &'a CalibrationData,
    done: std::sync::atomic::AtomicUsize,
    total: usize,
}

impl Tick<'_> {
    fn tick(&self) {
        let n = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(p) = &self.data.progress {
            p(n, self.total);
        }
    }
}

/// Every finite element of `t` as f32 (non-float tensors are skipped).
fn floats(t: &Tensor) -> &[f32] {
    match &t.data {
        TensorData::F32(v) => v,
        _ => &[],
    }
}

/// Samples folded one after the other by one parallel task: a constant, so
/// that floating-point sums do not depend on the number of threads.
const CHUNK: usize = 8;

/// Folds `f` over `samples` in parallel chunks of [`CHUNK`] samples (each
/// in order from `init()`), then merges the chunks' results in order: the
/// same sums, to the bit, on every machine and run.
pub(crate) fn fold_samples<A: Send>(
    samples: &[Vec<Tensor>],
    init: impl Fn() -> A + Sync + Send,
    f: impl Fn(A, &[Tensor]) -> Result<A, InterpError> + Sync + Send,
    merge: impl Fn(A, A) -> A,
) -> Result<A, InterpError> {
    let parts: Vec<A> = samples
        .par_chunks(CHUNK)
        .map(|c| c.iter().try_fold(init(), |acc, s| f(acc, s)))
        .collect::<Result<_, _>>()?;
    let mut parts = parts.into_iter();
    let first = parts.next().unwrap_or_else(&init);
    Ok(parts.fold(first, merge))
}

/// Runs `g` on every sample (in parallel), folding `observe(acc, value,
/// tensor)` over every graph input and op result, and merging the results
/// deterministically ([`fold_samples`]).
pub fn fold_observed<A: Send>(
    g: &Graph,
    data: &CalibrationData,
    tick: &(dyn Fn() + Sync),
    init: impl Fn() -> A + Sync + Send,
    observe: impl Fn(&mut A, ValueId, &Tensor) + Sync + Send,
    merge: impl Fn(A, A) -> A + Sync + Send,
) -> Result<A, InterpError> {
    fold_samples(
        &data.samples,
        init,
        |mut acc, sample| {
            for (&v, t) in g.inputs().iter().zip(sample) {
                observe(&mut acc, v, t);
            }
            run_observed(g, sample, |v, t| observe(&mut acc, v, t))?;
            tick();
            Ok(acc)
        },
        merge,
    )
}

/// Per-value `(min, max)` of finite elements, indexed by value index.
type Extremes = Vec<Option<(f32, f32)>>;

fn merge_extremes(mut a: Extremes, b: Extremes) -> Extremes {
    for (x, y) in a.iter_mut().zip(b) {
        *x = match (*x, y) {
            (Some((l1, h1)), Some((l2, h2))) => Some((l1.min(l2), h1.max(h2))),
            (p, q) => p.or(q),
        };
    }
    a
}

fn slots(g: &Graph) -> usize {
    g.values().map(|(id, _)| id.index() + 1).max().unwrap_or(0)
}

/// The ranges of every f32 graph input and op result of `g` on `data`.
pub fn calibrate(g: &Graph, data: &CalibrationData, method: Method) -> Result<Ranges, InterpError> {
    let n = slots(g);
    let passes = if method == Method::MinMax { 1 } else { 2 };
    let tick = Tick {
        data,
        done: 0.into(),
        total: passes * data.samples.len(),
    };
    let extremes = fold_observed(
        g,
        data,
        &|| tick.tick(),
        || vec![None; n],
        |acc: &mut Extremes, v, t| {
            for &x in floats(t).iter().filter(|x| x.is_finite()) {
                let e = acc[v.index()].get_or_insert((x, x));
                *e = (e.0.min(x), e.1.max(x));
            }
        },
        merge_extremes,
    )?;
    let hist = if method == Method::MinMax {
        Vec::new()
    } else {
        fold_observed(
            g,
            data,
            &|| tick.tick(),
            || vec![Vec::new(); n],
            |acc: &mut Vec<Vec<u64>>, v, t| {
                if let Some((lo, hi)) = extremes[v.index()] {
                    let h = &mut acc[v.index()];
                    h.resize(BINS, 0);
                    for &x in floats(t).iter().filter(|x| x.is_finite()) {
                        h[bin(x, lo, hi)] += 1;
                    }
                }
            },
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    if x.is_empty() {
                        *x = y;
                    } else {
                        x.iter_mut().zip(y).for_each(|(p, q)| *p += q);
                    }
                }
                a
            },
        )?
    };
    let mut out = BTreeMap::new();
    for (id, v) in g.values() {
        let Some((lo, hi)) = extremes.get(id.index()).copied().flatten() else {
            continue;
        };
        let r = match method {
            Method::MinMax => Range { min: lo, max: hi },
            Method::Percentile(p) => percentile(&hist[id.index()], lo, hi, p),
            Method::Mse => mse(&hist[id.index()], lo, hi),
        };
        out.insert(v.name.clone(), r);
    }
    Ok(Ranges(out))
}

/// The histogram bin of `x` in `[lo, hi]`.
fn bin(x: f32, lo: f32, hi: f32) -> usize {
    if hi <= lo {
        return 0;
    }
    let f = ((x - lo) / (hi - lo) * BINS as f32) as usize;
    f.min(BINS - 1)
}

/// The real value at the left edge of bin `i`.
fn edge(i: usize, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * i as f32 / BINS as f32
}

/// The `(100 - p)`-th and `p`-th percentiles of histogram `h` over
/// `[lo, hi]`, to bin resolution (the outer edge of the bin reached).
fn percentile(h: &[u64], lo: f32, hi: f32, p: f32) -> Range {
    let total: u64 = h.iter().sum();
    if total == 0 {
        return Range { min: lo, max: hi };
    }
    let cut = ((1.0 - f64::from(p) / 100.0) * total as f64).floor() as u64;
    let mut below = 0;
    let mut first = 0;
    for (i, &c) in h.iter().enumerate() {
        if below + c > cut {
            first = i;
            break;
        }
        below += c;
    }
    let mut above = 0;
    let mut last = h.len().saturating_sub(1);
    for (i, &c) in h.iter().enumerate().rev() {
        if above + c > cut {
            last = i;
            break;
        }
        above += c;
    }
    Range {
        min: edge(first, lo, hi),
        max: edge(last + 1, lo, hi).min(hi),
    }
}

/// The range `[a*lo', a*hi']` (`lo' = min(lo, 0)`, `hi' = max(hi, 0)`),
/// `a` in `{1, 0.99, ..., 0.2}`, with the least expected squared error
/// of 8-bit quantization of histogram `h` over `[lo, hi]`.
fn mse(h: &[u64], lo: f32, hi: f32) -> Range {
    let (l0, h0) = (f64::from(lo.min(0.0)), f64::from(hi.max(0.0)));
    let centers: Vec<(f64, f64)> = h
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(i, &c)| {
            let x = (f64::from(edge(i, lo, hi)) + f64::from(edge(i + 1, lo, hi))) / 2.0;
            (x, c as f64)
        })
        .collect();
    let error = |a: f64| {
        let (l, u) = (l0 * a, h0 * a);
        let step = (u - l) / 255.0;
        centers
            .iter()
            .map(|&(x, c)| {
                let clipped = x.clamp(l, u);
                c * ((x - clipped).powi(2) + step * step / 12.0)
            })
            .sum::<f64>()
    };
    let best = (20..=100)
        .rev()
        .map(|k| f64::from(k) / 100.0)
        .map(|a| (a, error(a)))
        .fold((1.0, f64::INFINITY), |b, c| if c.1 < b.1 { c } else { b });
    Range {
        min: (l0 * best.0) as f32,
        max: (h0 * best.0) as f32,
    }
}

/// Per-channel (last axis) means of the f32 op results named in `names`,
/// on `data`: what bias correction compares between a float graph and its
/// quantized form (whose int8 values are dequantized first).
pub fn channel_means(
    g: &Graph,
    data: &CalibrationData,
    names: &[String],
) -> Result<BTreeMap<String, Vec<f64>>, InterpError> {
    channel_reduce(g, data, names, |x| x)
}

/// Per-channel (last axis) means of `|x|` of the op results named in
/// `names`, on `data` (the activation-based importance of channels).
pub fn channel_mean_abs(
    g: &Graph,
    data: &CalibrationData,
    names: &[String],
) -> Result<BTreeMap<String, Vec<f64>>, InterpError> {
    channel_reduce(g, data, names, f64::abs)
}

/// Per-channel means of `f(x)` ([`channel_means`]).
fn channel_reduce(
    g: &Graph,
    data: &CalibrationData,
    names: &[String],
    f: fn(f64) -> f64,
) -> Result<BTreeMap<String, Vec<f64>>, InterpError> {
    let n = slots(g);
    let wanted: Vec<bool> = {
        let mut w = vec![false; n];
        for name in names {
            if let Some(v) = g.value_by_name(name) {
                w[v.index()] = true;
            }
        }
        w
    };
    type Sums = Vec<Option<(Vec<f64>, u64)>>;
    let sums = fold_observed(
        g,
        data,
        &|| {},
        || vec![None; n],
        |acc: &mut Sums, v, t| {
            if !wanted[v.index()] {
                return;
            }
            let c = t.ty.shape.last().copied().unwrap_or(1).max(1);
            let (s, count) = acc[v.index()].get_or_insert((vec![0.0; c], 0));
            for (i, real) in reals(t).into_iter().enumerate() {
                s[i % c] += f(real);
            }
            *count += (t.data.len() / c) as u64;
        },
        |mut a: Sums, b: Sums| {
            for (x, y) in a.iter_mut().zip(b) {
                match (x.as_mut(), y) {
                    (Some((s, n)), Some((t, m))) => {
                        s.iter_mut().zip(t).for_each(|(p, q)| *p += q);
                        *n += m;
                    }
                    (None, y) => *x = y,
                    _ => {}
                }
            }
            a
        },
    )?;
    let mut out = BTreeMap::new();
    for (id, v) in g.values() {
        if let Some(Some((s, count))) = sums.get(id.index()) {
            let k = (*count).max(1) as f64;
            out.insert(v.name.clone(), s.iter().map(|x| x / k).collect());
        }
    }
    Ok(out)
}

/// The real values of `t` (dequantized when it is per-tensor quantized).
fn reals(t: &Tensor) -> Vec<f64> {
    let q = t.ty.quant.as_ref().filter(|q| q.is_per_tensor());
    (0..t.data.len())
        .map(|i| {
            let x = t.data.get_f64(i);
            match q {
                Some(q) => f64::from(q.scale[0]) * (x - f64::from(q.zero_point[0])),
                None => x,
            }
        })
        .collect()
}

/// Signal-to-quantization-noise ratio in dB of each pair `(value of
/// `approx`, value of `exact`)` on `data`: `10 log10(sum f^2 / sum (f -
/// q)^2)` over every element of every sample, `f` the value in `exact`
/// and `q` the (dequantized) value in `approx`. Infinite when they agree;
/// `None` for a pair not found in both graphs.
pub fn sqnr(
    exact: &Graph,
    approx: &Graph,
    data: &CalibrationData,
    pairs: &[(String, String)],
) -> Result<Vec<Option<f64>>, InterpError> {
    let idx = |g: &Graph, name: &str| g.value_by_name(name).map(|v| v.index());
    let slots_e: Vec<Option<usize>> = pairs.iter().map(|(_, e)| idx(exact, e)).collect();
    let slots_a: Vec<Option<usize>> = pairs.iter().map(|(a, _)| idx(approx, a)).collect();
    let sums = fold_samples(
        &data.samples,
        || vec![(0.0, 0.0); pairs.len()],
        |mut out: Vec<(f64, f64)>, sample| {
            let mut want: Vec<Option<Vec<f64>>> = vec![None; pairs.len()];
            // Runs `g`, giving `sink` the tensor of each pair's value.
            let grab =
                |g: &Graph, slots: &[Option<usize>], sink: &mut dyn FnMut(usize, &Tensor)| {
                    let mut each = |v: ValueId, t: &Tensor| {
                        for (k, s) in slots.iter().enumerate() {
                            if *s == Some(v.index()) {
                                sink(k, t);
                            }
                        }
                    };
                    for (&v, t) in g.inputs().iter().zip(sample) {
                        each(v, t);
                    }
                    run_observed(g, sample, each).map(|_| ())
                };
            grab(exact, &slots_e, &mut |k, t| want[k] = Some(reals(t)))?;
            grab(approx, &slots_a, &mut |k, t| {
                if let Some(f) = &want[k] {
                    for (x, y) in f.iter().zip(reals(t)) {
                        out[k].0 += x * x;
                        out[k].1 += (x - y) * (x - y);
                    }
                }
            })?;
            Ok(out)
        },
        |a, b| {
            a.iter()
                .zip(b)
                .map(|(p, q)| (p.0 + q.0, p.1 + q.1))
                .collect()
        },
    )?;
    Ok(sums
        .into_iter()
        .enumerate()
        .map(|(k, (s, n))| {
            let found = slots_e[k].is_some() && slots_a[k].is_some();
            found.then(|| 10.0 * (s / n).log10())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_do_not_depend_on_the_number_of_threads() {
        // Sums of values of very different magnitudes: any change of order
        // changes the low bits.
        let samples: Vec<Vec<Tensor>> = (0..50)
            .map(|i| {
                let v = 10f32.powi(i % 13 - 6) * (1.0 + i as f32 / 7.0);
                vec![Tensor {
                    ty: tmlc_ir::TensorType::new(tmlc_ir::DType::F32, vec![1]),
                    data: TensorData::F32(vec![v]),
                }]
            })
            .collect();
        let sum = || {
            fold_samples(
                &samples,
                || 0.0f64,
                |a, s| Ok(a + f64::from(floats(&s[0])[0])),
                |a, b| a + b,
            )
            .unwrap_or(f64::NAN)
        };
        let on = |n| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build();
            pool.map(|p| p.install(sum).to_bits()).unwrap_or(0)
        };
        let one = on(1);
        for n in [2, 3, 8] {
            assert_eq!(on(n), one, "{n} threads");
        }
    }

    #[test]
    fn methods_parse_and_print() {
        for s in ["minmax", "mse", "percentile:99.9"] {
            assert_eq!(s.parse::<Method>().map(|m| m.to_string()), Ok(s.into()));
        }
        assert_eq!("percentile".parse(), Ok(Method::Percentile(99.99)));
        assert!("percentile:20".parse::<Method>().is_err());
        assert!("max".parse::<Method>().is_err());
    }

    #[test]
    fn percentile_drops_the_outliers() {
        // 10,000 values: 9,998 in bin 0..1024 uniformly, one at each end.
        let mut h = vec![0u64; BINS];
        h[0] = 1;
        h[BINS - 1] = 1;
        for c in h.iter_mut().take(1024).skip(512) {
            *c = 9998 / 512;
        }
        let r = percentile(&h, -1.0, 1.0, 99.99);
        // The cut is floor(1e-4 * 9998) = 0 elements: the single outliers
        // stay (they are exactly the cut).
        assert_eq!(
            r,
            Range {
                min: -1.0,
                max: 1.0
            }
        );
        let r = percentile(&h, -1.0, 1.0, 99.9);
        // Cut 9 elements: both outliers go; the range is bins 512..1024,
        // i.e. [-0.5, 0.0].
        assert_eq!(
            r,
            Range {
                min: -0.5,
                max: 0.0
            }
        );
    }

    #[test]
    fn mse_clips_a_long_tail() {
        // Most mass near 0, one far outlier: clipping it costs less than
        // the rounding noise a 100x wider step would add everywhere.
        // With N values at ~0 and one at ~100, the error of clipping at
        // 100a is N (100a)^2 / (255^2 12) + (100 - 100a)^2, least at
        // a = 0.438 for N = 10^6: the search's nearest step is 0.44.
        let mut h = vec![0u64; BINS];
        h[0] = 1_000_000;
        h[BINS - 1] = 1;
        let r = mse(&h, 0.0, 100.0);
        assert_eq!(r.min, 0.0);
        assert!((r.max - 44.0).abs() < 1e-3, "{r:?}");
        // A uniform spread keeps its full range.
        let h = vec![10u64; BINS];
        assert_eq!(
            mse(&h, -1.0, 1.0),
            Range {
                min: -1.0,
                max: 1.0
            }
        );
    }
}
