//! `Sec-WebSocket-Extensions` (RFC 6455 section 9.1) and the permessage-deflate parameters
//! (RFC 7692 section 7).
//!
//! ```
//! use wsdissect::ws::extensions::DeflateParams;
//! let p = DeflateParams::from_response("permessage-deflate; server_max_window_bits=10; client_no_context_takeover")
//!     .unwrap();
//! assert_eq!(p.sender(false), (false, 10)); // the server keeps its context, 10-bit window
//! assert_eq!(p.sender(true), (true, 15)); // the client starts each message afresh
//! ```

use std::borrow::Cow;

/// One extension offered or accepted, as written in the header.
#[derive(Debug, Clone)]
pub struct Extension<'a> {
    /// Extension token, e.g. `permessage-deflate`.
    pub name: &'a str,
    /// What follows the name: its parameters.
    rest: SplitOutsideQuotes<'a>,
}

impl<'a> Extension<'a> {
    /// Its parameters in order: name and value (without quotes), if any. Read as they are
    /// asked for, from the header's text.
    pub fn params(&self) -> impl Iterator<Item = (&'a str, Option<Cow<'a, str>>)> + use<'a> {
        self.rest.clone().filter_map(|p| {
            let (k, v) = match p.split_once('=') {
                Some((k, v)) => (k.trim_ascii(), Some(unquote(v.trim_ascii()))),
                None => (p.trim_ascii(), None),
            };
            (!k.is_empty()).then_some((k, v))
        })
    }
}

/// Parses an extension list: `1#( token *( ";" token [ "=" ( token / quoted-string ) ] ) )`.
/// Empty elements are skipped; a quoted value may contain `,` and `;`. Read as it is iterated,
/// without allocating.
pub fn parse(value: &str) -> impl Iterator<Item = Extension<'_>> {
    SplitOutsideQuotes::new(value, b',').filter_map(|element| {
        let mut rest = SplitOutsideQuotes::new(element, b';');
        let name = rest.next().unwrap_or("").trim_ascii();
        (!name.is_empty()).then_some(Extension { name, rest })
    })
}

/// The pieces of a string between `sep`s outside quoted strings, found by bytes (memchr): the
/// separators, quotes and backslash are ASCII, and no byte of a multi-byte character can be
/// taken for one of them.
#[derive(Debug, Clone)]
struct SplitOutsideQuotes<'a> {
    /// What is left to split; `None` once the last piece is out.
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> SplitOutsideQuotes<'a> {
    fn new(s: &'a str, sep: u8) -> Self {
        SplitOutsideQuotes { rest: Some(s), sep }
    }
}

impl<'a> Iterator for SplitOutsideQuotes<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let bytes = s.as_bytes();
        let mut at = 0;
        // Outside quotes, the next separator or quote; inside, the closing quote or an escape.
        while let Some(i) = memchr::memchr2(self.sep, b'"', &bytes[at..]).map(|i| at + i) {
            if bytes[i] == self.sep {
                self.rest = Some(&s[i + 1..]);
                return Some(&s[..i]);
            }
            at = i + 1;
            loop {
                let Some(j) = memchr::memchr2(b'"', b'\\', &bytes[at..]).map(|j| at + j) else {
                    // An unterminated quoted string runs to the end.
                    self.rest = None;
                    return Some(s);
                };
                at = (j + 1 + usize::from(bytes[j] == b'\\')).min(bytes.len());
                if bytes[j] == b'"' {
                    break;
                }
            }
        }
        self.rest = None;
        Some(s)
    }
}

/// A token as it is, or a quoted string without its quotes and escapes.
fn unquote(v: &str) -> Cow<'_, str> {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
            }
            Cow::Owned(out)
        }
        None => Cow::Borrowed(v),
    }
}

/// The permessage-deflate parameters a server accepted.
///
/// `server_*` parameters govern what the server sends and `client_*` what the client sends
/// (RFC 7692 section 7.1); tshark 4.0.17 applies them the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server compresses each message with a fresh context.
    pub server_no_context_takeover: bool,
    /// The client compresses each message with a fresh context.
    pub client_no_context_takeover: bool,
    /// Base-2 logarithm of the server's LZ77 window (8..=15).
    pub server_max_window_bits: u8,
    /// Base-2 logarithm of the client's LZ77 window (8..=15).
    pub client_max_window_bits: u8,
}

impl DeflateParams {
    /// The parameters of the first `permessage-deflate` (or the older `x-webkit-deflate-frame`)
    /// in a response's `Sec-WebSocket-Extensions`, or None if the server accepted no deflate.
    /// Window sizes out of range or malformed are taken as 15.
    pub fn from_response(value: &str) -> Option<Self> {
        let ext = parse(value).find(|e| {
            e.name.eq_ignore_ascii_case("permessage-deflate") || e.name.eq_ignore_ascii_case("x-webkit-deflate-frame")
        })?;
        let mut p = DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        let bits = |v: Option<Cow<'_, str>>| {
            v.as_deref().and_then(|v| v.parse::<u8>().ok()).filter(|b| (8..=15).contains(b)).unwrap_or(15)
        };
        for (name, value) in ext.params() {
            let is = |known: &str| name.eq_ignore_ascii_case(known);
            if is("server_no_context_takeover") {
                p.server_no_context_takeover = true;
            } else if is("client_no_context_takeover") {
                p.client_no_context_takeover = true;
            } else if is("no_context_takeover") {
                // x-webkit-deflate-frame's name for the same thing.
                p.server_no_context_takeover = true;
                p.client_no_context_takeover = true;
            } else if is("server_max_window_bits") {
                p.server_max_window_bits = bits(value);
            } else if is("client_max_window_bits") {
                p.client_max_window_bits = bits(value);
            }
        }
        Some(p)
    }

    /// For one sender: whether each message starts a fresh context, and its window bits.
    pub fn sender(&self, from_client: bool) -> (bool, u8) {
        if from_client {
            (self.client_no_context_takeover, self.client_max_window_bits)
        } else {
            (self.server_no_context_takeover, self.server_max_window_bits)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(e: &Extension<'a>) -> Vec<(&'a str, Option<Cow<'a, str>>)> {
        e.params().collect()
    }

    #[test]
    fn test_parse_list_with_params_and_quotes() {
        let exts: Vec<_> = parse(r#"permessage-deflate; client_max_window_bits, foo; bar="a,b;c", , x-y"#).collect();
        assert_eq!(exts.len(), 3);
        assert_eq!(exts[0].name, "permessage-deflate");
        assert_eq!(params(&exts[0]), vec![("client_max_window_bits", None)]);
        assert_eq!(params(&exts[1]), vec![("bar", Some("a,b;c".into()))]);
        assert_eq!(exts[2].name, "x-y");
    }

    #[test]
    fn test_escapes_and_multibyte_characters_inside_quotes() {
        // An escaped quote does not end the string; a character of several bytes, escaped or
        // not, is never taken for a separator.
        let exts: Vec<_> = parse("x; a=\"\\\";é,\\é\"; b=ü, y").collect();
        assert_eq!(exts.len(), 2);
        assert_eq!(params(&exts[0]), vec![("a", Some("\";é,é".into())), ("b", Some("ü".into()))]);
        assert_eq!(exts[1].name, "y");
    }

    #[test]
    fn test_unterminated_quotes_run_to_the_end() {
        let exts: Vec<_> = parse("x; a=\"b, y; c\\").collect();
        assert_eq!(exts.len(), 1);
        assert_eq!(params(&exts[0]), vec![("a", Some("\"b, y; c\\".into()))]);
        assert_eq!(parse("x; a=\"\\").map(|e| params(&e)).collect::<Vec<_>>(), [vec![("a", Some("\"\\".into()))]]);
    }

    #[test]
    fn test_deflate_params_are_tokens_not_substrings() {
        assert!(DeflateParams::from_response("x-permessage-deflate-not").is_none());
        assert!(DeflateParams::from_response("foo; note=permessage-deflate").is_none());
        let p =
            DeflateParams::from_response("PerMessage-Deflate; Server_Max_Window_Bits=\"9\"; client_max_window_bits=20")
                .unwrap();
        assert_eq!((p.server_max_window_bits, p.client_max_window_bits), (9, 15));
        assert!(!p.server_no_context_takeover && !p.client_no_context_takeover);
    }

    #[test]
    fn test_first_deflate_offer_wins() {
        let p =
            DeflateParams::from_response("permessage-deflate; server_no_context_takeover, permessage-deflate").unwrap();
        assert!(p.server_no_context_takeover);
        assert_eq!(p.sender(false), (true, 15));
    }
}
