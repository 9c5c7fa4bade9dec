//! `tabulate`: turns every op on one 8-bit operand whose result depends on
//! each element alone into a 256-entry `lookup` table.
//!
//! Tabulated: the unary element-wise ops (relu, relu6, clip, leaky_relu,
//! sigmoid, tanh, hard_swish) on a per-tensor quantized i8 or u8 operand,
//! `quantize` (requantize) from such an operand to a per-tensor quantized
//! type, and `dequantize` from such an operand of at least 1,024 elements
//! (its f32 table takes 1 KB; a smaller tensor is dequantized by
//! arithmetic, one multiply per element, in less flash). The table is computed by
//! the reference interpreter on all 256 operand values, so the rewrite is
//! exact by construction. An op the interpreter rejects (a Prepare-time
//! precondition TFLite Micro also refuses) fails the pass with the
//! interpreter's reason.
//!
//! Backends then implement one kernel (a table lookup) for all of them.

use crate::{Changed, Pass, PassContext, PassError, PassInfo};
use tmlc_ir::{DType, Graph, Op, OpFamily, Tensor, TensorData, TensorType};

/// The `tabulate` pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tabulate;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "tabulate",
    description: "replace element-wise ops on 8-bit operands by 256-entry lookup tables",
    options: &[],
    build: |_| Ok(Box::new(Tabulate)),
};

/// True when `op` on an operand of type `x` with result type `y` is
/// tabulated.
fn tabulable(op: &Op, x: &TensorType, y: &TensorType) -> bool {
    let byte_in = matches!(x.dtype, DType::I8 | DType::U8) && x.qparams().is_some();
    byte_in
        && match op {
            Op::Lookup => false,
            Op::Quantize(_) => y.qparams().is_some(),
            Op::Dequantize => x.numel() >= 1024,
            op => op.family() == OpFamily::Unary && y.dtype == DType::I8 && y.qparams().is_some(),
        }
}

/// The 256 results of a chain of element-wise ops on every byte value of
/// an operand of type `x`: each step is an op and its result type (whose
/// shape is ignored), evaluated by the interpreter.
pub(crate) fn byte_table(
    x: &TensorType,
    steps: &[(&Op, &TensorType)],
) -> Result<TensorData, String> {
    let mut data = match x.dtype {
        DType::I8 => TensorData::I8((0..256u32).map(|b| b as u8 as i8).collect()),
        DType::U8 => TensorData::U8((0..256u32).map(|b| b as u8).collect()),
        d => return Err(format!("{d} is not an 8-bit type")),
    };
    let mut ty = x.clone();
    for (op, out) in steps {
        ty.shape = vec![256];
        let all = Tensor { ty, data };
        let out = TensorType {
            shape: vec![256],
            ..(*out).clone()
        };
        data = tmlc_interp::eval_op(op, &[&all], &out).map_err(|e| e.to_string())?;
        ty = out;
    }
    Ok(data)
}

impl Pass for Tabulate {
    fn name(&self) -> &'static str {
        INFO.name
    }
    fn run(&self, g: &mut Graph, _: &mut PassContext<'_>) -> Result<Changed, PassError> {
        let mut changed = false;
        for n in g.node_ids() {
            let node = g.node(n);
            let (op, r) = (node.op.clone(), node.result);
            let [x] = node.operands[..] else { continue };
            let (xt, yt) = (g.value(x).ty.clone(), g.value(r).ty.clone());
            if !tabulable(&op, &xt, &yt) {
                continue;
            }
            let what = format!("`%{} = {}`", g.value(r).name, op.name());
            let failed =
                |message: String| PassError::failed(INFO.name, format!("{what}: {message}"));
            let data = byte_table(&xt, &[(&op, &yt)]).map_err(failed)?;
            let name = format!("{}_table", g.value(r).name);
            let t = g.add_const(&name, TensorType::new(yt.dtype, vec![256]), data);
            let check = g.replace_node(n, Op::Lookup, vec![x, t]);
            check.map_err(|e| failed(e.to_string()))?;
            changed = true;
        }
        Ok(changed.into())
    }
}
