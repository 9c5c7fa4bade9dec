//! The memory planner: gives every value a storage location.
//!
//! - Graph inputs are read in place from the caller's pointers; constants
//!   read as activations live in flash.
//! - `reshape` results alias their operand (same bytes, no copy).
//! - A graph output produced by a node (possibly through reshapes) is
//!   written directly into the caller's output buffer. An output that is a
//!   graph input, a constant, or a value already placed in another output is
//!   copied at the end of `invoke`.
//! - Every other result gets an arena buffer. Element-wise kernels may run
//!   in place on an operand's buffer when that operand (with all its
//!   aliases) is never used afterwards and has the same size.
//! - Arena buffers (and per-layer scratch) have lifetimes `[definition, last
//!   use]` in layer steps; they are placed greedily by decreasing size at
//!   the lowest 16-byte-aligned offset that does not overlap a placed buffer
//!   with an overlapping lifetime (first fit). The arena size is the largest
//!   end offset.

use crate::lower::Lowered;
use std::collections::HashMap;
use tmlc_ir::{Graph, ValueDef, ValueId};

/// Where a value's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loc {
    /// `inputs[i]`.
    Input(usize),
    /// `outputs[i]`.
    Output(usize),
    /// The arena at a byte offset.
    Arena(usize),
    /// A constant array of the pool.
    Const(usize),
}

/// The result of planning.
pub(crate) struct Plan {
    /// Location of every value that the program touches.
    pub(crate) loc: HashMap<ValueId, Loc>,
    /// Scratch offset of each layer (if it has scratch).
    pub(crate) scratch: Vec<Option<usize>>,
    /// Outputs copied at the end: `(output index, value)`.
    pub(crate) copies: Vec<(usize, ValueId)>,
    /// Arena size in bytes (0 when nothing lives in the arena).
    pub(crate) arena_bytes: usize,
    /// Arena size of each layer's result buffer (0 when not in the arena),
    /// for the report.
    pub(crate) buf_size: HashMap<ValueId, usize>,
}

const ALIGN: usize = 16;

struct Group {
    loc: Option<Loc>,
    size: usize,
    start: usize,
    end: usize,
}

/// Plans the storage of the lowered program.
pub(crate) fn plan(g: &Graph, low: &Lowered) -> Plan {
    let n_layers = low.layers.len();
    // Reshape roots.
    let mut alias_of: HashMap<ValueId, ValueId> = HashMap::new();
    for l in &low.layers {
        if l.alias {
            alias_of.insert(l.result, l.operands[0]);
        }
    }
    let root = |mut v: ValueId| {
        while let Some(&u) = alias_of.get(&v) {
            v = u;
        }
        v
    };
    // Last use of each reshape root (layer index; n_layers for output copies).
    let mut last_use: HashMap<ValueId, usize> = HashMap::new();
    for (i, l) in low.layers.iter().enumerate() {
        for &o in &l.operands {
            let r = root(o);
            let e = last_use.entry(r).or_insert(i);
            *e = (*e).max(i);
        }
    }
    // Output claims.
    let mut claimed: HashMap<ValueId, usize> = HashMap::new();
    let mut copies = Vec::new();
    for (j, &v) in g.outputs().iter().enumerate() {
        let r = root(v);
        let is_node = matches!(g.value(r).def, ValueDef::Node(_));
        if is_node && !claimed.contains_key(&r) {
            claimed.insert(r, j);
        } else {
            copies.push((j, v));
            last_use.insert(r, n_layers);
        }
    }
    for &r in claimed.keys() {
        last_use.insert(r, n_layers);
    }

    // Groups: buffers shared by reshape roots (in-place merges roots).
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of: HashMap<ValueId, usize> = HashMap::new();
    for (i, &v) in g.inputs().iter().enumerate() {
        group_of.insert(v, groups.len());
        groups.push(Group {
            loc: Some(Loc::Input(i)),
            size: 0,
            start: 0,
            end: 0,
        });
    }
    let mut vc: Vec<(&ValueId, &usize)> = low.value_consts.iter().collect();
    vc.sort();
    for (&v, &c) in vc {
        group_of.insert(v, groups.len());
        groups.push(Group {
            loc: Some(Loc::Const(c)),
            size: 0,
            start: 0,
            end: 0,
        });
    }
    for (i, l) in low.layers.iter().enumerate() {
        let v = l.result;
        if l.alias {
            let r = root(v);
            if let Some(&gi) = group_of.get(&r) {
                group_of.insert(v, gi);
            }
            continue;
        }
        let size = g.value(v).ty.byte_size();
        let lu = last_use.get(&v).copied().unwrap_or(i).max(i);
        if let Some(&j) = claimed.get(&v) {
            group_of.insert(v, groups.len());
            groups.push(Group {
                loc: Some(Loc::Output(j)),
                size: 0,
                start: i,
                end: lu,
            });
            continue;
        }
        let mut placed = false;
        for &k in &l.in_place {
            let u = l.operands[k];
            let Some(&gi) = group_of.get(&root(u)) else {
                continue;
            };
            let grp = &groups[gi];
            let others_differ = l
                .operands
                .iter()
                .enumerate()
                .all(|(m, &o)| m == k || o == u || group_of.get(&root(o)) != Some(&gi));
            if grp.loc.is_none() && grp.end <= i && grp.size >= size && others_differ {
                group_of.insert(v, gi);
                groups[gi].end = lu;
                placed = true;
                break;
            }
        }
        if !placed {
            group_of.insert(v, groups.len());
            groups.push(Group {
                loc: None,
                size,
                start: i,
                end: lu,
            });
        }
    }
    // The end of a group is the max over its roots' last uses: groups were
    // created in definition order and in-place merges extend `end`, but a
    // root's last use may come from an alias used later; recompute.
    for (&v, &gi) in &group_of {
        if let Some(&lu) = last_use.get(&v) {
            if groups[gi].loc.is_none() {
                groups[gi].end = groups[gi].end.max(lu);
            }
        }
    }
    // Scratch buffers.
    let mut scratch_group = vec![None; n_layers];
    for (i, l) in low.layers.iter().enumerate() {
        if l.scratch > 0 {
            scratch_group[i] = Some(groups.len());
            groups.push(Group {
                loc: None,
                size: l.scratch,
                start: i,
                end: i,
            });
        }
    }
    // Greedy placement: largest first, first fit.
    let mut order: Vec<usize> = (0..groups.len())
        .filter(|&i| groups[i].loc.is_none())
        .collect();
    order.sort_by(|&a, &b| {
        groups[b]
            .size
            .cmp(&groups[a].size)
            .then(groups[a].start.cmp(&groups[b].start))
            .then(a.cmp(&b))
    });
    let mut placed: Vec<(usize, usize, usize, usize)> = Vec::new(); // (off, size, start, end)
    let mut arena = 0usize;
    let mut any = false;
    for gi in order {
        let (size, start, end) = (groups[gi].size, groups[gi].start, groups[gi].end);
        let mut conflicts: Vec<(usize, usize)> = placed
            .iter()
            .filter(|p| p.2 <= end && start <= p.3)
            .map(|p| (p.0, p.0 + p.1))
            .collect();
        conflicts.sort();
        let mut off = 0usize;
        for (s, e) in conflicts {
            if off + size <= s {
                break;
            }
            if e > off {
                off = e.div_ceil(ALIGN) * ALIGN;
            }
        }
        placed.push((off, size, start, end));
        arena = arena.max(off + size);
        any = true;
        groups[gi].loc = Some(Loc::Arena(off));
    }
    if any {
        arena = arena.max(ALIGN).div_ceil(ALIGN) * ALIGN;
    }
    let mut loc = HashMap::new();
    let mut buf_size = HashMap::new();
    for (&v, &gi) in &group_of {
        if let Some(l) = groups[gi].loc {
            loc.insert(v, l);
            if let Loc::Arena(_) = l {
                buf_size.insert(v, groups[gi].size);
            }
        }
    }
    let scratch = scratch_group
        .iter()
        .map(|s| {
            s.and_then(|gi| match groups[gi].loc {
                Some(Loc::Arena(o)) => Some(o),
                _ => None,
            })
        })
        .collect();
    Plan {
        loc,
        scratch,
        copies,
        arena_bytes: arena,
        buf_size,
    }
}
