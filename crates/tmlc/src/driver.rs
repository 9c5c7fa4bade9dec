//! Sequences the stages for each command: load, verify, passes, run/emit.

use crate::cli::{Cli, Command, CompileArgs, OptArgs, RunArgs};
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

fn write_bytes(p: &Path, data: &[u8]) -> Result<(), Error> {
    std::fs::write(p, data).map_err(|source| Error::Io {
        path: display(p),
        source,
    })
}

/// Reads and verifies a textual IR file.
fn load_tir(p: &Path) -> Result<Graph, Error> {
    let bytes = read_bytes(p)?;
    let path = display(p);
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
    let ext = model
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let what = match ext.as_str() {
        "tflite" => "TFLite models",
        "onnx" => "ONNX models",
        "tir" => "textual IR",
        _ => {
            return Err(Error::Usage {
                path,
                message: "unknown model format (expected .tflite, .onnx or .tir)".into(),
            })
        }
    };
    // Reading first reports a missing file before the missing feature.
    read_bytes(&model)?;
    let _ = (a.output, a.name);
    Err(Error::Usage {
        path,
        message: format!(
            "compiling {what} to C is not supported yet in this version of tmlc \
             (available now: `tmlc opt` and `tmlc run` on textual IR)"
        ),
    })
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
    let mut g = load_tir(&input)?;
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
    let g = load_tir(&a.input)?;
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
        let bytes = read_bytes(file)?;
        let want = val.ty.byte_size();
        let data = (bytes.len() == want)
            .then(|| TensorData::from_le_bytes(val.ty.dtype, &bytes))
            .flatten()
            .ok_or_else(|| Error::Usage {
                path: display(file),
                message: format!(
                    "input `%{}` of type {} needs {want} bytes, the file has {}",
                    val.name,
                    val.ty,
                    bytes.len()
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
