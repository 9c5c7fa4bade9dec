#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! ARCHITECTURE.md's dependency rules, enforced on the dependency graph
//! `cargo metadata` reports:
//! - each crate's normal dependencies on other tmlc crates are in its
//!   allowed set (data flows one way);
//! - no dev-dependency cycle: a crate's tests never pull in a second copy
//!   of the crate itself (a dev-dependency that depends on it again);
//! - every workspace crate has a rule.

use cargo_metadata::{DependencyKind, Metadata, MetadataCommand};
use std::collections::{BTreeMap, BTreeSet};

/// The allowed normal dependencies on other tmlc crates.
const ALLOWED: &[(&str, &[&str])] = &[
    ("tmlc-ir", &[]),
    ("tmlc-interp", &["tmlc-ir"]),
    ("tmlc-passes", &["tmlc-ir", "tmlc-interp"]),
    ("tmlc-tflite", &["tmlc-ir"]),
    ("tmlc-onnx", &["tmlc-ir"]),
    ("tmlc-cm4", &["tmlc-ir"]),
    (
        "tmlc",
        &[
            "tmlc-ir",
            "tmlc-interp",
            "tmlc-passes",
            "tmlc-tflite",
            "tmlc-onnx",
            "tmlc-cm4",
        ],
    ),
    // Test-only: the generator and golden-data access need only the IR.
    ("tmlc-filetests", &["tmlc-ir"]),
];

fn metadata() -> Metadata {
    MetadataCommand::new()
        .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml"))
        .no_deps()
        .exec()
        .unwrap_or_else(|e| panic!("cargo metadata: {e}"))
}

/// Workspace crate -> (normal, dev) dependencies on workspace crates.
type Edges = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>;

fn edges(m: &Metadata) -> Edges {
    let names: BTreeSet<String> = m.packages.iter().map(|p| p.name.to_string()).collect();
    m.packages
        .iter()
        .map(|p| {
            let mut normal = BTreeSet::new();
            let mut dev = BTreeSet::new();
            for d in p.dependencies.iter().filter(|d| names.contains(&d.name)) {
                match d.kind {
                    DependencyKind::Development => dev.insert(d.name.clone()),
                    _ => normal.insert(d.name.clone()),
                };
            }
            (p.name.to_string(), (normal, dev))
        })
        .collect()
}

/// Every crate reachable from `from` through normal dependencies.
fn reachable(e: &Edges, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(k) = stack.pop() {
        if let Some((normal, _)) = e.get(&k) {
            for d in normal {
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
    }
    seen
}

#[test]
fn dependencies_point_one_way() {
    let e = edges(&metadata());
    // The reader works: the driver depends on every stage.
    assert_eq!(e["tmlc"].0.len(), 6, "{:?}", e["tmlc"]);
    for (krate, (normal, _)) in &e {
        let ok = ALLOWED
            .iter()
            .find(|(k, _)| k == krate)
            .unwrap_or_else(|| panic!("crate {krate} has no dependency rule"))
            .1;
        let extra: Vec<_> = normal
            .iter()
            .filter(|d| !ok.contains(&d.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "{krate} must not depend on {extra:?} (see ARCHITECTURE.md)"
        );
    }
}

/// `krate -> dev-dependency` pairs whose dev-dependency depends on the
/// crate again.
fn dev_cycles(e: &Edges) -> Vec<String> {
    let mut out = Vec::new();
    for (krate, (_, dev)) in e {
        for d in dev {
            if d == krate || reachable(e, d).contains(krate) {
                out.push(format!("{krate} -> {d}"));
            }
        }
    }
    out
}

#[test]
fn no_dev_dependency_cycles() {
    let e = edges(&metadata());
    let cycles = dev_cycles(&e);
    assert!(
        cycles.is_empty(),
        "dev-dependencies that depend on the crate again: {cycles:?}"
    );
    // The check bites: the cycle this rule exists for (the backend's tests
    // use the generator; the generator must not depend on the backend).
    let mut bad = e.clone();
    if let Some((normal, _)) = bad.get_mut("tmlc-filetests") {
        normal.insert("tmlc-cm4".into());
    }
    assert_eq!(dev_cycles(&bad), vec!["tmlc-cm4 -> tmlc-filetests"]);
}
