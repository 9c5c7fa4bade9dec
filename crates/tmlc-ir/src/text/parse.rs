//! `nom` parser for the text form.
//!
//! Parsing has two phases: syntax (nom, into a small AST that records byte
//! offsets) and resolution (names, dtypes, attributes, op construction), so
//! that every error points at the token it is about. Forward references are
//! allowed; nodes are added in a topological order (text order when the
//! text is already ordered), and a cycle is an error at one of its ops.
//! The parser has no recursion and never panics.

use crate::attr::{parse_f32, AttrError, AttrReader, AttrText};
use crate::*;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, multispace1, not_line_ending};
use nom::combinator::{opt, recognize};
use nom::multi::{many0_count, separated_list0};
use nom::sequence::{pair, preceded};
use nom::IResult;
use std::collections::HashMap;
use std::fmt;

/// A text-form error with its position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// Position (1-based line and column).
    pub loc: Loc,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.loc, self.message)
    }
}

/// Syntax error inside nom: the remaining input where it happened, and what
/// was expected there.
#[derive(Debug)]
struct PErr<'a> {
    at: &'a str,
    expected: &'static str,
}

impl<'a> nom::error::ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, _: nom::error::ErrorKind) -> Self {
        PErr {
            at: input,
            expected: "valid syntax",
        }
    }
    fn append(_: &'a str, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
    fn or(self, other: Self) -> Self {
        if other.at.len() < self.at.len() {
            other
        } else {
            self
        }
    }
}

type R<'a, T> = IResult<&'a str, T, PErr<'a>>;

/// Runs `p`; if it fails without consuming input, the error says `what` was
/// expected. With `cut`, failure is final (no backtracking).
fn expect<'a, T>(
    what: &'static str,
    mut p: impl FnMut(&'a str) -> R<'a, T>,
) -> impl FnMut(&'a str) -> R<'a, T> {
    move |i: &'a str| match p(i) {
        Ok(r) => Ok(r),
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
            let e = if e.at.len() >= i.len() {
                PErr {
                    at: i,
                    expected: what,
                }
            } else {
                e
            };
            Err(nom::Err::Failure(e))
        }
        Err(e) => Err(e),
    }
}

/// Whitespace and `#` comments.
fn ws(i: &str) -> R<'_, ()> {
    let (i, _) = many0_count(alt((
        multispace1,
        recognize(pair(char('#'), not_line_ending)),
    )))(i)?;
    Ok((i, ()))
}

/// `p` followed by whitespace.
fn lex<'a, T>(mut p: impl FnMut(&'a str) -> R<'a, T>) -> impl FnMut(&'a str) -> R<'a, T> {
    move |i| {
        let (i, v) = p(i)?;
        let (i, _) = ws(i)?;
        Ok((i, v))
    }
}

fn sym<'a>(s: &'static str, what: &'static str) -> impl FnMut(&'a str) -> R<'a, &'a str> {
    expect(what, lex(tag(s)))
}

fn ident(i: &str) -> R<'_, &str> {
    lex(take_while1(|c: char| {
        c.is_ascii_alphanumeric() || c == '_' || c == '.'
    }))(i)
}

/// `%name`, returning the whole token (with `%`, so that errors point at
/// it); [`bare`] strips the sigil.
fn vref(i: &str) -> R<'_, &str> {
    lex(recognize(preceded(
        char('%'),
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.'),
    )))(i)
}

/// A value name without its `%`.
fn bare(tok: &str) -> &str {
    tok.strip_prefix('%').unwrap_or(tok)
}

/// A number or word token: an optional leading `-`, then letters, digits,
/// `.`, `_`, `+`, and `-` directly after an exponent `e`/`E` (`9e-5`).
fn scalar(i: &str) -> R<'_, &str> {
    let start = usize::from(i.starts_with('-'));
    let mut end = start;
    let mut prev = ' ';
    for c in i[start..].chars() {
        let ok = c.is_ascii_alphanumeric()
            || matches!(c, '.' | '+' | '_')
            || (c == '-' && matches!(prev, 'e' | 'E') && end > start);
        if !ok {
            break;
        }
        prev = c;
        end += c.len_utf8();
    }
    if end == start {
        return Err(nom::Err::Error(PErr {
            at: i,
            expected: "a value",
        }));
    }
    let (tok, rest) = (&i[..end], &i[end..]);
    let (rest, _) = ws(rest)?;
    Ok((rest, tok))
}

/// `[a, b, ...]` of scalar tokens.
fn scalar_list(i: &str) -> R<'_, Vec<&str>> {
    let (i, _) = sym("[", "`[`")(i)?;
    let (i, v) = separated_list0(lex(char(',')), scalar)(i)?;
    let (i, _) = sym("]", "`,` or `]`")(i)?;
    Ok((i, v))
}

/// A quantization annotation, still as tokens.
struct QuantAst<'a> {
    axis: Option<&'a str>,
    scales: Vec<&'a str>,
    zps: Vec<&'a str>,
}

struct TypeAst<'a> {
    dtype: &'a str,
    dims: Vec<&'a str>,
    quant: Option<QuantAst<'a>>,
}

fn quant(i: &str) -> R<'_, QuantAst<'_>> {
    let (i, _) = sym("(", "`(` after `q`")(i)?;
    let (i, axis) = opt(preceded(
        lex(tag("axis")),
        preceded(sym("=", "`=`"), expect("an axis number", scalar)),
    ))(i)?;
    let (i, q) = if axis.is_some() {
        let (i, _) = sym(",", "`,`")(i)?;
        let (i, s) = expect("a list of scales", scalar_list)(i)?;
        let (i, _) = sym(",", "`,`")(i)?;
        let (i, z) = expect("a list of zero points", scalar_list)(i)?;
        (
            i,
            QuantAst {
                axis,
                scales: s,
                zps: z,
            },
        )
    } else {
        let (i, s) = expect("a scale", scalar)(i)?;
        let (i, _) = sym(",", "`,`")(i)?;
        let (i, z) = expect("a zero point", scalar)(i)?;
        (
            i,
            QuantAst {
                axis: None,
                scales: vec![s],
                zps: vec![z],
            },
        )
    };
    let (i, _) = sym(")", "`)`")(i)?;
    Ok((i, q))
}

fn ty(i: &str) -> R<'_, TypeAst<'_>> {
    let (i, dtype) = expect(
        "a type",
        lex(take_while1(|c: char| c.is_ascii_alphanumeric())),
    )(i)?;
    let (i, dims) = expect("a shape `[...]`", scalar_list)(i)?;
    let (i, q) = opt(preceded(lex(tag("q")), quant))(i)?;
    Ok((
        i,
        TypeAst {
            dtype,
            dims,
            quant: q,
        },
    ))
}

enum DataAst<'a> {
    List(Vec<&'a str>),
    Hex(&'a str),
}

fn data(i: &str) -> R<'_, DataAst<'_>> {
    if let Ok((i, _)) = tag::<_, _, PErr>("hex\"")(i) {
        let (i, h) = take_while(|c: char| c.is_ascii_hexdigit())(i)?;
        let (i, _) = sym("\"", "a hex digit or `\"`")(i)?;
        return Ok((i, DataAst::Hex(h)));
    }
    let (i, l) = expect("constant data `[...]` or `hex\"...\"`", scalar_list)(i)?;
    Ok((i, DataAst::List(l)))
}

/// `key = value`: a scalar, a list, or a call `name(a, b)`.
fn attr(i: &str) -> R<'_, (&str, AttrText<'_>)> {
    let (i, key) = expect("an attribute name", ident)(i)?;
    let (i, _) = sym("=", "`=`")(i)?;
    if let Ok((i, v)) = scalar_list(i) {
        return Ok((i, (key, AttrText::List(v))));
    }
    let (i, v) = expect("an attribute value", scalar)(i)?;
    if let Ok((i, _)) = lex(char::<_, PErr>('('))(i) {
        let (i, args) = separated_list0(lex(char(',')), scalar)(i)?;
        let (i, _) = sym(")", "`,` or `)`")(i)?;
        return Ok((i, (key, AttrText::Call(v, args))));
    }
    Ok((i, (key, AttrText::Scalar(v))))
}

enum RhsAst<'a> {
    Const(TypeAst<'a>, DataAst<'a>),
    Op {
        name: &'a str,
        operands: Vec<&'a str>,
        attrs: Vec<(&'a str, AttrText<'a>)>,
        ty: TypeAst<'a>,
    },
}

struct StmtAst<'a> {
    name: &'a str,
    rhs: RhsAst<'a>,
}

fn stmt(i: &str) -> R<'_, StmtAst<'_>> {
    let (i, name) = expect("`%name = ...` or `}`", vref)(i)?;
    let (i, _) = sym("=", "`=`")(i)?;
    let (i, opname) = expect("an op name or `const`", ident)(i)?;
    if opname == "const" {
        let (i, t) = ty(i)?;
        let (i, d) = data(i)?;
        return Ok((
            i,
            StmtAst {
                name,
                rhs: RhsAst::Const(t, d),
            },
        ));
    }
    let (i, _) = sym("(", "`(`")(i)?;
    let (i, operands) = separated_list0(lex(char(',')), vref)(i)?;
    let (i, _) = sym(")", "`,` or `)` or an operand `%name`")(i)?;
    let (i, attrs) = opt(|i| {
        let (i, _) = lex(char('{'))(i)?;
        if let Ok((i, _)) = lex(char::<_, PErr>('}'))(i) {
            return Ok((i, Vec::new()));
        }
        let (i, a) = separated_list0(lex(char(',')), attr)(i)?;
        let (i, _) = sym("}", "`,` or `}`")(i)?;
        Ok((i, a))
    })(i)?;
    let (i, _) = sym(":", "`:` and the result type")(i)?;
    let (i, t) = ty(i)?;
    Ok((
        i,
        StmtAst {
            name,
            rhs: RhsAst::Op {
                name: opname,
                operands,
                attrs: attrs.unwrap_or_default(),
                ty: t,
            },
        },
    ))
}

struct GraphAst<'a> {
    name: &'a str,
    phase: Option<&'a str>,
    params: Vec<(&'a str, TypeAst<'a>)>,
    outputs: Vec<&'a str>,
    stmts: Vec<StmtAst<'a>>,
}

fn graph(i: &str) -> R<'_, GraphAst<'_>> {
    let (i, _) = ws(i)?;
    let (i, _) = sym("graph", "`graph`")(i)?;
    let (i, _) = expect("`@name`", char('@'))(i)?;
    let (i, name) = expect("a graph name", ident)(i)?;
    let (i, _) = sym("(", "`(`")(i)?;
    let (i, params) = separated_list0(lex(char(',')), |i| {
        let (i, n) = vref(i)?;
        let (i, _) = sym(":", "`:`")(i)?;
        let (i, t) = ty(i)?;
        Ok((i, (n, t)))
    })(i)?;
    let (i, _) = sym(")", "`,` or `)` or a parameter `%name: type`")(i)?;
    let (i, _) = sym("->", "`->`")(i)?;
    let (i, _) = sym("(", "`(`")(i)?;
    let (i, outputs) = separated_list0(lex(char(',')), vref)(i)?;
    let (i, _) = sym(")", "`,` or `)` or an output `%name`")(i)?;
    let (i, phase) = opt(preceded(lex(tag("phase")), expect("a phase name", ident)))(i)?;
    let (i, _) = sym("{", "`phase` or `{`")(i)?;
    let mut stmts = Vec::new();
    let mut i = i;
    loop {
        if let Ok((rest, _)) = lex(char::<_, PErr>('}'))(i) {
            i = rest;
            break;
        }
        if i.is_empty() {
            return Err(nom::Err::Failure(PErr {
                at: i,
                expected: "`}`",
            }));
        }
        let (rest, s) = stmt(i)?;
        stmts.push(s);
        i = rest;
    }
    if !i.is_empty() {
        return Err(nom::Err::Failure(PErr {
            at: i,
            expected: "end of input",
        }));
    }
    Ok((
        i,
        GraphAst {
            name,
            phase,
            params,
            outputs,
            stmts,
        },
    ))
}

/// The line:col position of `at`, a slice of `src` (a token or the rest of
/// the input); anything else maps to the end of `src`.
fn loc_of(src: &str, at: &str) -> Loc {
    let base = src.as_ptr() as usize;
    let p = at.as_ptr() as usize;
    let off = if p >= base && p <= base + src.len() {
        p - base
    } else {
        src.len()
    };
    let before = &src[..floor_char_boundary(src, off)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Loc {
        line: line as u32,
        col: col as u32,
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn found(at: &str) -> String {
    let tok: String = at
        .chars()
        .take_while(|c| !c.is_whitespace())
        .take(16)
        .collect();
    if at.is_empty() {
        "end of input".to_string()
    } else if tok.is_empty() {
        "whitespace".to_string()
    } else {
        format!("`{tok}`")
    }
}

/// Resolution context: source for positions.
struct Cx<'s> {
    src: &'s str,
}

impl<'s> Cx<'s> {
    fn err(&self, at: &str, message: impl Into<String>) -> ParseError {
        ParseError {
            loc: loc_of(self.src, at),
            message: message.into(),
        }
    }

    fn int<T: std::str::FromStr>(&self, tok: &str, what: &str) -> Result<T, ParseError> {
        tok.parse::<T>()
            .map_err(|_| self.err(tok, format!("expected {what}, found `{tok}`")))
    }

    fn float(&self, tok: &str) -> Result<f32, ParseError> {
        parse_f32(tok).map_err(|e| self.err(e.at, e.message))
    }

    fn ty(&self, t: &TypeAst<'_>) -> Result<TensorType, ParseError> {
        let dtype = DType::from_name(t.dtype).ok_or_else(|| {
            self.err(
                t.dtype,
                format!(
                    "unknown dtype `{}` (expected f32, i8, i4, u8, i16, i32, i64 or bool)",
                    t.dtype
                ),
            )
        })?;
        let shape = t
            .dims
            .iter()
            .map(|d| self.int::<usize>(d, "a dimension (non-negative integer)"))
            .collect::<Result<Vec<_>, _>>()?;
        let quant = match &t.quant {
            None => None,
            Some(q) => {
                let scale = q
                    .scales
                    .iter()
                    .map(|s| self.float(s))
                    .collect::<Result<Vec<_>, _>>()?;
                let zero_point = q
                    .zps
                    .iter()
                    .map(|z| self.int::<i32>(z, "an integer zero point"))
                    .collect::<Result<Vec<_>, _>>()?;
                let axis = match q.axis {
                    Some(a) => Some(self.int::<usize>(a, "an axis")?),
                    None => None,
                };
                Some(Quant {
                    scale,
                    zero_point,
                    axis,
                })
            }
        };
        let out = TensorType {
            dtype,
            shape,
            quant,
        };
        crate::verify::check_type(&out).map_err(|m| self.err(t.dtype, m))?;
        Ok(out)
    }

    fn data(&self, ty: &TensorType, d: &DataAst<'_>, at: &str) -> Result<TensorData, ParseError> {
        let n = ty.numel();
        match d {
            DataAst::Hex(h) => {
                if h.len() % 2 != 0 {
                    return Err(self.err(h, "hex data needs an even number of digits"));
                }
                if h.len() / 2 != ty.byte_size() {
                    return Err(self.err(
                        at,
                        format!(
                            "constant of type {ty} needs {} bytes, hex has {}",
                            ty.byte_size(),
                            h.len() / 2
                        ),
                    ));
                }
                let bytes: Vec<u8> = h
                    .as_bytes()
                    .chunks_exact(2)
                    .map(|c| {
                        let v = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                        v(c[0]) * 16 + v(c[1])
                    })
                    .collect();
                TensorData::from_le_bytes(ty.dtype, &bytes).ok_or_else(|| {
                    self.err(
                        h,
                        "bool constants hold only bytes 00 and 01, i4 constants bytes f8..07",
                    )
                })
            }
            DataAst::List(items) => {
                if items.len() != n {
                    return Err(self.err(
                        at,
                        format!(
                            "constant of type {ty} needs {n} elements, list has {}",
                            items.len()
                        ),
                    ));
                }
                Ok(match ty.dtype {
                    DType::F32 => TensorData::F32(
                        items
                            .iter()
                            .map(|t| self.float(t))
                            .collect::<Result<_, _>>()?,
                    ),
                    DType::Bool => TensorData::Bool(
                        items
                            .iter()
                            .map(|t| match *t {
                                "true" => Ok(true),
                                "false" => Ok(false),
                                _ => {
                                    Err(self
                                        .err(t, format!("expected `true` or `false`, found `{t}`")))
                                }
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    DType::I8 => TensorData::I8(
                        items
                            .iter()
                            .map(|t| self.int(t, "an i8"))
                            .collect::<Result<_, _>>()?,
                    ),
                    DType::I4 => TensorData::I4(
                        items
                            .iter()
                            .map(|t| {
                                self.int::<i8>(t, "an i4")
                                    .ok()
                                    .filter(|v| (-8..=7).contains(v))
                                    .ok_or_else(|| {
                                        self.err(t, format!("expected an i4 (-8..7), found `{t}`"))
                                    })
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    DType::U8 => TensorData::U8(
                        items
                            .iter()
                            .map(|t| self.int(t, "a u8"))
                            .collect::<Result<_, _>>()?,
                    ),
                    DType::I16 => TensorData::I16(
                        items
                            .iter()
                            .map(|t| self.int(t, "an i16"))
                            .collect::<Result<_, _>>()?,
                    ),
                    DType::I32 => TensorData::I32(
                        items
                            .iter()
                            .map(|t| self.int(t, "an i32"))
                            .collect::<Result<_, _>>()?,
                    ),
                    DType::I64 => TensorData::I64(
                        items
                            .iter()
                            .map(|t| self.int(t, "an i64"))
                            .collect::<Result<_, _>>()?,
                    ),
                })
            }
        }
    }
}

fn build_op<'a>(
    cx: &Cx<'_>,
    name: &'a str,
    attrs: Vec<(&'a str, AttrText<'a>)>,
) -> Result<Op, ParseError> {
    let to_err = |e: AttrError<'_>| cx.err(e.at, e.message);
    let mut r = AttrReader::new(name, attrs).map_err(to_err)?;
    match Op::from_text(name, &mut r) {
        Some(op) => op.map_err(to_err),
        None => Err(cx.err(
            name,
            format!("unknown op `{name}` (known ops: {})", Op::NAMES.join(", ")),
        )),
    }
}

/// An op statement waiting to be added: name, op, operand tokens, type.
type PendingOp<'a> = (&'a str, Op, &'a Vec<&'a str>, TensorType);

/// Parses the text form into a graph. The graph is not verified beyond
/// what the syntax and name resolution need: call [`crate::verify`].
pub fn parse(src: &str) -> Result<Graph, ParseError> {
    let cx = Cx { src };
    let ast = match graph(src) {
        Ok((_, g)) => g,
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
            return Err(cx.err(
                e.at,
                format!("expected {}, found {}", e.expected, found(e.at)),
            ));
        }
        Err(nom::Err::Incomplete(_)) => {
            return Err(cx.err("", "unexpected end of input"));
        }
    };

    let mut g = Graph::new(ast.name);
    g.name = ast.name.to_string();
    if let Some(p) = ast.phase {
        let phase = Phase::from_name(p).ok_or_else(|| {
            let names: Vec<&str> = Phase::ALL.iter().map(|p| p.name()).collect();
            cx.err(
                p,
                format!("unknown phase `{p}` (expected {})", names.join(", ")),
            )
        })?;
        g.set_phase(phase);
    }
    // Definitions: name -> definition site.
    let mut defs: HashMap<&str, &str> = HashMap::new();
    for (n, _) in &ast.params {
        if let Some(prev) = defs.insert(n, n) {
            return Err(cx.err(
                n,
                format!("`{n}` is defined twice (first at {})", loc_of(src, prev)),
            ));
        }
    }
    for s in &ast.stmts {
        if let Some(prev) = defs.insert(s.name, s.name) {
            return Err(cx.err(
                s.name,
                format!(
                    "`{}` is defined twice (first at {})",
                    s.name,
                    loc_of(src, prev)
                ),
            ));
        }
    }
    // Every use must be defined.
    for s in &ast.stmts {
        if let RhsAst::Op { operands, .. } = &s.rhs {
            for o in operands {
                if !defs.contains_key(o) {
                    return Err(cx.err(o, format!("use of undefined value `{o}`")));
                }
            }
        }
    }
    for o in &ast.outputs {
        if !defs.contains_key(o) {
            return Err(cx.err(o, format!("output `{o}` is not defined")));
        }
    }

    for (n, t) in &ast.params {
        let ty = cx.ty(t)?;
        let id = g.add_input(bare(n), ty);
        g.value_mut(id).loc = Some(loc_of(src, n));
    }
    // Constants first, then ops in topological order with text-order ties.
    let mut ops = Vec::new();
    for s in &ast.stmts {
        match &s.rhs {
            RhsAst::Const(t, d) => {
                let ty = cx.ty(t)?;
                let data = cx.data(&ty, d, t.dtype)?;
                let id = g.add_const(bare(s.name), ty, data);
                g.value_mut(id).loc = Some(loc_of(src, s.name));
            }
            RhsAst::Op {
                name,
                operands,
                attrs,
                ty,
            } => {
                let op = build_op(&cx, name, attrs.clone())?;
                let t = cx.ty(ty)?;
                ops.push((s.name, op, operands, t));
            }
        }
    }
    // Kahn's algorithm over the op statements, smallest text index first.
    let index: HashMap<&str, usize> = ops.iter().enumerate().map(|(i, o)| (o.0, i)).collect();
    let mut indeg = vec![0usize; ops.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); ops.len()];
    for (k, o) in ops.iter().enumerate() {
        for a in o.2.iter() {
            if let Some(&j) = index.get(a) {
                indeg[k] += 1;
                users[j].push(k);
            }
        }
    }
    let mut heap: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..ops.len())
        .filter(|&k| indeg[k] == 0)
        .map(std::cmp::Reverse)
        .collect();
    let mut placed = vec![false; ops.len()];
    let mut ops: Vec<Option<PendingOp<'_>>> = ops.into_iter().map(Some).collect();
    while let Some(std::cmp::Reverse(k)) = heap.pop() {
        placed[k] = true;
        for &u in &users[k] {
            indeg[u] -= 1;
            if indeg[u] == 0 {
                heap.push(std::cmp::Reverse(u));
            }
        }
        let Some((name, op, operands, ty)) = ops[k].take() else {
            continue;
        };
        let args: Vec<ValueId> = operands
            .iter()
            .filter_map(|o| g.value_by_name(bare(o)))
            .collect();
        let id = g.add_node(op, args, bare(name), ty);
        let loc = Some(loc_of(src, name));
        g.value_mut(id).loc = loc;
        if let Some(n) = g.producer(id) {
            g.set_node_loc(n, loc);
        }
    }
    if let Some(mut k) = placed.iter().position(|p| !p) {
        // Walk unplaced operands: after `len` steps the walk is on a cycle.
        for _ in 0..ops.len() {
            let next = ops[k].as_ref().and_then(|o| {
                o.2.iter()
                    .filter_map(|a| index.get(a))
                    .find(|&&j| !placed[j])
            });
            match next {
                Some(&j) => k = j,
                None => break,
            }
        }
        if let Some((name, ..)) = &ops[k] {
            return Err(cx.err(
                name,
                format!("`{name}` depends on itself (the graph has a cycle)"),
            ));
        }
    }
    let outs = ast
        .outputs
        .iter()
        .filter_map(|o| g.value_by_name(bare(o)))
        .collect();
    g.set_outputs(outs);
    Ok(g)
}
