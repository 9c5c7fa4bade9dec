//! Shared test helpers: locating the shared models, a minimal JSON reader
//! for their `.json` sidecars, a small TFLite model builder on top of
//! `flatbuffers::FlatBufferBuilder`, and a deterministic PRNG.

#![allow(dead_code)]

use flatbuffers::{FlatBufferBuilder, TableFinishedWIPOffset, WIPOffset};
use std::path::{Path, PathBuf};

/// `shared/models/tflite-micro`, beside the repository. Fails the test with
/// a clear message when it is missing.
pub fn models_dir() -> PathBuf {
    let d = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/models/tflite-micro"
    ));
    assert!(
        d.is_dir(),
        "the shared model directory {} is missing: these tests need `shared/` beside the repository",
        d.display()
    );
    d
}

/// The bytes of a shared model, e.g. `model("hello_world_int8")`.
pub fn model(stem: &str) -> Vec<u8> {
    let p = models_dir().join(format!("{stem}.tflite"));
    std::fs::read(&p)
        .map_err(|e| format!("cannot read {}: {e}", p.display()))
        .expect("shared model")
}

/// Every `.tflite` file under `dir`, sorted.
pub fn tflite_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "tflite") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Minimal JSON
// ---------------------------------------------------------------------------

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(s: &str) -> Option<Json> {
        let mut p = JsonParser {
            s: s.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        (p.i == p.s.len()).then_some(v)
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_obj(&self) -> &[(String, Json)] {
        match self {
            Json::Obj(kv) => kv,
            _ => &[],
        }
    }

    pub fn as_arr(&self) -> &[Json] {
        match self {
            Json::Arr(v) => v,
            _ => &[],
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn lit(&mut self, l: &str, v: Json) -> Option<Json> {
        if self.s.get(self.i..self.i + l.len()) == Some(l.as_bytes()) {
            self.i += l.len();
            Some(v)
        } else {
            None
        }
    }

    fn value(&mut self) -> Option<Json> {
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut kv = Vec::new();
                if self.eat(b'}') {
                    return Some(Json::Obj(kv));
                }
                loop {
                    self.ws();
                    let Json::Str(k) = self.string()? else {
                        return None;
                    };
                    if !self.eat(b':') {
                        return None;
                    }
                    kv.push((k, self.value()?));
                    if self.eat(b'}') {
                        return Some(Json::Obj(kv));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                if self.eat(b']') {
                    return Some(Json::Arr(v));
                }
                loop {
                    v.push(self.value()?);
                    if self.eat(b']') {
                        return Some(Json::Arr(v));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'"' => self.string(),
            b't' => self.lit("true", Json::Bool(true)),
            b'f' => self.lit("false", Json::Bool(false)),
            b'n' => self.lit("null", Json::Null),
            _ => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
                {
                    self.i += 1;
                }
                std::str::from_utf8(self.s.get(start..self.i)?)
                    .ok()?
                    .parse()
                    .ok()
                    .map(Json::Num)
            }
        }
    }

    fn string(&mut self) -> Option<Json> {
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let mut out = String::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return Some(Json::Str(out)),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let h = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            self.i += 4;
                            out.push(
                                char::from_u32(u32::from_str_radix(h, 16).ok()?).unwrap_or('?'),
                            );
                        }
                        other => out.push(other as char),
                    }
                }
                _ => {
                    // Copy a UTF-8 sequence through unchanged.
                    let start = self.i - 1;
                    while self.s.get(self.i).is_some_and(|b| b & 0xC0 == 0x80) {
                        self.i += 1;
                    }
                    out.push_str(std::str::from_utf8(self.s.get(start..self.i)?).ok()?);
                }
            }
        }
    }
}

/// The sidecar JSON of a shared model.
pub fn model_json(path: &Path) -> Json {
    let p = path.with_extension("json");
    let s = std::fs::read_to_string(&p).unwrap_or_default();
    let j = Json::parse(&s);
    assert!(j.is_some(), "cannot parse {}", p.display());
    j.unwrap_or(Json::Null)
}

// ---------------------------------------------------------------------------
// A small TFLite writer for hand-made (and deliberately broken) models
// ---------------------------------------------------------------------------

/// Quantization parameters: scales, zero points, quantized dimension.
#[derive(Clone, Debug, Default)]
pub struct QuantSpec {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub dim: i32,
}

/// One tensor.
#[derive(Clone, Debug)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<i32>,
    /// TFLite `TensorType` code (0 FLOAT32, 2 INT32, 9 INT8, ...).
    pub ty: i8,
    pub buffer: u32,
    pub quant: Option<QuantSpec>,
}

impl TensorSpec {
    pub fn new(name: &str, shape: &[i32], ty: i8, buffer: u32) -> TensorSpec {
        TensorSpec {
            name: name.to_string(),
            shape: shape.to_vec(),
            ty,
            buffer,
            quant: None,
        }
    }

    pub fn quant(mut self, scale: &[f32], zero_point: &[i64], dim: i32) -> TensorSpec {
        self.quant = Some(QuantSpec {
            scale: scale.to_vec(),
            zero_point: zero_point.to_vec(),
            dim,
        });
        self
    }
}

/// An options-table field value.
#[derive(Clone, Copy, Debug)]
pub enum Field {
    I8(i8),
    I32(i32),
    F32(f32),
    Bool(bool),
}

/// One operator.
#[derive(Clone, Debug, Default)]
pub struct OpSpec {
    pub opcode_index: u32,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    /// `BuiltinOptions` union tag and the fields `(slot, value)` of the table.
    pub options: Option<(u8, Vec<(u16, Field)>)>,
}

impl OpSpec {
    pub fn new(opcode_index: u32, inputs: &[i32], outputs: &[i32]) -> OpSpec {
        OpSpec {
            opcode_index,
            inputs: inputs.to_vec(),
            outputs: outputs.to_vec(),
            options: None,
        }
    }

    pub fn options(mut self, tag: u8, fields: &[(u16, Field)]) -> OpSpec {
        self.options = Some((tag, fields.to_vec()));
        self
    }
}

/// An operator code: `(deprecated_builtin_code, builtin_code, custom_code)`.
#[derive(Clone, Debug)]
pub struct CodeSpec {
    pub deprecated: i8,
    pub builtin: i32,
    pub custom: Option<String>,
}

impl CodeSpec {
    /// A builtin written the way current converters do (both fields, the
    /// deprecated one saturated at 127).
    pub fn builtin(code: i32) -> CodeSpec {
        CodeSpec {
            deprecated: code.min(127) as i8,
            builtin: code,
            custom: None,
        }
    }
}

/// A whole model (one subgraph).
#[derive(Clone, Debug)]
pub struct ModelSpec {
    pub version: u32,
    pub codes: Vec<CodeSpec>,
    pub tensors: Vec<TensorSpec>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub ops: Vec<OpSpec>,
    /// Buffer contents; entry 0 should be empty (the sentinel).
    pub buffers: Vec<Vec<u8>>,
}

impl ModelSpec {
    /// A valid float model: `y = fully_connected(x, w, b)` with x `[1,2]`,
    /// w `[3,2]`, b `[3]`.
    pub fn fc_float() -> ModelSpec {
        let f = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        ModelSpec {
            version: 3,
            codes: vec![CodeSpec::builtin(9)],
            tensors: vec![
                TensorSpec::new("x", &[1, 2], 0, 0),
                TensorSpec::new("w", &[3, 2], 0, 1),
                TensorSpec::new("b", &[3], 0, 2),
                TensorSpec::new("y", &[1, 3], 0, 0),
            ],
            inputs: vec![0],
            outputs: vec![3],
            ops: vec![OpSpec::new(0, &[0, 1, 2], &[3])],
            buffers: vec![
                Vec::new(),
                f(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
                f(&[0.5, -0.5, 1.0]),
            ],
        }
    }

    /// Serialises the model with identifier `TFL3`.
    pub fn build(&self) -> Vec<u8> {
        let mut b = FlatBufferBuilder::new();
        let codes: Vec<_> = self
            .codes
            .iter()
            .map(|c| {
                let custom = c.custom.as_deref().map(|s| b.create_string(s));
                let t = b.start_table();
                b.push_slot::<i8>(4, c.deprecated, 0);
                if let Some(s) = custom {
                    b.push_slot_always(6, s);
                }
                b.push_slot::<i32>(8, 1, 1);
                b.push_slot::<i32>(10, c.builtin, 0);
                b.end_table(t)
            })
            .collect();
        let codes = b.create_vector(&codes);
        let tensors: Vec<_> = self
            .tensors
            .iter()
            .map(|t| {
                let shape = b.create_vector(&t.shape);
                let name = b.create_string(&t.name);
                let quant = t.quant.as_ref().map(|q| {
                    let s = b.create_vector(&q.scale);
                    let z = b.create_vector(&q.zero_point);
                    let qt = b.start_table();
                    b.push_slot_always(8, s);
                    b.push_slot_always(10, z);
                    b.push_slot::<i32>(16, q.dim, 0);
                    b.end_table(qt)
                });
                let tt = b.start_table();
                b.push_slot_always(4, shape);
                b.push_slot::<i8>(6, t.ty, 0);
                b.push_slot::<u32>(8, t.buffer, 0);
                b.push_slot_always(10, name);
                if let Some(q) = quant {
                    b.push_slot_always(12, q);
                }
                b.end_table(tt)
            })
            .collect();
        let tensors = b.create_vector(&tensors);
        let ops: Vec<_> = self
            .ops
            .iter()
            .map(|o| {
                let ins = b.create_vector(&o.inputs);
                let outs = b.create_vector(&o.outputs);
                let opts = o.options.as_ref().map(|(tag, fields)| {
                    let t = b.start_table();
                    for &(slot, v) in fields {
                        match v {
                            Field::I8(x) => b.push_slot_always(slot, x),
                            Field::I32(x) => b.push_slot_always(slot, x),
                            Field::F32(x) => b.push_slot_always(slot, x),
                            Field::Bool(x) => b.push_slot_always(slot, x),
                        }
                    }
                    (*tag, b.end_table(t))
                });
                let t = b.start_table();
                b.push_slot::<u32>(4, o.opcode_index, 0);
                b.push_slot_always(6, ins);
                b.push_slot_always(8, outs);
                if let Some((tag, table)) = opts {
                    b.push_slot_always::<u8>(10, tag);
                    b.push_slot_always(12, table);
                }
                b.end_table(t)
            })
            .collect();
        let ops = b.create_vector(&ops);
        let inputs = b.create_vector(&self.inputs);
        let outputs = b.create_vector(&self.outputs);
        let sg_name = b.create_string("main");
        let sg = b.start_table();
        b.push_slot_always(4, tensors);
        b.push_slot_always(6, inputs);
        b.push_slot_always(8, outputs);
        b.push_slot_always(10, ops);
        b.push_slot_always(12, sg_name);
        let sg = b.end_table(sg);
        let sgs = b.create_vector(&[sg]);
        let bufs: Vec<WIPOffset<TableFinishedWIPOffset>> = self
            .buffers
            .iter()
            .map(|d| {
                let data = (!d.is_empty()).then(|| b.create_vector(d));
                let t = b.start_table();
                if let Some(d) = data {
                    b.push_slot_always(4, d);
                }
                b.end_table(t)
            })
            .collect();
        let bufs = b.create_vector(&bufs);
        let desc = b.create_string("tmlc test model");
        let m = b.start_table();
        b.push_slot::<u32>(4, self.version, 0);
        b.push_slot_always(6, codes);
        b.push_slot_always(8, sgs);
        b.push_slot_always(10, desc);
        b.push_slot_always(12, bufs);
        let m = b.end_table(m);
        b.finish(m, Some("TFL3"));
        b.finished_data().to_vec()
    }
}

// ---------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------

/// SplitMix64: a tiny deterministic generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Little-endian `u32` at `pos`.
pub fn read_u32(b: &[u8], pos: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[pos..pos + 4]);
    u32::from_le_bytes(a)
}

/// Overwrites the little-endian `u32` at `pos`.
pub fn write_u32(b: &mut [u8], pos: usize, v: u32) {
    b[pos..pos + 4].copy_from_slice(&v.to_le_bytes());
}

/// Position of field `slot` of the table at `table` (panics on a broken
/// table: for well-formed test inputs only).
pub fn field_pos(b: &[u8], table: usize, slot: usize) -> usize {
    let soff = read_u32(b, table) as i32 as i64;
    let vt = (table as i64 - soff) as usize;
    let off = u16::from_le_bytes([b[vt + slot], b[vt + slot + 1]]) as usize;
    assert!(off != 0, "field {slot} absent");
    table + off
}

/// Follows the `u32` offset stored at `pos`.
pub fn deref(b: &[u8], pos: usize) -> usize {
    pos + read_u32(b, pos) as usize
}
