//! Canonical printer.
//!
//! Canonical form: inputs in order; constants first, in value-id order; then
//! ops in the deterministic topological order of [`Graph::topo_order`];
//! attributes in a fixed order, omitted when equal to their default;
//! constants of at most [`PrintOptions::max_list_elems`] elements as a list,
//! larger ones as `hex"..."` (little-endian bytes).

use crate::attr::f32_text;
use crate::{Graph, Phase, TensorData, ValueDef};
use std::fmt::Write;

/// Printer options.
#[derive(Clone, Debug)]
pub struct PrintOptions {
    /// Constants with more elements are written as hex (default 16).
    pub max_list_elems: usize,
    /// Replace constants with more than this many bytes by `elided` (not
    /// parseable; for human reading of large models). `None` prints all.
    pub elide_bytes_over: Option<usize>,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions {
            max_list_elems: 16,
            elide_bytes_over: None,
        }
    }
}

/// Prints `g` in canonical text form.
pub fn print(g: &Graph) -> String {
    print_with(g, &PrintOptions::default())
}

fn list<T: std::fmt::Display>(v: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = v.into_iter().map(|x| x.to_string()).collect();
    format!("[{}]", items.join(", "))
}

fn data_text(d: &TensorData, opts: &PrintOptions) -> String {
    let bytes_len = d.len() * d.dtype().size();
    if let Some(limit) = opts.elide_bytes_over {
        if bytes_len > limit {
            return format!("elided /* {bytes_len} bytes */");
        }
    }
    if d.len() <= opts.max_list_elems {
        return match d {
            TensorData::F32(v) => list(v.iter().map(|x| f32_text(*x))),
            TensorData::I8(v) | TensorData::I4(v) => list(v),
            TensorData::U8(v) => list(v),
            TensorData::I16(v) => list(v),
            TensorData::I32(v) => list(v),
            TensorData::I64(v) => list(v),
            TensorData::Bool(v) => list(v),
        };
    }
    let mut s = String::with_capacity(bytes_len * 2 + 5);
    s.push_str("hex\"");
    for b in d.to_le_bytes() {
        let _ = write!(s, "{b:02x}");
    }
    s.push('"');
    s
}

/// Prints `g` with explicit options.
pub fn print_with(g: &Graph, opts: &PrintOptions) -> String {
    let mut s = String::new();
    let name = |v| format!("%{}", g.value(v).name);
    let params: Vec<String> = g
        .inputs()
        .iter()
        .map(|&v| format!("{}: {}", name(v), g.value(v).ty))
        .collect();
    let outs: Vec<String> = g.outputs().iter().map(|&v| name(v)).collect();
    let phase = match g.phase() {
        Phase::Imported => String::new(),
        p => format!(" phase {}", p.name()),
    };
    let _ = writeln!(
        s,
        "graph @{}({}) -> ({}){phase} {{",
        g.name,
        params.join(", "),
        outs.join(", ")
    );
    for (_, v) in g.values() {
        if let ValueDef::Const(d) = &v.def {
            let _ = writeln!(s, "  %{} = const {} {}", v.name, v.ty, data_text(d, opts));
        }
    }
    // A cyclic graph (only possible mid-pass) still prints, in id order.
    let order = g.topo_order().unwrap_or_else(|_| g.node_ids());
    for n in order {
        let node = g.node(n);
        let ops: Vec<String> = node.operands.iter().map(|&v| name(v)).collect();
        let _ = write!(
            s,
            "  {} = {}({})",
            name(node.result),
            node.op.name(),
            ops.join(", ")
        );
        let attrs = node.op.attr_text();
        if !attrs.is_empty() {
            let a: Vec<String> = attrs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            let _ = write!(s, " {{{}}}", a.join(", "));
        }
        let _ = writeln!(s, " : {}", g.value(node.result).ty);
    }
    s.push_str("}\n");
    s
}
