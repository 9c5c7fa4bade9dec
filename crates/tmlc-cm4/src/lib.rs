//! # tmlc-cm4: the Cortex-M4 C backend
//!
//! [`emit_c`] turns a verified [`tmlc_ir::Graph`] into one self-contained C
//! file and its header. The C uses only `<stdint.h>`, `<string.h>` (and
//! `<math.h>` when a float kernel needs it), allocates nothing at run time,
//! keeps weights in `static const` arrays (flash) and all activations in one
//! `static` arena. It compiles warning-free with `-std=c11 -Wall -Wextra
//! -Werror` on the host and with `arm-none-eabi-gcc -mcpu=cortex-m4`; int8
//! results are bit-identical to `tmlc-interp` (TFLite Micro's reference
//! kernels), float results agree to rounding.
//!
//! ## Pipeline
//!
//! 1. **Lowering** ([`lower`]): the nodes the outputs depend on, in
//!    topological order, each become a layer: a kernel choice, the calls into
//!    it, and the constant arrays it needs, all derived at compile time:
//!    weights re-laid out (depthwise `[kh*kw][C]`, im2col rows padded to 4),
//!    the input offset folded into the bias (`b + (-zp_in)*sum(w)`, exact for
//!    1x1, fully connected, im2col with `zp_in` padding, and interior
//!    depthwise pixels), per-channel multipliers/shifts
//!    ([`tmlc_ir::prepare`], TFLite Micro's `Prepare`, the very code the
//!    interpreter uses), 256-entry lookup tables for 8-bit unary ops
//!    (evaluated by the reference interpreter).
//! 2. **Planning** ([`plan`]): graph inputs and outputs are used in place in
//!    the caller's buffers, reshapes alias, element-wise kernels run in
//!    place on dead operands, and the remaining buffers are packed into the
//!    arena by lifetime (largest first, first fit, 16-byte aligned).
//! 3. **Emission** ([`emit`]): the header (the I/O contract macros), then
//!    the C file: helpers, only the kernels used (`src/kernels/*.c`, one
//!    `static` function each; DSP paths under `__ARM_FEATURE_DSP` with a
//!    portable fallback computing the same bits), constants, the arena and
//!    `NAME_invoke`. Output is deterministic (no hash-order iteration).
//!
//! A [`Report`] lists every layer (kernel, shapes, MACs, weight bytes,
//! arena placement) with totals.
//!
//! ## Header contract (`NAME` = [`Options::name`])
//!
//! `NAME_NUM_INPUTS`, `NAME_NUM_OUTPUTS`, `NAME_ARENA_BYTES`, and for each
//! input/output `i`: `NAME_INPUTi_BYTES`, `_DTYPE` (one of `TMLC_INT8` = 1,
//! `TMLC_UINT8` = 2, `TMLC_INT16` = 3, `TMLC_INT32` = 4, `TMLC_INT64` = 5,
//! `TMLC_FLOAT32` = 6, `TMLC_BOOL` = 7, defined once under
//! `TMLC_DTYPE_CODES`), `_RANK`, `_SHAPE` (an initializer, `{1}` for a
//! scalar), `_SCALE` (float literal, `0.0f` when unquantized) and
//! `_ZERO_POINT`; then `int NAME_invoke(const void *const inputs[], void
//! *const outputs[]);` (returns 0) inside `extern "C"` guards.

mod emit;
mod error;
mod kernels;
mod lower;
mod pack;
mod plan;
mod report;

pub use error::EmitError;
pub use report::{LayerRow, PackedWeights, Report};

use tmlc_ir::Graph;

/// Backend options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Prefix of every C identifier and macro (`NAME_invoke`, ...); must be
    /// a C identifier.
    pub name: String,
    /// The header's file name, as the C file `#include`s it.
    pub header_file_name: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            name: "model".into(),
            header_file_name: "model.h".into(),
        }
    }
}

/// The generated files and the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Artifacts {
    /// The C source.
    pub c: String,
    /// The header.
    pub h: String,
    /// Per-layer report.
    pub report: Report,
}

fn is_c_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Compiles `g` to C.
///
/// The graph must pass [`tmlc_ir::verify`]. Errors name the value and op of
/// any op/dtype combination the backend does not implement.
pub fn emit_c(g: &Graph, opts: &Options) -> Result<Artifacts, EmitError> {
    if !is_c_identifier(&opts.name) {
        return Err(EmitError::InvalidOptions(format!(
            "name `{}` is not a C identifier",
            opts.name
        )));
    }
    if opts.header_file_name.is_empty() || opts.header_file_name.contains(['"', '\n', '\r', '\\']) {
        return Err(EmitError::InvalidOptions(format!(
            "header file name `{}` cannot be #included",
            opts.header_file_name
        )));
    }
    tmlc_ir::verify(g).map_err(|e| EmitError::InvalidGraph(e.to_string()))?;
    if g.outputs().is_empty() {
        return Err(EmitError::InvalidGraph("the graph has no outputs".into()));
    }
    let low = lower::lower(g)?;
    let plan = plan::plan(g, &low);
    let (c, arena) = emit::source(g, opts, &low, &plan);
    let h = emit::header(g, opts, arena);
    let report = make_report(g, opts, &low, &plan, arena);
    Ok(Artifacts { c, h, report })
}

fn make_report(
    g: &Graph,
    opts: &Options,
    low: &lower::Lowered,
    plan: &plan::Plan,
    arena: usize,
) -> Report {
    let mut layers = Vec::new();
    for (i, l) in low.layers.iter().enumerate() {
        let loc = plan.loc.get(&l.result).copied();
        let (location, off) = match loc {
            Some(plan::Loc::Arena(o)) => ("arena".to_string(), Some(o)),
            Some(plan::Loc::Output(j)) => (format!("output {j}"), None),
            Some(plan::Loc::Input(j)) => (format!("input {j}"), None),
            Some(plan::Loc::Const(_)) => ("const".to_string(), None),
            None => ("-".to_string(), None),
        };
        layers.push(LayerRow {
            index: i,
            op: l.op.to_string(),
            kernel: l.kernel_desc.clone(),
            result: g.value(l.result).name.clone(),
            inputs: l
                .operands
                .iter()
                .map(|&o| g.value(o).ty.shape.clone())
                .collect(),
            output: g.value(l.result).ty.shape.clone(),
            macs: l.macs,
            weight_bytes: l
                .consts
                .iter()
                .map(|&c| low.consts[c].data.byte_len())
                .sum(),
            location,
            arena_offset: off,
            arena_size: plan.buf_size.get(&l.result).copied().unwrap_or(0),
            scratch_bytes: l.scratch,
            packed: l
                .packed
                .clone()
                .map(|(layout, int8_bytes, bytes)| PackedWeights {
                    layout,
                    int8_bytes,
                    bytes,
                }),
            sqnr_db: None,
        });
    }
    let total_macs = layers.iter().map(|l| l.macs).sum();
    let total_weight_bytes = low.consts.iter().map(|c| c.data.byte_len()).sum();
    Report {
        name: opts.name.clone(),
        layers,
        total_macs,
        total_weight_bytes,
        arena_bytes: arena,
        output_sqnr_db: Vec::new(),
    }
}
