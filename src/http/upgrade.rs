//! HTTP/1.1 in both directions of a connection, followed until a WebSocket upgrade is
//! accepted (or an upgrade to HTTP/2, `h2c`): heads are found and read, bodies stepped over,
//! and what the client sends after its upgrade request waits for the response (a refused
//! upgrade makes it plain HTTP again).
//!
//! [`UpgradeScanner`] takes each direction's bytes (tagged with whatever position the caller
//! uses, a packet for wsdissect) and says when the server accepted, handing back what followed
//! the `101` on both sides: the first WebSocket bytes.
//!
//! ```
//! use wsdissect::http::upgrade::UpgradeScanner;
//! let mut http = UpgradeScanner::default();
//! let request = b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//! Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x80abcd";
//! assert!(http.data(0, request, 1).is_none());
//! let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00";
//! let upgrade = http.data(1, response, 2).unwrap();
//! assert_eq!((upgrade.server_dir, upgrade.meta, &upgrade.server_rest[..]), (1, 2, &b"\x81\x00"[..]));
//! assert_eq!(upgrade.client_pending, [(b"\x81\x80abcd".to_vec(), 1)]);
//! ```

use super::{Head, MAX_HEAD_LEN, Request, Response, find_head_start, parse_head};

/// Bytes a client may send after its upgrade request before the response is seen.
const MAX_PENDING: usize = 1024 * 1024;

/// One direction's HTTP head scanner.
#[derive(Debug)]
struct HeadScanner<M> {
    buf: Vec<u8>,
    /// Body bytes of the last message still to step over.
    skip_body: u64,
    /// Set after a WebSocket upgrade request: bytes wait here for the response.
    pending: Option<Vec<(Vec<u8>, M)>>,
    pending_bytes: usize,
}

impl<M> Default for HeadScanner<M> {
    fn default() -> Self {
        HeadScanner { buf: Vec::new(), skip_body: 0, pending: None, pending_bytes: 0 }
    }
}

/// What the connection switched to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switched {
    /// WebSocket (RFC 6455).
    WebSocket,
    /// HTTP/2 (`Upgrade: h2c`, RFC 7540 section 3.2): the client's connection preface follows.
    Http2,
}

/// An upgrade the server accepted.
#[derive(Debug)]
pub struct Upgrade<M> {
    /// To what.
    pub switched: Switched,
    /// The direction (as fed) the server's bytes come in.
    pub server_dir: usize,
    /// The upgrade request, when it was seen.
    pub request: Option<Request>,
    /// The `101` response.
    pub response: Response,
    /// Where the response head ended.
    pub meta: M,
    /// The server's bytes after the response head: its first frames.
    pub server_rest: Vec<u8>,
    /// The client's bytes after its request, as they came: its first frames.
    pub client_pending: Vec<(Vec<u8>, M)>,
}

/// Both directions' HTTP, until the upgrade.
#[derive(Debug)]
pub struct UpgradeScanner<M> {
    dirs: [HeadScanner<M>; 2],
    /// The last request that asked for WebSocket.
    request: Option<Box<Request>>,
}

impl<M> Default for UpgradeScanner<M> {
    fn default() -> Self {
        UpgradeScanner { dirs: Default::default(), request: None }
    }
}

impl<M: Copy> UpgradeScanner<M> {
    /// Bytes of direction `dir` (0 or 1); the upgrade, when these bytes complete a `101`.
    pub fn data(&mut self, dir: usize, bytes: &[u8], meta: M) -> Option<Upgrade<M>> {
        let scanner = &mut self.dirs[dir];
        if let Some(pending) = scanner.pending.as_mut() {
            if scanner.pending_bytes + bytes.len() <= MAX_PENDING {
                scanner.pending_bytes += bytes.len();
                pending.push((bytes.to_vec(), meta));
            }
            return None;
        }
        let mut bytes = bytes;
        if scanner.skip_body > 0 {
            let n = (bytes.len() as u64).min(scanner.skip_body) as usize;
            scanner.skip_body -= n as u64;
            bytes = &bytes[n..];
        }
        scanner.buf.extend_from_slice(bytes);
        loop {
            let scanner = &mut self.dirs[dir];
            let Some(start) = find_head_start(&scanner.buf) else {
                // Keep a tail in case a head start is split across segments.
                let keep = scanner.buf.len().min(16);
                scanner.buf.drain(..scanner.buf.len() - keep);
                return None;
            };
            scanner.buf.drain(..start);
            let (used, head) = match parse_head(&scanner.buf) {
                Ok(Some(found)) => found,
                Ok(None) if scanner.buf.len() <= MAX_HEAD_LEN => return None,
                Ok(None) | Err(()) => {
                    scanner.buf.drain(..1);
                    continue;
                }
            };
            let rest = scanner.buf.split_off(used);
            scanner.buf.clear();
            match head {
                Head::Request(req) if req.wants_websocket() => {
                    self.request = Some(Box::new(req));
                    let scanner = &mut self.dirs[dir];
                    scanner.pending = Some(Vec::new());
                    scanner.pending_bytes = 0;
                    if !rest.is_empty() {
                        self.data(dir, &rest, meta);
                    }
                    return None;
                }
                Head::Request(req) => {
                    let body = req.headers.content_length.unwrap_or(0);
                    self.dirs[dir].buf = self.skip(dir, rest, body);
                }
                Head::Response(response) if response.is_websocket_switch() || response.is_h2c_switch() => {
                    let client_pending = self.dirs[1 - dir].pending.take().unwrap_or_default();
                    let switched = if response.is_h2c_switch() { Switched::Http2 } else { Switched::WebSocket };
                    let request = self.request.take().map(|r| *r).filter(|_| switched == Switched::WebSocket);
                    *self = UpgradeScanner::default();
                    return Some(Upgrade {
                        switched,
                        server_dir: dir,
                        request,
                        response,
                        meta,
                        server_rest: rest,
                        client_pending,
                    });
                }
                Head::Response(resp) => {
                    let other = 1 - dir;
                    if resp.code >= 200 {
                        // A refused upgrade: what the client sent since is plain HTTP again.
                        if let Some(pending) = self.dirs[other].pending.take() {
                            for (bytes, m) in pending {
                                self.data(other, &bytes, m);
                            }
                        }
                    }
                    let body = if resp.code < 200 || resp.code == 204 || resp.code == 304 {
                        0
                    } else {
                        resp.headers.content_length.unwrap_or(0)
                    };
                    self.dirs[dir].buf = self.skip(dir, rest, body);
                }
            }
        }
    }

    /// Bytes of direction `dir` were lost: a head cut by the hole cannot be trusted, so the
    /// scanner looks for the next one.
    pub fn gap(&mut self, dir: usize) {
        let scanner = &mut self.dirs[dir];
        scanner.buf.clear();
        scanner.skip_body = 0;
        if let Some(pending) = scanner.pending.as_mut() {
            pending.clear();
        }
    }

    /// Steps over `body` bytes of `rest`; what follows the body stays to be scanned.
    fn skip(&mut self, dir: usize, rest: Vec<u8>, body: u64) -> Vec<u8> {
        if (rest.len() as u64) >= body {
            rest[body as usize..].to_vec()
        } else {
            self.dirs[dir].skip_body = body - rest.len() as u64;
            Vec::new()
        }
    }
}
