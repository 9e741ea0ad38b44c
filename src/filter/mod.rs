//! Display filters (`-Y`): Wireshark's language over the same field registry as the columns,
//! the tree and JSON. An expression is parsed and type-checked once ([`Filter::compile`]), then
//! evaluated per frame ([`Filter::matches`]) without allocating for plain comparisons; a
//! regular expression is compiled once.
//!
//! A record is one WebSocket frame: its own `websocket.*` fields, the message it completes
//! (`websocket.message.*`), its packet's `frame.*`/`ip.*`/`tcp.*` fields and its connection's
//! handshake (`http.*`). tshark evaluates per packet instead, so in a packet carrying several
//! frames it can match `a and b` with `a` from one frame and `b` from another; here both must
//! hold for the same frame.
//!
//! ```
//! use wsdissect::filter::Filter;
//! assert!(Filter::compile("websocket.opcode == 1 && websocket.payload.text contains \"error\"").is_ok());
//! let err = Filter::compile("websocket.opcod == 1").unwrap_err();
//! assert!(err.message.contains("websocket.opcode"));
//! assert_eq!(err.span, 0..15);
//! ```

pub mod syntax;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;

use regex::bytes::{Regex, RegexBuilder};

use crate::analyzer::Frame;
use crate::fields::{self, Context, Field, FieldType, Value};
use syntax::{ArithOp, CmpOp, Expr, Operand, Quant, RelOp, Rhs, SetItem, SliceRange, Span};

/// A filter that does not parse or type-check: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// What is wrong.
    pub message: String,
    /// The bytes of the expression it is about.
    pub span: Range<usize>,
}

impl FilterError {
    fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        FilterError { message: message.into(), span }
    }

    /// The message, then the expression with a caret line under the offending part.
    pub fn render(&self, expr: &str) -> String {
        let start = self.span.start.min(expr.len());
        let width = expr[start..self.span.end.clamp(start, expr.len())].chars().count().max(1);
        let pad = expr[..start].chars().count();
        format!("{}\n    {expr}\n    {}^{}", self.message, " ".repeat(pad), "~".repeat(width - 1))
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FilterError {}

/// The largest compiled regular expression accepted.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// What a value is, for type checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    UInt(u32),
    /// What arithmetic gives.
    Int,
    Bool,
    Bytes,
    Str,
    Ip {
        v6: bool,
    },
    Time,
    /// A protocol (`websocket`): present, and its bytes on the wire.
    Protocol,
    /// A label (`websocket.payload.close`): only present or absent.
    Label,
}

impl Ty {
    fn of(field: &Field) -> Ty {
        match field.ty {
            FieldType::None if !field.name.contains('.') => Ty::Protocol,
            FieldType::None => Ty::Label,
            FieldType::Bool => Ty::Bool,
            FieldType::UInt8 => Ty::UInt(8),
            FieldType::UInt16 => Ty::UInt(16),
            FieldType::UInt24 => Ty::UInt(24),
            FieldType::Int32 => Ty::Int,
            FieldType::Ether => Ty::Bytes,
            FieldType::UInt32 | FieldType::FrameNum => Ty::UInt(32),
            FieldType::UInt64 => Ty::UInt(64),
            FieldType::Bytes => Ty::Bytes,
            FieldType::String => Ty::Str,
            FieldType::Ipv4 => Ty::Ip { v6: false },
            FieldType::Ipv6 => Ty::Ip { v6: true },
            FieldType::AbsTime | FieldType::Date | FieldType::RelTime => Ty::Time,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Ty::UInt(_) => "an unsigned integer",
            Ty::Int => "an integer",
            Ty::Bool => "a boolean",
            Ty::Bytes => "a byte string",
            Ty::Str => "a character string",
            Ty::Ip { v6: false } => "an IPv4 address",
            Ty::Ip { v6: true } => "an IPv6 address",
            Ty::Time => "a time",
            Ty::Protocol => "a protocol",
            Ty::Label => "a label (present or absent only)",
        }
    }

    fn ordered(self) -> bool {
        !matches!(self, Ty::Bool | Ty::Label)
    }
}

/// Where a relation's values come from.
#[derive(Debug)]
enum Src {
    Field(&'static Field),
    /// The frame's bytes as on the wire (`websocket` in `contains` and slices).
    Wire,
    /// `len(websocket)`: the header's length, as in Wireshark.
    HeaderLen,
    Slice(Box<Src>, Vec<SliceRange>),
    Len(Box<Src>),
    Count(&'static Field),
    Lower(Box<Src>),
    Upper(Box<Src>),
    Text(Box<Src>),
    Min(Vec<Src>),
    Max(Vec<Src>),
    Abs(Box<Src>),
    /// Arithmetic on every pair of values of its two sides.
    Arith(ArithOp, Box<Src>, Box<Src>),
    Neg(Box<Src>),
    /// An integer in an arithmetic expression.
    Int(i64),
}

impl Src {
    /// The value of an arithmetic expression without fields, worked out once; `None` when it
    /// reads a field, or has no value (a division by zero, an overflow).
    fn constant(&self) -> Option<i64> {
        match self {
            Src::Int(n) => Some(*n),
            Src::Neg(a) => a.constant()?.checked_neg(),
            Src::Arith(op, a, b) => arith(*op, a.constant()?, b.constant()?),
            _ => None,
        }
    }
}

/// One arithmetic operation, as Wireshark does it on integers; `None` on division by zero or
/// overflow (no value).
fn arith(op: ArithOp, a: i64, b: i64) -> Option<i64> {
    match op {
        ArithOp::Add => a.checked_add(b),
        ArithOp::Sub => a.checked_sub(b),
        ArithOp::Mul => a.checked_mul(b),
        ArithOp::Div => a.checked_div(b),
        ArithOp::Mod => a.checked_rem(b),
        ArithOp::BitAnd => Some(a & b),
    }
}

/// A literal, converted to the type it is compared with. Strings are kept as bytes.
#[derive(Debug, Clone, PartialEq)]
enum Const {
    UInt(u64),
    Int(i64),
    Bool(bool),
    Bytes(Vec<u8>),
    Ip(IpAddr, u8),
    Nanos(i64),
}

#[derive(Debug)]
enum Side {
    Const(Const),
    Src(Src),
}

#[derive(Debug)]
enum Node {
    Or(Box<Node>, Box<Node>),
    Xor(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Exists(Src),
    Cmp {
        lhs: Src,
        op: CmpOp,
        quant: Quant,
        rhs: Side,
    },
    Contains {
        lhs: Src,
        needle: Vec<u8>,
        quant: Quant,
    },
    Matches {
        lhs: Src,
        re: Regex,
        quant: Quant,
    },
    /// Some bit of the mask is set (integers), or of the bytes masked byte by byte.
    BitAnd {
        lhs: Src,
        mask: Const,
        quant: Quant,
    },
    In {
        lhs: Src,
        items: Vec<(Const, Const)>,
        quant: Quant,
    },
}

/// A compiled display filter.
#[derive(Debug)]
pub struct Filter {
    root: Node,
    reads_payload: bool,
    reads_messages: bool,
    reads_headers: bool,
}

impl Filter {
    /// Parses and type-checks `expr` against the field registry.
    pub fn compile(expr: &str) -> Result<Filter, FilterError> {
        let ast = syntax::parse(expr)?;
        let mut c = Compiler { reads_payload: false, reads_messages: false, reads_headers: false };
        let root = c.expr(&ast)?;
        let Compiler { reads_payload, reads_messages, reads_headers } = c;
        Ok(Filter { root, reads_payload, reads_messages: reads_messages || reads_payload, reads_headers })
    }

    /// Whether the filter reads packet header values ([`Field::reads_headers`]).
    pub fn reads_headers(&self) -> bool {
        self.reads_headers
    }

    /// Whether the filter reads payloads or messages (which must then be kept and unmasked).
    pub fn reads_payload(&self) -> bool {
        self.reads_payload
    }

    /// Whether the filter reads messages or expert items ([`Field::reads_messages`]).
    pub fn reads_messages(&self) -> bool {
        self.reads_messages
    }

    /// Whether the frame is selected.
    pub fn matches(&self, ctx: &Context, f: &Frame<'_>) -> bool {
        eval(&self.root, ctx, f)
    }
}

struct Compiler {
    reads_payload: bool,
    reads_messages: bool,
    reads_headers: bool,
}

fn unknown_field(name: &str, span: Span) -> FilterError {
    let near = fields::closest(name);
    let hint = if near.is_empty() { String::new() } else { format!("; did you mean {}?", near.join(", ")) };
    FilterError::new(format!("\"{name}\" is neither a field nor a protocol name{hint}"), span)
}

impl Compiler {
    fn expr(&mut self, e: &Expr) -> Result<Node, FilterError> {
        Ok(match e {
            Expr::Or(a, b) => Node::Or(Box::new(self.expr(a)?), Box::new(self.expr(b)?)),
            Expr::Xor(a, b) => Node::Xor(Box::new(self.expr(a)?), Box::new(self.expr(b)?)),
            Expr::And(a, b) => Node::And(Box::new(self.expr(a)?), Box::new(self.expr(b)?)),
            Expr::Not(a) => Node::Not(Box::new(self.expr(a)?)),
            Expr::Rel { quant, lhs, test } => self.relation(*quant, lhs, test.as_ref())?,
        })
    }

    fn field(&mut self, name: &str, span: &Span) -> Result<&'static Field, FilterError> {
        let f = fields::lookup(name).ok_or_else(|| unknown_field(name, span.clone()))?;
        self.reads_payload |= f.reads_payload();
        self.reads_messages |= f.reads_messages();
        self.reads_headers |= f.reads_headers();
        Ok(f)
    }

    /// The value source an operand names (a field, a slice or a function), and its type.
    /// `bytes` asks for a protocol's bytes rather than its presence.
    fn src(&mut self, op: &Operand, bytes: bool) -> Result<(Src, Ty), FilterError> {
        match op {
            Operand::Word(name, span) => {
                let f = self.field(name, span)?;
                let ty = Ty::of(f);
                if bytes && ty == Ty::Protocol {
                    self.reads_payload = true;
                    // A protocol stands for its bytes: the frame's on the wire, or data's data.
                    return Ok(match fields::lookup(&format!("{name}.data")) {
                        Some(data) => (Src::Field(data), Ty::Bytes),
                        None => (Src::Wire, Ty::Bytes),
                    });
                }
                Ok((Src::Field(f), ty))
            }
            Operand::Slice(base, ranges, _) => {
                let (src, ty) = self.src(base, true)?;
                if !matches!(ty, Ty::Bytes | Ty::Str) {
                    return Err(FilterError::new(
                        format!("only byte strings, strings and protocols can be sliced; this is {}", ty.describe()),
                        base.span(),
                    ));
                }
                Ok((Src::Slice(Box::new(src), ranges.clone()), Ty::Bytes))
            }
            Operand::Call(name, args, span) => self.call(name, args, span),
            Operand::Arith(..) | Operand::Neg(..) => {
                let src = self.arith(op)?;
                if src.constant().is_some() {
                    return Err(FilterError::new(
                        "arithmetic on values alone goes on the right of a comparison; the left needs a field",
                        op.span(),
                    ));
                }
                Ok((src, Ty::Int))
            }
            Operand::Str(_, span) | Operand::Char(_, span) => {
                Err(FilterError::new("expected a field here, not a value", span.clone()))
            }
        }
    }

    /// An arithmetic expression (or one side of one): integer fields and functions of them,
    /// and integers.
    fn arith(&mut self, op: &Operand) -> Result<Src, FilterError> {
        Ok(match op {
            Operand::Arith(o, a, b, _) => Src::Arith(*o, Box::new(self.arith(a)?), Box::new(self.arith(b)?)),
            Operand::Neg(a, _) => Src::Neg(Box::new(self.arith(a)?)),
            Operand::Char(c, _) => Src::Int(i64::from(*c)),
            Operand::Word(w, span) if fields::lookup(w).is_none() => match parse_uint(w) {
                Some(n) => Src::Int(i64::try_from(n).map_err(|_| FilterError::new("too big", span.clone()))?),
                None => return Err(unknown_field(w, span.clone())),
            },
            other => {
                let (src, ty) = self.src(other, false)?;
                if !matches!(ty, Ty::UInt(_) | Ty::Int) {
                    return Err(FilterError::new(
                        format!("arithmetic needs integers; {} is {}", lhs_name(other), ty.describe()),
                        other.span(),
                    ));
                }
                src
            }
        })
    }

    fn call(&mut self, name: &str, args: &[Operand], span: &Span) -> Result<(Src, Ty), FilterError> {
        fn only<'a>(name: &str, args: &'a [Operand], span: &Span) -> Result<&'a Operand, FilterError> {
            match args {
                [a] => Ok(a),
                _ => Err(FilterError::new(format!("{name}() takes one argument"), span.clone())),
            }
        }
        let one = |args| only(name, args, span);
        match name {
            "len" => {
                let arg = one(args)?;
                // len(websocket) is its header's length, as in Wireshark; len(data), its data's.
                if let Operand::Word(w, s) = arg
                    && Ty::of(self.field(w, s)?) == Ty::Protocol
                    && fields::lookup(&format!("{w}.data")).is_none()
                {
                    return Ok((Src::HeaderLen, Ty::UInt(32)));
                }
                let (src, ty) = self.src(arg, true)?;
                match ty {
                    Ty::Bytes | Ty::Str => Ok((Src::Len(Box::new(src)), Ty::UInt(32))),
                    _ => Err(FilterError::new(
                        format!("len() needs a string or bytes, not {}", ty.describe()),
                        arg.span(),
                    )),
                }
            }
            "count" => match one(args)? {
                Operand::Word(w, s) => Ok((Src::Count(self.field(w, s)?), Ty::UInt(32))),
                other => Err(FilterError::new("count() takes a field", other.span())),
            },
            "lower" | "upper" => {
                let arg = one(args)?;
                let (src, ty) = self.src(arg, false)?;
                if ty != Ty::Str {
                    return Err(FilterError::new(
                        format!("{name}() needs a string, not {}", ty.describe()),
                        arg.span(),
                    ));
                }
                Ok((if name == "lower" { Src::Lower(Box::new(src)) } else { Src::Upper(Box::new(src)) }, Ty::Str))
            }
            "string" => {
                let arg = one(args)?;
                let (src, ty) = self.src(arg, false)?;
                if matches!(ty, Ty::Label | Ty::Protocol) {
                    return Err(FilterError::new(format!("string() cannot convert {}", ty.describe()), arg.span()));
                }
                Ok((Src::Text(Box::new(src)), Ty::Str))
            }
            "min" | "max" | "abs" => {
                if args.is_empty() || (name == "abs" && args.len() > 1) {
                    return Err(FilterError::new(format!("{name}() needs numeric arguments"), span.clone()));
                }
                let mut srcs = Vec::new();
                let mut first_ty = None;
                for arg in args {
                    // Integers and arithmetic count as one type, as do times.
                    let (src, ty) = match arg {
                        Operand::Arith(..) | Operand::Neg(..) | Operand::Char(..) => (self.arith(arg)?, Ty::Int),
                        Operand::Word(w, _) if fields::lookup(w).is_none() => (self.arith(arg)?, Ty::Int),
                        _ => match self.src(arg, false)? {
                            (src, Ty::UInt(_)) => (src, Ty::Int),
                            other => other,
                        },
                    };
                    if !matches!(ty, Ty::Int | Ty::Time) || first_ty.is_some_and(|t| t != ty) {
                        return Err(FilterError::new(
                            format!("{name}() needs numbers of one type; this is {}", ty.describe()),
                            arg.span(),
                        ));
                    }
                    first_ty = Some(ty);
                    srcs.push(src);
                }
                let ty = first_ty.expect("at least one argument");
                Ok(match name {
                    "min" => (Src::Min(srcs), ty),
                    "max" => (Src::Max(srcs), ty),
                    _ => (Src::Abs(Box::new(srcs.pop().expect("one argument"))), ty),
                })
            }
            _ => Err(FilterError::new(
                format!("unknown function {name}(); there are len, count, lower, upper, string, min, max and abs"),
                span.clone(),
            )),
        }
    }

    fn relation(
        &mut self,
        quant: Option<Quant>,
        lhs: &Operand,
        test: Option<&(RelOp, Span, Rhs)>,
    ) -> Result<Node, FilterError> {
        let Some((op, op_span, rhs)) = test else {
            return match lhs {
                // `field & mask`: some bit of the mask is set (also byte by byte, on bytes).
                Operand::Arith(ArithOp::BitAnd, a, mask, _) if !is_arith_of_fields(mask) => {
                    let (src, ty) = self.src(a, true)?;
                    if !matches!(ty, Ty::UInt(_) | Ty::Int | Ty::Bytes) {
                        return Err(FilterError::new(
                            format!("\"&\" needs an integer or bytes; {} is {}", lhs_name(a), ty.describe()),
                            a.span(),
                        ));
                    }
                    let field = match &**a {
                        Operand::Word(w, _) => fields::lookup(w),
                        _ => None,
                    };
                    let mask = literal(mask, ty, field, a)?;
                    Ok(Node::BitAnd { lhs: src, mask, quant: quant.unwrap_or(Quant::Any) })
                }
                // Other arithmetic alone: some value is not zero.
                Operand::Arith(..) | Operand::Neg(..) => Ok(Node::Cmp {
                    lhs: self.src(lhs, false)?.0,
                    op: CmpOp::Ne,
                    quant: Quant::Any,
                    rhs: Side::Const(Const::Int(0)),
                }),
                _ => Ok(Node::Exists(self.src(lhs, false)?.0)),
            };
        };
        // In a relation a protocol stands for its bytes.
        let (src, ty) = self.src(lhs, true)?;
        let field = match lhs {
            Operand::Word(w, _) => fields::lookup(w),
            _ => None,
        };
        if ty == Ty::Label {
            return Err(FilterError::new(
                format!("{} is a label: it can only be tested for presence", lhs_name(lhs)),
                lhs.span(),
            ));
        }
        let default_quant = |op: CmpOp| match op {
            CmpOp::Ne | CmpOp::AllEq => Quant::All,
            _ => Quant::Any,
        };
        fn operand(rhs: &Rhs) -> Result<&Operand, FilterError> {
            match rhs {
                Rhs::Operand(o) => Ok(o),
                Rhs::Set(_, span) => Err(FilterError::new("a set goes only after \"in\"", span.clone())),
            }
        }
        Ok(match op {
            RelOp::Cmp(cmp) => {
                let r = operand(rhs)?;
                if matches!(cmp, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge) && !ty.ordered() {
                    return Err(FilterError::new(
                        format!("{} is {}: it has no order", lhs_name(lhs), ty.describe()),
                        op_span.clone(),
                    ));
                }
                // Another field (or a function, slice or arithmetic of one) on the right: compared
                // value by value.
                let names_field = |o: &Operand| match o {
                    Operand::Word(w, _) => fields::lookup(w).is_some(),
                    Operand::Call(..) | Operand::Slice(..) => true,
                    Operand::Arith(..) | Operand::Neg(..) => is_arith_of_fields(o),
                    _ => false,
                };
                let side = match r {
                    Operand::Arith(..) | Operand::Neg(..) if !names_field(r) => {
                        if !matches!(ty, Ty::UInt(_) | Ty::Int) {
                            return Err(FilterError::new(
                                format!("{} is {}; arithmetic gives an integer", lhs_name(lhs), ty.describe()),
                                r.span(),
                            ));
                        }
                        // Worked out once; no value (a division by zero) matches nothing.
                        match self.arith(r)?.constant() {
                            Some(n) => Side::Const(Const::Int(n)),
                            None => Side::Src(Src::Min(Vec::new())),
                        }
                    }
                    r if names_field(r) => {
                        let (rsrc, rty) = self.src(r, true)?;
                        if !compatible(ty, rty) {
                            return Err(FilterError::new(
                                format!(
                                    "{} is {} and {} is {}: they cannot be compared",
                                    lhs_name(lhs),
                                    ty.describe(),
                                    lhs_name(r),
                                    rty.describe()
                                ),
                                r.span(),
                            ));
                        }
                        Side::Src(rsrc)
                    }
                    _ => Side::Const(literal(r, ty, field, lhs)?),
                };
                Node::Cmp { lhs: src, op: *cmp, quant: quant.unwrap_or(default_quant(*cmp)), rhs: side }
            }
            RelOp::Contains => {
                if !matches!(ty, Ty::Bytes | Ty::Str) {
                    return Err(FilterError::new(
                        format!("\"contains\" needs a string or bytes; {} is {}", lhs_name(lhs), ty.describe()),
                        op_span.clone(),
                    ));
                }
                let Const::Bytes(needle) = literal(operand(rhs)?, ty, field, lhs)? else { unreachable!("bytes type") };
                Node::Contains { lhs: src, needle, quant: quant.unwrap_or(Quant::Any) }
            }
            RelOp::Matches => {
                if ty != Ty::Str {
                    return Err(FilterError::new(
                        format!("\"matches\" needs a string; {} is {} (try string(...))", lhs_name(lhs), ty.describe()),
                        op_span.clone(),
                    ));
                }
                let r = operand(rhs)?;
                let pattern = match r {
                    Operand::Str(s, _) => String::from_utf8_lossy(s).into_owned(),
                    Operand::Word(w, _) => w.clone(),
                    other => return Err(FilterError::new("expected a regular expression in quotes", other.span())),
                };
                let re = RegexBuilder::new(&pattern)
                    .case_insensitive(true)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .nest_limit(syntax::MAX_DEPTH as u32)
                    .build()
                    .map_err(|e| FilterError::new(format!("invalid regular expression: {e}"), r.span()))?;
                Node::Matches { lhs: src, re, quant: quant.unwrap_or(Quant::Any) }
            }
            RelOp::In => {
                let Rhs::Set(items, _) = rhs else { unreachable!("the parser gives a set after in") };
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(match item {
                        SetItem::One(o) => {
                            let c = literal(o, ty, field, lhs)?;
                            (c.clone(), c)
                        }
                        SetItem::Range(lo, hi) => {
                            if !ty.ordered() {
                                return Err(FilterError::new(
                                    format!("{} is {}: ranges need an order", lhs_name(lhs), ty.describe()),
                                    lo.span().start..hi.span().end,
                                ));
                            }
                            (literal(lo, ty, field, lhs)?, literal(hi, ty, field, lhs)?)
                        }
                    });
                }
                Node::In { lhs: src, items: out, quant: quant.unwrap_or(Quant::Any) }
            }
        })
    }
}

/// Whether an operand reads a field (arithmetic with one somewhere in it, or a field itself).
fn is_arith_of_fields(op: &Operand) -> bool {
    match op {
        Operand::Arith(_, a, b, _) => is_arith_of_fields(a) || is_arith_of_fields(b),
        Operand::Neg(a, _) => is_arith_of_fields(a),
        Operand::Word(w, _) => fields::lookup(w).is_some(),
        Operand::Call(..) | Operand::Slice(..) => true,
        Operand::Str(..) | Operand::Char(..) => false,
    }
}

fn lhs_name(op: &Operand) -> String {
    match op {
        Operand::Word(w, _) => w.clone(),
        Operand::Call(name, _, _) => format!("{name}(...)"),
        Operand::Slice(..) => "the slice".to_string(),
        Operand::Arith(..) | Operand::Neg(..) => "the arithmetic".to_string(),
        _ => "the value".to_string(),
    }
}

fn compatible(a: Ty, b: Ty) -> bool {
    match (a, b) {
        (Ty::UInt(_) | Ty::Int, Ty::UInt(_) | Ty::Int) => true,
        (Ty::Bytes | Ty::Str, Ty::Bytes | Ty::Str) => true,
        _ => a == b,
    }
}

/// Converts a literal to the type of what it is compared with.
fn literal(op: &Operand, ty: Ty, field: Option<&Field>, lhs: &Operand) -> Result<Const, FilterError> {
    let span = op.span();
    let fail = |what: &str| {
        let names = field.map_or(String::new(), |f| {
            if f.names.is_empty() {
                String::new()
            } else {
                let list: Vec<&str> = f.names.iter().map(|(_, n)| *n).collect();
                format!(" or a value name ({})", list.join(", "))
            }
        });
        FilterError::new(format!("{} is {}; {what} is not one{names}", lhs_name(lhs), ty.describe()), span.clone())
    };
    match (ty, op) {
        (Ty::UInt(bits), _) => {
            let value = match op {
                Operand::Char(c, _) => Some(u64::from(*c)),
                Operand::Word(w, _) => parse_uint(w).or_else(|| name_value(field, w)),
                Operand::Str(s, _) => name_value(field, &String::from_utf8_lossy(s)),
                _ => None,
            };
            let v = value.ok_or_else(|| fail(&describe_operand(op)))?;
            if bits < 64 && v >> bits != 0 {
                return Err(FilterError::new(format!("{v} is too big for {} ({bits} bits)", lhs_name(lhs)), span));
            }
            Ok(Const::UInt(v))
        }
        (Ty::Int, _) => {
            let value = match op {
                Operand::Char(c, _) => Some(u64::from(*c)),
                Operand::Word(w, _) => parse_uint(w),
                _ => None,
            };
            value.and_then(|v| i64::try_from(v).ok()).map(Const::Int).ok_or_else(|| fail(&describe_operand(op)))
        }
        (Ty::Bool, Operand::Word(w, _)) => match w.to_ascii_lowercase().as_str() {
            "true" => Ok(Const::Bool(true)),
            "false" => Ok(Const::Bool(false)),
            _ => parse_uint(w).map(|n| Const::Bool(n != 0)).ok_or_else(|| fail(&describe_operand(op))),
        },
        (Ty::Bytes | Ty::Protocol, Operand::Word(w, _)) => {
            parse_bytes(w).map(Const::Bytes).ok_or_else(|| fail(&describe_operand(op)))
        }
        (Ty::Bytes | Ty::Protocol | Ty::Str, Operand::Str(s, _)) => Ok(Const::Bytes(s.clone())),
        (Ty::Bytes | Ty::Protocol | Ty::Str, Operand::Char(c, _)) => {
            let ch = char::from_u32(*c).ok_or_else(|| fail("this character"))?;
            let mut buf = [0u8; 4];
            Ok(Const::Bytes(ch.encode_utf8(&mut buf).as_bytes().to_vec()))
        }
        // An unquoted word compared with a string is the word itself (as Wireshark 4.0 does).
        (Ty::Str, Operand::Word(w, _)) => Ok(Const::Bytes(w.as_bytes().to_vec())),
        (Ty::Ip { v6 }, Operand::Word(..) | Operand::Str(..)) => {
            let text = match op {
                Operand::Str(s, _) => String::from_utf8_lossy(s).into_owned(),
                _ => describe_operand(op).trim_matches('"').to_string(),
            };
            parse_ip(&text).filter(|(ip, _)| ip.is_ipv6() == v6).map(|(ip, p)| Const::Ip(ip, p)).ok_or_else(|| {
                fail(&format!("{text:?} (addresses are written 10.0.0.1, 10.0.0.0/8, ::1 or fe80::/10)"))
            })
        }
        (Ty::Time, Operand::Word(w, _)) => w
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && s.abs() < 1e10)
            .map(|s| Const::Nanos((s * 1e9).round() as i64))
            .ok_or_else(|| fail(&format!("{w:?} (times are written in seconds, e.g. 1.5)"))),
        _ => Err(fail(&describe_operand(op))),
    }
}

fn describe_operand(op: &Operand) -> String {
    match op {
        Operand::Word(w, _) => format!("{w:?}"),
        Operand::Str(s, _) => format!("\"{}\"", String::from_utf8_lossy(s)),
        Operand::Char(c, _) => format!("the character {c}"),
        _ => "this".to_string(),
    }
}

fn name_value(field: Option<&Field>, name: &str) -> Option<u64> {
    field?.names.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(v, _)| *v)
}

/// Decimal, `0x` hex, `0b` binary, or octal with a leading 0.
fn parse_uint(w: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(b) = w.strip_prefix("0b").or_else(|| w.strip_prefix("0B")) {
        (b, 2)
    } else if w.len() > 1 && w.starts_with('0') {
        (&w[1..], 8)
    } else {
        (w, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `e1:7e:8e:b9` (or with `.` or `-`), or one byte: `ff`, `0xff`.
fn parse_bytes(w: &str) -> Option<Vec<u8>> {
    let hex_byte = |s: &str| (s.len() == 2 || s.len() == 1).then(|| u8::from_str_radix(s, 16).ok()).flatten();
    if let Some(h) = w.strip_prefix("0x") {
        return hex_byte(h).map(|b| vec![b]);
    }
    let sep = w.chars().find(|c| matches!(c, ':' | '.' | '-'));
    match sep {
        Some(sep) => w.split(sep).map(|p| (p.len() == 2).then(|| hex_byte(p)).flatten()).collect(),
        None => hex_byte(w).map(|b| vec![b]),
    }
}

fn parse_ip(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let full = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(full);
    (prefix <= full).then_some((ip, prefix))
}

fn in_network(ip: &IpAddr, net: &IpAddr, prefix: u8) -> bool {
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(*a)), u128::from(u32::from(*b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(*a), u128::from(*b), 128),
        _ => return false,
    };
    let host_bits = width - u32::from(prefix).min(width);
    (a ^ b).checked_shr(host_bits).unwrap_or(0) == 0
}

// ---------------------------------------------------------------------------------------
// Evaluation

fn eval(node: &Node, ctx: &Context, f: &Frame<'_>) -> bool {
    match node {
        Node::Or(a, b) => eval(a, ctx, f) || eval(b, ctx, f),
        Node::Xor(a, b) => eval(a, ctx, f) != eval(b, ctx, f),
        Node::And(a, b) => eval(a, ctx, f) && eval(b, ctx, f),
        Node::Not(a) => !eval(a, ctx, f),
        Node::Exists(src) => {
            let mut found = false;
            values(src, ctx, f, &mut |_| found = true);
            found
        }
        Node::Cmp { lhs, op, quant, rhs: Side::Const(c) } => quantified(lhs, ctx, f, *quant, |v| compare(v, *op, c)),
        Node::Cmp { lhs, op, quant, rhs: Side::Src(r) } => {
            let mut right = Vec::new();
            values(r, ctx, f, &mut |v| right.extend(to_const(&v)));
            !right.is_empty() && quantified(lhs, ctx, f, *quant, |v| right.iter().any(|c| compare(v, *op, c)))
        }
        Node::Contains { lhs, needle, quant } => {
            quantified(lhs, ctx, f, *quant, |v| bytes_of(v).is_some_and(|b| memchr::memmem::find(b, needle).is_some()))
        }
        Node::Matches { lhs, re, quant } => {
            quantified(lhs, ctx, f, *quant, |v| bytes_of(v).is_some_and(|b| re.is_match(b)))
        }
        Node::BitAnd { lhs, mask, quant } => quantified(lhs, ctx, f, *quant, |v| match (v, mask) {
            (Value::UInt(n), Const::UInt(m)) => n & m != 0,
            (Value::Bytes(b), Const::Bytes(m)) => b.len() == m.len() && b.iter().zip(m).any(|(x, y)| x & y != 0),
            _ => false,
        }),
        Node::In { lhs, items, quant } => quantified(lhs, ctx, f, *quant, |v| {
            items.iter().any(|(lo, hi)| {
                if lo == hi {
                    compare(v, CmpOp::Eq, lo)
                } else {
                    compare(v, CmpOp::Ge, lo) && compare(v, CmpOp::Le, hi)
                }
            })
        }),
    }
}

/// Whether some (`Any`) or every (`All`) value satisfies `test`; false when there is none.
fn quantified(src: &Src, ctx: &Context, f: &Frame<'_>, quant: Quant, mut test: impl FnMut(&Value<'_>) -> bool) -> bool {
    let (mut seen, mut any, mut all) = (false, false, true);
    values(src, ctx, f, &mut |v| {
        seen = true;
        let t = test(&v);
        any |= t;
        all &= t;
    });
    seen && if quant == Quant::Any { any } else { all }
}

fn bytes_of<'v>(v: &'v Value<'_>) -> Option<&'v [u8]> {
    match v {
        Value::Bytes(b) => Some(b),
        Value::Str(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn to_const(v: &Value<'_>) -> Option<Const> {
    Some(match v {
        Value::Present => return None,
        Value::Bool(b) => Const::Bool(*b),
        Value::UInt(n) => Const::UInt(*n),
        Value::Int(n) => Const::Int(*n),
        Value::Bytes(b) => Const::Bytes(b.to_vec()),
        Value::Str(s) => Const::Bytes(s.as_bytes().to_vec()),
        Value::Ip(ip) => Const::Ip(*ip, if ip.is_ipv4() { 32 } else { 128 }),
        Value::Nanos(n) => Const::Nanos(*n),
    })
}

fn compare(v: &Value<'_>, op: CmpOp, c: &Const) -> bool {
    if let (Value::Ip(ip), Const::Ip(net, prefix)) = (v, c)
        && matches!(op, CmpOp::Eq | CmpOp::AllEq | CmpOp::Ne | CmpOp::AnyNe)
    {
        let inside = in_network(ip, net, *prefix);
        return if matches!(op, CmpOp::Eq | CmpOp::AllEq) { inside } else { !inside };
    }
    let ord = match (v, c) {
        (Value::UInt(a), Const::UInt(b)) => a.cmp(b),
        (Value::UInt(_) | Value::Int(_), Const::UInt(_) | Const::Int(_)) => integer(v).cmp(&const_integer(c)),
        (Value::Bool(a), Const::Bool(b)) => a.cmp(b),
        (Value::Bytes(_) | Value::Str(_), Const::Bytes(b)) => bytes_of(v).unwrap_or_default().cmp(b.as_slice()),
        (Value::Ip(a), Const::Ip(b, _)) => a.cmp(b),
        (Value::Nanos(a), Const::Nanos(b)) => a.cmp(b),
        _ => return false,
    };
    match op {
        CmpOp::Eq | CmpOp::AllEq => ord == Ordering::Equal,
        CmpOp::Ne | CmpOp::AnyNe => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// An integer value, signed or not, widened so that any two compare.
fn integer(v: &Value<'_>) -> Option<i128> {
    match v {
        Value::UInt(n) => Some(i128::from(*n)),
        Value::Int(n) => Some(i128::from(*n)),
        _ => None,
    }
}

fn const_integer(c: &Const) -> Option<i128> {
    match c {
        Const::UInt(n) => Some(i128::from(*n)),
        Const::Int(n) => Some(i128::from(*n)),
        _ => None,
    }
}

/// The frame's bytes as they were on the wire: header, then the (kept) payload masked again.
fn wire_bytes(f: &Frame<'_>) -> Vec<u8> {
    let h = &f.header;
    let mut out = Vec::with_capacity(usize::from(h.header_len) + f.payload.len());
    out.push((u8::from(h.fin) << 7) | (h.rsv << 4) | h.opcode.0);
    out.push((u8::from(h.masked) << 7) | h.len7);
    if let Some(n) = h.ext_16() {
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Some(n) = h.ext_64() {
        out.extend_from_slice(&n.to_be_bytes());
    }
    let at = out.len() + h.masking_key.map_or(0, |_| 4);
    if let Some(key) = h.masking_key {
        out.extend_from_slice(&key);
    }
    out.extend_from_slice(f.payload);
    if let Some(key) = h.masking_key {
        crate::ws::frame::unmask(&mut out[at..], key, 0);
    }
    out
}

/// `[i:j]`-style ranges applied to `data` (Wireshark's slice rules); None when out of range.
fn slice(data: &[u8], ranges: &[SliceRange]) -> Option<Vec<u8>> {
    let n = data.len() as i64;
    let start_of = |i: i64| if i < 0 { n + i } else { i };
    let mut out = Vec::new();
    for r in ranges {
        let (a, b) = match *r {
            SliceRange::StartLen(i, len) => (start_of(i), start_of(i) + len),
            SliceRange::StartEnd(i, j) => (start_of(i), start_of(j) + 1),
            SliceRange::ToEnd(i) => (start_of(i), n),
        };
        if a < 0 || b > n || a > b {
            return None;
        }
        out.extend_from_slice(&data[a as usize..b as usize]);
    }
    Some(out)
}

/// Calls `out` with every value of `src` in the frame.
fn values(src: &Src, ctx: &Context, f: &Frame<'_>, out: &mut dyn FnMut(Value<'_>)) {
    match src {
        Src::Field(field) => (field.get)(ctx, f, &mut |v| out(v)),
        Src::Wire => out(Value::Bytes(Cow::Owned(wire_bytes(f)))),
        Src::HeaderLen => out(Value::UInt(u64::from(f.header.header_len))),
        Src::Slice(inner, ranges) => values(inner, ctx, f, &mut |v| {
            if let Some(part) = bytes_of(&v).and_then(|b| slice(b, ranges)) {
                out(Value::Bytes(Cow::Owned(part)));
            }
        }),
        Src::Len(inner) => values(inner, ctx, f, &mut |v| {
            if let Some(b) = bytes_of(&v) {
                out(Value::UInt(b.len() as u64));
            }
        }),
        Src::Count(field) => {
            let mut n = 0;
            (field.get)(ctx, f, &mut |_| n += 1);
            out(Value::UInt(n));
        }
        Src::Lower(inner) | Src::Upper(inner) => {
            let lower = matches!(src, Src::Lower(_));
            values(inner, ctx, f, &mut |v| {
                if let Value::Str(s) = v {
                    out(Value::Str(Cow::Owned(if lower { s.to_lowercase() } else { s.to_uppercase() })));
                }
            })
        }
        Src::Text(inner) => values(inner, ctx, f, &mut |v| out(Value::Str(Cow::Owned(display(&v))))),
        Src::Min(srcs) | Src::Max(srcs) => {
            let want = if matches!(src, Src::Min(_)) { Ordering::Less } else { Ordering::Greater };
            let mut best: Option<Const> = None;
            for s in srcs {
                values(s, ctx, f, &mut |v| {
                    if let Some(c) = to_const(&v) {
                        let better = match (&best, &c) {
                            (None, _) => true,
                            (Some(Const::Nanos(b)), Const::Nanos(n)) => n.cmp(b) == want,
                            (Some(b), n) => {
                                const_integer(b).zip(const_integer(n)).is_some_and(|(b, n)| n.cmp(&b) == want)
                            }
                        };
                        if better {
                            best = Some(c);
                        }
                    }
                });
            }
            match best {
                Some(Const::UInt(n)) => out(Value::UInt(n)),
                Some(Const::Int(n)) => out(Value::Int(n)),
                Some(Const::Nanos(n)) => out(Value::Nanos(n)),
                _ => {}
            }
        }
        Src::Abs(inner) => values(inner, ctx, f, &mut |v| match v {
            Value::Nanos(n) => out(Value::Nanos(n.abs())),
            Value::Int(n) => out(Value::Int(n.saturating_abs())),
            other => out(other),
        }),
        Src::Int(n) => out(Value::Int(*n)),
        Src::Neg(inner) => values(inner, ctx, f, &mut |v| {
            if let Some(n) = integer(&v).and_then(|n| i64::try_from(-n).ok()) {
                out(Value::Int(n));
            }
        }),
        Src::Arith(op, a, b) => {
            let mut right = Vec::new();
            values(b, ctx, f, &mut |v| right.extend(integer(&v).and_then(|n| i64::try_from(n).ok())));
            values(a, ctx, f, &mut |v| {
                let Some(l) = integer(&v).and_then(|n| i64::try_from(n).ok()) else { return };
                for &r in &right {
                    if let Some(n) = arith(*op, l, r) {
                        out(Value::Int(n));
                    }
                }
            });
        }
    }
}

/// `string()`: a value as text (bytes as colon-separated hex, as Wireshark writes them).
fn display(v: &Value<'_>) -> String {
    match v {
        Value::Present => String::new(),
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Bytes(b) => b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":"),
        Value::Str(s) => s.to_string(),
        Value::Ip(ip) => ip.to_string(),
        Value::Nanos(n) => format!("{}.{:09}", n / 1_000_000_000, (n % 1_000_000_000).abs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_literals() {
        assert_eq!(parse_uint("0x1F"), Some(31));
        assert_eq!(parse_uint("017"), Some(15));
        assert_eq!(parse_uint("0b101"), Some(5));
        assert_eq!(parse_uint("12a"), None);
        assert_eq!(parse_bytes("e1:7e:8e:b9"), Some(vec![0xe1, 0x7e, 0x8e, 0xb9]));
        assert_eq!(parse_bytes("e1.7e"), Some(vec![0xe1, 0x7e]));
        assert_eq!(parse_bytes("e1-7e"), Some(vec![0xe1, 0x7e]));
        assert_eq!(parse_bytes("0xff"), Some(vec![0xff]));
        assert_eq!(parse_bytes("e1:7"), None);
        assert_eq!(parse_ip("10.0.0.0/8"), Some(("10.0.0.0".parse().unwrap(), 8)));
        assert!(parse_ip("10.0.0.0/33").is_none());
    }

    #[test]
    fn test_networks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_network(&ip("10.1.2.3"), &ip("10.0.0.0"), 8));
        assert!(!in_network(&ip("11.1.2.3"), &ip("10.0.0.0"), 8));
        assert!(in_network(&ip("127.0.0.1"), &ip("127.0.0.1"), 32));
        assert!(in_network(&ip("fe80::1"), &ip("fe80::"), 10));
        assert!(!in_network(&ip("::1"), &ip("fe80::"), 10));
        assert!(in_network(&ip("1.2.3.4"), &ip("0.0.0.0"), 0));
    }

    #[test]
    fn test_slices() {
        let d = b"abcdef";
        assert_eq!(slice(d, &[SliceRange::StartLen(1, 2)]).unwrap(), b"bc");
        assert_eq!(slice(d, &[SliceRange::StartEnd(1, 3)]).unwrap(), b"bcd");
        assert_eq!(slice(d, &[SliceRange::ToEnd(-2)]).unwrap(), b"ef");
        assert_eq!(slice(d, &[SliceRange::StartLen(0, 1), SliceRange::ToEnd(5)]).unwrap(), b"af");
        assert!(slice(d, &[SliceRange::StartLen(5, 2)]).is_none());
    }

    #[test]
    fn test_type_errors_name_the_types() {
        let e = Filter::compile("websocket.opcode == \"abc\"").unwrap_err();
        assert!(e.message.contains("unsigned integer") && e.message.contains("Ping"), "{e}");
        let e = Filter::compile("websocket.payload.close").unwrap();
        drop(e);
        let e = Filter::compile("websocket.payload.close == 1").unwrap_err();
        assert!(e.message.contains("label"), "{e}");
        let e = Filter::compile("websocket.opcode contains 1").unwrap_err();
        assert!(e.message.contains("contains"), "{e}");
        let e = Filter::compile("websocket.opcode == 300").unwrap_err();
        assert!(e.message.contains("too big"), "{e}");
        let e = Filter::compile("websocket.payload.text matches \"(\"").unwrap_err();
        assert!(e.message.contains("regular expression"), "{e}");
    }

    #[test]
    fn test_render_puts_a_caret_under_the_span() {
        let e = Filter::compile("websocket.fin && websocket.opcod == 1").unwrap_err();
        let text = e.render("websocket.fin && websocket.opcod == 1");
        let lines: Vec<&str> = text.lines().collect();
        // Under "websocket.opcod": 4 spaces of indent, 17 for "websocket.fin && ", 15 marks.
        assert_eq!(lines[2], format!("{}^{}", " ".repeat(21), "~".repeat(14)));
    }
}
