//! The compilation report: one row per layer (op, kernel, shapes, MACs,
//! flash bytes of its constant data, where its result lives) and totals.

use serde::Serialize;
use std::fmt::Write;

/// One layer of the generated program.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerRow {
    /// Execution index.
    pub index: usize,
    /// IR op name.
    pub op: String,
    /// Kernel chosen (e.g. `conv1x1_s8 s1`, `lut sigmoid`, `alias`).
    pub kernel: String,
    /// Name of the result value.
    pub result: String,
    /// Operand shapes.
    pub inputs: Vec<Vec<usize>>,
    /// Result shape.
    pub output: Vec<usize>,
    /// Multiply-accumulates (conv2d, fully_connected, matmul; 0 otherwise).
    pub macs: u64,
    /// Flash bytes of the constant arrays first emitted for this layer
    /// (weights as laid out, folded biases, multipliers, tables).
    pub weight_bytes: usize,
    /// Where the result lives: `arena`, `output N`, `input N`, `const`.
    pub location: String,
    /// Arena byte offset of the result, when it is in the arena.
    pub arena_offset: Option<usize>,
    /// Arena bytes of the result's buffer (0 when not in the arena).
    pub arena_size: usize,
    /// Arena scratch bytes used by the kernel.
    pub scratch_bytes: usize,
    /// How the weights are stored, when not as dense int8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packed: Option<PackedWeights>,
    /// SQNR (dB) of the layer's result against the float model, when the
    /// quantizer measured it ([`Report::annotate_sqnr`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqnr_db: Option<f64>,
}

/// A layer's weights stored other than as dense int8: sparse (bitmaps of
/// non-zero blocks) or 4-bit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackedWeights {
    /// `sparse 1xB` (blocks of B) or `int4`.
    pub layout: String,
    /// Bytes the weights take as dense int8.
    pub int8_bytes: usize,
    /// Bytes as stored.
    pub bytes: usize,
}

/// Per-layer rows and totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The C prefix (`Options::name`).
    pub name: String,
    /// Layers in execution order.
    pub layers: Vec<LayerRow>,
    /// Sum of the layers' MACs.
    pub total_macs: u64,
    /// Bytes of all constant arrays in the C file.
    pub total_weight_bytes: usize,
    /// Size of the activation arena.
    pub arena_bytes: usize,
    /// SQNR (dB) of each graph output against the float model, when the
    /// quantizer measured it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output_sqnr_db: Vec<(String, f64)>,
}

fn shape(s: &[usize]) -> String {
    let v: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("[{}]", v.join(","))
}

impl Report {
    /// Attaches the quantizer's SQNR measurements: `layers` by result name,
    /// `outputs` by graph output name.
    pub fn annotate_sqnr(&mut self, layers: &[(String, f64)], outputs: &[(String, f64)]) {
        for l in &mut self.layers {
            l.sqnr_db = layers.iter().find(|(n, _)| *n == l.result).map(|p| p.1);
        }
        self.output_sqnr_db = outputs.to_vec();
    }

    /// An aligned text table.
    pub fn to_text(&self) -> String {
        let sqnr = self.layers.iter().any(|l| l.sqnr_db.is_some());
        let packed = self.layers.iter().any(|l| l.packed.is_some());
        let mut head = vec![
            "#", "op", "kernel", "result", "inputs", "output", "MACs", "weights", "location",
            "offset", "size",
        ];
        let mut numeric = vec![
            true, false, false, false, false, false, true, true, false, true, true,
        ];
        if packed {
            head.push("packed weights");
            numeric.push(false);
        }
        if sqnr {
            head.push("SQNR dB");
            numeric.push(true);
        }
        let mut rows: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
        for l in &self.layers {
            let ins: Vec<String> = l.inputs.iter().map(|s| shape(s)).collect();
            rows.push(vec![
                l.index.to_string(),
                l.op.clone(),
                l.kernel.clone(),
                format!("%{}", l.result),
                ins.join(" "),
                shape(&l.output),
                l.macs.to_string(),
                l.weight_bytes.to_string(),
                l.location.clone(),
                l.arena_offset
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| "-".into()),
                l.arena_size.to_string(),
            ]);
            if packed {
                let s = l.packed.as_ref().map_or_else(
                    || "-".into(),
                    |p| format!("{}: {} -> {} B", p.layout, p.int8_bytes, p.bytes),
                );
                if let Some(r) = rows.last_mut() {
                    r.push(s);
                }
            }
            if sqnr {
                let db = l.sqnr_db.map_or_else(|| "-".into(), |d| format!("{d:.1}"));
                if let Some(r) = rows.last_mut() {
                    r.push(db);
                }
            }
        }
        let cols = head.len();
        let widths: Vec<usize> = (0..cols)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for r in &rows {
            let mut line = String::new();
            for c in 0..cols {
                if c > 0 {
                    line.push_str("  ");
                }
                if numeric[c] {
                    let _ = write!(line, "{:>w$}", r[c], w = widths[c]);
                } else {
                    let _ = write!(line, "{:<w$}", r[c], w = widths[c]);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "total: {} layers, {} MACs, {} weight bytes, arena {} bytes",
            self.layers.len(),
            self.total_macs,
            self.total_weight_bytes,
            self.arena_bytes
        );
        for (name, db) in &self.output_sqnr_db {
            let _ = writeln!(
                out,
                "output %{name}: SQNR {db:.1} dB against the float model"
            );
        }
        out
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
