//! Compiling a graph to C: the pipelines and the backend.

use crate::Error;
use std::path::{Path, PathBuf};
use tmlc_cm4::Artifacts;
use tmlc_ir::Graph;
use tmlc_passes::passes::quantize::Quantize;
use tmlc_passes::{canonical_pipeline, lowering_pipeline, PassContext, Pipeline};

/// How [`compile`] runs.
pub struct CompileOptions {
    /// Prefix of every generated C symbol (a C identifier).
    pub name: String,
    /// The header's file name, as the C file `#include`s it.
    pub header_file_name: String,
    /// The passes run before code generation (default:
    /// [`canonical_pipeline`]).
    pub pipeline: Pipeline,
    /// Post-training quantization after the pipeline (`None`: the graph
    /// keeps its dtypes). It needs calibration data or ranges in the
    /// context given to [`compile_with`].
    pub quantize: Option<Quantize>,
    /// Verify the graph after every pass (default: on in debug builds).
    pub verify_each: bool,
}

impl CompileOptions {
    /// Options for symbols prefixed `name`, header `name.h`, the default
    /// pipeline.
    pub fn new(name: &str) -> CompileOptions {
        CompileOptions {
            name: name.to_string(),
            header_file_name: format!("{name}.h"),
            pipeline: canonical_pipeline(),
            quantize: None,
            verify_each: cfg!(debug_assertions),
        }
    }
}

/// Runs `opts.pipeline`, then [`lowering_pipeline`], on `g` and generates C
/// with the Cortex-M4 backend. `g` is left as the backend saw it.
pub fn compile(g: &mut Graph, opts: &CompileOptions) -> Result<Artifacts, Error> {
    compile_with(g, opts, &mut PassContext::new(opts.verify_each))
}

/// [`compile`] in the pass context `cx` (which may carry calibration data
/// and ranges, and keeps what the passes leave in it, such as the ranges
/// the calibration measured). `opts.verify_each` is not read: `cx` says.
pub fn compile_with(
    g: &mut Graph,
    opts: &CompileOptions,
    cx: &mut PassContext<'_>,
) -> Result<Artifacts, Error> {
    opts.pipeline.run(g, cx)?;
    if let Some(q) = &opts.quantize {
        Pipeline::new().then(q.clone()).run(g, cx)?;
    }
    lowering_pipeline().run(g, cx)?;
    let backend = tmlc_cm4::Options {
        name: opts.name.clone(),
        header_file_name: opts.header_file_name.clone(),
    };
    tmlc_cm4::emit_c(g, &backend).map_err(|source| Error::Emit {
        path: g.name.clone(),
        source,
    })
}

/// Writes `art`'s C file to `c_path` and its header beside it (extension
/// `.h`), creating the directory if needed; returns the header's path.
pub fn write_c(art: &Artifacts, c_path: &Path) -> Result<PathBuf, Error> {
    let io = |p: &Path| {
        let path = p.display().to_string();
        move |source| Error::Io { path, source }
    };
    if let Some(dir) = c_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let h_path = c_path.with_extension("h");
    std::fs::write(c_path, &art.c).map_err(io(c_path))?;
    std::fs::write(&h_path, &art.h).map_err(io(&h_path))?;
    Ok(h_path)
}
