//! The subcommands: arguments in, library calls, output printed.

use crate::cli::{
    CalibrationArgs, Cli, Command, CompileArgs, OptArgs, QuantizeKind, ReportFormat, RunArgs,
};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use tmlc::ir::Graph;
use tmlc::passes::calibrate::{CalibrationData, Ranges};
use tmlc::passes::passes::equalize::Equalize;
use tmlc::passes::passes::int4_weights::{Int4Weights, Rounding};
use tmlc::passes::passes::quantize::{Quantize, Sensitivity};
use tmlc::passes::passes::quantize_weights::QuantizeWeights;
use tmlc::passes::passes::recover::Mode;
use tmlc::passes::{PassContext, Pipeline, Registry, DEFAULT_PIPELINE};
use tmlc::{c_identifier, read_tensor, stem, CompileOptions, Error};

pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Some(Command::Opt(a)) => opt(a),
        Some(Command::Run(a)) => run_graph(a),
        None => compile(cli.compile),
    }
}

fn compile(a: CompileArgs) -> Result<(), Error> {
    let model = a.model.clone().unwrap_or_default();
    let mut g = tmlc::load_model_with(&model, &a.load.options())?;
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| c_identifier(&stem(&model)));
    let c_path = a
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.c")));
    let mut opts = CompileOptions::new(&name);
    opts.header_file_name = c_path
        .with_extension("h")
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model.h")
        .to_string();
    opts.pipeline =
        Pipeline::parse(&a.passes, &Registry::builtin())?.reaching(tmlc::ir::Phase::Canonical);
    let mut prune = tmlc::PruneSpec::default();
    for p in &a.compress.prune {
        prune.add(p).map_err(|message| Error::Usage {
            path: model.display().to_string(),
            message: format!("--prune: {message}"),
        })?;
    }
    let recovering = !prune.is_empty() && a.compress.recover != Mode::None;
    if recovering && a.calibration.calibration.is_empty() {
        return Err(Error::Usage {
            path: model.display().to_string(),
            message: "recovering pruned layers needs calibration data (--calibration DATA), or --recover none".into(),
        });
    }
    opts.pipeline = opts.pipeline.then_all(prune.pipeline(a.compress.recover)?);
    let q = &a.quantize;
    if q.equalize {
        opts.pipeline = opts.pipeline.then(Equalize::default());
    }
    match q.quantize {
        Some(kind @ (QuantizeKind::Int8 | QuantizeKind::Int4Weights)) => {
            if kind == QuantizeKind::Int4Weights {
                let method = if a.compress.recover == Mode::Full {
                    Rounding::Reconstruct
                } else {
                    Rounding::Nearest
                };
                opts.pipeline = opts.pipeline.then(Int4Weights {
                    method,
                    ..Int4Weights::default()
                });
            }
            opts.quantize = Some(Quantize {
                method: q.calibration_method,
                bias_correction: q.bias_correction,
                io: q.io_dtype,
                keep_float: q.keep_float.clone(),
                sensitivity: a.report,
            });
            if a.calibration.calibration.is_empty() && a.calibration.ranges.is_none() {
                return Err(Error::Usage {
                    path: model.display().to_string(),
                    message: "--quantize int8 needs calibration data (--calibration DATA) or saved ranges (--ranges FILE)".into(),
                });
            }
            if kind == QuantizeKind::Int4Weights
                && a.calibration.calibration.is_empty()
                && a.compress.recover == Mode::Full
            {
                return Err(Error::Usage {
                    path: model.display().to_string(),
                    message: "--quantize int4-weights rounds by reconstruction on calibration data (--calibration DATA); --recover lsq rounds to nearest".into(),
                });
            }
        }
        Some(QuantizeKind::Int8Weights) => opts.pipeline = opts.pipeline.then(QuantizeWeights),
        None => {}
    }
    let calibrating = !a.calibration.calibration.is_empty() || a.calibration.ranges.is_some();
    let int8 = matches!(
        q.quantize,
        Some(QuantizeKind::Int8 | QuantizeKind::Int4Weights)
    );
    let budget = tmlc::Budget {
        flash: a.compress.flash_budget,
        ram: a.compress.ram_budget,
    };
    let budgeted = budget != tmlc::Budget::default();
    if calibrating && !int8 && prune.is_empty() && !budgeted {
        return Err(Error::Usage {
            path: model.display().to_string(),
            message: "--calibration and --ranges are for --quantize, --prune and the budgets"
                .into(),
        });
    }
    if budgeted {
        return compile_within(&a, g, opts, budget, &model, &c_path);
    }
    let mut cx = PassContext::new(opts.verify_each);
    prepare_calibration(&g, &a.calibration, &mut cx)?;
    let compiled = tmlc::compile_with(&mut g, &opts, &mut cx);
    print_notes(&cx);
    if let (Some(p), Some(data), Ok(_)) = (
        &a.compress.calibration_labels,
        cx.get::<CalibrationData>(),
        &compiled,
    ) {
        print_top1(&g, &data.samples, p)?;
    }
    finish_calibration(&a.calibration, &cx)?;
    let art = compiled.map_err(|e| match e {
        Error::Emit { source, .. } => Error::Emit {
            path: model.display().to_string(),
            source,
        },
        e => e,
    })?;
    finish_compile(art, &cx, &c_path, a.report.then_some(a.report_format))
}

/// Writes the C and prints the report, annotated with the SQNR the
/// quantizer measured.
fn finish_compile(
    mut art: tmlc::cm4::Artifacts,
    cx: &PassContext<'_>,
    c_path: &Path,
    report: Option<ReportFormat>,
) -> Result<(), Error> {
    if let Some(s) = cx.get::<Sensitivity>() {
        art.report.annotate_sqnr(&s.layers, &s.outputs);
    }
    tmlc::write_c(&art, c_path)?;
    if let Some(f) = report {
        let text = match f {
            ReportFormat::Text => art.report.to_text(),
            ReportFormat::Json => art.report.to_json(),
        };
        print!("{text}");
    }
    Ok(())
}

/// The main job under --flash-budget / --ram-budget.
fn compile_within(
    a: &CompileArgs,
    mut g: Graph,
    mut opts: CompileOptions,
    budget: tmlc::Budget,
    model: &Path,
    c_path: &Path,
) -> Result<(), Error> {
    if a.calibration.calibration.is_empty() {
        return Err(Error::Usage {
            path: model.display().to_string(),
            message: "--flash-budget and --ram-budget choose the compression on calibration data (--calibration DATA)".into(),
        });
    }
    let q = &a.quantize;
    opts.quantize = Some(Quantize {
        method: q.calibration_method,
        bias_correction: q.bias_correction,
        io: q.io_dtype,
        keep_float: q.keep_float.clone(),
        sensitivity: true,
    });
    let samples = tmlc::read_calibration(&g, &a.calibration.calibration)?;
    let fitted = tmlc::compile_within(&mut g, &opts, &samples, budget, a.compress.recover)?;
    for n in &fitted.notes {
        eprintln!("note: budget: {n}");
    }
    if let Some(s) = fitted.context.get::<Sensitivity>() {
        if let Some((name, db)) = s.outputs.first() {
            eprintln!("note: budget: output %{name}: SQNR {db:.1} dB against the uncompressed model (calibration data)");
        }
    }
    eprintln!("note: budget: passes {}", fitted.passes);
    if let Some(p) = &a.compress.calibration_labels {
        print_top1(&fitted.graph, &samples, p)?;
    }
    finish_compile(
        fitted.artifacts,
        &fitted.context,
        c_path,
        a.report.then_some(a.report_format),
    )
}

/// Puts the calibration data or the saved ranges `a` names into `cx`,
/// with a progress bar on a terminal.
fn prepare_calibration(
    g: &Graph,
    a: &CalibrationArgs,
    cx: &mut PassContext<'_>,
) -> Result<(), Error> {
    if let Some(p) = &a.ranges {
        cx.insert(tmlc::read_ranges(p)?);
    }
    if a.calibration.is_empty() {
        return Ok(());
    }
    let samples = tmlc::read_calibration(g, &a.calibration)?;
    let mut data = CalibrationData::new(samples);
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0).with_message("calibrating");
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} runs {elapsed}")
        {
            bar.set_style(style);
        }
        data.progress = Some(Box::new(move |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            if done == total {
                bar.finish_and_clear();
            }
        }));
    }
    cx.insert(data);
    Ok(())
}

/// Saves the ranges the calibration measured, if asked.
fn finish_calibration(a: &CalibrationArgs, cx: &PassContext<'_>) -> Result<(), Error> {
    let Some(p) = &a.save_ranges else {
        return Ok(());
    };
    let ranges = cx.get::<Ranges>().ok_or_else(|| Error::Usage {
        path: p.display().to_string(),
        message: "no ranges to save: no pass calibrated (is `quantize` in the pipeline?)".into(),
    })?;
    write_file(p, tmlc::ranges_to_json(ranges).as_bytes())
}

/// Prints the compiled graph's top-1 on the calibration samples.
fn print_top1(g: &Graph, samples: &[Vec<tmlc::ir::Tensor>], labels: &Path) -> Result<(), Error> {
    let labels = tmlc::read_labels(labels, samples.len())?;
    let t = tmlc::top1(g, samples, &labels)?;
    eprintln!(
        "note: top-1 on the {} calibration samples: {:.1}%",
        samples.len(),
        100.0 * t
    );
    Ok(())
}

/// Prints the passes' diagnostics to standard error.
fn print_notes(cx: &PassContext<'_>) {
    for d in &cx.diagnostics {
        eprintln!("note: {}: {}", d.pass, d.message);
    }
}

fn list_passes(registry: &Registry) -> Result<String, Error> {
    let mut out = String::from("passes:\n");
    for info in registry.passes() {
        out.push_str(&format!("  {:<18} {}\n", info.name, info.description));
        let defaults = info.default_pass()?.options();
        for (key, what) in info.options {
            let d = defaults
                .iter()
                .find(|(k, _)| k == key)
                .map_or(String::new(), |(_, v)| format!(" (default {v})"));
            out.push_str(&format!("      {{{key}=N}}  {what}{d}\n"));
        }
    }
    out.push_str(&format!("default pipeline: {DEFAULT_PIPELINE}\n"));
    Ok(out)
}

fn opt(a: OptArgs) -> Result<(), Error> {
    let registry = Registry::builtin();
    if a.list_passes {
        print!("{}", list_passes(&registry)?);
        return Ok(());
    }
    let input = a.input.unwrap_or_else(|| PathBuf::from("-"));
    let mut g = tmlc::load_model_with(&input, &a.load.options())?;
    let pipeline = Pipeline::parse(a.passes.as_deref().unwrap_or(DEFAULT_PIPELINE), &registry)?;
    let mut cx = PassContext::new(a.verify_each || cfg!(debug_assertions));
    if a.print_after_all {
        cx.observe(|pass, g| eprintln!("# after {pass}\n{}", tmlc::ir::print(g)));
    }
    prepare_calibration(&g, &a.calibration, &mut cx)?;
    pipeline.run(&mut g, &mut cx)?;
    finish_calibration(&a.calibration, &cx)?;
    if a.verbose {
        for r in &cx.runs {
            eprintln!(
                "pass {:<16} {:>10.3} ms{}",
                r.pass,
                r.time.as_secs_f64() * 1e3,
                if r.changed { "  (changed)" } else { "" }
            );
        }
    }
    print_notes(&cx);
    let text = tmlc::ir::print(&g);
    match a.output {
        Some(p) => write_file(&p, text.as_bytes()),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|source| Error::Io {
                path: "<stdout>".into(),
                source,
            }),
    }
}

fn write_file(p: &Path, data: &[u8]) -> Result<(), Error> {
    std::fs::write(p, data).map_err(|source| Error::Io {
        path: p.display().to_string(),
        source,
    })
}

fn run_graph(a: RunArgs) -> Result<(), Error> {
    let g = tmlc::load_model_with(&a.input, &a.load.options())?;
    let path = a.input.display().to_string();
    for (what, want, got) in [
        ("inputs", g.inputs().len(), a.inputs.len()),
        ("outputs", g.outputs().len(), a.outputs.len()),
    ] {
        if want != got {
            let flag = &what[..what.len() - 1];
            return Err(Error::Usage {
                path,
                message: format!("the graph has {want} {what}, {got} --{flag} files were given"),
            });
        }
    }
    let mut tensors = Vec::new();
    for (&v, file) in g.inputs().iter().zip(&a.inputs) {
        let val = g.value(v);
        tensors.push(read_tensor(
            file,
            &val.ty,
            &format!("input `%{}`", val.name),
        )?);
    }
    let outs = tmlc::interp::run(&g, &tensors)?;
    for (t, file) in outs.iter().zip(&a.outputs) {
        write_file(file, &t.data.to_le_bytes())?;
    }
    Ok(())
}
