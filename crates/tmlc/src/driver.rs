//! Sequences the stages for each command: load, verify, passes, run/emit.

use crate::cli::{Cli, Command, CompileArgs, OptArgs, ReportFormat, RunArgs};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use tmlc_ir::{Graph, Tensor, TensorData};
use tmlc_passes::{PassManager, Pipeline, DEFAULT_PIPELINE};

/// Every error the CLI reports; printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{source}")]
    Parse {
        path: String,
        source: tmlc_ir::ParseError,
    },
    #[error("{path}: invalid IR: {source}")]
    Verify {
        path: String,
        source: tmlc_ir::VerifyErrors,
    },
    #[error("{0}")]
    Pass(#[from] tmlc_passes::PassError),
    #[error("{0}")]
    Interp(#[from] tmlc_interp::InterpError),
    #[error("{path}: {source}")]
    Tflite {
        path: String,
        source: tmlc_tflite::TfliteError,
    },
    #[error("{path}: {source}")]
    Emit {
        path: String,
        source: tmlc_cm4::EmitError,
    },
    #[error("{path}: {message}")]
    Usage { path: String, message: String },
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

fn read_bytes(p: &Path) -> Result<Vec<u8>, Error> {
    if p == Path::new("-") {
        let mut v = Vec::new();
        std::io::stdin()
            .read_to_end(&mut v)
            .map_err(|source| Error::Io {
                path: "<stdin>".into(),
                source,
            })?;
        return Ok(v);
    }
    std::fs::read(p).map_err(|source| Error::Io {
        path: display(p),
        source,
    })
}

/// Reads at most `limit` bytes of `p`, so that a huge or endless file
/// (e.g. a device) cannot exhaust memory.
fn read_at_most(p: &Path, limit: usize) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io {
        path: display(p),
        source,
    };
    let f = std::fs::File::open(p).map_err(io)?;
    let mut v = Vec::new();
    f.take(limit as u64).read_to_end(&mut v).map_err(io)?;
    Ok(v)
}

fn write_bytes(p: &Path, data: &[u8]) -> Result<(), Error> {
    std::fs::write(p, data).map_err(|source| Error::Io {
        path: display(p),
        source,
    })
}

/// Reads a model by its extension (`.tir` text IR, `.tflite`) into a
/// verified graph named after the file stem.
fn load_model(p: &Path) -> Result<Graph, Error> {
    let path = display(p);
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "tflite" => {
            let bytes = read_bytes(p)?;
            tmlc_tflite::import(&bytes, &stem(p)).map_err(|source| Error::Tflite { path, source })
        }
        "onnx" => Err(Error::Usage {
            path,
            message: "ONNX models are not supported yet (supported: .tflite, .tir)".into(),
        }),
        "tir" | "" => {
            let bytes = read_bytes(p)?;
            let text = String::from_utf8(bytes).map_err(|e| Error::Usage {
                path: path.clone(),
                message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
            })?;
            let g = tmlc_ir::parse(&text).map_err(|source| Error::Parse {
                path: path.clone(),
                source,
            })?;
            tmlc_ir::verify(&g).map_err(|source| Error::Verify { path, source })?;
            Ok(g)
        }
        _ => Err(Error::Usage {
            path,
            message: "unknown model format (expected .tflite or .tir)".into(),
        }),
    }
}

/// The file stem of `p`, or `model`.
fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("model")
        .to_string()
}

/// Makes `s` a C identifier: other characters become `_`, and a leading
/// digit gets a `m_` prefix.
fn c_identifier(s: &str) -> String {
    let mut t: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if t.is_empty() || t.starts_with(|c: char| c.is_ascii_digit()) {
        t.insert_str(0, "m_");
    }
    t
}

pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Some(Command::Opt(a)) => opt(a),
        Some(Command::Run(a)) => run_graph(a),
        None => compile(cli.compile),
    }
}

fn compile(a: CompileArgs) -> Result<(), Error> {
    let model = a.model.unwrap_or_default();
    let path = display(&model);
    let mut g = load_model(&model)?;
    let pipeline = Pipeline::parse(&a.passes)?;
    PassManager::default().run(&pipeline, &mut g, |_, _| {})?;
    let name = match a.name {
        Some(n) => n,
        None => c_identifier(&stem(&model)),
    };
    let c_path = a
        .output
        .unwrap_or_else(|| PathBuf::from(format!("{name}.c")));
    let h_path = c_path.with_extension("h");
    let header_file_name = h_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model.h")
        .to_string();
    let opts = tmlc_cm4::Options {
        name,
        header_file_name,
    };
    let art = tmlc_cm4::emit_c(&g, &opts).map_err(|source| Error::Emit { path, source })?;
    if let Some(dir) = c_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: display(dir),
            source,
        })?;
    }
    write_bytes(&c_path, art.c.as_bytes())?;
    write_bytes(&h_path, art.h.as_bytes())?;
    if a.report {
        let text = match a.report_format {
            ReportFormat::Text => art.report.to_text(),
            ReportFormat::Json => art.report.to_json(),
        };
        print!("{text}");
    }
    Ok(())
}

fn opt(a: OptArgs) -> Result<(), Error> {
    if a.list_passes {
        let mut out = String::from("passes:\n");
        for p in tmlc_passes::registry() {
            out.push_str(&format!("  {:<16} {}\n", p.name(), p.description()));
        }
        out.push_str(&format!("default pipeline: {DEFAULT_PIPELINE}\n"));
        print!("{out}");
        return Ok(());
    }
    let input = a.input.unwrap_or_else(|| PathBuf::from("-"));
    let mut g = load_model(&input)?;
    let pipeline = Pipeline::parse(a.passes.as_deref().unwrap_or(DEFAULT_PIPELINE))?;
    let pm = PassManager {
        verify_each: a.verify_each || cfg!(debug_assertions),
    };
    let runs = pm.run(&pipeline, &mut g, |pass, g| {
        if a.print_after_all {
            eprintln!("# after {pass}\n{}", tmlc_ir::print(g));
        }
    })?;
    if a.verbose {
        for r in &runs {
            eprintln!(
                "pass {:<16} {:>10.3} ms{}",
                r.pass,
                r.time.as_secs_f64() * 1e3,
                if r.changed { "  (changed)" } else { "" }
            );
        }
    }
    let text = tmlc_ir::print(&g);
    match a.output {
        Some(p) => write_bytes(&p, text.as_bytes()),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|source| Error::Io {
                path: "<stdout>".into(),
                source,
            }),
    }
}

fn run_graph(a: RunArgs) -> Result<(), Error> {
    let g = load_model(&a.input)?;
    let path = display(&a.input);
    if a.inputs.len() != g.inputs().len() {
        return Err(Error::Usage {
            path,
            message: format!(
                "the graph has {} inputs, {} --input files were given",
                g.inputs().len(),
                a.inputs.len()
            ),
        });
    }
    if a.outputs.len() != g.outputs().len() {
        return Err(Error::Usage {
            path,
            message: format!(
                "the graph has {} outputs, {} --output files were given",
                g.outputs().len(),
                a.outputs.len()
            ),
        });
    }
    let mut tensors = Vec::new();
    for (&v, file) in g.inputs().iter().zip(&a.inputs) {
        let val = g.value(v);
        let want = val.ty.byte_size();
        let bytes = read_at_most(file, want.saturating_add(1))?;
        let data = (bytes.len() == want)
            .then(|| TensorData::from_le_bytes(val.ty.dtype, &bytes))
            .flatten()
            .ok_or_else(|| Error::Usage {
                path: display(file),
                message: format!(
                    "input `%{}` of type {} needs {want} bytes, the file has {}",
                    val.name,
                    val.ty,
                    if bytes.len() > want {
                        "more".to_string()
                    } else {
                        bytes.len().to_string()
                    }
                ),
            })?;
        tensors.push(Tensor {
            ty: val.ty.clone(),
            data,
        });
    }
    let outs = tmlc_interp::run(&g, &tensors)?;
    for (t, file) in outs.iter().zip(&a.outputs) {
        write_bytes(file, &t.data.to_le_bytes())?;
    }
    Ok(())
}
