//! The text form of the IR (grammar in `spec/ir.md`): a canonical printer
//! and a `nom` parser. `print(&parse(t)?) == t` for canonical text.

mod parse;
mod print;

pub use parse::{parse, ParseError};
pub use print::{print, print_with, PrintOptions};
