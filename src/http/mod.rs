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

use base64::Engine;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 appends to Sec-WebSocket-Key before hashing.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Heads longer than this are not handshakes (and are not buffered further).
pub const MAX_HEAD_LEN: usize = 64 * 1024;

/// The expected Sec-WebSocket-Accept for a Sec-WebSocket-Key.
pub fn accept_key(key: &str) -> String {
    let digest = Sha1::new().chain_update(key.trim().as_bytes()).chain_update(WEBSOCKET_GUID).finalize();
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Headers of either head that matter to a WebSocket handshake, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// `Host` (`http.host`).
    pub host: Option<String>,
    /// `Origin` (`http.origin`).
    pub origin: Option<String>,
    /// `User-Agent` (`http.user_agent`).
    pub user_agent: Option<String>,
    /// `Upgrade` (`http.upgrade`).
    pub upgrade: Option<String>,
    /// `Connection` (`http.connection`).
    pub connection: Option<String>,
    /// `Sec-WebSocket-Key`.
    pub sec_websocket_key: Option<String>,
    /// `Sec-WebSocket-Accept`.
    pub sec_websocket_accept: Option<String>,
    /// `Sec-WebSocket-Version`.
    pub sec_websocket_version: Option<String>,
    /// `Sec-WebSocket-Protocol` (offered in a request, chosen in a response).
    pub sec_websocket_protocol: Option<String>,
    /// `Sec-WebSocket-Extensions` (offered in a request, accepted in a response).
    pub sec_websocket_extensions: Option<String>,
    /// `Content-Length`, to step over bodies of other HTTP messages.
    pub content_length: Option<u64>,
}

/// A request head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Method (`GET` for a WebSocket handshake).
    pub method: String,
    /// Request target (`http.request.uri`).
    pub uri: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Headers of interest.
    pub headers: Headers,
}

/// A response head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// Status code (`http.response.code`).
    pub code: u16,
    /// Reason phrase.
    pub reason: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Headers of interest.
    pub headers: Headers,
}

impl Request {
    /// Whether this request asks to switch to WebSocket.
    pub fn wants_websocket(&self) -> bool {
        has_token(self.headers.upgrade.as_deref(), "websocket")
    }
}

impl Response {
    /// A `101 Switching Protocols` whose `Upgrade` names WebSocket: the stream now carries frames.
    pub fn is_websocket_switch(&self) -> bool {
        self.code == 101 && has_token(self.headers.upgrade.as_deref(), "websocket")
    }

    /// A `101 Switching Protocols` to HTTP/2 in the clear (`Upgrade: h2c`).
    pub fn is_h2c_switch(&self) -> bool {
        self.code == 101 && has_token(self.headers.upgrade.as_deref(), "h2c")
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
                let response = Response {
                    code: resp.code.unwrap_or(0),
                    reason: resp.reason.unwrap_or("").to_string(),
                    version: http_version(resp.version).to_string(),
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
                    method: req.method.unwrap_or("").to_string(),
                    uri: req.path.unwrap_or("").to_string(),
                    version: http_version(req.version).to_string(),
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

/// The headers of interest among `raw`: only their values are converted and copied.
fn collect_headers(raw: &[httparse::Header<'_>]) -> Headers {
    let mut h = Headers::default();
    for header in raw {
        if let Some(field) = h.field(header.name) {
            match std::str::from_utf8(header.value) {
                Ok(value) => field.take(value),
                Err(_) => field.take(&String::from_utf8_lossy(header.value)),
            }
        }
    }
    h
}

/// Where a header of interest goes.
enum Field<'a> {
    Text(&'a mut Option<String>),
    ContentLength(&'a mut Option<u64>),
}

impl Field<'_> {
    /// Takes the header's value, without the whitespace around it (RFC 9110 5.5).
    fn take(self, value: &str) {
        let value = value.trim_ascii();
        match self {
            Field::ContentLength(length) => *length = value.parse().ok(),
            // Repeated headers are one comma-separated list (RFC 9110 5.3).
            Field::Text(Some(existing)) => {
                existing.push_str(", ");
                existing.push_str(value);
            }
            Field::Text(slot) => *slot = Some(value.to_string()),
        }
    }
}

impl Headers {
    /// Takes one header field (name in any case) if it is one of interest.
    pub fn add(&mut self, name: &str, value: &str) {
        if let Some(field) = self.field(name) {
            field.take(value);
        }
    }

    /// The field for header `name` (in any case), if it is one of interest. Lowercased on the
    /// stack: a handshake has a dozen headers, and thousands of connections open at once.
    fn field(&mut self, name: &str) -> Option<Field<'_>> {
        // No name of interest is longer.
        let mut lower = [0u8; 24];
        let lower = lower.get_mut(..name.len())?;
        lower.copy_from_slice(name.as_bytes());
        lower.make_ascii_lowercase();
        let slot = match &*lower {
            b"host" => &mut self.host,
            b"origin" | b"sec-websocket-origin" => &mut self.origin,
            b"user-agent" => &mut self.user_agent,
            b"upgrade" => &mut self.upgrade,
            b"connection" => &mut self.connection,
            b"sec-websocket-key" => &mut self.sec_websocket_key,
            b"sec-websocket-accept" => &mut self.sec_websocket_accept,
            b"sec-websocket-version" => &mut self.sec_websocket_version,
            b"sec-websocket-protocol" => &mut self.sec_websocket_protocol,
            b"sec-websocket-extensions" => &mut self.sec_websocket_extensions,
            b"content-length" => return Some(Field::ContentLength(&mut self.content_length)),
            _ => return None,
        };
        Some(Field::Text(slot))
    }
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
        assert_eq!(r.headers.sec_websocket_extensions.as_deref(), Some("permessage-deflate, x-foo"));
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
    fn test_not_http() {
        assert_eq!(parse_head(b"\x81\x05hello"), Err(()));
        assert_eq!(find_head_start(b"body bytes\r\nHTTP/1.1 101 x"), Some(12));
    }
}
