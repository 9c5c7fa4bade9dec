#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! Random mutations of the shared ONNX models (byte flips, truncations,
//! insertions, deletions): the importer never panics, and every error is
//! one line.

use std::path::PathBuf;

fn models() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models");
    let mut out = Vec::new();
    for dir in ["onnx2c", "tract"] {
        let d = root.join(dir);
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| {
            panic!("{}: {e} (clone the repository beside shared/)", d.display())
        });
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
            .collect();
        files.sort();
        for f in files {
            out.push((f.display().to_string(), std::fs::read(&f).unwrap()));
        }
    }
    out
}

#[test]
fn mutated_models_fail_cleanly() {
    let models = models();
    assert!(models.len() >= 10, "only {} models", models.len());
    let mut s: u64 = 0x6f6e6e78;
    let mut next = move |n: usize| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) as usize) % n.max(1)
    };
    let mut errors = 0;
    let mut imported = 0;
    for (name, bytes) in &models {
        for _ in 0..300 {
            let mut b = bytes.clone();
            for _ in 0..1 + next(4) {
                let i = next(b.len());
                match next(4) {
                    0 => b[i] ^= 1 << next(8),
                    1 => b.truncate(i),
                    2 => b.insert(i, next(256) as u8),
                    _ => {
                        if !b.is_empty() {
                            b.remove(i.min(b.len() - 1));
                        }
                    }
                }
                if b.is_empty() {
                    break;
                }
            }
            match tmlc_onnx::import(&b, "m", &tmlc_onnx::ImportOptions::default()) {
                Ok(_) => imported += 1,
                Err(e) => {
                    let msg = e.to_string();
                    assert!(!msg.contains('\n') && !msg.is_empty(), "{name}: {msg}");
                    errors += 1;
                }
            }
        }
    }
    // Most mutations break the model; some survive (a changed weight).
    assert!(errors > imported, "{errors} errors, {imported} imported");
}
