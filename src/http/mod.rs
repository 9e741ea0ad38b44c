//! The HTTP/1.1 Upgrade handshake that opens a WebSocket connection (RFC 6455 section 4).
//!
//! [`parse_head`] reads one request or response head with httparse and reports how many bytes it
//! used, since the first frames may share a TCP segment with the `101` response. Header names and
//! tokens are compared case-insensitively; `Upgrade` and `Connection` are token lists.
//!
//! ```
//! use wsdissect::http::{accept_key, parse_head, Head};
//! let head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\
//! Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x02hi";
//! let Some((used, Head::Response(r))) = parse_head(head).unwrap() else { panic!() };
//! assert!(r.is_websocket_switch());
//! assert_eq!(&head[used..], b"\x81\x02hi");
//! assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
//! ```

pub mod upgrade;

use std::borrow::Cow;

use base64::Engine;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 appends to Sec-WebSocket-Key before hashing.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Heads longer than this are not handshakes (and are not buffered further).
pub const MAX_HEAD_LEN: usize = 64 * 1024;

/// The expected Sec-WebSocket-Accept for a Sec-WebSocket-Key.
pub fn accept_key(key: &str) -> String {
    String::from_utf8_lossy(&accept_key_bytes(key)).into_owned()
}

/// Whether `accept` is the Sec-WebSocket-Accept that answers `key` (computed on the stack).
pub fn accepts(key: &str, accept: &str) -> bool {
    accept_key_bytes(key) == accept.trim().as_bytes()
}

/// The base64 of SHA-1(key + GUID): 28 characters.
fn accept_key_bytes(key: &str) -> [u8; 28] {
    let digest = Sha1::new().chain_update(key.trim().as_bytes()).chain_update(WEBSOCKET_GUID).finalize();
    let mut out = [0u8; 28];
    // 20 bytes always encode to 28.
    let _ = base64::engine::general_purpose::STANDARD.encode_slice(digest, &mut out);
    out
}

/// A header that matters to a WebSocket handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// `Host` (`http.host`).
    Host,
    /// `Origin` (`http.origin`), or the `Sec-WebSocket-Origin` of early drafts.
    Origin,
    /// `User-Agent` (`http.user_agent`).
    UserAgent,
    /// `Upgrade` (`http.upgrade`).
    Upgrade,
    /// `Connection` (`http.connection`).
    Connection,
    /// `Sec-WebSocket-Key`.
    SecWebSocketKey,
    /// `Sec-WebSocket-Accept`.
    SecWebSocketAccept,
    /// `Sec-WebSocket-Version`.
    SecWebSocketVersion,
    /// `Sec-WebSocket-Protocol` (offered in a request, chosen in a response).
    SecWebSocketProtocol,
    /// `Sec-WebSocket-Extensions` (offered in a request, accepted in a response).
    SecWebSocketExtensions,
}

impl Header {
    const COUNT: usize = Header::SecWebSocketExtensions as usize + 1;
}

/// What a header name is to a handshake.
enum Field {
    Text(Header),
    /// `Content-Length`, to step over bodies of other HTTP messages.
    ContentLength,
}

impl Field {
    /// The field for header `name` (in any case), if it is one of interest. Told apart by
    /// length first: most names of a head are of no interest, and fail there.
    fn named(name: &str) -> Option<Field> {
        let is = |known: &str| name.eq_ignore_ascii_case(known);
        Some(Field::Text(match name.len() {
            4 if is("host") => Header::Host,
            6 if is("origin") => Header::Origin,
            7 if is("upgrade") => Header::Upgrade,
            10 if is("user-agent") => Header::UserAgent,
            10 if is("connection") => Header::Connection,
            14 if is("content-length") => return Some(Field::ContentLength),
            17 if is("sec-websocket-key") => Header::SecWebSocketKey,
            20 if is("sec-websocket-accept") => Header::SecWebSocketAccept,
            20 if is("sec-websocket-origin") => Header::Origin,
            21 if is("sec-websocket-version") => Header::SecWebSocketVersion,
            22 if is("sec-websocket-protocol") => Header::SecWebSocketProtocol,
            24 if is("sec-websocket-extensions") => Header::SecWebSocketExtensions,
            _ => return None,
        }))
    }
}

/// The headers of either head that matter to a WebSocket handshake, as sent, without the
/// whitespace around them (RFC 9110 5.5). Their values lie one after another in one string,
/// so that a head costs one allocation, not one per header: thousands of connections may open
/// at once.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    values: String,
    /// Where each [`Header`]'s value is in `values`: start and end.
    spans: [Option<(u32, u32)>; Header::COUNT],
    /// `Content-Length`, to step over bodies of other HTTP messages.
    pub content_length: Option<u64>,
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        (0..Header::COUNT).all(|i| self.value(i) == other.value(i)) && self.content_length == other.content_length
    }
}

impl Eq for Headers {}

impl Headers {
    /// The value of `header`, if the head has it.
    pub fn get(&self, header: Header) -> Option<&str> {
        self.value(header as usize)
    }

    fn value(&self, i: usize) -> Option<&str> {
        let (start, end) = self.spans[i]?;
        self.values.get(start as usize..end as usize)
    }

    /// Takes one header field (name in any case) if it is one of interest.
    pub fn add(&mut self, name: &str, value: &str) {
        if let Some(field) = Field::named(name) {
            self.take(field, value);
        }
    }

    fn take(&mut self, field: Field, value: &str) {
        match field {
            Field::Text(header) => self.push(header, value),
            Field::ContentLength => self.content_length = value.trim_ascii().parse().ok(),
        }
    }

    /// Appends `value` to `header`'s: repeated headers are one comma-separated list (RFC 9110
    /// 5.3). A value not at the end of `values` moves there first.
    fn push(&mut self, header: Header, value: &str) {
        let value = value.trim_ascii();
        let start = match self.spans[header as usize] {
            None => self.values.len(),
            Some((start, end)) => {
                let start = if end as usize == self.values.len() {
                    start as usize
                } else {
                    let moved = self.values.len();
                    self.values.extend_from_within(start as usize..end as usize);
                    moved
                };
                self.values.push_str(", ");
                start
            }
        };
        self.values.push_str(value);
        // Heads are at most MAX_HEAD_LEN; a value past 4 GiB would be dropped.
        self.spans[header as usize] = u32::try_from(start).ok().zip(u32::try_from(self.values.len()).ok());
    }
}

/// A request head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Method (`GET` for a WebSocket handshake).
    pub method: Cow<'static, str>,
    /// Request target (`http.request.uri`).
    pub uri: String,
    /// `HTTP/1.1`, `HTTP/1.0` or `HTTP/2`.
    pub version: &'static str,
    /// Headers of interest.
    pub headers: Headers,
}

/// A response head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// Status code (`http.response.code`).
    pub code: u16,
    /// Reason phrase.
    pub reason: Cow<'static, str>,
    /// `HTTP/1.1`, `HTTP/1.0` or `HTTP/2`.
    pub version: &'static str,
    /// Headers of interest.
    pub headers: Headers,
}

impl Request {
    /// Whether this request asks to switch to WebSocket.
    pub fn wants_websocket(&self) -> bool {
        has_token(self.headers.get(Header::Upgrade), "websocket")
    }
}

impl Response {
    /// A `101 Switching Protocols` whose `Upgrade` names WebSocket: the stream now carries frames.
    pub fn is_websocket_switch(&self) -> bool {
        self.code == 101 && has_token(self.headers.get(Header::Upgrade), "websocket")
    }

    /// A `101 Switching Protocols` to HTTP/2 in the clear (`Upgrade: h2c`).
    pub fn is_h2c_switch(&self) -> bool {
        self.code == 101 && has_token(self.headers.get(Header::Upgrade), "h2c")
    }
}

/// One parsed head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

/// Whether a comma-separated list holds `token` (case-insensitive; `websocket/13` counts).
pub fn has_token(list: Option<&str>, token: &str) -> bool {
    list.is_some_and(|l| {
        l.split(',').any(|t| {
            let t = t.trim();
            let name = t.split('/').next().unwrap_or(t).trim();
            name.eq_ignore_ascii_case(token)
        })
    })
}

/// Where the next head might start in `buf`: at 0 or right after a line break, at a method or
/// `HTTP/` token. Used to step over bodies whose length is unknown.
pub fn find_head_start(buf: &[u8]) -> Option<usize> {
    let starts_head = |s: &[u8]| {
        s.starts_with(b"HTTP/")
            || s.starts_with(b"GET ")
            || s.starts_with(b"POST ")
            || s.starts_with(b"PUT ")
            || s.starts_with(b"HEAD ")
            || s.starts_with(b"OPTIONS ")
            || s.starts_with(b"DELETE ")
            || s.starts_with(b"PATCH ")
            || s.starts_with(b"CONNECT ")
    };
    if starts_head(buf) {
        return Some(0);
    }
    memchr::memchr_iter(b'\n', buf).map(|i| i + 1).find(|&i| starts_head(&buf[i..]))
}

/// Parses the head at the start of `buf`.
///
/// `Ok(None)`: the head is not complete yet. `Err(())`: this is not an HTTP head.
/// `Ok(Some((used, head)))`: the head and the bytes it took, up to and including the blank line.
#[allow(clippy::result_unit_err)]
pub fn parse_head(buf: &[u8]) -> Result<Option<(usize, Head)>, ()> {
    let mut storage = [httparse::EMPTY_HEADER; 96];
    if buf.starts_with(b"HTTP/") {
        let mut resp = httparse::Response::new(&mut storage);
        match resp.parse(buf) {
            Ok(httparse::Status::Complete(used)) => {
                let code = resp.code.unwrap_or(0);
                let reason = resp.reason.unwrap_or("");
                let response = Response {
                    code,
                    reason: Some(reason_phrase(code))
                        .filter(|usual| *usual == reason)
                        .map_or_else(|| Cow::Owned(reason.to_string()), Cow::Borrowed),
                    version: http_version(resp.version),
                    headers: collect_headers(resp.headers),
                };
                Ok(Some((used, Head::Response(response))))
            }
            Ok(httparse::Status::Partial) => Ok(None),
            Err(_) => Err(()),
        }
    } else {
        let mut req = httparse::Request::new(&mut storage);
        match req.parse(buf) {
            Ok(httparse::Status::Complete(used)) => {
                let request = Request {
                    method: method_name(req.method.unwrap_or("")),
                    uri: req.path.unwrap_or("").to_string(),
                    version: http_version(req.version),
                    headers: collect_headers(req.headers),
                };
                Ok(Some((used, Head::Request(request))))
            }
            Ok(httparse::Status::Partial) => Ok(None),
            Err(_) => Err(()),
        }
    }
}

/// The version httparse read (the minor digit of `HTTP/1.x`).
fn http_version(minor: Option<u8>) -> &'static str {
    if minor == Some(0) { "HTTP/1.0" } else { "HTTP/1.1" }
}

/// `method` as a static string when it is a usual one (as a handshake's `GET` is).
pub(crate) fn method_name(method: &str) -> Cow<'static, str> {
    const USUAL: [&str; 8] = ["GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "PATCH", "CONNECT"];
    USUAL.into_iter().find(|usual| *usual == method).map_or_else(|| Cow::Owned(method.to_string()), Cow::Borrowed)
}

/// The reason phrase usual for a status code (RFC 9110 section 15); empty for others.
pub(crate) fn reason_phrase(code: u16) -> &'static str {
    match code {
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// The headers of interest among `raw`: only their values are converted and copied, into one
/// string made once at its final size.
fn collect_headers(raw: &[httparse::Header<'_>]) -> Headers {
    let kept = || raw.iter().filter_map(|h| Field::named(h.name).map(|field| (field, h.value)));
    let size = kept().map(|(_, value)| value.len() + 2).sum();
    let mut h = Headers { values: String::with_capacity(size), ..Headers::default() };
    for (field, value) in kept() {
        // Checked first: the lossy conversion's own check is several times slower.
        let value = std::str::from_utf8(value).map_or_else(|_| String::from_utf8_lossy(value), Cow::Borrowed);
        h.take(field, &value);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_request_split_over_segments() {
        let req = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUPGRADE: WebSocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\
Sec-WebSocket-Extensions: x-foo\r\n\r\n";
        for cut in 1..req.len() {
            assert_eq!(parse_head(&req[..cut]), Ok(None), "cut at {cut}");
        }
        let Ok(Some((used, Head::Request(r)))) = parse_head(req) else { panic!() };
        assert_eq!(used, req.len());
        assert!(r.wants_websocket());
        assert_eq!(r.uri, "/chat");
        assert_eq!(r.headers.get(Header::SecWebSocketExtensions), Some("permessage-deflate, x-foo"));
    }

    #[test]
    fn test_other_upgrades_are_not_websocket() {
        for (head, ws) in [
            (&b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n"[..], false),
            (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", false),
            (b"HTTP/1.1 400 Bad Request\r\nUpgrade: websocket\r\n\r\n", false),
            (b"HTTP/1.1 101 OK\r\nupgrade: websocket\r\n\r\n", true),
        ] {
            let Ok(Some((_, Head::Response(r)))) = parse_head(head) else { panic!() };
            assert_eq!(r.is_websocket_switch(), ws, "{}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn test_repeated_headers_join_wherever_they_are() {
        let req = b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: a\r\nHost: x\r\n\
Sec-WebSocket-Protocol:  b \r\nUser-Agent: u\r\nsec-websocket-protocol: c\r\nContent-Length: 0\r\n\
Origin:\r\nOrigin: o\r\n\r\n";
        let Ok(Some((_, Head::Request(r)))) = parse_head(req) else { panic!() };
        assert_eq!(r.headers.get(Header::SecWebSocketProtocol), Some("a, b, c"));
        assert_eq!((r.headers.get(Header::Host), r.headers.get(Header::UserAgent)), (Some("x"), Some("u")));
        assert_eq!(r.headers.get(Header::Connection), None);
        // An empty value is one too.
        assert_eq!(r.headers.get(Header::Origin), Some(", o"));
        assert_eq!(r.headers.content_length, Some(0));
        // The same values added in another order are the same headers.
        let mut other = Headers::default();
        for (name, value) in [("User-Agent", "u"), ("upgrade", "websocket"), ("Sec-WebSocket-Protocol", "a, b, c")] {
            other.add(name, value);
        }
        other.add("HOST", " x ");
        other.add("Content-Length", "0");
        other.add("origin", ", o");
        assert_eq!(other, r.headers);
        assert_eq!(r.method, "GET");
        assert!(matches!(r.method, Cow::Borrowed(_)));
    }

    #[test]
    fn test_accept_key_checked_without_allocating() {
        assert!(accepts(" dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo= "));
        assert!(!accepts("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo"));
    }

    #[test]
    fn test_not_http() {
        assert_eq!(parse_head(b"\x81\x05hello"), Err(()));
        assert_eq!(find_head_start(b"body bytes\r\nHTTP/1.1 101 x"), Some(12));
    }
}
