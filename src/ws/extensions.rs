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

/// One extension offered or accepted, with its parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// Extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters: name and value (without quotes), if any.
    pub params: Vec<(String, Option<String>)>,
}

/// Parses an extension list: `1#( token *( ";" token [ "=" ( token / quoted-string ) ] ) )`.
/// Empty elements are skipped; a quoted value may contain `,` and `;`.
pub fn parse(value: &str) -> Vec<Extension> {
    let mut out = Vec::new();
    for element in split_outside_quotes(value, b',') {
        let mut parts = split_outside_quotes(element, b';').into_iter();
        let name = parts.next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        let params = parts
            .filter_map(|p| {
                let (k, v) = match p.split_once('=') {
                    Some((k, v)) => (k.trim(), Some(unquote(v.trim()))),
                    None => (p.trim(), None),
                };
                (!k.is_empty()).then(|| (k.to_string(), v))
            })
            .collect();
        out.push(Extension { name: name.to_string(), params });
    }
    out
}

/// Splits at `sep` outside quoted strings. Byte by byte: the separators, quotes and backslash
/// are ASCII, and no byte of a multi-byte character can be taken for one of them.
fn split_outside_quotes(s: &str, sep: u8) -> Vec<&str> {
    // Nearly always nothing is quoted: then a plain split (memchr) does.
    if !s.contains('"') {
        return s.split(char::from(sep)).collect();
    }
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &b) in s.as_bytes().iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b if b == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
            }
            out
        }
        None => v.to_string(),
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
        let ext = parse(value).into_iter().find(|e| {
            e.name.eq_ignore_ascii_case("permessage-deflate") || e.name.eq_ignore_ascii_case("x-webkit-deflate-frame")
        })?;
        let mut p = DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        let bits =
            |v: &Option<String>| v.as_deref().and_then(|v| v.parse::<u8>().ok()).filter(|b| (8..=15).contains(b));
        for (name, value) in &ext.params {
            match name.to_ascii_lowercase().as_str() {
                "server_no_context_takeover" => p.server_no_context_takeover = true,
                "client_no_context_takeover" => p.client_no_context_takeover = true,
                // x-webkit-deflate-frame's name for the same thing.
                "no_context_takeover" => {
                    p.server_no_context_takeover = true;
                    p.client_no_context_takeover = true;
                }
                "server_max_window_bits" => p.server_max_window_bits = bits(value).unwrap_or(15),
                "client_max_window_bits" => p.client_max_window_bits = bits(value).unwrap_or(15),
                _ => {}
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

    #[test]
    fn test_parse_list_with_params_and_quotes() {
        let exts = parse(r#"permessage-deflate; client_max_window_bits, foo; bar="a,b;c", , x-y"#);
        assert_eq!(exts.len(), 3);
        assert_eq!(exts[0].name, "permessage-deflate");
        assert_eq!(exts[0].params, vec![("client_max_window_bits".to_string(), None)]);
        assert_eq!(exts[1].params, vec![("bar".to_string(), Some("a,b;c".to_string()))]);
        assert_eq!(exts[2].name, "x-y");
    }

    #[test]
    fn test_escapes_and_multibyte_characters_inside_quotes() {
        // An escaped quote does not end the string; a character of several bytes, escaped or
        // not, is never taken for a separator.
        let exts = parse("x; a=\"\\\";é,\\é\"; b=ü, y");
        assert_eq!(exts.len(), 2);
        assert_eq!(
            exts[0].params,
            vec![("a".to_string(), Some("\";é,é".to_string())), ("b".to_string(), Some("ü".to_string()))]
        );
        assert_eq!(exts[1].name, "y");
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
