//! The display-filter language's syntax: tokens and the expression tree, with the byte span
//! of every part for error messages. Types are checked later, against the field registry.
//!
//! Precedence, lowest first: `or`/`||`, `xor`/`^^`, `and`/`&&`, `not`/`!`, then a relation
//! (`[any|all] value [op value]`), as in Wireshark. A value is arithmetic (Wireshark 4.0), lowest
//! first: `&`, then `+ -`, then `* / %`, then unary `-`; `{ }` groups. A `-` or `/` inside a
//! word belongs to it (`e1-7e`, `10.0.0.0/8`): subtraction needs a space before the `-`.

use std::ops::Range;

use super::FilterError;

/// A byte range in the expression.
pub type Span = Range<usize>;

/// Comparison operators, with the quantifier each implies (Wireshark 4.0 semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`, `eq`, `any_eq`: some value is equal.
    Eq,
    /// `!=`, `ne`, `all_ne`: no value is equal.
    Ne,
    /// `===`, `all_eq`: every value is equal.
    AllEq,
    /// `!==`, `any_ne`: some value differs.
    AnyNe,
    /// `<`, `lt`.
    Lt,
    /// `<=`, `le`.
    Le,
    /// `>`, `gt`.
    Gt,
    /// `>=`, `ge`.
    Ge,
}

/// `any` or `all` before a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    /// Some value satisfies the relation.
    Any,
    /// Every value does.
    All,
}

/// A relation's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelOp {
    /// A comparison.
    Cmp(CmpOp),
    /// `contains`.
    Contains,
    /// `matches`, `~`.
    Matches,
    /// `in`.
    In,
}

/// An arithmetic operator (Wireshark 4.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
    /// `&`, `bitwise_and`: alone, a test that some bit is set.
    BitAnd,
}

/// One part of a slice: `[i:j]`, `[i-j]`, `[i]`, `[:j]`, `[i:]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceRange {
    /// `i:j`: `j` bytes from `i`.
    StartLen(i64, i64),
    /// `i-j`: from `i` to `j`, both included.
    StartEnd(i64, i64),
    /// `i:` (and `i` alone, as `i:1`): from `i` to the end.
    ToEnd(i64),
}

/// A value in a relation: a field or literal word, a string, a character or a function call.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// An unquoted word: a field name or a literal (number, bytes, address, value name).
    Word(String, Span),
    /// A quoted string (bytes, as escapes may make any).
    Str(Vec<u8>, Span),
    /// A character constant `'a'`, `'\n'`, `'\x0a'`.
    Char(u32, Span),
    /// `name(args)`.
    Call(String, Vec<Operand>, Span),
    /// `operand[slice]`.
    Slice(Box<Operand>, Vec<SliceRange>, Span),
    /// `a + b`, `a & b`, ...
    Arith(ArithOp, Box<Operand>, Box<Operand>, Span),
    /// `-a`.
    Neg(Box<Operand>, Span),
}

impl Operand {
    /// Where it is in the expression.
    pub fn span(&self) -> Span {
        match self {
            Operand::Word(_, s) | Operand::Str(_, s) | Operand::Char(_, s) | Operand::Call(_, _, s) => s.clone(),
            Operand::Slice(_, _, s) | Operand::Arith(_, _, _, s) | Operand::Neg(_, s) => s.clone(),
        }
    }
}

/// An element of a set: a value or an inclusive range.
#[derive(Debug, Clone, PartialEq)]
pub enum SetItem {
    /// One value.
    One(Operand),
    /// `lo..hi`.
    Range(Operand, Operand),
}

/// The right-hand side of a relation.
#[derive(Debug, Clone, PartialEq)]
pub enum Rhs {
    /// One operand.
    Operand(Operand),
    /// `{a, b, lo..hi}`.
    Set(Vec<SetItem>, Span),
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `a xor b`.
    Xor(Box<Expr>, Box<Expr>),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `not a`.
    Not(Box<Expr>),
    /// A test: presence of the operand, or a relation with a right-hand side.
    Rel {
        /// `any`/`all`, if given.
        quant: Option<Quant>,
        /// The value tested.
        lhs: Operand,
        /// Operator, where it is, and right-hand side.
        test: Option<(RelOp, Span, Rhs)>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    Comma,
    Not,
    And,
    Or,
    Xor,
    Rel(RelOp),
    Arith(ArithOp),
    Quant(Quant),
    Word(String),
    Str(Vec<u8>),
    Char(u32),
    Eof,
}

/// Nesting deeper than this is refused (parentheses, `not`, function calls).
pub const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-' | '/' | '$' | '@')
}

/// Parses a whole expression.
pub fn parse(src: &str) -> Result<Expr, FilterError> {
    let mut p = Parser { src, pos: 0, depth: 0 };
    if p.peek()?.0 == Tok::Eof {
        return Err(FilterError::new("the filter is empty", 0..0));
    }
    let e = p.or()?;
    match p.next()? {
        (Tok::Eof, _) => Ok(e),
        (Tok::Word(w), span) => Err(FilterError::new(
            format!(
                "unexpected \"{w}\": expected an operator (==, !=, <, contains, matches, in, ...), \"and\", \"or\" or the end"
            ),
            span,
        )),
        (_, span) => Err(FilterError::new("expected \"and\", \"or\" or the end of the filter here", span)),
    }
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        self.pos += self.src[self.pos..].len() - self.src[self.pos..].trim_start().len();
    }

    fn peek(&mut self) -> Result<(Tok, Span), FilterError> {
        let save = self.pos;
        let t = self.next();
        self.pos = save;
        t
    }

    fn next(&mut self) -> Result<(Tok, Span), FilterError> {
        self.skip_ws();
        let start = self.pos;
        let rest = &self.src[start..];
        let Some(c) = rest.chars().next() else { return Ok((Tok::Eof, start..start)) };
        let two = rest.get(..2).unwrap_or("");
        let three = rest.get(..3).unwrap_or("");
        let (tok, len) = match (three, two, c) {
            ("===", _, _) => (Tok::Rel(RelOp::Cmp(CmpOp::AllEq)), 3),
            ("!==", _, _) => (Tok::Rel(RelOp::Cmp(CmpOp::AnyNe)), 3),
            (_, "==", _) => (Tok::Rel(RelOp::Cmp(CmpOp::Eq)), 2),
            (_, "!=", _) => (Tok::Rel(RelOp::Cmp(CmpOp::Ne)), 2),
            (_, "<=", _) => (Tok::Rel(RelOp::Cmp(CmpOp::Le)), 2),
            (_, ">=", _) => (Tok::Rel(RelOp::Cmp(CmpOp::Ge)), 2),
            (_, "&&", _) => (Tok::And, 2),
            (_, "||", _) => (Tok::Or, 2),
            (_, "^^", _) => (Tok::Xor, 2),
            (_, "r\"", _) => return self.string(start, true),
            (_, _, '<') => (Tok::Rel(RelOp::Cmp(CmpOp::Lt)), 1),
            (_, _, '>') => (Tok::Rel(RelOp::Cmp(CmpOp::Gt)), 1),
            (_, _, '~') => (Tok::Rel(RelOp::Matches), 1),
            (_, _, '&') => (Tok::Arith(ArithOp::BitAnd), 1),
            (_, _, '+') => (Tok::Arith(ArithOp::Add), 1),
            (_, _, '-') => (Tok::Arith(ArithOp::Sub), 1),
            (_, _, '*') => (Tok::Arith(ArithOp::Mul), 1),
            (_, _, '/') => (Tok::Arith(ArithOp::Div), 1),
            (_, _, '%') => (Tok::Arith(ArithOp::Mod), 1),
            (_, _, '!') => (Tok::Not, 1),
            (_, _, '(') => (Tok::LParen, 1),
            (_, _, ')') => (Tok::RParen, 1),
            (_, _, '{') => (Tok::LBrace, 1),
            (_, _, '}') => (Tok::RBrace, 1),
            (_, _, '[') => (Tok::LBracket, 1),
            (_, _, ',') => (Tok::Comma, 1),
            (_, _, '"') => return self.string(start, false),
            (_, _, '\'') => return self.char_const(start),
            (_, _, c) if is_word_char(c) => {
                let len = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
                let word = &rest[..len];
                let tok = match word {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "xor" => Tok::Xor,
                    "not" => Tok::Not,
                    "eq" | "any_eq" => Tok::Rel(RelOp::Cmp(CmpOp::Eq)),
                    "ne" | "all_ne" => Tok::Rel(RelOp::Cmp(CmpOp::Ne)),
                    "all_eq" => Tok::Rel(RelOp::Cmp(CmpOp::AllEq)),
                    "any_ne" => Tok::Rel(RelOp::Cmp(CmpOp::AnyNe)),
                    "gt" => Tok::Rel(RelOp::Cmp(CmpOp::Gt)),
                    "lt" => Tok::Rel(RelOp::Cmp(CmpOp::Lt)),
                    "ge" => Tok::Rel(RelOp::Cmp(CmpOp::Ge)),
                    "le" => Tok::Rel(RelOp::Cmp(CmpOp::Le)),
                    "contains" => Tok::Rel(RelOp::Contains),
                    "matches" => Tok::Rel(RelOp::Matches),
                    "bitwise_and" => Tok::Arith(ArithOp::BitAnd),
                    "in" => Tok::Rel(RelOp::In),
                    "any" => Tok::Quant(Quant::Any),
                    "all" => Tok::Quant(Quant::All),
                    _ => Tok::Word(word.to_string()),
                };
                (tok, len)
            }
            (_, _, c) => {
                return Err(FilterError::new(format!("unexpected character {c:?}"), start..start + c.len_utf8()));
            }
        };
        self.pos = start + len;
        Ok((tok, start..self.pos))
    }

    /// A quoted string with C-style escapes (or none, raw), as bytes.
    fn string(&mut self, start: usize, raw: bool) -> Result<(Tok, Span), FilterError> {
        let body_start = start + if raw { 2 } else { 1 };
        let bytes = self.src.as_bytes();
        let mut out = Vec::new();
        let mut i = body_start;
        loop {
            let Some(&b) = bytes.get(i) else {
                return Err(FilterError::new("this string has no closing quote", start..self.src.len()));
            };
            match b {
                b'"' => break,
                b'\\' if !raw => {
                    let (decoded, used) = unescape(&self.src[i..])
                        .ok_or_else(|| FilterError::new("unknown escape in string", i..(i + 2).min(self.src.len())))?;
                    let mut buf = [0u8; 4];
                    match decoded {
                        Unescaped::Byte(b) => out.push(b),
                        Unescaped::Char(c) => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
                    }
                    i += used;
                }
                b'\\' if raw && bytes.get(i + 1) == Some(&b'"') => {
                    out.extend_from_slice(b"\\\"");
                    i += 2;
                }
                _ => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        self.pos = i + 1;
        Ok((Tok::Str(out), start..self.pos))
    }

    fn char_const(&mut self, start: usize) -> Result<(Tok, Span), FilterError> {
        let rest = &self.src[start + 1..];
        let (value, used) = if rest.starts_with('\\') {
            match unescape(rest) {
                Some((Unescaped::Byte(b), n)) => (u32::from(b), n),
                Some((Unescaped::Char(c), n)) => (u32::from(c), n),
                None => return Err(FilterError::new("unknown escape in character constant", start..start + 3)),
            }
        } else {
            match rest.chars().next() {
                Some(c) if c != '\'' => (u32::from(c), c.len_utf8()),
                _ => return Err(FilterError::new("empty character constant", start..start + 2)),
            }
        };
        let end = start + 1 + used;
        if self.src.as_bytes().get(end) != Some(&b'\'') {
            return Err(FilterError::new("a character constant holds one character", start..end.min(self.src.len())));
        }
        self.pos = end + 1;
        Ok((Tok::Char(value), start..self.pos))
    }

    /// What `inner` parses, one level of nesting deeper (`at`: where the level opens).
    fn nested<T>(
        &mut self,
        at: &Span,
        inner: impl FnOnce(&mut Self) -> Result<T, FilterError>,
    ) -> Result<T, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::new(format!("nested more than {MAX_DEPTH} levels deep"), at.clone()));
        }
        let parsed = inner(self);
        self.depth -= 1;
        parsed
    }

    /// After the opening bracket at `open` (already read): what `inner` parses, then `close`,
    /// the bracket `pair` names.
    fn enclosed<T>(
        &mut self,
        open: &Span,
        close: Tok,
        pair: &str,
        inner: impl FnOnce(&mut Self) -> Result<T, FilterError>,
    ) -> Result<T, FilterError> {
        let parsed = self.nested(open, inner)?;
        match self.next()? {
            (tok, _) if tok == close => Ok(parsed),
            (_, at) => Err(FilterError::new(format!("expected {pair}"), open.start..at.end)),
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.xor()?;
        while self.peek()?.0 == Tok::Or {
            self.next()?;
            e = Expr::Or(Box::new(e), Box::new(self.xor()?));
        }
        Ok(e)
    }

    fn xor(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.and()?;
        while self.peek()?.0 == Tok::Xor {
            self.next()?;
            e = Expr::Xor(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.not()?;
        while self.peek()?.0 == Tok::And {
            self.next()?;
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        let (tok, span) = self.peek()?;
        match tok {
            Tok::Not => {
                self.next()?;
                Ok(Expr::Not(Box::new(self.nested(&span, Self::not)?)))
            }
            Tok::LParen => {
                self.next()?;
                self.enclosed(&span, Tok::RParen, "\")\" to close the \"(\"", Self::or)
            }
            _ => self.relation(),
        }
    }

    fn relation(&mut self) -> Result<Expr, FilterError> {
        let quant = match self.peek()? {
            (Tok::Quant(q), _) => {
                self.next()?;
                Some(q)
            }
            _ => None,
        };
        let lhs = self.value()?;
        let (tok, op_span) = self.peek()?;
        let Tok::Rel(op) = tok else {
            if quant.is_some() {
                return Err(FilterError::new("\"any\"/\"all\" need a comparison after the field", op_span));
            }
            return Ok(Expr::Rel { quant, lhs, test: None });
        };
        self.next()?;
        let rhs = if op == RelOp::In {
            match self.next()? {
                (Tok::LBrace, open) => self.set(open)?,
                (_, at) => return Err(FilterError::new("expected \"{\" after \"in\"", at)),
            }
        } else {
            Rhs::Operand(self.value()?)
        };
        Ok(Expr::Rel { quant, lhs, test: Some((op, op_span, rhs)) })
    }

    /// An arithmetic value: `&` binds least, then `+ -`, then `* / %`.
    fn value(&mut self) -> Result<Operand, FilterError> {
        self.binary(0)
    }

    /// Operands joined by the operators of `level` (0: `&`, 1: `+ -`, 2: `* / %`) and above.
    fn binary(&mut self, level: usize) -> Result<Operand, FilterError> {
        const LEVELS: [&[ArithOp]; 3] =
            [&[ArithOp::BitAnd], &[ArithOp::Add, ArithOp::Sub], &[ArithOp::Mul, ArithOp::Div, ArithOp::Mod]];
        let Some(ops) = LEVELS.get(level) else { return self.unary() };
        let mut lhs = self.binary(level + 1)?;
        while let (Tok::Arith(op), _) = self.peek()? {
            if !ops.contains(&op) {
                break;
            }
            self.next()?;
            let rhs = self.binary(level + 1)?;
            let span = lhs.span().start..rhs.span().end;
            lhs = Operand::Arith(op, Box::new(lhs), Box::new(rhs), span);
        }
        Ok(lhs)
    }

    /// A unary minus, a `{ }` group, or an operand.
    fn unary(&mut self) -> Result<Operand, FilterError> {
        let (tok, span) = self.peek()?;
        match tok {
            Tok::Arith(ArithOp::Sub) => {
                self.next()?;
                let inner = self.nested(&span, Self::unary)?;
                let whole = span.start..inner.span().end;
                Ok(Operand::Neg(Box::new(inner), whole))
            }
            Tok::LBrace => {
                self.next()?;
                self.enclosed(&span, Tok::RBrace, "\"}\" to close the \"{\"", Self::value)
            }
            _ => self.operand(),
        }
    }

    fn set(&mut self, open: Span) -> Result<Rhs, FilterError> {
        let mut items = Vec::new();
        loop {
            if let (Tok::RBrace, close) = self.peek()? {
                self.next()?;
                if items.is_empty() {
                    return Err(FilterError::new("the set is empty", open.start..close.end));
                }
                return Ok(Rhs::Set(items, open.start..close.end));
            }
            let first = self.operand()?;
            let item = match first {
                // `1..10` lexes as one word.
                Operand::Word(w, span) if w.contains("..") && !w.starts_with("..") && !w.ends_with("..") => {
                    let (lo, hi) = w.split_once("..").expect("contains ..");
                    let mid = span.start + lo.len();
                    SetItem::Range(
                        Operand::Word(lo.to_string(), span.start..mid),
                        Operand::Word(hi.to_string(), mid + 2..span.end),
                    )
                }
                lo => match self.peek()? {
                    (Tok::Word(w), _) if w == ".." => {
                        self.next()?;
                        SetItem::Range(lo, self.operand()?)
                    }
                    (Tok::Word(w), span) if w.starts_with("..") => {
                        self.next()?;
                        SetItem::Range(lo, Operand::Word(w[2..].to_string(), span.start + 2..span.end))
                    }
                    _ => SetItem::One(lo),
                },
            };
            items.push(item);
            // Wireshark 4.0 wants commas; later versions also take spaces.
            if let (Tok::Comma, _) = self.peek()? {
                self.next()?;
            }
        }
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        let (tok, span) = self.next()?;
        let base = match tok {
            Tok::Word(w) if self.src[span.end..].starts_with('(') => {
                self.pos = span.end + 1;
                self.nested(&span, |p| {
                    let mut args = Vec::new();
                    loop {
                        if let (Tok::RParen, close) = p.peek()? {
                            p.next()?;
                            return Ok(Operand::Call(w, args, span.start..close.end));
                        }
                        if !args.is_empty() {
                            match p.next()? {
                                (Tok::Comma, _) => {}
                                (_, at) => return Err(FilterError::new("expected \",\" or \")\"", at)),
                            }
                        }
                        args.push(p.value()?);
                    }
                })?
            }
            Tok::Word(w) => Operand::Word(w, span),
            Tok::Str(s) => Operand::Str(s, span),
            Tok::Char(c) => Operand::Char(c, span),
            Tok::Eof => return Err(FilterError::new("expected a field or a value at the end", span)),
            _ => return Err(FilterError::new("expected a field or a value here", span)),
        };
        if self.src[self.pos..].starts_with('[') {
            let open = self.pos;
            let close = self.src[open..]
                .find(']')
                .map(|i| open + i)
                .ok_or_else(|| FilterError::new("this slice has no closing \"]\"", open..self.src.len()))?;
            let ranges = parse_slice(&self.src[open + 1..close]).ok_or_else(|| {
                FilterError::new("expected a slice like [0:2], [1-3], [4], [:2] or [2:]", open..close + 1)
            })?;
            self.pos = close + 1;
            let span = base.span().start..self.pos;
            return Ok(Operand::Slice(Box::new(base), ranges, span));
        }
        Ok(base)
    }
}

fn parse_slice(s: &str) -> Option<Vec<SliceRange>> {
    let int = |t: &str| t.trim().parse::<i64>().ok();
    s.split(',')
        .map(|part| {
            let part = part.trim();
            if part.is_empty() {
                return None;
            }
            if let Some((a, b)) = part.split_once(':') {
                match (a.trim().is_empty(), b.trim().is_empty()) {
                    (true, false) => Some(SliceRange::StartLen(0, int(b)?)),
                    (false, true) => Some(SliceRange::ToEnd(int(a)?)),
                    (false, false) => Some(SliceRange::StartLen(int(a)?, int(b)?)),
                    (true, true) => None,
                }
            } else if let Some(i) = part.bytes().skip(1).position(|b| b == b'-').map(|i| i + 1) {
                Some(SliceRange::StartEnd(int(&part[..i])?, int(&part[i + 1..])?))
            } else {
                Some(SliceRange::StartLen(int(part)?, 1))
            }
        })
        .collect()
}

enum Unescaped {
    Byte(u8),
    Char(char),
}

/// Decodes one escape at the start of `s` (which begins with a backslash); returns it and the
/// bytes it used.
fn unescape(s: &str) -> Option<(Unescaped, usize)> {
    let b = s.as_bytes();
    let c = *b.get(1)?;
    let simple = |v: u8| Some((Unescaped::Byte(v), 2));
    match c {
        b'\'' | b'"' | b'\\' => simple(c),
        b'a' => simple(7),
        b'b' => simple(8),
        b'f' => simple(12),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b't' => simple(b'\t'),
        b'v' => simple(11),
        b'x' => {
            let hex: String = s[2..].chars().take_while(char::is_ascii_hexdigit).take(2).collect();
            let v = u8::from_str_radix(&hex, 16).ok()?;
            Some((Unescaped::Byte(v), 2 + hex.len()))
        }
        b'0'..=b'7' => {
            let oct: String = s[1..].chars().take_while(|c| ('0'..='7').contains(c)).take(3).collect();
            let v = u8::try_from(u32::from_str_radix(&oct, 8).ok()?).ok()?;
            Some((Unescaped::Byte(v), 1 + oct.len()))
        }
        b'u' | b'U' => {
            let n = if c == b'u' { 4 } else { 8 };
            let hex = s.get(2..2 + n)?;
            let v = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
            Some((Unescaped::Char(v), 2 + n))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(e: &Expr) -> (&Operand, Option<RelOp>) {
        match e {
            Expr::Rel { lhs, test, .. } => (lhs, test.as_ref().map(|t| t.0)),
            _ => panic!("not a relation: {e:?}"),
        }
    }

    #[test]
    fn test_precedence_not_and_xor_or() {
        let e = parse("a or b xor c and not d").unwrap();
        let Expr::Or(a, rest) = e else { panic!() };
        assert_eq!(rel(&a).0, &Operand::Word("a".into(), 0..1));
        let Expr::Xor(_, and) = *rest else { panic!() };
        let Expr::And(_, not) = *and else { panic!() };
        assert!(matches!(*not, Expr::Not(_)));
    }

    #[test]
    fn test_operators_words_and_symbols_agree() {
        for (a, b) in [
            ("x == 1", "x eq 1"),
            ("x !== 1", "x any_ne 1"),
            ("x ~ \"a\"", "x matches \"a\""),
            ("x & 8", "x bitwise_and 8"),
        ] {
            let (pa, pb) = (parse(a).unwrap(), parse(b).unwrap());
            assert_eq!(rel(&pa).1, rel(&pb).1, "{a} / {b}");
        }
    }

    #[test]
    fn test_strings_escapes_and_raw() {
        let e = parse(r#"x == "a\x41\101\n\u00e9\"" or y == r"a\d""#).unwrap();
        let Expr::Or(a, b) = e else { panic!() };
        let Expr::Rel { test: Some((_, _, Rhs::Operand(Operand::Str(s, _)))), .. } = *a else { panic!() };
        assert_eq!(s, "aAA\né\"".as_bytes());
        let Expr::Rel { test: Some((_, _, Rhs::Operand(Operand::Str(s, _)))), .. } = *b else { panic!() };
        assert_eq!(s, br"a\d");
    }

    #[test]
    fn test_slices_sets_and_calls() {
        assert_eq!(parse_slice("0:2").unwrap(), [SliceRange::StartLen(0, 2)]);
        assert_eq!(parse_slice("1-3,-2:").unwrap(), [SliceRange::StartEnd(1, 3), SliceRange::ToEnd(-2)]);
        assert_eq!(parse_slice(":4").unwrap(), [SliceRange::StartLen(0, 4)]);
        assert_eq!(parse_slice("-1").unwrap(), [SliceRange::StartLen(-1, 1)]);
        let e = parse("len(f[1:2]) in {1, 3..5 7}").unwrap();
        let Expr::Rel { lhs: Operand::Call(name, args, _), test: Some((RelOp::In, _, Rhs::Set(items, _))), .. } = e
        else {
            panic!()
        };
        assert_eq!((name.as_str(), args.len(), items.len()), ("len", 1, 3));
        assert!(matches!(items[1], SetItem::Range(..)));
    }

    #[test]
    fn test_errors_point_at_the_spot() {
        let e = parse("a == 1 )").unwrap_err();
        assert_eq!(e.span, 7..8);
        let e = parse("(a == 1").unwrap_err();
        assert!(e.message.contains("\")\""), "{e:?}");
        assert_eq!(parse("a == \"open").unwrap_err().span.start, 5);
        assert!(parse(&"(".repeat(100)).unwrap_err().message.contains("nested"));
        assert!(parse("").is_err() && parse("a ==").is_err() && parse("a in 1").is_err());
    }
}
