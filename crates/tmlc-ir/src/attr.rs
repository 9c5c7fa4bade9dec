//! Attribute values and attribute sets: how each attribute type is written
//! in the text form and read back.
//!
//! An op's attributes are a plain struct declared with [`op_attrs!`]: the
//! field list (names, types, defaults) is the one description from which
//! the text form's attribute keys, their canonical order, the omission of
//! defaults and the parsing of every key are generated. A field's type
//! says how it is written ([`AttrValue`]).

use crate::{Activation, DynamicQuant, Rounding};

/// An attribute value as written in the text form, still as tokens
/// (slices of the source, so that errors can point at them).
#[derive(Clone, Debug)]
pub enum AttrText<'a> {
    /// `key = token`.
    Scalar(&'a str),
    /// `key = [token, ...]`.
    List(Vec<&'a str>),
    /// `key = name(token, ...)`.
    Call(&'a str, Vec<&'a str>),
}

/// Why an attribute could not be read: the token it is about (a slice of
/// the parsed source) and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrError<'a> {
    /// The offending token.
    pub at: &'a str,
    /// What is wrong.
    pub message: String,
}

fn err<'a, T>(at: &'a str, message: impl Into<String>) -> Result<T, AttrError<'a>> {
    Err(AttrError {
        at,
        message: message.into(),
    })
}

/// A type that can be an attribute: its text form and how to read it.
pub trait AttrValue: Sized + Clone {
    /// The canonical text form.
    fn to_text(&self) -> String;
    /// Reads the text form; `key` is the attribute's key token (for errors).
    fn from_text<'a>(t: &AttrText<'a>, key: &'a str) -> Result<Self, AttrError<'a>>;
    /// Equality used to omit defaults (bitwise for floats, so `-0.0` is
    /// not taken for `0.0`).
    fn same(&self, other: &Self) -> bool;
}

fn scalar<'a>(t: &AttrText<'a>, key: &'a str) -> Result<&'a str, AttrError<'a>> {
    match t {
        AttrText::Scalar(s) => Ok(s),
        _ => err(
            key,
            format!("attribute `{key}` takes a single value, not a list"),
        ),
    }
}

fn list<'t, 'a>(t: &'t AttrText<'a>, key: &'a str) -> Result<&'t [&'a str], AttrError<'a>> {
    match t {
        AttrText::List(v) => Ok(v),
        _ => err(key, format!("attribute `{key}` takes a list")),
    }
}

fn parse_usize(tok: &str) -> Result<usize, AttrError<'_>> {
    tok.parse::<usize>().or_else(|_| {
        err(
            tok,
            format!("expected a non-negative integer, found `{tok}`"),
        )
    })
}

/// Reads a float token: digits are required, except for `inf`, `-inf` and
/// `NaN`.
pub fn parse_f32(tok: &str) -> Result<f32, AttrError<'_>> {
    let ok = tok.bytes().any(|b| b.is_ascii_digit()) || matches!(tok, "inf" | "-inf" | "NaN");
    match tok.parse::<f32>() {
        Ok(v) if ok => Ok(v),
        _ => err(tok, format!("expected a number, found `{tok}`")),
    }
}

/// The canonical text of a float (`{:?}`: shortest round-tripping form).
pub fn f32_text(x: f32) -> String {
    format!("{x:?}")
}

fn list_text<T: std::fmt::Display>(v: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = v.into_iter().map(|x| x.to_string()).collect();
    format!("[{}]", items.join(", "))
}

impl AttrValue for usize {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text<'a>(t: &AttrText<'a>, key: &'a str) -> Result<Self, AttrError<'a>> {
        parse_usize(scalar(t, key)?)
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

impl AttrValue for i64 {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text<'a>(t: &AttrText<'a>, key: &'a str) -> Result<Self, AttrError<'a>> {
        let tok = scalar(t, key)?;
        tok.parse::<i64>()
            .or_else(|_| err(tok, format!("expected an integer, found `{tok}`")))
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

impl AttrValue for f32 {
    fn to_text(&self) -> String {
        f32_text(*self)
    }
    fn from_text<'a>(t: &AttrText<'a>, key: &'a str) -> Result<Self, AttrError<'a>> {
        parse_f32(scalar(t, key)?)
    }
    fn same(&self, other: &Self) -> bool {
        self.to_bits() == other.to_bits()
    }
}

impl AttrValue for bool {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text<'a>(t: &AttrText<'a>, key: &'a str) -> Result<Self, AttrError<'a>> {
        match scalar(t, key)? {
            "true" => Ok(true),
            "false" => Ok(false),
            tok => err(tok, format!("expected `true` or `false`, found `{tok}`")),
        }
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

impl AttrValue for Vec<usize> {
    fn to_text(&self) -> String {
        list_text(self)
    }
    fn from_text<'a>(t: &AttrText<'a>, key: &'a str) -> Result<Self, AttrError<'a>> {
        list(t, key)?.iter().map(|tok| parse_usize(tok)).collect()
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

impl<const N: usize> AttrValue for [usize; N] {
    fn to_text(&self) -> String {
        list_text(self)
    }
    fn from_text<'a>(t: &AttrText<'a>, key: &'a str) -> Result<Self, AttrError<'a>> {
        let v = list(t, key)?;
        if v.len() != N {
            return err(
                key,
                format!("attribute `{key}` takes {N} values, got {}", v.len()),
            );
        }
        let mut out = [0; N];
        for (o, tok) in out.iter_mut().zip(v) {
            *o = parse_usize(tok)?;
        }
        Ok(out)
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

impl AttrValue for Activation {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text<'a>(t: &AttrText<'a>, key: &'a str) -> Result<Self, AttrError<'a>> {
        const EXPECTED: &str = "expected none, relu, relu_n1_to_1, relu6 or clamp(lo, hi)";
        match t {
            AttrText::Scalar(tok) => Activation::from_name(tok).map_or_else(
                || err(tok, format!("unknown activation `{tok}` ({EXPECTED})")),
                Ok,
            ),
            AttrText::Call(name, args) if *name == "clamp" => match args.as_slice() {
                [lo, hi] => Ok(Activation::Clamp {
                    lo: parse_f32(lo)?,
                    hi: parse_f32(hi)?,
                }),
                _ => err(name, "`clamp` takes two bounds: clamp(lo, hi)"),
            },
            AttrText::Call(name, _) => {
                err(name, format!("unknown activation `{name}` ({EXPECTED})"))
            }
            AttrText::List(_) => err(key, format!("attribute `{key}` takes an activation")),
        }
    }
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Activation::Clamp { lo: a, hi: b }, Activation::Clamp { lo: c, hi: d }) => {
                a.same(c) && b.same(d)
            }
            _ => self == other,
        }
    }
}

impl AttrValue for DynamicQuant {
    fn to_text(&self) -> String {
        self.name().to_string()
    }
    fn from_text<'a>(t: &AttrText<'a>, key: &'a str) -> Result<Self, AttrError<'a>> {
        let tok = scalar(t, key)?;
        DynamicQuant::from_name(tok).map_or_else(
            || {
                err(
                    tok,
                    format!("unknown dynamic quantization `{tok}` (expected none, asymmetric or symmetric)"),
                )
            },
            Ok,
        )
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

impl AttrValue for Rounding {
    fn to_text(&self) -> String {
        self.name().to_string()
    }
    fn from_text<'a>(t: &AttrText<'a>, key: &'a str) -> Result<Self, AttrError<'a>> {
        let tok = scalar(t, key)?;
        Rounding::from_name(tok).map_or_else(
            || {
                err(
                    tok,
                    format!("unknown rounding `{tok}` (expected half_away or half_even)"),
                )
            },
            Ok,
        )
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

/// The attributes of one op statement, as given in the text, consumed key
/// by key by the generated readers.
pub struct AttrReader<'a> {
    op: &'a str,
    items: Vec<(&'a str, AttrText<'a>)>,
}

impl<'a> AttrReader<'a> {
    /// `op` is the op-name token; `items` the `(key, value)` pairs in
    /// text order. A key given twice is an error.
    pub fn new(op: &'a str, items: Vec<(&'a str, AttrText<'a>)>) -> Result<Self, AttrError<'a>> {
        for (i, (k, _)) in items.iter().enumerate() {
            if items[..i].iter().any(|(p, _)| p == k) {
                return err(k, format!("attribute `{k}` is given twice"));
            }
        }
        Ok(AttrReader { op, items })
    }

    /// Takes attribute `key`; absent, it is `default`, or an error when the
    /// attribute is required (`default == None`).
    pub fn get<T: AttrValue>(&mut self, key: &str, default: Option<T>) -> Result<T, AttrError<'a>> {
        match self.items.iter().position(|(k, _)| *k == key) {
            Some(i) => {
                let (k, t) = self.items.remove(i);
                T::from_text(&t, k)
            }
            None => default.map_or_else(
                || err(self.op, format!("`{}` needs attribute `{key}`", self.op)),
                Ok,
            ),
        }
    }

    /// Fails on the first attribute no field took; `keys` are the op's
    /// attribute keys, for the hint.
    pub fn finish(&mut self, keys: &[&str]) -> Result<(), AttrError<'a>> {
        match self.items.first() {
            None => Ok(()),
            Some((k, _)) => {
                let hint = if keys.is_empty() {
                    "it takes none".to_string()
                } else {
                    format!("expected one of: {}", keys.join(", "))
                };
                err(
                    k,
                    format!("unknown attribute `{k}` for `{}` ({hint})", self.op),
                )
            }
        }
    }
}

/// Writes `value` as `(key, text)` unless it equals `default`.
pub fn write_attr<T: AttrValue>(
    out: &mut Vec<(&'static str, String)>,
    key: &'static str,
    value: &T,
    default: Option<T>,
) {
    if !default.is_some_and(|d| d.same(value)) {
        out.push((key, value.to_text()));
    }
}

/// An op's attribute set, seen without its concrete type (printing).
pub trait AttrSet {
    /// The attribute keys in canonical order.
    fn keys(&self) -> &'static [&'static str];
    /// `(key, text)` of every attribute that differs from its default, in
    /// canonical order.
    fn write(&self, out: &mut Vec<(&'static str, String)>);
}

#[doc(hidden)]
#[macro_export]
macro_rules! __attr_default {
    () => {
        None
    };
    ($e:expr) => {
        Some($e)
    };
}

/// Declares an attribute struct: its fields (with an optional default
/// after `=`; a field without one is required in the text form) generate
/// the struct, its reader and its printer.
#[macro_export]
macro_rules! op_attrs {
    ($(
        $(#[$sdoc:meta])*
        pub struct $name:ident {
            $( $(#[$fdoc:meta])* pub $field:ident : $ty:ty $(= $default:expr)? ),* $(,)?
        }
    )*) => { $(
        $(#[$sdoc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name { $( $(#[$fdoc])* pub $field: $ty, )* }

        impl $name {
            /// The attribute keys, in canonical order.
            pub const KEYS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Reads the attributes from the text form.
            pub fn read<'a>(
                r: &mut $crate::attr::AttrReader<'a>,
            ) -> Result<Self, $crate::attr::AttrError<'a>> {
                Ok($name {
                    $( $field: r.get::<$ty>(stringify!($field), $crate::__attr_default!($($default)?))?, )*
                })
            }
        }

        impl $crate::attr::AttrSet for $name {
            fn keys(&self) -> &'static [&'static str] {
                Self::KEYS
            }
            fn write(&self, out: &mut Vec<(&'static str, String)>) {
                $( $crate::attr::write_attr::<$ty>(
                    out,
                    stringify!($field),
                    &self.$field,
                    $crate::__attr_default!($($default)?),
                ); )*
            }
        }
    )* };
}
