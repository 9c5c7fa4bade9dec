//! Emits C for a `.tir` file: `cargo run -p tmlc-cm4 --example emit_tir -- in.tir outdir [name]`
//! (writes outdir/model.c, outdir/model.h and prints the report).
#![allow(clippy::unwrap_used, clippy::panic)]

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[1]).unwrap();
    let g = tmlc_ir::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let name = args.get(3).cloned().unwrap_or_else(|| "model".into());
    let opts = tmlc_cm4::Options {
        name,
        header_file_name: "model.h".into(),
    };
    let a = tmlc_cm4::emit_c(&g, &opts).unwrap_or_else(|e| panic!("{e}"));
    let dir = std::path::Path::new(&args[2]);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("model.c"), &a.c).unwrap();
    std::fs::write(dir.join("model.h"), &a.h).unwrap();
    print!("{}", a.report.to_text());
}
