//! Pass options whose values are names (`ranking = layer | global`, ...):
//! one declaration gives the enum, its parsing (with an error that lists
//! the names) and its printing.

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn one_of(names: &[&str]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Declares an enum whose variants are written as names in pipelines and
/// on the command line: `FromStr` (`` `x` is not a, b or c ``) and
/// `Display`, plus `Clone, Copy, Debug, PartialEq, Eq` (more derives and
/// `#[default]` pass through).
macro_rules! named_enum {
    (
        $(#[$m:meta])*
        pub enum $E:ident { $( $(#[$vm:meta])* $V:ident = $s:literal ),+ $(,)? }
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $E { $( $(#[$vm])* $V ),+ }

        impl std::str::FromStr for $E {
            type Err = String;
            fn from_str(s: &str) -> Result<$E, String> {
                match s {
                    $( $s => Ok($E::$V), )+
                    _ => Err(format!("`{s}` is not {}", $crate::named::one_of(&[$($s),+]))),
                }
            }
        }

        impl std::fmt::Display for $E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self { $( $E::$V => $s, )+ })
            }
        }
    };
}
pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    use super::one_of;

    #[test]
    fn lists_read_as_english() {
        assert_eq!(one_of(&["a"]), "a");
        assert_eq!(one_of(&["a", "b"]), "a or b");
        assert_eq!(one_of(&["a", "b", "c"]), "a, b or c");
    }
}
