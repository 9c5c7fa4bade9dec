#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! ONNX's backend node tests (`../shared/onnx-node-tests`, 348 cases):
//! every case through the frontend and the reference interpreter, and the
//! cases the interpreter passes through generated C on the host, against
//! the expected outputs (f32 within 1e-3 relative + 1e-7 absolute, the
//! tolerance of ONNX's own backend test runner, since some expected
//! outputs are written with four digits; other dtypes exactly). The per-op table of cases, passes and exclusions (with
//! the reason) is kept in `docs/onnx-conformance.md` and checked like a
//! snapshot, as oxc keeps its conformance counts. A case that
//! imports and runs must give the right answer: no case may be wrong; the
//! others must fail with a clear error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tmlc::onnx::OnnxError;
use tmlc_ir::{Tensor, TensorData};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/onnx-node-tests")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The op type of a case: its directory name without `test_` and the
/// variant suffix, as index.json records it.
fn op_of(index: &str, case: &Path) -> String {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    // `"test_x": {... "ops": ["Op"] ...}`: read the first op after the key.
    let key = format!("\"{name}\"");
    let at = index
        .find(&key)
        .unwrap_or_else(|| panic!("{name} not in index.json"));
    let rest = &index[at..];
    let ops = &rest[rest.find("\"ops\"").unwrap()..];
    let open = ops.find('[').unwrap();
    let close = ops.find(']').unwrap();
    ops[open + 1..close]
        .split(',')
        .map(|s| s.trim().trim_matches('"'))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("+")
}

enum Outcome {
    /// Right answers through the interpreter, and through the C too, or
    /// the reason the compiler refused it.
    Pass(Result<(), String>),
    /// The frontend or interpreter refused the case (the reason).
    Excluded(String),
    /// It ran and gave another answer.
    Wrong(String),
}

/// A test data file; one the frontend cannot read (a dtype the IR lacks)
/// excludes the case.
fn read_pb(p: &Path) -> Result<(String, Tensor), String> {
    let (name, ty, data) =
        tmlc::onnx::read_tensor_proto(&std::fs::read(p).unwrap()).map_err(|e| reason(&e))?;
    Ok((name, Tensor { ty, data }))
}

fn same(want: &Tensor, got: &Tensor) -> Result<(), String> {
    if want.ty.shape.iter().product::<usize>() != got.ty.shape.iter().product::<usize>() {
        return Err(format!(
            "shape {:?}, expected {:?}",
            got.ty.shape, want.ty.shape
        ));
    }
    match (&want.data, &got.data) {
        (TensorData::F32(w), TensorData::F32(g)) => {
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                let ok = (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-3 * a.abs() + 1e-7;
                if !ok {
                    return Err(format!("element {i} is {b}, expected {a}"));
                }
            }
            Ok(())
        }
        (w, g) if w == g => Ok(()),
        (w, g) => Err(format!("{:?} vs expected {:?}", g.dtype(), w.dtype())),
    }
}

/// The exclusion reason of a frontend error, without node and tensor
/// names (so that cases group).
fn reason(e: &OnnxError) -> String {
    let r = match e {
        OnnxError::UnsupportedOp { op, .. } => format!("unsupported operator {op}"),
        OnnxError::Opset { version, .. } => format!("opset {version}"),
        OnnxError::Node { message, .. } | OnnxError::Tensor { message, .. } => message.clone(),
        e => e.to_string(),
    };
    r.chars().take(70).collect()
}

/// Compiles `g` to C, builds it on the host and runs it on `inputs`;
/// `Err` if the backend refuses the graph.
fn run_c(g: &tmlc_ir::Graph, inputs: &[Tensor], dir: &Path) -> Result<Vec<u8>, String> {
    let mut opts = tmlc::CompileOptions::new("m");
    opts.verify_each = true;
    let art = tmlc::compile(&mut g.clone(), &opts).map_err(|e| e.to_string())?;
    tmlc::write_c(&art, &dir.join("m.c")).unwrap();
    let exe = dir.join("run");
    if !exe.exists()
        || std::fs::read(dir.join("m.c.built")).ok().as_deref() != Some(art.c.as_bytes())
    {
        let o = Command::new("gcc")
            .args([
                "-O1",
                "-std=c11",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-DTMLC_MODEL=m",
                "-include",
            ])
            .arg(dir.join("m.h"))
            .arg(repo().join("harness/host_main.c"))
            .arg(dir.join("m.c"))
            .args(["-lm", "-o"])
            .arg(&exe)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "gcc: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::write(dir.join("m.c.built"), &art.c).unwrap();
    }
    let input: Vec<u8> = inputs.iter().flat_map(|t| t.data.to_le_bytes()).collect();
    std::fs::write(dir.join("in.bin"), input).unwrap();
    let o = Command::new(&exe)
        .arg(dir.join("in.bin"))
        .arg(dir.join("out.bin"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "run: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Ok(std::fs::read(dir.join("out.bin")).unwrap())
}

fn run_case(case: &Path, dir: &Path) -> Outcome {
    let model = std::fs::read(case.join("model.onnx")).unwrap();
    let mut c_ok: Result<(), String> = Ok(());
    let _ = std::fs::remove_file(dir.join("run"));
    let mut sets: Vec<PathBuf> = std::fs::read_dir(case)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    for set in sets {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&set)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        let data = |prefix: &str| -> Result<Vec<(String, Tensor)>, String> {
            files
                .iter()
                .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
                .map(|p| read_pb(p))
                .collect()
        };
        let (inputs, outputs) = match (data("input_"), data("output_")) {
            (Ok(i), Ok(o)) => (i, o.into_iter().map(|(_, t)| t).collect::<Vec<_>>()),
            (Err(e), _) | (_, Err(e)) => return Outcome::Excluded(format!("test data: {e}")),
        };
        // Integer tensors (shapes, axes, pads, quantized data), scalars
        // (clip bounds, dropout's training flag), quantization scales (the
        // suite names them `*_scale`) and a resize's `scales` and `roi` are
        // parameters: frozen to constants.
        let param = |n: &str, t: &Tensor| {
            t.ty.rank() == 0
                || !matches!(t.data, TensorData::F32(_))
                || n.ends_with("_scale")
                || matches!(n, "scales" | "roi")
        };
        let opts = tmlc::onnx::ImportOptions {
            input_shapes: inputs
                .iter()
                .map(|(n, t)| (n.clone(), t.ty.shape.clone()))
                .collect(),
            constants: inputs
                .iter()
                .filter(|(n, t)| param(n, t))
                .map(|(n, t)| (n.clone(), t.ty.clone(), t.data.clone()))
                .collect(),
            ..Default::default()
        };
        let g = match tmlc::onnx::import(&model, "case", &opts) {
            Ok(g) => g,
            Err(e) => return Outcome::Excluded(reason(&e)),
        };
        // Inputs the model holds as initializers are not graph inputs.
        let by_name: BTreeMap<&str, &Tensor> =
            inputs.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let mut ins = Vec::new();
        for &v in g.inputs() {
            let name = &g.value(v).name;
            match by_name.get(name.as_str()) {
                Some(t) => ins.push((*t).clone()),
                None => return Outcome::Excluded(format!("input {name} has no data")),
            }
        }
        let got = match tmlc_interp::run(&g, &ins) {
            Ok(o) => o,
            Err(e) => return Outcome::Excluded(format!("interpreter: {}", e.root())),
        };
        if got.len() != outputs.len() {
            return Outcome::Wrong(format!("{} outputs, expected {}", got.len(), outputs.len()));
        }
        for (k, (w, o)) in outputs.iter().zip(&got).enumerate() {
            if let Err(m) = same(w, o) {
                return Outcome::Wrong(format!("output {k}: {m}"));
            }
        }
        if c_ok.is_err() {
            continue;
        }
        match run_c(&g, &ins, dir) {
            Ok(bytes) => {
                let mut off = 0;
                for (k, w) in outputs.iter().enumerate() {
                    let n = w.data.to_le_bytes().len();
                    let data = TensorData::from_le_bytes(
                        w.data.dtype(),
                        bytes.get(off..off + n).unwrap_or_default(),
                    );
                    off += n;
                    let Some(data) = data else {
                        return Outcome::Wrong(format!("C output {k}: {} bytes", bytes.len()));
                    };
                    let o = Tensor {
                        ty: w.ty.clone(),
                        data,
                    };
                    if let Err(m) = same(w, &o) {
                        return Outcome::Wrong(format!("C output {k}: {m}"));
                    }
                }
            }
            Err(e) => {
                let e = e.rsplit(": ").next().unwrap_or(&e).to_string();
                c_ok = Err(e.chars().take(70).collect());
            }
        }
    }
    Outcome::Pass(c_ok)
}

#[test]
fn onnx_node_tests() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root())
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (clone the repository beside shared/)",
                root().display()
            )
        })
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("model.onnx").is_file())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 348);
    let dir = std::env::temp_dir().join(format!("tmlc-onnx-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // op -> (cases, interpreter passed, C passed, excluded reasons -> count)
    type Row = (usize, usize, usize, BTreeMap<String, usize>);
    let mut table: BTreeMap<String, Row> = BTreeMap::new();
    let mut wrong = Vec::new();
    let index = std::fs::read_to_string(root().join("index.json")).unwrap();
    for case in &cases {
        let op = op_of(&index, case);
        let row = table.entry(op).or_default();
        row.0 += 1;
        match run_case(case, &dir) {
            Outcome::Pass(c) => {
                row.1 += 1;
                match c {
                    Ok(()) => row.2 += 1,
                    Err(r) => *row.3.entry(format!("C: {r}")).or_default() += 1,
                }
            }
            Outcome::Excluded(r) => *row.3.entry(r).or_default() += 1,
            Outcome::Wrong(m) => wrong.push(format!(
                "{}: {m}",
                case.file_name().unwrap().to_string_lossy()
            )),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut out = String::from(
        "| op | cases | passed (interpreter) | passed (C) | excluded (reason: count) |\n|---|---:|---:|---:|---|\n",
    );
    let (mut all, mut passed, mut passed_c) = (0, 0, 0);
    for (op, (n, p, c, ex)) in &table {
        all += n;
        passed += p;
        passed_c += c;
        let ex: Vec<String> = ex.iter().map(|(r, c)| format!("{r}: {c}")).collect();
        out.push_str(&format!("| {op} | {n} | {p} | {c} | {} |\n", ex.join("; ")));
    }
    out.push_str(&format!("| total | {all} | {passed} | {passed_c} | |\n"));
    // docs/onnx-conformance.md holds the table: it is the snapshot
    // (`TMLC_BLESS=1` rewrites it).
    let doc_path = repo().join("docs/onnx-conformance.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap_or_default();
    let marker = "<!-- table -->\n";
    let head = doc.split(marker).next().unwrap_or_default().to_string();
    let want = format!("{head}{marker}{out}");
    if std::env::var_os("TMLC_BLESS").is_some() {
        std::fs::write(&doc_path, &want).unwrap();
    } else {
        assert_eq!(
            doc, want,
            "docs/onnx-conformance.md is out of date (rerun with TMLC_BLESS=1)"
        );
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));
}
