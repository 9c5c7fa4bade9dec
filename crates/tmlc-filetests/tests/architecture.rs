#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! ARCHITECTURE.md's dependency rules, enforced: each crate's normal
//! (non-dev) dependencies on other tmlc crates must be in its allowed set.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn tmlc_deps(krate: &str) -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../{krate}/Cargo.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut section = String::new();
    let mut deps = BTreeSet::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            section = l.to_string();
        } else if section == "[dependencies]" {
            if let Some(name) = l.split(['=', '.', ' ']).next() {
                if name.starts_with("tmlc") {
                    deps.insert(name.to_string());
                }
            }
        }
    }
    deps
}

#[test]
fn dependencies_point_one_way() {
    let allowed: &[(&str, &[&str])] = &[
        ("tmlc-ir", &[]),
        ("tmlc-interp", &["tmlc-ir"]),
        ("tmlc-passes", &["tmlc-ir", "tmlc-interp"]),
        ("tmlc-tflite", &["tmlc-ir"]),
        ("tmlc-cm4", &["tmlc-ir", "tmlc-interp"]),
        (
            "tmlc",
            &[
                "tmlc-ir",
                "tmlc-interp",
                "tmlc-passes",
                "tmlc-tflite",
                "tmlc-cm4",
            ],
        ),
    ];
    // The manifest reader itself works: the driver depends on every stage.
    assert_eq!(tmlc_deps("tmlc").len(), 5, "{:?}", tmlc_deps("tmlc"));
    for (krate, ok) in allowed {
        let deps = tmlc_deps(krate);
        let ok: BTreeSet<String> = ok.iter().map(|s| s.to_string()).collect();
        let extra: Vec<_> = deps.difference(&ok).collect();
        assert!(
            extra.is_empty(),
            "{krate} must not depend on {extra:?} (see ARCHITECTURE.md)"
        );
    }
    // Every crate in crates/ is covered by the rule table (or is test-only).
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name == "tmlc-filetests" || allowed.iter().any(|(k, _)| *k == name),
            "crate {name} has no dependency rule"
        );
    }
}
