#![allow(clippy::panic, clippy::unwrap_used)] // tests fail by panicking

//! A stable-toolchain stand-in for the `ir_text_roundtrip` fuzz target:
//! random byte-level mutations of every filetest. Parsing and verifying
//! never panic; whatever parses and verifies prints canonically and parses
//! back to the same text; every error is one line with a `line:col`.

use std::path::PathBuf;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "%",
    "@",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "=",
    "->",
    "#",
    "\n",
    " ",
    "q(",
    "axis=",
    "hex\"",
    "\"",
    "const",
    "i8",
    "f32",
    "bool",
    "-",
    "1e-5",
    "inf",
    "NaN",
    "999999999999",
    "-1",
    "0",
    "conv2d",
    "%x",
    "%y",
];

fn mutate(src: &str, rng: &mut Lcg) -> String {
    let mut s: Vec<u8> = src.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(s.len() + 1);
        match rng.below(4) {
            0 if !s.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(s.len());
                s.drain(at.min(end)..end);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                s.splice(at..at, t.iter().copied());
            }
            2 if !s.is_empty() => {
                let i = at.min(s.len() - 1);
                s[i] = rng.next() as u8;
            }
            _ => s.truncate(at),
        }
    }
    String::from_utf8_lossy(&s).into_owned()
}

#[test]
fn mutated_filetests_never_panic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/filetests");
    let mut files = Vec::new();
    for dir in ["ops", "passes", "parse", "errors"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
    }
    files.sort();
    let mut rng = Lcg(0x5eed);
    let (mut parsed, mut valid) = (0, 0);
    for i in 0..20_000 {
        let text = mutate(&files[i % files.len()], &mut rng);
        let g = match tmlc_ir::parse(&text) {
            Ok(g) => g,
            Err(e) => {
                let m = e.to_string();
                assert!(
                    !m.contains('\n') && e.loc.line >= 1 && e.loc.col >= 1,
                    "{m}\n--- input:\n{text}"
                );
                continue;
            }
        };
        parsed += 1;
        if let Err(e) = tmlc_ir::verify(&g) {
            assert!(!e.to_string().contains('\n'), "{e}");
            continue;
        }
        valid += 1;
        let printed = tmlc_ir::print(&g);
        let again = tmlc_ir::parse(&printed)
            .unwrap_or_else(|e| panic!("{e}\n--- printed:\n{printed}\n--- from:\n{text}"));
        assert_eq!(tmlc_ir::print(&again), printed);
    }
    // The mutations must leave some inputs valid, or the round-trip half of
    // this test checks nothing.
    assert!(
        parsed > 500 && valid > 300,
        "parsed {parsed}, valid {valid}"
    );
}
