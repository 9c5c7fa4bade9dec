//! Imports a `.tflite` file and prints the IR text form (or the error).

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: tflite_dump FILE.tflite");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let stem = std::path::Path::new(&path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match tmlc_tflite::import(&bytes, &stem) {
        Ok(g) => print!("{}", tmlc_ir::print(&g)),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
