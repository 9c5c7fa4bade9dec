//! `quantize-weights`: weight-only int8 quantization. The f32 weights of
//! every f32 conv2d / fully_connected become int8, symmetric per output
//! channel (`scale = max|w| / 127`, as `quantize` makes them); activations
//! and biases stay f32, and the op computes with the dequantized weights
//! (`spec/ir.md`, weight-only quantization). Flash for the weights shrinks
//! 4x; no calibration data is needed. Not exact: each weight moves by up
//! to half its channel's scale.

use crate::passes::quantize::plan::per_channel;
use crate::passes::weighted::f32_const;
use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{DType, Graph, OpFamily, Quant, TensorData, TensorType};

/// The `quantize-weights` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct QuantizeWeights;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "quantize-weights",
    description: "int8 weights (per output channel) for f32 conv / fully_connected layers",
    options: &[],
    build: |_| Ok(Box::new(QuantizeWeights)),
};

impl Pass for QuantizeWeights {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let mut changed = false;
        for n in g.node_ids() {
            let node = g.node(n);
            let f32_layer = node.op.family() == OpFamily::Weighted
                && g.value(node.result).ty.dtype == DType::F32
                && g.value(node.operands[0]).ty.dtype == DType::F32;
            let Some(&w) = node.operands.get(1).filter(|_| f32_layer) else {
                continue;
            };
            let Some(data) = f32_const(g, w) else {
                continue;
            };
            let shape = g.value(w).ty.shape.clone();
            let channels = shape.first().copied().unwrap_or(1);
            let (q, scales) = per_channel(data, channels);
            let ty = TensorType::quantized(
                DType::I8,
                shape,
                Quant::per_axis(0, scales, vec![0; channels]),
            );
            let name = g.fresh_name(&format!("{}_q", g.value(w).name));
            let c = g.add_const(&name, ty, TensorData::I8(q));
            g.set_operand(n, 1, c)
                .map_err(|e| PassError::failed(INFO.name, e))?;
            changed = true;
        }
        Ok(changed.into())
    }
}
