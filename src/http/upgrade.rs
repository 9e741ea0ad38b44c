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

use std::ops::Range;

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

impl Switched {
    /// What a response switches the connection to, if it is a `101` to WebSocket or h2c.
    fn by(response: &Response) -> Option<Switched> {
        if response.is_websocket_switch() {
            Some(Switched::WebSocket)
        } else {
            response.is_h2c_switch().then_some(Switched::Http2)
        }
    }
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
        // Most heads come whole in one piece: they are read where they are, and only what must
        // wait for more bytes is copied.
        let mut waiting = std::mem::take(&mut scanner.buf);
        let input = if waiting.is_empty() {
            bytes
        } else {
            waiting.extend_from_slice(bytes);
            &waiting[..]
        };
        let (upgrade, keep) = self.scan(dir, input, meta);
        if waiting.is_empty() {
            self.dirs[dir].buf.extend_from_slice(&bytes[keep]);
        } else {
            waiting.copy_within(keep.clone(), 0);
            waiting.truncate(keep.len());
            self.dirs[dir].buf = waiting;
        }
        upgrade
    }

    /// Reads the heads in `input` (direction `dir`'s bytes from where a head may start): the
    /// upgrade, if they complete one, and the part of `input` to keep until more bytes come.
    fn scan(&mut self, dir: usize, input: &[u8], meta: M) -> (Option<Upgrade<M>>, Range<usize>) {
        let mut at = 0;
        loop {
            let Some(start) = find_head_start(&input[at..]) else {
                // Keep a tail in case a head start is split across segments.
                return (None, input.len() - (input.len() - at).min(16)..input.len());
            };
            at += start;
            let (used, head) = match parse_head(&input[at..]) {
                Ok(Some(found)) => found,
                Ok(None) if input.len() - at <= MAX_HEAD_LEN => return (None, at..input.len()),
                Ok(None) | Err(()) => {
                    at += 1;
                    continue;
                }
            };
            at += used;
            let rest = &input[at..];
            match head {
                Head::Request(req) if req.wants_websocket() => {
                    self.request = Some(Box::new(req));
                    let scanner = &mut self.dirs[dir];
                    scanner.pending = Some(Vec::new());
                    scanner.pending_bytes = 0;
                    if !rest.is_empty() {
                        self.data(dir, rest, meta);
                    }
                    return (None, 0..0);
                }
                Head::Request(req) => {
                    let body = req.headers.content_length.unwrap_or(0);
                    at += self.skip(dir, rest.len(), body);
                }
                Head::Response(response) if let Some(switched) = Switched::by(&response) => {
                    let client_pending = self.dirs[1 - dir].pending.take().unwrap_or_default();
                    let request = self.request.take().map(|r| *r).filter(|_| switched == Switched::WebSocket);
                    *self = UpgradeScanner::default();
                    let upgrade = Upgrade {
                        switched,
                        server_dir: dir,
                        request,
                        response,
                        meta,
                        server_rest: rest.to_vec(),
                        client_pending,
                    };
                    return (Some(upgrade), 0..0);
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
                    at += self.skip(dir, rest.len(), body);
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

    /// Steps over a body of `body` bytes, of which `available` have come: how many to step
    /// over now (the rest are skipped as they come).
    fn skip(&mut self, dir: usize, available: usize, body: u64) -> usize {
        if (available as u64) >= body {
            body as usize
        } else {
            self.dirs[dir].skip_body = body - available as u64;
            available
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A form posted and answered (each body cut off from its head), then an upgrade asked for
    /// and accepted, each followed by a first frame.
    const EXCHANGE: [(usize, &[u8]); 4] = [
        (0, b"POST /form HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET /"),
        (1, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.1 "),
        (0, b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n\x81\x80abcd"),
        (1, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi"),
    ];

    /// Feeds the exchange, each part in pieces cut at `cuts` (offsets into that part); the
    /// upgrade it completes.
    fn feed(cuts: [&[usize]; 4]) -> Upgrade<usize> {
        let mut http = UpgradeScanner::default();
        let mut upgrade = None;
        for ((dir, bytes), cuts) in EXCHANGE.into_iter().zip(cuts) {
            let mut from = 0;
            for &to in cuts.iter().chain([&bytes.len()]) {
                // Bytes after the piece that completes the upgrade are the caller's.
                if upgrade.is_none() {
                    upgrade = http.data(dir, &bytes[from..to], to);
                }
                from = to;
            }
        }
        upgrade.expect("the 101 completes the upgrade")
    }

    #[test]
    fn test_heads_and_bodies_read_wherever_segments_cut_them() {
        let whole = feed([&[], &[], &[], &[]]);
        assert_eq!(whole.request.as_ref().map(|r| r.uri.as_str()), Some("/chat"));
        assert_eq!(whole.client_pending, [(b"\x81\x80abcd".to_vec(), EXCHANGE[2].1.len())]);
        assert_eq!(whole.server_rest, b"\x81\x02hi");
        for (part, (_, bytes)) in EXCHANGE.iter().enumerate() {
            for cut in 1..bytes.len() {
                let mut cuts: [&[usize]; 4] = [&[], &[], &[], &[]];
                let at = [cut];
                cuts[part] = &at;
                let split = feed(cuts);
                assert_eq!(
                    (&split.request, &split.response),
                    (&whole.request, &whole.response),
                    "part {part} cut at {cut}"
                );
                let pending: Vec<u8> = split.client_pending.iter().flat_map(|(b, _)| b.clone()).collect();
                assert_eq!(pending, b"\x81\x80abcd", "part {part} cut at {cut}");
                // The 101 is whole in the first piece when it is cut among the frame's bytes.
                let head = bytes.len() - 4;
                let rest: &[u8] = if part == 3 && cut >= head { &bytes[head..cut] } else { b"\x81\x02hi" };
                assert_eq!(split.server_rest, rest, "part {part} cut at {cut}");
            }
        }
        // A byte at a time.
        let every: Vec<Vec<usize>> = EXCHANGE.iter().map(|(_, b)| (1..b.len()).collect()).collect();
        let bytewise = feed([&every[0], &every[1], &every[2], &every[3]]);
        assert_eq!((bytewise.request, bytewise.response), (whole.request, whole.response));
    }
}
