//! Shared test plumbing: deterministic inputs, op constructors, compiling
//! and running the generated C on the host (with harness/host_main.c) and on
//! the Cortex-M4 under QEMU (harness/run-model.sh), and comparing with the
//! interpreter.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use tmlc_cm4::{Artifacts, EmitError, Options};
use tmlc_ir::{Activation, Conv2dAttrs, DType, Graph, Op, Tensor, TensorData};

/// Canonicalises and lowers `g` as the driver does
/// (`tmlc_passes::canonical_pipeline`, `lowering_pipeline`) and emits C.
pub fn emit_c(g: &Graph, o: &Options) -> Result<Artifacts, EmitError> {
    let mut g = g.clone();
    let mut cx = tmlc_passes::PassContext::new(true);
    tmlc_passes::canonical_pipeline()
        .then_all(tmlc_passes::lowering_pipeline())
        .run(&mut g, &mut cx)
        .map_err(|e| EmitError::InvalidGraph(e.to_string()))?;
    tmlc_cm4::emit_c(&g, o)
}

/// Deterministic inputs: f32 in [-3, 3], integers over their whole range.
pub use tmlc_filetests::sample_inputs;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A conv2d op.
pub fn conv2d(
    stride: [usize; 2],
    dilation: [usize; 2],
    pad: [usize; 4],
    groups: usize,
    act: Activation,
) -> Op {
    Op::Conv2d(Conv2dAttrs {
        stride,
        dilation,
        pad,
        groups,
        act,
        ..Default::default()
    })
}

/// A conv2d op without dilation.
pub fn conv(stride: [usize; 2], pad: [usize; 4], groups: usize, act: Activation) -> Op {
    conv2d(stride, [1, 1], pad, groups, act)
}

pub fn opts(name: &str) -> Options {
    Options {
        name: name.into(),
        header_file_name: "model.h".into(),
    }
}

pub fn write_model(dir: &Path, a: &Artifacts) {
    std::fs::write(dir.join("model.c"), &a.c).unwrap();
    std::fs::write(dir.join("model.h"), &a.h).unwrap();
}

fn input_bytes(inputs: &[Tensor]) -> Vec<u8> {
    inputs.iter().flat_map(|t| t.data.to_le_bytes()).collect()
}

fn split_outputs(g: &Graph, bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut off = 0;
    for &v in g.outputs() {
        let n = g.value(v).ty.byte_size();
        out.push(bytes[off..off + n].to_vec());
        off += n;
    }
    assert_eq!(off, bytes.len(), "output file size");
    out
}

/// Builds the host program (with sanitizers) for a generated model.
pub fn build_host(dir: &Path, name: &str) -> PathBuf {
    let exe = dir.join("run");
    let out = Command::new("gcc")
        .args(["-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-g"])
        .args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
        .arg(format!("-DTMLC_MODEL={name}"))
        .arg("-include")
        .arg(dir.join("model.h"))
        .arg(repo_root().join("harness/host_main.c"))
        .arg(dir.join("model.c"))
        .args(["-lm", "-o"])
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "host build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

pub fn run_exe(exe: &Path, dir: &Path, g: &Graph, inputs: &[Tensor]) -> Vec<Vec<u8>> {
    let inp = dir.join("in.bin");
    let outp = dir.join("out.bin");
    std::fs::write(&inp, input_bytes(inputs)).unwrap();
    let out = Command::new(exe).arg(&inp).arg(&outp).output().unwrap();
    assert!(
        out.status.success(),
        "host run failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    split_outputs(g, &std::fs::read(&outp).unwrap())
}

/// Compiles the model for the M4 (object only) with -Werror.
pub fn compile_m4(dir: &Path) {
    let out = Command::new("arm-none-eabi-gcc")
        .args([
            "-mcpu=cortex-m4",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv4-sp-d16",
            "-O2",
        ])
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-c"])
        .arg(dir.join("model.c"))
        .arg("-o")
        .arg(dir.join("model.o"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "arm build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the model on the M4 under QEMU; `count` adds instruction counting
/// and returns the run-model.sh report lines.
pub fn run_m4(
    dir: &Path,
    name: &str,
    g: &Graph,
    inputs: &[Tensor],
    count: bool,
) -> (Vec<Vec<u8>>, String) {
    let inp = dir.join("in.bin");
    let outp = dir.join("out_m4.bin");
    std::fs::write(&inp, input_bytes(inputs)).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("harness/run-model.sh"))
        .arg(dir)
        .arg(name)
        .arg(&inp)
        .arg(&outp)
        .arg("m4big");
    if count {
        cmd.arg("--count");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "M4 run failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        split_outputs(g, &std::fs::read(&outp).unwrap()),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Compares generated outputs with the interpreter's: integers bit for
/// bit, floats within 1e-5 relative (plus a tiny absolute slack).
pub fn compare(g: &Graph, want: &[Tensor], got: &[Vec<u8>], what: &str) {
    assert_eq!(want.len(), got.len());
    for (k, (w, gbytes)) in want.iter().zip(got).enumerate() {
        let name = &g.value(g.outputs()[k]).name;
        match &w.data {
            TensorData::F32(wv) => {
                let gv = TensorData::from_le_bytes(DType::F32, gbytes).unwrap();
                let TensorData::F32(gv) = gv else { panic!() };
                for (i, (a, b)) in wv.iter().zip(&gv).enumerate() {
                    let ok = (a.is_nan() && b.is_nan())
                        || a == b
                        || (a - b).abs() <= 1e-5 * a.abs().max(b.abs()) + 1e-6;
                    assert!(
                        ok,
                        "{what}: output {k} (%{name}) element {i}: want {a}, got {b}\n{}",
                        tmlc_ir::print(g)
                    );
                }
            }
            d => {
                let wb = d.to_le_bytes();
                if &wb != gbytes {
                    let first = wb.iter().zip(gbytes).position(|(a, b)| a != b).unwrap_or(0);
                    panic!(
                        "{what}: output {k} (%{name}) differs at byte {first}: want {:?}, got {:?}\n{}",
                        &wb[first..(first + 8).min(wb.len())],
                        &gbytes[first..(first + 8).min(gbytes.len())],
                        tmlc_ir::print(g)
                    );
                }
            }
        }
    }
}

/// Emits `g`, compiles it on the host (and for the M4 when `arm`), runs it
/// on `seeds` sample inputs and compares with the interpreter.
pub fn check_host(g: &Graph, seeds: u64, arm: bool) -> Artifacts {
    tmlc_ir::verify(g).unwrap_or_else(|e| panic!("invalid test graph: {e}\n{}", tmlc_ir::print(g)));
    let name = "m";
    let a = emit_c(g, &opts(name))
        .unwrap_or_else(|e| panic!("emit failed: {e}\n{}", tmlc_ir::print(g)));
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path(), &a);
    if arm {
        compile_m4(dir.path());
    }
    let exe = build_host(dir.path(), name);
    for seed in 0..seeds {
        let ins = sample_inputs(g, seed);
        let want = tmlc_interp::run(g, &ins)
            .unwrap_or_else(|e| panic!("interp: {e}\n{}", tmlc_ir::print(g)));
        let got = run_exe(&exe, dir.path(), g, &ins);
        compare(g, &want, &got, &format!("host seed {seed}"));
    }
    a
}

/// A small graph builder for tests: random constants from a fixed seed,
/// result shapes inferred.
pub struct B {
    pub g: Graph,
    s: u64,
    n: usize,
}

impl B {
    pub fn new(seed: u64) -> B {
        B {
            g: Graph::new("t"),
            s: seed.wrapping_add(0x9E3779B97F4A7C15),
            n: 0,
        }
    }
    pub fn rnd(&mut self) -> u32 {
        self.s = self
            .s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.s >> 33) as u32
    }
    fn fresh(&mut self, p: &str) -> String {
        self.n += 1;
        format!("{p}{}", self.n)
    }
    pub fn qin(&mut self, shape: &[usize], s: f32, zp: i32) -> tmlc_ir::ValueId {
        let n = self.fresh("x");
        self.g.add_input(
            &n,
            tmlc_ir::TensorType::quantized(
                DType::I8,
                shape.to_vec(),
                tmlc_ir::Quant::per_tensor(s, zp),
            ),
        )
    }
    pub fn fin(&mut self, shape: &[usize]) -> tmlc_ir::ValueId {
        let n = self.fresh("x");
        self.g
            .add_input(&n, tmlc_ir::TensorType::new(DType::F32, shape.to_vec()))
    }
    /// int8 weights, zero point 0, per-channel (axis 0) or per-tensor scales.
    pub fn qw(&mut self, shape: &[usize], per_channel: bool) -> tmlc_ir::ValueId {
        let n = tmlc_ir::numel(shape);
        let data: Vec<i8> = (0..n).map(|_| self.rnd() as u8 as i8).collect();
        let q = if per_channel {
            let sc = (0..shape[0])
                .map(|i| 0.002 + 0.0007 * ((i * 7) % 5) as f32)
                .collect();
            tmlc_ir::Quant::per_axis(0, sc, vec![0; shape[0]])
        } else {
            tmlc_ir::Quant::per_tensor(0.003, 0)
        };
        let nm = self.fresh("w");
        self.g.add_const(
            &nm,
            tmlc_ir::TensorType::quantized(DType::I8, shape.to_vec(), q),
            TensorData::I8(data),
        )
    }
    /// Random 4-bit weights (`-8..=7`), per-channel scales.
    pub fn qw4(&mut self, shape: &[usize]) -> tmlc_ir::ValueId {
        let n = tmlc_ir::numel(shape);
        let data: Vec<i8> = (0..n).map(|_| (self.rnd() % 16) as i8 - 8).collect();
        let sc = (0..shape[0])
            .map(|i| 0.02 + 0.005 * ((i * 7) % 5) as f32)
            .collect();
        let q = tmlc_ir::Quant::per_axis(0, sc, vec![0; shape[0]]);
        let nm = self.fresh("w");
        self.g.add_const(
            &nm,
            tmlc_ir::TensorType::quantized(DType::I4, shape.to_vec(), q),
            TensorData::I4(data),
        )
    }
    /// Zeroes blocks of `blk` consecutive weights along each output
    /// channel's row of weight constant `w`, keeping about one in `keep`
    /// (and every block of the first row, so a row may be dense).
    pub fn sparsify(&mut self, w: tmlc_ir::ValueId, blk: usize, keep: u32) {
        let rows = self.g.value(w).ty.shape[0];
        let Some(TensorData::I8(mut d)) = self.g.const_data(w).cloned() else {
            panic!("not an int8 constant");
        };
        let k = d.len() / rows;
        for (r, row) in d.chunks_mut(k).enumerate() {
            for block in row.chunks_mut(blk) {
                if r > 0 && !self.rnd().is_multiple_of(keep) {
                    block.fill(0);
                }
            }
        }
        self.g.make_const(w, TensorData::I8(d));
    }
    /// An int8 activation-like constant.
    pub fn qc(&mut self, shape: &[usize], s: f32, zp: i32) -> tmlc_ir::ValueId {
        let n = tmlc_ir::numel(shape);
        let data: Vec<i8> = (0..n).map(|_| self.rnd() as u8 as i8).collect();
        let nm = self.fresh("k");
        self.g.add_const(
            &nm,
            tmlc_ir::TensorType::quantized(
                DType::I8,
                shape.to_vec(),
                tmlc_ir::Quant::per_tensor(s, zp),
            ),
            TensorData::I8(data),
        )
    }
    pub fn bias(&mut self, n: usize) -> tmlc_ir::ValueId {
        let data: Vec<i32> = (0..n).map(|_| (self.rnd() % 4001) as i32 - 2000).collect();
        let nm = self.fresh("b");
        self.g.add_const(
            &nm,
            tmlc_ir::TensorType::new(DType::I32, vec![n]),
            TensorData::I32(data),
        )
    }
    pub fn fc(&mut self, shape: &[usize]) -> tmlc_ir::ValueId {
        let n = tmlc_ir::numel(shape);
        let data: Vec<f32> = (0..n)
            .map(|_| (self.rnd() % 2001) as f32 / 1000.0 - 1.0)
            .collect();
        let nm = self.fresh("k");
        self.g.add_const(
            &nm,
            tmlc_ir::TensorType::new(DType::F32, shape.to_vec()),
            TensorData::F32(data),
        )
    }
    /// Adds `op` with a result of type `ty` (shape inferred).
    pub fn op(
        &mut self,
        op: tmlc_ir::Op,
        operands: &[tmlc_ir::ValueId],
        mut ty: tmlc_ir::TensorType,
    ) -> tmlc_ir::ValueId {
        let tys: Vec<tmlc_ir::TensorType> = operands
            .iter()
            .map(|&v| self.g.value(v).ty.clone())
            .collect();
        let refs: Vec<&tmlc_ir::TensorType> = tys.iter().collect();
        ty.shape = tmlc_ir::infer_type(&op, &refs)
            .unwrap_or_else(|e| panic!("{e}"))
            .shape;
        let nm = self.fresh("v");
        self.g.add_node(op, operands.to_vec(), &nm, ty)
    }
    pub fn out(&mut self, outs: &[tmlc_ir::ValueId]) -> Graph {
        self.g.set_outputs(outs.to_vec());
        self.g.clone()
    }
}

pub fn qt(s: f32, zp: i32) -> tmlc_ir::TensorType {
    tmlc_ir::TensorType::quantized(DType::I8, vec![], tmlc_ir::Quant::per_tensor(s, zp))
}

pub fn ft() -> tmlc_ir::TensorType {
    tmlc_ir::TensorType::new(DType::F32, vec![])
}
