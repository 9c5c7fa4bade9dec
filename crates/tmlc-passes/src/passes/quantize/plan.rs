//! Which values are quantized with which parameters, and the int8 form of
//! the constants the quantized ops read.

use super::failed;
use crate::calibrate::{Range, Ranges};
use crate::PassError;
use std::collections::BTreeMap;
use tmlc_ir::{
    arith, DType, Graph, Op, OpFamily, Quant, QuantRule, ResultType, Rounding, TensorData,
    TensorType, ValueId,
};

/// Asymmetric int8 parameters covering `r` widened to include 0, with the
/// zero point rounded to an integer (so 0 is exact) as TFLite's converter
/// does.
pub fn affine(r: Range) -> Quant {
    let lo = f64::from(r.min.min(0.0));
    let hi = f64::from(r.max.max(0.0));
    let span = hi - lo;
    let scale = if span > 0.0 && span.is_finite() {
        span / 255.0
    } else {
        1.0 / 255.0
    };
    let zp = (-128.0 - lo / scale).round().clamp(-128.0, 127.0);
    Quant::per_tensor(scale as f32, zp as i32)
}

fn union(a: Range, b: Range) -> Range {
    Range {
        min: a.min.min(b.min),
        max: a.max.max(b.max),
    }
}

/// The int8 parameters of every f32 graph input and op result that has a
/// range, by value (in value order).
pub fn plan(g: &Graph, ranges: &Ranges) -> Result<BTreeMap<ValueId, Quant>, PassError> {
    let order = g.topo_order().map_err(|_| failed("graph has a cycle"))?;
    let mut ranges = ranges.clone();
    // A concat's operands that only it reads share one range.
    for &n in &order {
        let node = g.node(n);
        if !matches!(node.op, Op::Concat(_)) {
            continue;
        }
        let mut all = ranges.get(&g.value(node.result).name);
        for &o in &node.operands {
            if let Some(r) = ranges.get(&g.value(o).name) {
                all = Some(all.map_or(r, |a| union(a, r)));
            }
        }
        let Some(all) = all else { continue };
        ranges.0.insert(g.value(node.result).name.clone(), all);
        for &o in &node.operands {
            let shared = g.producer(o).is_some() && g.use_count(o) == 1;
            if shared && !g.outputs().contains(&o) && ranges.get(&g.value(o).name).is_some() {
                ranges.0.insert(g.value(o).name.clone(), all);
            }
        }
    }
    let is_f32 = |v: ValueId| g.value(v).ty.dtype == DType::F32;
    let range_of = |v: ValueId| ranges.get(&g.value(v).name).map(affine);
    let mut out = BTreeMap::new();
    for &x in g.inputs() {
        if let Some(q) = range_of(x).filter(|_| is_f32(x)) {
            out.insert(x, q);
        }
    }
    for n in order {
        let node = g.node(n);
        let r = node.result;
        if !is_f32(r) {
            continue;
        }
        let q = match node.op.quant_rule() {
            QuantRule::Fixed { scale, zero_point } => Some(Quant::per_tensor(scale, zero_point)),
            QuantRule::SameAsInput if node.operands.len() == 1 => {
                out.get(&node.operands[0]).cloned().or_else(|| range_of(r))
            }
            _ => range_of(r),
        };
        if let Some(q) = q {
            out.insert(r, q);
        }
    }
    Ok(out)
}

/// Symmetric int8 values and per-channel scales of `w` with `channels`
/// rows: `scale[c] = max|w[c]| / 127` (1 for an all-zero row).
pub(crate) fn per_channel(w: &[f32], channels: usize) -> (Vec<i8>, Vec<f32>) {
    let k = w.len() / channels.max(1);
    let mut q = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(channels);
    for row in w.chunks(k.max(1)) {
        let m = row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let s = if m > 0.0 && m.is_finite() {
            m / 127.0
        } else {
            1.0
        };
        scales.push(s);
        q.extend(
            row.iter()
                .map(|&x| arith::quantize_f32(Rounding::HalfAway, x, s, 0, -127, 127) as i8),
        );
    }
    (q, scales)
}

fn f32_const(g: &Graph, v: ValueId) -> Option<Vec<f32>> {
    match g.const_data(v)? {
        TensorData::F32(d) => Some(d.clone()),
        _ => None,
    }
}

/// Replaces operand `i` of node `n` by `dequantize(c)` for a new constant
/// `c` of type `ty` and contents `data`.
fn set_dequantized(
    g: &mut Graph,
    n: tmlc_ir::NodeId,
    i: usize,
    ty: TensorType,
    data: TensorData,
) -> Result<(), PassError> {
    let old = g.node(n).operands[i];
    let base = g.value(old).name.clone();
    let cname = g.fresh_name(&format!("{base}_q"));
    let c = g.add_const(&cname, ty, data);
    let dname = g.fresh_name(&format!("{base}_dq"));
    let dq = g
        .add_op(Op::Dequantize, vec![c], &dname, ResultType::Inferred)
        .map_err(failed)?;
    g.set_operand(n, i, dq).map_err(failed)
}

/// Gives every planned op its constants in int8 / int32 form, each read
/// through a `dequantize`: the weights and bias of a conv2d /
/// fully_connected whose input and result are planned (int4 weights, with
/// the given scales, for the layers named in `int4`), and the constant
/// operand of a planned add / sub / mul; not those of the `kept` nodes.
/// The float constants stay for other readers (dead code otherwise).
pub fn quantize_constants(
    g: &mut Graph,
    params: &BTreeMap<ValueId, Quant>,
    kept: &[tmlc_ir::NodeId],
    int4: &BTreeMap<String, Vec<f32>>,
) -> Result<(), PassError> {
    for n in g.node_ids() {
        let node = g.node(n).clone();
        if !params.contains_key(&node.result) || kept.contains(&n) {
            continue;
        }
        match node.op.family() {
            OpFamily::Weighted => {
                let Some(s_in) = params.get(&node.operands[0]).map(|q| q.scale[0]) else {
                    continue;
                };
                let w = node.operands[1];
                let Some(wd) = f32_const(g, w) else { continue };
                let bias = match node.operands.get(2) {
                    Some(&b) => match f32_const(g, b) {
                        Some(d) => Some(d),
                        None => continue,
                    },
                    None => None,
                };
                let shape = g.value(w).ty.shape.clone();
                let channels = shape.first().copied().unwrap_or(1);
                let zeros = vec![0; channels];
                let (dtype, data, scales) = match int4.get(&g.value(node.result).name) {
                    // 4-bit: on the grid `int4-weights` chose.
                    Some(scales) if scales.len() == channels => {
                        let k = wd.len() / channels.max(1);
                        let q = wd
                            .iter()
                            .enumerate()
                            .map(|(i, &x)| {
                                let s = scales[i / k.max(1)];
                                arith::quantize_f32(Rounding::HalfAway, x, s, 0, -7, 7) as i8
                            })
                            .collect();
                        (DType::I4, TensorData::I4(q), scales.clone())
                    }
                    _ => {
                        let (q, scales) = per_channel(&wd, channels);
                        (DType::I8, TensorData::I8(q), scales)
                    }
                };
                let wt = TensorType::quantized(
                    dtype,
                    shape,
                    Quant::per_axis(0, scales.clone(), zeros.clone()),
                );
                set_dequantized(g, n, 1, wt, data)?;
                if let Some(bd) = bias {
                    let bs: Vec<f32> = scales.iter().map(|s| s_in * s).collect();
                    let bq = bd
                        .iter()
                        .zip(&bs)
                        .map(|(&b, &s)| {
                            let lim = (i32::MIN as i64, i32::MAX as i64);
                            arith::quantize_f32(Rounding::HalfAway, b, s, 0, lim.0, lim.1) as i32
                        })
                        .collect();
                    let bt = TensorType::quantized(
                        DType::I32,
                        vec![channels],
                        Quant::per_axis(0, bs, zeros),
                    );
                    set_dequantized(g, n, 2, bt, TensorData::I32(bq))?;
                }
            }
            OpFamily::Binary if !matches!(node.op, Op::Div(_)) => {
                for (i, &o) in node.operands.iter().enumerate() {
                    let Some(d) = f32_const(g, o) else { continue };
                    let r = d.iter().fold(Range { min: 0.0, max: 0.0 }, |r, &x| Range {
                        min: r.min.min(x),
                        max: r.max.max(x),
                    });
                    let q = affine(r);
                    let (s, z) = (q.scale[0], q.zero_point[0]);
                    let data = d
                        .iter()
                        .map(|&x| arith::quantize_f32(Rounding::HalfAway, x, s, z, -128, 127) as i8)
                        .collect();
                    let ty = TensorType::quantized(DType::I8, g.value(o).ty.shape.clone(), q);
                    set_dequantized(g, n, i, ty, TensorData::I8(data))?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_parameters_match_hand_computed_ones() {
        // [-1, 3]: scale 4/255, zero point -128 + 1/(4/255) = -64.25 -> -64.
        let q = affine(Range {
            min: -1.0,
            max: 3.0,
        });
        assert_eq!(q.scale, vec![4.0 / 255.0]);
        assert_eq!(q.zero_point, vec![-64]);
        // A positive range is widened to include 0: zero point -128.
        let q = affine(Range { min: 2.0, max: 5.1 });
        assert_eq!((q.scale[0], q.zero_point[0]), (0.02, -128));
        // An empty range still gives valid parameters.
        let q = affine(Range { min: 0.0, max: 0.0 });
        assert!(q.scale[0] > 0.0);
    }

    #[test]
    fn weights_are_symmetric_per_channel() {
        let (q, s) = per_channel(&[0.5, -1.27, 0.0, 2.54, 0.0, 0.0], 3);
        assert_eq!(s, vec![1.27 / 127.0, 2.54 / 127.0, 1.0]);
        assert_eq!(q, vec![50, -127, 0, 127, 0, 0]);
    }
}
