#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! ONNX's backend node tests (`../shared/onnx-node-tests`, 348 cases):
//! every case through the frontend and the reference interpreter, against
//! the expected outputs (f32 within 1e-4 relative + 1e-5 absolute, other
//! dtypes exactly). The per-op table of cases, passes and exclusions (with
//! the frontend's reason) is a snapshot, like oxc's conformance counts. A
//! case that imports and runs must give the right answer: no case may be
//! wrong; the others must fail with a clear error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tmlc_ir::{Tensor, TensorData};
use tmlc_onnx::OnnxError;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/onnx-node-tests")
}

/// The op type of a case: its directory name without `test_` and the
/// variant suffix, as index.json records it.
fn op_of(case: &Path) -> String {
    let index = std::fs::read_to_string(root().join("index.json")).unwrap();
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
    Pass,
    /// The frontend or interpreter refused the case (the reason).
    Excluded(String),
    /// It ran and gave another answer.
    Wrong(String),
}

/// A test data file; one the frontend cannot read (a dtype the IR lacks)
/// excludes the case.
fn read_pb(p: &Path) -> Result<(String, Tensor), String> {
    let (name, ty, data) =
        tmlc_onnx::read_tensor_proto(&std::fs::read(p).unwrap()).map_err(|e| reason(&e))?;
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
                let ok = (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-4 * a.abs() + 1e-5;
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

fn run_case(case: &Path) -> Outcome {
    let model = std::fs::read(case.join("model.onnx")).unwrap();
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
        // Integer tensors (shapes, axes, pads) and scalars (clip bounds,
        // dropout's training flag) are parameters: frozen to constants.
        let param = |t: &Tensor| t.ty.rank() == 0 || !matches!(t.data, TensorData::F32(_));
        let opts = tmlc_onnx::ImportOptions {
            input_shapes: inputs
                .iter()
                .map(|(n, t)| (n.clone(), t.ty.shape.clone()))
                .collect(),
            constants: inputs
                .iter()
                .filter(|(_, t)| param(t))
                .map(|(n, t)| (n.clone(), t.ty.clone(), t.data.clone()))
                .collect(),
            ..Default::default()
        };
        let g = match tmlc_onnx::import(&model, "case", &opts) {
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
    }
    Outcome::Pass
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
    // op -> (cases, passed, excluded reasons -> count)
    let mut table: BTreeMap<String, (usize, usize, BTreeMap<String, usize>)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for case in &cases {
        let op = op_of(case);
        let row = table.entry(op).or_default();
        row.0 += 1;
        match run_case(case) {
            Outcome::Pass => row.1 += 1,
            Outcome::Excluded(r) => *row.2.entry(r).or_default() += 1,
            Outcome::Wrong(m) => wrong.push(format!(
                "{}: {m}",
                case.file_name().unwrap().to_string_lossy()
            )),
        }
    }
    let mut out =
        String::from("| op | cases | passed | excluded (reason: count) |\n|---|---:|---:|---|\n");
    let (mut all, mut passed) = (0, 0);
    for (op, (n, p, ex)) in &table {
        all += n;
        passed += p;
        let ex: Vec<String> = ex.iter().map(|(r, c)| format!("{r}: {c}")).collect();
        out.push_str(&format!("| {op} | {n} | {p} | {} |\n", ex.join("; ")));
    }
    out.push_str(&format!("| total | {all} | {passed} | |\n"));
    insta::assert_snapshot!("conformance", out);
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));
}
