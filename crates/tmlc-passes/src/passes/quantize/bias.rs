//! Bias correction: the rounding of int8 weights shifts the mean of a
//! layer's outputs; on the calibration data, each int8 conv2d /
//! fully_connected's bias is moved by the mean difference, per output
//! channel, between the float layer's result and the int8 one's
//! (dequantized), in units of the bias scale. Layers are corrected in
//! execution order, each measured after the ones before it are corrected,
//! so that a correction is not counted twice downstream. The means are
//! taken after the fused activation, as the graph computes them.

use super::failed;
use crate::calibrate::{channel_means, CalibrationData};
use crate::PassError;
use std::collections::BTreeMap;
use tmlc_ir::{DType, Graph, OpFamily, TensorData};

/// Corrects the biases of the int8 layers of `g` against `float`, the
/// graph before quantization; `layers` maps int8 layer names to float
/// value names.
pub fn correct(
    float: &Graph,
    g: &mut Graph,
    data: &CalibrationData,
    layers: &BTreeMap<String, String>,
) -> Result<(), PassError> {
    let order = g.topo_order().map_err(|_| failed("graph has a cycle"))?;
    let targets: Vec<(tmlc_ir::NodeId, String)> = order
        .into_iter()
        .filter_map(|n| {
            let node = g.node(n);
            let name = &g.value(node.result).name;
            let bias = *node.operands.get(2)?;
            let int8 = g.value(node.result).ty.dtype == DType::I8;
            let i32_bias = matches!(g.const_data(bias), Some(TensorData::I32(_)));
            (node.op.family() == OpFamily::Weighted && int8 && i32_bias)
                .then(|| layers.get(name).map(|f| (n, f.clone())))
                .flatten()
        })
        .collect();
    let wanted: Vec<String> = targets.iter().map(|(_, f)| f.clone()).collect();
    let reference = channel_means(float, data, &wanted).map_err(failed)?;
    for (n, fname) in targets {
        let Some(want) = reference.get(&fname) else {
            continue;
        };
        let name = g.value(g.node(n).result).name.clone();
        let got = channel_means(g, data, std::slice::from_ref(&name)).map_err(failed)?;
        let Some(got) = got.get(&name) else { continue };
        let b = g.node(n).operands[2];
        let scales = g
            .value(b)
            .ty
            .quant
            .as_ref()
            .map(|q| q.scale.clone())
            .unwrap_or_default();
        let Some(TensorData::I32(old)) = g.const_data(b) else {
            continue;
        };
        let new: Vec<i32> = old
            .iter()
            .enumerate()
            .map(|(c, &v)| {
                let s = f64::from(scales.get(c).or(scales.first()).copied().unwrap_or(1.0));
                let diff = want.get(c).copied().unwrap_or(0.0) - got.get(c).copied().unwrap_or(0.0);
                let shift = (diff / s).round();
                (f64::from(v) + shift).clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
            })
            .collect();
        g.make_const(b, TensorData::I32(new));
    }
    Ok(())
}
