//! Command-line definition (clap derive).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// tmlc compiles a trained neural network (ONNX or TFLite) into
/// plain C for Arm Cortex-M microcontrollers: no interpreter, no heap, one
/// static arena, int8 kernels bit-exact with TensorFlow Lite Micro.
///
/// The main job is `tmlc MODEL -o model.c`, which writes model.c and
/// model.h. The subcommands take a model or tmlc's textual IR (.tir, see
/// spec/ir.md): `tmlc opt` runs passes like mlir-opt and prints the IR,
/// `tmlc run` executes the graph with the reference interpreter.
#[derive(Parser, Debug)]
#[command(
    name = "tmlc",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub compile: CompileArgs,
}

/// Arguments of the main job (compile a model to C).
#[derive(Args, Debug)]
pub struct CompileArgs {
    /// The model to compile: .onnx, .tflite, or tmlc's textual IR (.tir).
    #[arg(required = true)]
    pub model: Option<PathBuf>,
    /// Output C file; the header is written beside it with extension .h
    /// (default: NAME.c in the current directory).
    #[arg(short, long, value_name = "FILE.c")]
    pub output: Option<PathBuf>,
    /// Prefix of every generated symbol (default: the model's file stem,
    /// made a C identifier).
    #[arg(long)]
    pub name: Option<String>,
    /// Print a per-layer report (op, shapes, MACs, weight bytes, arena
    /// offset and size) with totals.
    #[arg(long)]
    pub report: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text, requires = "report")]
    pub report_format: ReportFormat,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Pass pipeline run before code generation.
    #[arg(long, value_name = "PASSES", default_value = tmlc::passes::DEFAULT_PIPELINE)]
    pub passes: String,
    #[command(flatten)]
    pub compress: CompressArgs,
    #[command(flatten)]
    pub quantize: QuantizeArgs,
    #[command(flatten)]
    pub calibration: CalibrationArgs,
}

/// Pruning and recovery (the main job only).
#[derive(Args, Debug)]
#[command(next_help_heading = "Compression")]
pub struct CompressArgs {
    /// Prune the model, comma-separated items, repeatable:
    /// `sparsity=R` zeroes the fraction R of each layer's weights, smallest
    /// first (stored sparse, so flash shrinks; options `block=1|4`,
    /// `ranking=layer|global`, `ends=BOOL` to include the first and last
    /// layers); `LAYER=R` gives one layer its own sparsity; `channels=R`
    /// removes the fraction R of the channels of each layer (and what reads
    /// them), so MACs, weights and RAM shrink (`score=l1|l2|activation`).
    #[arg(long, value_name = "ITEMS")]
    pub prune: Vec<String>,
    /// How pruned layers are re-fitted to the unpruned model (the teacher)
    /// on the calibration data: `none`, `bias` (mean shift), `lsq` (weights
    /// and bias by least squares), `full` (lsq, and reconstruction rounding
    /// of 4-bit weights). Needs --calibration unless `none`.
    #[arg(long, value_name = "MODE", default_value = "full",
          value_parser = |s: &str| s.parse::<tmlc::passes::passes::recover::Mode>())]
    pub recover: tmlc::passes::passes::recover::Mode,
    /// Make the model's constants (weights, biases, tables: the flash the
    /// C file takes besides code) fit SIZE bytes (`64K`, `1M` or bytes):
    /// layers get sparse (50% or 75%) or 4-bit weights where that costs
    /// the least accuracy, measured on the calibration data. Implies
    /// --quantize int8; needs --calibration.
    #[arg(long, value_name = "SIZE", value_parser = parse_size,
          conflicts_with_all = ["prune", "quantize"])]
    pub flash_budget: Option<usize>,
    /// Make the activation arena fit SIZE bytes (`16K` or bytes) by
    /// removing the fewest channels that do it (recovered from the
    /// unpruned model). Implies --quantize int8; needs --calibration.
    #[arg(long, value_name = "SIZE", value_parser = parse_size,
          conflicts_with_all = ["prune", "quantize"])]
    pub ram_budget: Option<usize>,
    /// Class labels of the calibration samples (a 1-D .npy of integers,
    /// one per sample): the compiled model's top-1 on them is printed.
    #[arg(long, value_name = "FILE.npy", requires = "calibration")]
    pub calibration_labels: Option<PathBuf>,
}

/// Parses `64K`, `1M` (binary units) or a number of bytes.
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 1024),
        Some((i, 'M' | 'm')) => (&t[..i], 1024 * 1024),
        _ => (t, 1),
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{s}` is not a size (e.g. 16K, 1M, 4096)"))
}

/// Post-training quantization of a float model (the main job only).
#[derive(Args, Debug)]
#[command(next_help_heading = "Quantization")]
pub struct QuantizeArgs {
    /// Quantize a float model after the pipeline: `int8` gives int8 weights
    /// (symmetric, per output channel) and int8 activations (asymmetric,
    /// per tensor) from calibration data (--calibration) or saved ranges
    /// (--ranges); `int4-weights` is `int8` with 4-bit weights (two per
    /// byte) in every conv / fully-connected layer but the first and the
    /// last, rounded to reproduce the float model's layers on the
    /// calibration data (with --recover full, the default; to nearest
    /// otherwise); `int8-weights` only makes the conv / fully-connected
    /// weights int8 (activations stay float; no calibration needed).
    /// Already-quantized models need nothing.
    #[arg(long, value_enum, value_name = "KIND")]
    pub quantize: Option<QuantizeKind>,
    /// How observed activations become ranges (int8): `minmax`, `percentile`
    /// (99.99th; `percentile:P` for another), or `mse` (the clipping range
    /// with the least quantization error).
    #[arg(long, value_name = "METHOD", default_value = "percentile", requires = "quantize",
          value_parser = |s: &str| s.parse::<tmlc::passes::calibrate::Method>())]
    pub calibration_method: tmlc::passes::calibrate::Method,
    /// Shift each int8 layer's bias by the mean error of its outputs on the
    /// calibration data (needs --calibration; ignored with --ranges).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set,
          requires = "quantize")]
    pub bias_correction: bool,
    /// Cross-layer equalization before quantizing: balance the per-channel
    /// weight ranges of conv / fully_connected pairs joined by relu or
    /// pooling (helps min/max and mse ranges, see docs/quantization.md).
    #[arg(long, value_name = "BOOL", default_value_t = false, action = clap::ArgAction::Set,
          requires = "quantize")]
    pub equalize: bool,
    /// Dtype of the compiled model's inputs and outputs: `float` (quantized
    /// inside the model) or `int8` (with the calibrated parameters, printed
    /// in the header).
    #[arg(long, value_name = "DTYPE", default_value = "float", requires = "quantize",
          value_parser = |s: &str| s.parse::<tmlc::passes::passes::quantize::IoDtype>())]
    pub io_dtype: tmlc::passes::passes::quantize::IoDtype,
    /// Leave this layer (its result's name, as `tmlc opt` prints it) in
    /// float; repeatable.
    #[arg(long, value_name = "LAYER", requires = "quantize")]
    pub keep_float: Vec<String>,
}

/// `--quantize`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantizeKind {
    /// int8 weights and activations.
    Int8,
    /// int8 activations, 4-bit weights.
    Int4Weights,
    /// int8 weights, float activations.
    Int8Weights,
}

/// Where calibration data and ranges come from (the main job and `opt`,
/// whose pipeline may name the `quantize` pass).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Calibration")]
pub struct CalibrationArgs {
    /// Calibration data: a float32 .npy file of N samples stacked on a new
    /// first axis (the input's batch dimension of 1 may be dropped) or a
    /// folder of .npy files of one sample each. A model with several inputs
    /// takes NAME=DATA once per input.
    #[arg(long, value_name = "[NAME=]DATA", value_parser = parse_calibration)]
    pub calibration: Vec<(Option<String>, PathBuf)>,
    /// Read the activation ranges from this JSON file (saved by
    /// --save-ranges) instead of calibrating.
    #[arg(long, value_name = "FILE.json", conflicts_with = "calibration")]
    pub ranges: Option<PathBuf>,
    /// Write the activation ranges the calibration measured to this JSON
    /// file (`{"value": [min, max], ...}`).
    #[arg(long, value_name = "FILE.json", requires = "calibration")]
    pub save_ranges: Option<PathBuf>,
}

/// How a model file is read (every subcommand that loads one).
#[derive(Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// Shape of a model input, `NAME=1x3x32x32` (repeatable): resolves
    /// symbolic ONNX dimensions (a symbolic batch dimension defaults to 1).
    #[arg(long = "input-shape", value_name = "NAME=DIMS", value_parser = parse_input_shape)]
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Layout of an ONNX model's 4-D inputs and outputs in the compiled
    /// model: `onnx` keeps the model's NCHW shapes, `nhwc` takes and gives
    /// NHWC (no transposes at the boundary). `--input-shape` stays in
    /// ONNX's layout.
    #[arg(long, value_enum, default_value_t = IoLayout::Onnx)]
    pub io_layout: IoLayout,
}

/// `--io-layout`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IoLayout {
    /// The model's own shapes (NCHW for ONNX images).
    #[default]
    Onnx,
    /// NHWC.
    Nhwc,
}

impl LoadArgs {
    /// The library's load options.
    pub fn options(&self) -> tmlc::LoadOptions {
        tmlc::LoadOptions {
            input_shapes: self.input_shapes.clone(),
            io_layout: match self.io_layout {
                IoLayout::Onnx => tmlc::onnx::IoLayout::Onnx,
                IoLayout::Nhwc => tmlc::onnx::IoLayout::Nhwc,
            },
        }
    }
}

/// How `--report` is printed.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// An aligned table.
    Text,
    /// JSON.
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run passes on a model and print the resulting textual IR (like mlir-opt).
    Opt(OptArgs),
    /// Execute a model with the reference interpreter.
    ///
    /// Inputs and outputs are raw little-endian tensors in the graph's
    /// input/output dtypes and shapes, one file per tensor, in order.
    Run(RunArgs),
}

#[derive(Args, Debug)]
pub struct OptArgs {
    /// Input model: textual IR (.tir, `-` for standard input), .tflite or
    /// .onnx.
    #[arg(required_unless_present = "list_passes")]
    pub input: Option<PathBuf>,
    /// Comma-separated pass pipeline with per-pass options, e.g.
    /// `fold-constants{max-elems=4096},dce`. Default: the standard
    /// pipeline (see --list-passes).
    #[arg(long, short = 'p', value_name = "PASSES")]
    pub passes: Option<String>,
    /// Write the result here instead of standard output.
    #[arg(short, long, value_name = "OUT.tir")]
    pub output: Option<PathBuf>,
    /// Print the IR after every pass (to standard error).
    #[arg(long)]
    pub print_after_all: bool,
    /// Verify the IR after every pass (always on in debug builds).
    #[arg(long)]
    pub verify_each: bool,
    /// Print per-pass timing to standard error.
    #[arg(short, long)]
    pub verbose: bool,
    /// List the available passes, their options and the default pipeline,
    /// then exit.
    #[arg(long)]
    pub list_passes: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub calibration: CalibrationArgs,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Input model: textual IR (.tir), .tflite or .onnx.
    pub input: PathBuf,
    /// Raw input tensor file, once per graph input, in order.
    #[arg(long = "input", value_name = "FILE.bin")]
    pub inputs: Vec<PathBuf>,
    /// Raw output tensor file, once per graph output, in order.
    #[arg(long = "output", value_name = "FILE.bin")]
    pub outputs: Vec<PathBuf>,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// Parses `NAME=1x3x32x32`.
fn parse_input_shape(s: &str) -> Result<(String, Vec<usize>), String> {
    let (name, dims) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=DIMS (e.g. input=1x3x32x32)"))?;
    let dims = dims
        .split('x')
        .map(|d| {
            d.parse::<usize>()
                .map_err(|_| format!("`{d}` in `{s}` is not a dimension"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name.to_string(), dims))
}

/// Parses `[NAME=]PATH` (a path containing `=` needs the name).
fn parse_calibration(s: &str) -> Result<(Option<String>, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((Some(name.to_string()), PathBuf::from(path)))
        }
        Some(_) => Err(format!("`{s}` is not NAME=DATA or DATA")),
        None => Ok((None, PathBuf::from(s))),
    }
}
