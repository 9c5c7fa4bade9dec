//! `quantize`: post-training int8 quantization of a float graph.
//!
//! The ranges come from the pass context: [`Ranges`] if present (saved by
//! an earlier run), otherwise they are measured on the context's
//! [`CalibrationData`] by the pass's method and left in the context as
//! [`Ranges`] for the caller to save. Then:
//! 1. every f32 graph input and op result with a range gets int8
//!    parameters ([`plan`]): asymmetric per tensor over the range widened
//!    to include 0; an op with fixed output parameters (softmax, sigmoid,
//!    tanh) takes them; an op that keeps its operand's parameters (pooling,
//!    reshape, pad, ...) takes its operand's; the operands of a concat share
//!    the union of their ranges when the concat is their only reader;
//! 2. conv2d / fully_connected weights become symmetric per-output-channel
//!    int8 (`scale = max|w| / 127`), biases int32 with scale `s_in * s_w`,
//!    the constant operand of an add / sub / mul int8 per tensor;
//! 3. every planned value `v` is followed by `dequantize(quantize(v))`
//!    that its readers read instead (the QDQ form), and `fuse-qdq` turns
//!    each float op between conversions into its int8 form. An op that has
//!    no int8 form stays f32 between a `dequantize` and a `quantize`; a
//!    layer named in `keep-float` reads its f32 operands and keeps its f32
//!    constants, and its result is quantized for its readers.
//!
//! Options: bias correction (see [`bias`]) and int8 graph inputs and
//! outputs instead of float ones at the boundary.
//!
//! Names: an int8 layer takes the name of the float value it replaces (the
//! float one is renamed `NAME_f` while the pass runs); a graph output keeps
//! its name on the float value the graph returns, its int8 producer is
//! `NAME_q`.
//!
//! Calibrating and quantizing a graph from a library (the ranges the
//! calibration measured stay in the context, to be saved and given to a
//! later run instead of the data):
//!
//! ```
//! use tmlc_ir::{parse, DType, Tensor, TensorData, TensorType};
//! use tmlc_passes::calibrate::{CalibrationData, Ranges};
//! use tmlc_passes::passes::quantize::Quantize;
//! use tmlc_passes::{PassContext, Pipeline};
//!
//! let mut g = parse(
//!     "graph @m(%x: f32[1,4]) -> (%y) {
//!        %w = const f32[2,4] [0.5, -1.0, 0.25, 2.0, 1.0, 1.0, -0.5, 0.0]
//!        %b = const f32[2] [0.1, -0.2]
//!        %y = fully_connected(%x, %w, %b) {act = relu} : f32[1,2]
//!      }",
//! )?;
//! // 32 representative inputs, one tensor per graph input each.
//! let samples = (0..32)
//!     .map(|i| {
//!         let v = (0..4).map(|k| ((i * 7 + k * 3) % 11) as f32 / 5.0 - 1.0).collect();
//!         vec![Tensor { ty: TensorType::new(DType::F32, vec![1, 4]), data: TensorData::F32(v) }]
//!     })
//!     .collect();
//! let mut cx = PassContext::new(true);
//! cx.insert(CalibrationData::new(samples));
//! Pipeline::new().then(Quantize::default()).run(&mut g, &mut cx)?;
//!
//! // An int8 fully_connected between a quantize and a dequantize.
//! let ops: Vec<&str> = g.topo_order().unwrap().iter().map(|&n| g.node(n).op.name()).collect();
//! assert_eq!(ops, ["quantize", "fully_connected", "dequantize"]);
//! let ranges = cx.get::<Ranges>().expect("calibrated");
//! assert_eq!(ranges.get("y").map(|r| r.min), Some(0.0)); // after the relu
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bias;
pub(crate) mod plan;

use crate::calibrate::{calibrate, CalibrationData, Method, Ranges};
use crate::named::named_enum;
use crate::passes::int4_weights::Int4Layers;
use crate::passes::{dce::DeadCodeElimination, fuse_qdq::FuseQdq};
use crate::teacher::Teacher;
use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use std::collections::BTreeMap;
use tmlc_ir::{
    DType, Graph, GraphError, NodeId, Op, OpFamily, QuantizeAttrs, ResultType, TensorType, ValueId,
};

named_enum! {
    /// The dtype of a quantized graph's inputs and outputs.
    #[derive(Default)]
    pub enum IoDtype {
        /// f32, quantized and dequantized inside the graph.
        #[default]
        Float = "float",
        /// int8 with the parameters the calibration chose.
        Int8 = "int8",
    }
}

/// The `quantize` pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantize {
    /// How observed values become ranges (when the context has no ranges).
    pub method: Method,
    /// Shift each int8 layer's bias by the mean difference between its
    /// float and int8 results on the calibration data.
    pub bias_correction: bool,
    /// The dtype of the graph's inputs and outputs.
    pub io: IoDtype,
    /// Layers (result names) left in f32.
    pub keep_float: Vec<String>,
    /// Measure the SQNR of every int8 layer and output against the float
    /// graph on the calibration data, left in the context as
    /// [`Sensitivity`].
    pub sensitivity: bool,
}

impl Default for Quantize {
    /// Percentile ranges and bias correction (the best SQNR on the
    /// measured models, `docs/quantization.md`), float I/O.
    fn default() -> Self {
        Quantize {
            method: Method::default(),
            bias_correction: true,
            io: IoDtype::Float,
            keep_float: Vec::new(),
            sensitivity: false,
        }
    }
}

/// How much each int8 layer and each graph output lost to quantization:
/// SQNR in dB of the layer's (dequantized) result against the float
/// graph's value on the calibration data; for the outputs, against the
/// uncompressed model when the graph was pruned (the context's
/// [`Teacher`]). Lower is worse.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sensitivity {
    /// `(int8 layer result name, SQNR dB)`, in execution order.
    pub layers: Vec<(String, f64)>,
    /// `(graph output name, SQNR dB)`.
    pub outputs: Vec<(String, f64)>,
}

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "quantize",
    description: "post-training int8 quantization from calibration data or saved ranges",
    options: &[
        ("method", "minmax, percentile, percentile:P or mse"),
        ("bias-correction", "true or false"),
        ("io", "float or int8 graph inputs and outputs"),
        ("keep-float", "layers left in f32, separated by `:`"),
        (
            "sensitivity",
            "measure each int8 layer's SQNR against float (true or false)",
        ),
    ],
    build: |o| {
        let d = Quantize::default();
        let keep: String = o.get("keep-float", String::new())?;
        Ok(Box::new(Quantize {
            method: o.get("method", d.method)?,
            bias_correction: o.get("bias-correction", d.bias_correction)?,
            io: o.get("io", d.io)?,
            keep_float: keep
                .split(':')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            sensitivity: o.get("sensitivity", d.sensitivity)?,
        }))
    },
};

fn failed(e: impl std::fmt::Display) -> PassError {
    PassError::failed(INFO.name, e)
}

impl Pass for Quantize {
    fn name(&self) -> &'static str {
        INFO.name
    }

    fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("method", self.method.to_string()),
            ("bias-correction", self.bias_correction.to_string()),
            ("io", self.io.to_string()),
            ("keep-float", self.keep_float.join(":")),
            ("sensitivity", self.sensitivity.to_string()),
        ]
    }

    fn run(&self, g: &mut Graph, cx: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let float_arith = g.node_ids().into_iter().any(|n| {
            let node = g.node(n);
            !matches!(node.op.family(), OpFamily::Movement | OpFamily::Convert)
                && g.value(node.result).ty.dtype == DType::F32
        });
        if !float_arith {
            return Ok(Changed::No);
        }
        let ranges = match cx.get::<Ranges>() {
            Some(r) => r.clone(),
            None => {
                let data = cx.get::<CalibrationData>().ok_or_else(|| {
                    failed("needs calibration data (--calibration) or saved ranges (--ranges)")
                })?;
                let start = std::time::Instant::now();
                let r = calibrate(g, data, self.method).map_err(failed)?;
                let note = format!(
                    "calibrated on {} samples ({}) in {:.2} s",
                    data.samples.len(),
                    self.method,
                    start.elapsed().as_secs_f64()
                );
                cx.report(INFO.name, note);
                cx.insert(r.clone());
                r
            }
        };
        for name in &self.keep_float {
            if g.value_by_name(name).and_then(|v| g.producer(v)).is_none() {
                return Err(failed(format!("keep-float: no layer named `{name}`")));
            }
        }
        let float = g.clone();
        let kept: Vec<NodeId> = g
            .node_ids()
            .into_iter()
            .filter(|&n| self.keep_float.contains(&g.value(g.node(n).result).name))
            .collect();
        let params = plan::plan(g, &ranges)?;
        let int4 = cx
            .get::<Int4Layers>()
            .map(|l| l.0.clone())
            .unwrap_or_default();
        plan::quantize_constants(g, &params, &kept, &int4)?;
        let layers = insert_qdq(g, &params, &kept)?;
        FuseQdq.run(g, cx)?;
        DeadCodeElimination.run(g, cx)?;
        if self.bias_correction {
            match cx.get::<CalibrationData>() {
                Some(data) => bias::correct(&float, g, data, &layers)?,
                None => cx.report(INFO.name, "no calibration data: bias correction skipped"),
            }
        }
        if self.io == IoDtype::Int8 {
            int8_io(g).map_err(failed)?;
        }
        if self.sensitivity {
            match cx.get::<CalibrationData>() {
                Some(data) => {
                    let teacher = cx.get::<Teacher>().map(|t| &t.0);
                    let s = sensitivity(&float, teacher, g, data, &layers)?;
                    cx.insert(s);
                }
                None => cx.report(INFO.name, "no calibration data: no sensitivity measured"),
            }
        }
        Ok(Changed::Yes)
    }
}

/// Puts `dequantize(quantize(v))` between every planned value `v` and its
/// readers, except the `kept` nodes, which read `v` itself (and so stay
/// f32). Returns the float name of each int8 layer name.
fn insert_qdq(
    g: &mut Graph,
    params: &BTreeMap<ValueId, tmlc_ir::Quant>,
    kept: &[NodeId],
) -> Result<BTreeMap<String, String>, PassError> {
    let mut layers = BTreeMap::new();
    for (&v, q) in params {
        let name = g.value(v).name.clone();
        let is_input = g.inputs().contains(&v);
        let is_output = g.outputs().contains(&v);
        if !is_input {
            let renamed = g.fresh_name(&format!("{name}_f"));
            g.rename(v, &renamed);
        }
        let qname = if is_input || is_output {
            g.fresh_name(&format!("{name}_q"))
        } else {
            name.clone()
        };
        let ty = TensorType::quantized(DType::I8, g.value(v).ty.shape.clone(), q.clone());
        let qv = g
            .add_op(
                Op::Quantize(QuantizeAttrs::default()),
                vec![v],
                &qname,
                ResultType::Given(ty),
            )
            .map_err(failed)?;
        let dqname = if is_output && !is_input {
            name.clone()
        } else {
            g.fresh_name(&format!("{name}_dq"))
        };
        let dq = g
            .add_op(Op::Dequantize, vec![qv], &dqname, ResultType::Inferred)
            .map_err(failed)?;
        let qnode = g
            .producer(qv)
            .ok_or_else(|| failed("quantize has no node"))?;
        let except: Vec<NodeId> = kept.iter().copied().chain([qnode]).collect();
        g.replace_uses_except(v, dq, &except);
        layers.insert(qname, name);
    }
    Ok(layers)
}

/// The SQNR of the int8 layers of `g` (named in `layers`, by float name)
/// against `float`, and of its outputs against the uncompressed `teacher`
/// if there is one (the graph was pruned before), else against `float`.
fn sensitivity(
    float: &Graph,
    teacher: Option<&Graph>,
    g: &Graph,
    data: &CalibrationData,
    layers: &BTreeMap<String, String>,
) -> Result<Sensitivity, PassError> {
    let order = g.topo_order().map_err(|_| failed("graph has a cycle"))?;
    let int8_layers: Vec<(String, String)> = order
        .into_iter()
        .filter_map(|n| {
            let r = g.node(n).result;
            let name = &g.value(r).name;
            let arithmetic = !matches!(
                g.node(n).op.family(),
                OpFamily::Movement | OpFamily::Convert
            );
            let f = layers.get(name).filter(|_| arithmetic)?;
            Some((name.clone(), f.clone()))
        })
        .collect();
    let reference = teacher.unwrap_or(float);
    let outputs: Vec<(String, String)> = g
        .outputs()
        .iter()
        .zip(reference.outputs())
        .map(|(&q, &f)| (g.value(q).name.clone(), reference.value(f).name.clone()))
        .collect();
    let l = crate::calibrate::sqnr(float, g, data, &int8_layers).map_err(failed)?;
    let o = crate::calibrate::sqnr(reference, g, data, &outputs).map_err(failed)?;
    let (l, o) = (&l[..], &o[..]);
    let named = |pairs: &[(String, String)], db: &[Option<f64>]| -> Vec<(String, f64)> {
        pairs
            .iter()
            .zip(db)
            .filter_map(|((q, _), d)| Some((q.clone(), (*d)?)))
            .collect()
    };
    Ok(Sensitivity {
        layers: named(&int8_layers, l),
        outputs: named(&outputs, o),
    })
}

/// Makes the graph's inputs and outputs int8: an f32 input read only by
/// `quantize` nodes of one type takes that type; an output that is the
/// `dequantize` of an int8 value becomes that value (under the output's
/// name).
fn int8_io(g: &mut Graph) -> Result<(), GraphError> {
    for x in g.inputs().to_vec() {
        let uses = g.uses(x);
        let mut ty = None;
        let all_quantize = !uses.is_empty()
            && uses.iter().all(|&(n, _)| {
                let node = g.node(n);
                let t = &g.value(node.result).ty;
                let same = ty.get_or_insert_with(|| t.clone()) == t;
                matches!(node.op, Op::Quantize(_)) && t.qparams().is_some() && same
            });
        let Some(ty) = ty.filter(|_| all_quantize && !g.outputs().contains(&x)) else {
            continue;
        };
        g.value_mut(x).ty = ty;
        for (n, _) in uses {
            let r = g.node(n).result;
            g.replace_all_uses(r, x);
            g.remove_node(n)?;
        }
    }
    for o in g.outputs().to_vec() {
        let Some(p) = g.producer(o) else { continue };
        let y = g.node(p).operands[0];
        let int8 = g.value(y).ty.qparams().is_some() && g.value(y).ty.dtype == DType::I8;
        if g.node(p).op != Op::Dequantize || !int8 || g.use_count(o) > 0 {
            continue;
        }
        let name = g.value(o).name.clone();
        g.set_outputs(outputs_with(g.outputs(), o, y));
        g.remove_node(p)?;
        g.rename(y, &name);
    }
    Ok(())
}

/// `outputs` with `old` replaced by `new`.
fn outputs_with(outputs: &[ValueId], old: ValueId, new: ValueId) -> Vec<ValueId> {
    outputs
        .iter()
        .map(|&o| if o == old { new } else { o })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::Range;

    const CNN: &str = "graph @m(%x: f32[1,4]) -> (%y) {
      %w = const f32[3,4] [1.0, -1.0, 0.5, 0.0, 0.25, 0.5, -2.0, 1.0, 0.0, 0.0, 0.0, 0.0]
      %h = fully_connected(%x, %w) {act = relu} : f32[1,3]
      %y = sigmoid(%h) : f32[1,3]
    }";

    fn ranges() -> Ranges {
        let r = |min, max| Range { min, max };
        Ranges(
            [("x", r(-1.0, 1.0)), ("h", r(0.0, 2.0)), ("y", r(0.0, 1.0))]
                .map(|(k, v)| (k.to_string(), v))
                .into(),
        )
    }

    fn run(pass: Quantize, with_ranges: bool) -> Result<Graph, PassError> {
        let mut g = tmlc_ir::parse(CNN).map_err(failed)?;
        let mut cx = PassContext::new(true);
        if with_ranges {
            cx.insert(ranges());
        }
        crate::Pipeline::new().then(pass).run(&mut g, &mut cx)?;
        Ok(g)
    }

    fn ops(g: &Graph) -> Vec<&'static str> {
        let order = g.topo_order().unwrap_or_default();
        order.into_iter().map(|n| g.node(n).op.name()).collect()
    }

    #[test]
    fn int8_io_takes_the_calibrated_parameters() {
        let io = IoDtype::Int8;
        let g = run(
            Quantize {
                io,
                ..Quantize::default()
            },
            true,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ops(&g), ["fully_connected", "lookup"]);
        let x = &g.value(g.inputs()[0]);
        // [-1, 1]: scale 2/255, zero point round(-128 + 127.5) = -1 (half
        // away from zero).
        assert_eq!(
            (x.name.as_str(), x.ty.qparams()),
            ("x", Some((2.0 / 255.0, -1)))
        );
        let y = &g.value(g.outputs()[0]);
        // The sigmoid's fixed parameters.
        assert_eq!(
            (y.name.as_str(), y.ty.qparams()),
            ("y", Some((1.0 / 256.0, -128)))
        );
    }

    #[test]
    fn keep_float_leaves_a_layer_in_f32() {
        let keep_float = vec!["h".to_string()];
        let g = run(
            Quantize {
                keep_float,
                ..Quantize::default()
            },
            true,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ops(&g),
            ["fully_connected", "quantize", "lookup", "dequantize"]
        );
        // The layer computes in f32 on the f32 input, with its f32 weights;
        // its result is quantized (under its name) for the sigmoid.
        let fc = g.value_by_name("h_f").and_then(|v| g.producer(v));
        let fc = fc.map(|n| g.node(n)).unwrap_or_else(|| panic!("no h_f"));
        assert_eq!(fc.operands[0], g.inputs()[0]);
        let types: Vec<DType> = [fc.result, fc.operands[1]]
            .map(|v| g.value(v).ty.dtype)
            .into();
        assert_eq!(types, [DType::F32, DType::F32]);
        let bad = vec!["nope".to_string()];
        let e = run(
            Quantize {
                keep_float: bad,
                ..Quantize::default()
            },
            true,
        );
        assert!(e.is_err_and(|e| e.to_string().contains("no layer named `nope`")));
    }

    #[test]
    fn without_data_or_ranges_it_says_what_it_needs() {
        let e = run(Quantize::default(), false).map(|_| ());
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("needs calibration data"), "{msg}");
    }
}
