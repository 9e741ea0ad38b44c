//! HTTP/2 (RFC 9113) as far as WebSockets over it need it (RFC 8441, "Bootstrapping WebSockets
//! with HTTP/2").
//!
//! The analyzer hands a connection here when its client starts with the preface (h2c with prior
//! knowledge), after an HTTP/1.1 `Upgrade: h2c`, or when TLS's ALPN chose `h2`.
//!
//! [`Http2`] takes both directions of a connection (bytes tagged with a position, as TCP or TLS
//! deliver them) and hands up what a WebSocket layer needs: a WebSocket opened on a stream (an
//! extended `CONNECT` with `:protocol: websocket` and its 2xx response), the bytes of its DATA
//! frames in each direction, and its end (END_STREAM or RST_STREAM). Everything else on the
//! connection (other requests, PING, WINDOW_UPDATE, PRIORITY) is stepped over; header blocks of
//! every stream are still decoded, as HPACK's dynamic table depends on each of them.
//!
//! DATA payloads pass through as they arrive, without a copy; only the other frames (headers,
//! settings) are collected whole, up to [`MAX_COLLECTED_FRAME`].
//!
//! ```
//! use wsdissect::http2::{Http2, Up, PREFACE};
//! let mut h2 = Http2::new(0);
//! let mut opened = Vec::new();
//! // The server enables extended CONNECT; the client asks for a WebSocket on stream 1
//! // (":method: CONNECT", ":protocol: websocket", ":scheme: https", ":path: /chat",
//! // ":authority: a", each a literal without indexing); the server answers 200 (index 8).
//! h2.data(1, b"\0\0\x06\x04\0\0\0\0\0\0\x08\0\0\0\x01", 1, &mut |_| {});
//! let mut client = PREFACE.to_vec();
//! let block: &[u8] = b"\x00\x07:method\x07CONNECT\x00\x09:protocol\x09websocket\
//! \x00\x07:scheme\x05https\x00\x05:path\x05/chat\x00\x0a:authority\x01a";
//! client.extend_from_slice(&[0, 0, block.len() as u8, 1, 4, 0, 0, 0, 1]);
//! client.extend_from_slice(block);
//! h2.data(0, &client, 2, &mut |_| {});
//! h2.data(1, b"\0\0\x01\x01\x04\0\0\0\x01\x88", 3, &mut |up| {
//!     if let Up::Opened(o) = up {
//!         opened.push((o.stream, o.request.uri.clone(), o.response.code));
//!     }
//! });
//! assert_eq!(opened, [(1, "/chat".to_string(), 200)]);
//! ```

use std::borrow::Cow;
use std::collections::HashMap;

use loona_hpack::Decoder;

use crate::http::{Request, Response, method_name, reason_phrase};

/// The client connection preface (RFC 9113 section 3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frames other than DATA are collected whole up to this size; longer ones are stepped over.
pub const MAX_COLLECTED_FRAME: usize = 1 << 20;
/// A header block (HEADERS or PUSH_PROMISE and its CONTINUATIONs) longer than this is not
/// decoded, and the direction's HPACK state is lost with it.
const MAX_HEADER_BLOCK: usize = 1 << 20;
/// The largest HPACK dynamic table followed (a size update beyond is an HPACK error).
const MAX_TABLE_SIZE: usize = 1 << 20;
/// Bytes a client may send on a CONNECT stream before the response, kept for the WebSocket.
const MAX_PENDING: usize = 1 << 20;
/// Streams followed at once per connection; beyond, new requests other than WebSockets are
/// not followed.
const MAX_STREAMS: usize = 4096;

const FRAME_HEADER_LEN: usize = 9;
/// Bytes kept while searching for a frame header after a hole.
const MAX_RESYNC: usize = 64 * 1024;
/// SETTINGS_MAX_FRAME_SIZE until a peer says otherwise.
const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;
/// The largest SETTINGS_MAX_FRAME_SIZE allowed.
const MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// HTTP/2 frame types (RFC 9113 section 6).
pub mod frame_type {
    /// DATA.
    pub const DATA: u8 = 0x0;
    /// HEADERS.
    pub const HEADERS: u8 = 0x1;
    /// PRIORITY.
    pub const PRIORITY: u8 = 0x2;
    /// RST_STREAM.
    pub const RST_STREAM: u8 = 0x3;
    /// SETTINGS.
    pub const SETTINGS: u8 = 0x4;
    /// PUSH_PROMISE.
    pub const PUSH_PROMISE: u8 = 0x5;
    /// PING.
    pub const PING: u8 = 0x6;
    /// GOAWAY.
    pub const GOAWAY: u8 = 0x7;
    /// WINDOW_UPDATE.
    pub const WINDOW_UPDATE: u8 = 0x8;
    /// CONTINUATION.
    pub const CONTINUATION: u8 = 0x9;
}

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;
/// RFC 8441 section 3.
const SETTINGS_ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

/// What breaks RFC 8441 or RFC 9113 where it concerns WebSockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// An extended CONNECT before the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441
    /// section 4).
    ConnectNotEnabled,
    /// An extended CONNECT without `:scheme`, `:path` or `:authority` (RFC 8441 section 4).
    MissingPseudoHeader,
    /// DATA on a stream that is closed, or was never opened (RFC 9113 section 5.1).
    DataOnClosedStream,
    /// A header block HPACK cannot decode: the direction's later headers cannot be trusted, and
    /// are no longer read.
    Hpack,
    /// A frame longer than its receiver's SETTINGS_MAX_FRAME_SIZE (RFC 9113 section 4.2).
    FrameTooLong,
    /// The client's first bytes are not the connection preface.
    BadPreface,
}

impl Problem {
    /// What the problem is, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Problem::ConnectNotEnabled => {
                "extended CONNECT before the server enabled it (SETTINGS_ENABLE_CONNECT_PROTOCOL)"
            }
            Problem::MissingPseudoHeader => "extended CONNECT without :scheme, :path or :authority",
            Problem::DataOnClosedStream => "DATA on a closed or idle stream",
            Problem::Hpack => "HPACK decoding error: later headers of this direction are not read",
            Problem::FrameTooLong => "frame longer than SETTINGS_MAX_FRAME_SIZE",
            Problem::BadPreface => "the client's first bytes are not the HTTP/2 connection preface",
        }
    }
}

/// An extended CONNECT for a WebSocket and its final response.
#[derive(Debug, Clone)]
pub struct Opening<M> {
    /// The stream id.
    pub stream: u32,
    /// The CONNECT as an HTTP request: `:method`, `:path` as the URI, `:authority` as the host,
    /// `:protocol` as the upgrade.
    pub request: Request,
    /// The response: `:status` and the headers.
    pub response: Response,
    /// Every header field of the request, then of the response, as decoded.
    pub fields: Vec<(String, String)>,
    /// Where the response's header block ended.
    pub meta: M,
    /// What was wrong with the CONNECT.
    pub problems: Vec<Problem>,
}

/// What [`Http2`] hands up.
#[derive(Debug)]
pub enum Up<'a, M> {
    /// The server accepted a WebSocket (2xx): the stream carries frames from here. Bytes the
    /// client sent before the response follow as [`Up::Data`].
    Opened(Box<Opening<M>>),
    /// The server refused a WebSocket (a final status other than 2xx); the stream is not
    /// followed.
    Refused(Box<Opening<M>>),
    /// Bytes of a WebSocket stream's DATA frames, in the order sent.
    Data {
        /// The stream id.
        stream: u32,
        /// Sent by the client.
        from_client: bool,
        /// The bytes.
        bytes: &'a [u8],
        /// Where they came.
        meta: M,
        /// The length of the DATA frame they came in.
        frame_len: u32,
    },
    /// A WebSocket stream's side ended: END_STREAM from `from_client`'s side, or RST_STREAM
    /// (`reset`: both sides end).
    End {
        /// The stream id.
        stream: u32,
        /// The side that ended (for a reset, the side that sent it).
        from_client: bool,
        /// RST_STREAM rather than END_STREAM.
        reset: bool,
        /// Where.
        meta: M,
    },
    /// `len` bytes of a WebSocket stream's DATA were lost.
    Gap {
        /// The stream id.
        stream: u32,
        /// The side whose bytes were lost.
        from_client: bool,
        /// How many.
        len: u64,
        /// Where the hole ended.
        meta: M,
    },
    /// Bytes of a direction were lost where its frame boundaries go with them: every WebSocket
    /// stream of that direction has lost an unknown number of bytes. The next frame header is
    /// searched for (unless the preface was lost: then nothing more is read).
    Lost {
        /// The direction: the client's.
        from_client: bool,
        /// Where.
        meta: M,
    },
    /// Something breaks the protocol.
    Problem {
        /// What.
        problem: Problem,
        /// On which stream (0: the connection).
        stream: u32,
        /// Where.
        meta: M,
    },
}

/// What is known of a stream.
#[derive(Debug)]
enum Stream<M> {
    /// An extended CONNECT for a WebSocket, waiting for its response.
    Connecting {
        opening: Box<Opening<M>>,
        /// DATA before the response: bytes, where, and their DATA frame's length.
        pending: Vec<(Vec<u8>, M, u32)>,
        pending_bytes: usize,
        client_ended: bool,
    },
    /// A WebSocket: its sides not ended yet.
    WebSocket { ended: [bool; 2] },
    /// Anything else: followed only to know when it is closed.
    Other { ended: [bool; 2] },
    /// Reset: frames still in flight are stepped over.
    Reset,
}

/// Where a direction is within its frames.
#[derive(Debug)]
enum Body {
    /// Between frames (the header, possibly in part, is in `Reader::head`).
    Header,
    /// A DATA frame's payload, passed through as it comes.
    Data { stream: u32, len: u32, end_stream: bool, pad_length_next: bool, data_left: u32, pad_left: u32 },
    /// Another frame, collected whole.
    Collect { kind: u8, flags: u8, stream: u32, len: usize, buf: Vec<u8> },
    /// A frame stepped over.
    Skip { left: u32 },
    /// After a hole that took a frame header: bytes kept while the next frame header is
    /// searched for.
    Resync { buf: Vec<u8> },
}

/// A header block being collected across CONTINUATION frames.
#[derive(Debug)]
struct Block {
    stream: u32,
    end_stream: bool,
    /// PUSH_PROMISE: decoded for HPACK's sake, not used.
    promise: bool,
    buf: Vec<u8>,
}

/// One direction's frames.
struct Reader {
    from_client: bool,
    /// Preface bytes still to come (the client's direction).
    preface_left: usize,
    head: [u8; FRAME_HEADER_LEN],
    head_len: usize,
    body: Body,
    block: Option<Block>,
    hpack: Decoder<'static>,
    /// An HPACK error was seen: later blocks are not decoded.
    hpack_broken: bool,
    /// Bytes were lost: nothing more is read.
    lost: bool,
    /// The largest frame this direction may send: its receiver's SETTINGS_MAX_FRAME_SIZE.
    max_frame: u32,
    /// Joined late: the first frame header is still to be found (not after a hole).
    joining: bool,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("from_client", &self.from_client)
            .field("lost", &self.lost)
            .finish_non_exhaustive()
    }
}

impl Reader {
    fn new(from_client: bool) -> Self {
        let mut hpack = Decoder::new();
        hpack.set_max_allowed_table_size(MAX_TABLE_SIZE);
        Reader {
            from_client,
            preface_left: if from_client { PREFACE.len() } else { 0 },
            head: [0; FRAME_HEADER_LEN],
            head_len: 0,
            body: Body::Header,
            block: None,
            hpack,
            hpack_broken: false,
            lost: false,
            max_frame: DEFAULT_MAX_FRAME_SIZE,
            joining: false,
        }
    }
}

/// Counters of a connection, for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct Http2Counts {
    /// Streams other than WebSockets (requests, pushes).
    pub other_streams: u64,
    /// Frame headers found again after holes.
    pub resyncs: u64,
}

/// Both directions of an HTTP/2 connection.
#[derive(Debug)]
pub struct Http2<M> {
    /// Indexed by direction as fed.
    readers: [Reader; 2],
    streams: HashMap<u32, Stream<M>>,
    /// The server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    connect_enabled: bool,
    /// Per direction, while it looks for a frame header: where each delivery ends in the bytes
    /// kept, and its packet (the bytes are handed on with their own packets once found).
    resync_ends: [Vec<(usize, M)>; 2],
    /// The capture joined the connection after it began ([`Http2::joined_late`]).
    late: bool,
    /// Counters, for the summary.
    pub counts: Http2Counts,
}

impl<M: Copy> Http2<M> {
    /// A connection whose client sends in direction `client_dir` (0 or 1); the client's bytes
    /// start with the connection preface.
    pub fn new(client_dir: usize) -> Self {
        let readers = if client_dir == 0 {
            [Reader::new(true), Reader::new(false)]
        } else {
            [Reader::new(false), Reader::new(true)]
        };
        Http2 {
            readers,
            streams: HashMap::new(),
            connect_enabled: false,
            resync_ends: [Vec::new(), Vec::new()],
            late: false,
            counts: Http2Counts::default(),
        }
    }

    /// A connection the capture joined after it began, its client (as far as is known) sending
    /// in direction `client_dir`. Each direction looks for a frame header first, as after a
    /// hole; header blocks are not decoded (HPACK's dynamic table is not known), and the DATA of
    /// every stream not seen opening is handed up as [`Up::Data`]: the streams opened before
    /// the capture, which may be WebSockets.
    pub fn joined_late(client_dir: usize) -> Self {
        let mut h2 = Self::new(client_dir);
        h2.late = true;
        for r in &mut h2.readers {
            r.preface_left = 0;
            r.body = Body::Resync { buf: Vec::new() };
            r.hpack_broken = true;
            // Whatever the peers have agreed is not known.
            r.max_frame = MAX_FRAME_SIZE;
            r.joining = true;
        }
        h2
    }

    /// The connection came from an HTTP/1.1 `Upgrade: h2c`: the request that asked for it is
    /// stream 1, which the client has ended (RFC 7540 section 3.2); its response
    /// comes on that stream.
    pub fn upgraded_from_http1(&mut self) {
        self.counts.other_streams += 1;
        self.streams.insert(1, Stream::Other { ended: [true, false] });
    }

    /// Bytes of direction `dir`.
    pub fn data(&mut self, dir: usize, mut bytes: &[u8], meta: M, up: &mut impl FnMut(Up<'_, M>)) {
        while !bytes.is_empty() {
            let r = &mut self.readers[dir];
            if r.lost {
                return;
            }
            if r.preface_left > 0 {
                let at = PREFACE.len() - r.preface_left;
                let n = r.preface_left.min(bytes.len());
                if bytes[..n] != PREFACE[at..at + n] {
                    r.lost = true;
                    up(Up::Problem { problem: Problem::BadPreface, stream: 0, meta });
                    up(Up::Lost { from_client: true, meta });
                    return;
                }
                r.preface_left -= n;
                bytes = &bytes[n..];
                continue;
            }
            let used = match r.body {
                Body::Header => {
                    let n = (FRAME_HEADER_LEN - r.head_len).min(bytes.len());
                    r.head[r.head_len..r.head_len + n].copy_from_slice(&bytes[..n]);
                    r.head_len += n;
                    if r.head_len == FRAME_HEADER_LEN {
                        r.head_len = 0;
                        self.frame_header(dir, meta, up);
                    }
                    n
                }
                Body::Data { .. } => self.data_payload(dir, bytes, meta, up),
                Body::Collect { .. } => self.collect(dir, bytes, meta, up),
                Body::Resync { .. } => self.resync(dir, bytes, meta, up),
                Body::Skip { ref mut left } => {
                    let n = (*left as usize).min(bytes.len());
                    *left -= n as u32;
                    if *left == 0 {
                        r.body = Body::Header;
                    }
                    n
                }
            };
            bytes = &bytes[used..];
        }
    }

    /// `len` bytes of direction `dir` were lost (`u64::MAX`: how many is not known). Inside
    /// a DATA frame's payload, the frame's stream loses them and reading goes on after them; a
    /// frame other than DATA is stepped over (a header block with it, and HPACK's state); a
    /// hole that takes a frame header, or of unknown length, makes the direction search for
    /// the next frame header ([`Up::Lost`]).
    pub fn gap(&mut self, dir: usize, len: u64, meta: M, up: &mut impl FnMut(Up<'_, M>)) {
        let mut left = len;
        while left > 0 {
            let r = &mut self.readers[dir];
            if r.lost {
                return;
            }
            let from_client = r.from_client;
            match &mut r.body {
                Body::Resync { buf } => {
                    buf.clear();
                    self.resync_ends[dir].clear();
                    return;
                }
                Body::Header if r.preface_left > 0 => {
                    r.lost = true;
                    return up(Up::Lost { from_client, meta });
                }
                Body::Data { pad_length_next: true, .. } | Body::Header => {
                    // Where the next frame starts is not known (a header, or a pad length,
                    // was lost).
                    r.body = Body::Resync { buf: Vec::new() };
                    r.head_len = 0;
                    return up(Up::Lost { from_client, meta });
                }
                Body::Data { .. } if left == u64::MAX => {
                    r.body = Body::Resync { buf: Vec::new() };
                    return up(Up::Lost { from_client, meta });
                }
                Body::Data { stream, data_left, pad_left, .. } => {
                    let stream = *stream;
                    let data = left.min(u64::from(*data_left));
                    *data_left -= data as u32;
                    let pad = (left - data).min(u64::from(*pad_left));
                    *pad_left -= pad as u32;
                    left -= data + pad;
                    if data > 0 && matches!(self.streams.get(&stream), Some(Stream::WebSocket { .. })) {
                        up(Up::Gap { stream, from_client, len: data, meta });
                    }
                    // The rest (END_STREAM included) as for bytes that came.
                    self.data_payload(dir, &[], meta, up);
                }
                Body::Collect { kind, len: frame_len, buf, stream, .. } => {
                    if matches!(*kind, frame_type::HEADERS | frame_type::CONTINUATION | frame_type::PUSH_PROMISE) {
                        r.hpack_broken = true;
                        r.block = None;
                        up(Up::Problem { problem: Problem::Hpack, stream: *stream, meta });
                    }
                    let rest = (*frame_len - buf.len()) as u32;
                    r.body = Body::Skip { left: rest };
                }
                Body::Skip { left: skip } => {
                    let n = left.min(u64::from(*skip));
                    *skip -= n as u32;
                    left -= n;
                    if *skip == 0 {
                        r.body = Body::Header;
                    }
                }
            }
        }
    }

    /// A frame header is complete in `readers[dir].head`.
    fn frame_header(&mut self, dir: usize, meta: M, up: &mut impl FnMut(Up<'_, M>)) {
        let r = &mut self.readers[dir];
        let h = r.head;
        let len = u32::from_be_bytes([0, h[0], h[1], h[2]]);
        let (kind, flags) = (h[3], h[4]);
        let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
        if len > r.max_frame {
            up(Up::Problem { problem: Problem::FrameTooLong, stream, meta });
        }
        r.body = match kind {
            frame_type::DATA => Body::Data {
                stream,
                len,
                end_stream: flags & END_STREAM != 0,
                // A padded frame too short for its pad length byte is read as unpadded.
                pad_length_next: flags & PADDED != 0 && len > 0,
                data_left: len,
                pad_left: 0,
            },
            frame_type::HEADERS
            | frame_type::CONTINUATION
            | frame_type::SETTINGS
            | frame_type::RST_STREAM
            | frame_type::PUSH_PROMISE
                if (len as usize) <= MAX_COLLECTED_FRAME =>
            {
                // Grown as bytes come, not to what the header claims.
                Body::Collect {
                    kind,
                    flags,
                    stream,
                    len: len as usize,
                    buf: Vec::with_capacity((len as usize).min(1 << 14)),
                }
            }
            frame_type::HEADERS | frame_type::CONTINUATION | frame_type::PUSH_PROMISE => {
                // A header block this long is not decoded; HPACK's state goes with it.
                r.hpack_broken = true;
                r.block = None;
                up(Up::Problem { problem: Problem::Hpack, stream, meta });
                Body::Skip { left: len }
            }
            _ => Body::Skip { left: len },
        };
        if len == 0 {
            // Nothing more will come for it: acted on now.
            match r.body {
                Body::Data { .. } => {
                    self.data_payload(dir, &[], meta, up);
                }
                Body::Collect { .. } => {
                    self.collect(dir, &[], meta, up);
                }
                _ => r.body = Body::Header,
            }
        }
    }

    /// Bytes after a hole: kept until a frame header is found (one whose fields make sense
    /// where it is, followed by another such header), then read from there on.
    fn resync(&mut self, dir: usize, bytes: &[u8], meta: M, up: &mut impl FnMut(Up<'_, M>)) -> usize {
        let Body::Resync { buf } = &mut self.readers[dir].body else { return 0 };
        buf.extend_from_slice(bytes);
        let mut buf = std::mem::take(buf);
        let mut ends = std::mem::take(&mut self.resync_ends[dir]);
        ends.push((buf.len(), meta));
        let mut found = None;
        let mut keep_from = buf.len().saturating_sub(FRAME_HEADER_LEN - 1);
        for at in 0..buf.len().saturating_sub(FRAME_HEADER_LEN - 1) {
            let Some(len) = self.plausible_header(dir, &buf[at..]) else { continue };
            let next = at + FRAME_HEADER_LEN + len as usize;
            if next + FRAME_HEADER_LEN > buf.len() {
                // Not confirmed yet: wait for the bytes of the header that should follow.
                keep_from = at;
                break;
            }
            if self.plausible_header(dir, &buf[next..]).is_some() {
                found = Some(at);
                break;
            }
        }
        match found {
            Some(at) => {
                let r = &mut self.readers[dir];
                r.body = Body::Header;
                if !std::mem::take(&mut r.joining) {
                    self.counts.resyncs += 1;
                }
                let mut start = at;
                for (end, meta) in ends {
                    if end > start {
                        self.data(dir, &buf[start..end], meta, up);
                        start = end;
                    }
                }
            }
            None => {
                let mut drop = keep_from;
                if buf.len() - drop > MAX_RESYNC {
                    drop = buf.len() - MAX_RESYNC / 2;
                }
                buf.drain(..drop);
                ends.retain_mut(|(end, _)| {
                    *end = end.saturating_sub(drop);
                    *end > 0
                });
                self.readers[dir].body = Body::Resync { buf };
                self.resync_ends[dir] = ends;
            }
        }
        bytes.len()
    }

    /// The payload length of the frame header at the start of `bytes`, if its fields make sense
    /// for direction `dir` now: a type known and not CONTINUATION (a header block cannot be
    /// picked up in its middle), flags and length that type allows, the reserved bit clear, a
    /// stream id the type allows and, for DATA, a stream that is open.
    fn plausible_header(&self, dir: usize, bytes: &[u8]) -> Option<u32> {
        let r = &self.readers[dir];
        let len = plausible_fields(bytes, r.max_frame, Some(r.from_client))?;
        let stream = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
        let data_on_unknown = bytes[3] == frame_type::DATA && !self.streams.contains_key(&stream) && !self.late;
        (!data_on_unknown).then_some(len)
    }

    /// Collects a frame's payload; acts on the frame once it is whole. Returns how many of
    /// `bytes` it used.
    fn collect(&mut self, dir: usize, bytes: &[u8], meta: M, up: &mut impl FnMut(Up<'_, M>)) -> usize {
        let r = &mut self.readers[dir];
        let Body::Collect { len, buf, .. } = &mut r.body else { return 0 };
        let n = (*len - buf.len()).min(bytes.len());
        buf.extend_from_slice(&bytes[..n]);
        if buf.len() == *len
            && let Body::Collect { kind, flags, stream, buf, .. } = std::mem::replace(&mut r.body, Body::Header)
        {
            self.frame(dir, kind, flags, stream, &buf, meta, up);
        }
        n
    }

    /// Passes a DATA frame's payload bytes through; returns how many of `bytes` it used.
    fn data_payload(&mut self, dir: usize, bytes: &[u8], meta: M, up: &mut impl FnMut(Up<'_, M>)) -> usize {
        let from_client = self.readers[dir].from_client;
        let Body::Data { stream, len, end_stream, pad_length_next, data_left, pad_left } = &mut self.readers[dir].body
        else {
            return 0;
        };
        let (stream, frame_len) = (*stream, *len);
        let mut used = 0;
        if *pad_length_next {
            let Some(&pad) = bytes.first() else { return 0 };
            *pad_length_next = false;
            used = 1;
            *data_left -= 1;
            *pad_left = u32::from(pad).min(*data_left);
            *data_left -= *pad_left;
        }
        let n = (*data_left as usize).min(bytes.len() - used);
        *data_left -= n as u32;
        let data = &bytes[used..used + n];
        used += n;
        let p = (*pad_left as usize).min(bytes.len() - used);
        *pad_left -= p as u32;
        used += p;
        let done = *data_left == 0 && *pad_left == 0 && !*pad_length_next;
        let ends = done && *end_stream;
        if done {
            self.readers[dir].body = Body::Header;
        }
        if !data.is_empty() || done {
            self.stream_data(stream, from_client, (data, frame_len), ends, meta, up);
        }
        used
    }

    /// DATA for `stream`: handed up for a WebSocket, kept for one still connecting.
    fn stream_data(
        &mut self,
        stream: u32,
        from_client: bool,
        (data, frame_len): (&[u8], u32),
        ends: bool,
        meta: M,
        up: &mut impl FnMut(Up<'_, M>),
    ) {
        let side = usize::from(!from_client);
        if self.late && !self.streams.contains_key(&stream) && self.streams.len() < MAX_STREAMS {
            // Opened before the capture: handed up, for what is above to tell what it is.
            self.streams.insert(stream, Stream::WebSocket { ended: [false; 2] });
        }
        match self.streams.get_mut(&stream) {
            Some(Stream::WebSocket { ended }) if ended[side] => {
                // After END_STREAM: the side is closed (RFC 9113 section 5.1).
                if !data.is_empty() {
                    up(Up::Problem { problem: Problem::DataOnClosedStream, stream, meta });
                }
            }
            Some(Stream::WebSocket { ended }) => {
                if !data.is_empty() {
                    up(Up::Data { stream, from_client, bytes: data, meta, frame_len });
                }
                if ends {
                    ended[side] = true;
                    up(Up::End { stream, from_client, reset: false, meta });
                }
            }
            Some(Stream::Connecting { pending, pending_bytes, client_ended, .. }) if from_client => {
                if !data.is_empty() && *pending_bytes + data.len() <= MAX_PENDING {
                    *pending_bytes += data.len();
                    pending.push((data.to_vec(), meta, frame_len));
                }
                *client_ended |= ends;
            }
            Some(Stream::Other { ended }) => ended[side] |= ends,
            Some(Stream::Connecting { .. } | Stream::Reset) => {}
            None => {
                if !data.is_empty() && self.streams.len() < MAX_STREAMS {
                    up(Up::Problem { problem: Problem::DataOnClosedStream, stream, meta });
                }
            }
        }
        self.forget_if_closed(stream);
    }

    /// A frame other than DATA, whole.
    #[allow(clippy::too_many_arguments)]
    fn frame(
        &mut self,
        dir: usize,
        kind: u8,
        flags: u8,
        stream: u32,
        payload: &[u8],
        meta: M,
        up: &mut impl FnMut(Up<'_, M>),
    ) {
        let from_client = self.readers[dir].from_client;
        match kind {
            frame_type::HEADERS | frame_type::PUSH_PROMISE => {
                let Some(fragment) = header_fragment(kind, flags, payload) else { return };
                let block = Block {
                    stream,
                    end_stream: kind == frame_type::HEADERS && flags & END_STREAM != 0,
                    promise: kind == frame_type::PUSH_PROMISE,
                    buf: fragment.to_vec(),
                };
                self.readers[dir].block = Some(block);
                if flags & END_HEADERS != 0 {
                    self.header_block(dir, meta, up);
                }
            }
            frame_type::CONTINUATION => {
                let r = &mut self.readers[dir];
                let Some(block) = r.block.as_mut().filter(|b| b.stream == stream) else { return };
                if block.buf.len() + payload.len() > MAX_HEADER_BLOCK {
                    r.block = None;
                    r.hpack_broken = true;
                    up(Up::Problem { problem: Problem::Hpack, stream, meta });
                    return;
                }
                block.buf.extend_from_slice(payload);
                if flags & END_HEADERS != 0 {
                    self.header_block(dir, meta, up);
                }
            }
            frame_type::SETTINGS if flags & ACK == 0 => {
                for setting in payload.chunks_exact(6) {
                    let id = u16::from_be_bytes([setting[0], setting[1]]);
                    let value = u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]);
                    match id {
                        // Frames towards the sender may be this long.
                        SETTINGS_MAX_FRAME_SIZE => self.readers[1 - dir].max_frame = value,
                        // The sender decodes with a table this large: the other side's encoder
                        // may grow its table up to it.
                        SETTINGS_HEADER_TABLE_SIZE => {
                            self.readers[1 - dir].hpack.set_max_allowed_table_size((value as usize).min(MAX_TABLE_SIZE))
                        }
                        SETTINGS_ENABLE_CONNECT_PROTOCOL if !from_client => self.connect_enabled = value == 1,
                        _ => {}
                    }
                }
            }
            frame_type::RST_STREAM => match self.streams.remove(&stream) {
                Some(Stream::WebSocket { .. }) => {
                    up(Up::End { stream, from_client, reset: true, meta });
                    self.remember_reset(stream);
                }
                Some(_) => self.remember_reset(stream),
                None => {}
            },
            _ => {}
        }
    }

    /// A header block is complete in `readers[dir].block`: decoded, then acted on.
    fn header_block(&mut self, dir: usize, meta: M, up: &mut impl FnMut(Up<'_, M>)) {
        let r = &mut self.readers[dir];
        let Some(block) = r.block.take() else { return };
        if r.hpack_broken {
            return;
        }
        let Some(fields) = decode_fields(&mut r.hpack, &block.buf) else {
            r.hpack_broken = true;
            up(Up::Problem { problem: Problem::Hpack, stream: block.stream, meta });
            return;
        };
        if block.promise {
            return;
        }
        if r.from_client {
            self.request(block.stream, fields, block.end_stream, meta, up);
        } else {
            self.response(block.stream, fields, block.end_stream, meta, up);
        }
    }

    /// The client's headers on `stream`: a new request (or trailers).
    fn request(
        &mut self,
        stream: u32,
        fields: Vec<(String, String)>,
        end_stream: bool,
        meta: M,
        up: &mut impl FnMut(Up<'_, M>),
    ) {
        match self.streams.get(&stream) {
            Some(Stream::WebSocket { .. } | Stream::Other { .. }) => {
                return self.headers_on_open_stream(stream, true, end_stream, meta, up);
            }
            Some(Stream::Connecting { .. } | Stream::Reset) => return,
            None => {}
        }
        let pseudo = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let websocket = pseudo(":method") == Some("CONNECT")
            && pseudo(":protocol").is_some_and(|p| p.eq_ignore_ascii_case("websocket"));
        if !websocket {
            if self.streams.len() < MAX_STREAMS {
                self.counts.other_streams += 1;
                self.streams.insert(stream, Stream::Other { ended: [end_stream, false] });
            }
            return;
        }
        let mut problems = Vec::new();
        if !self.connect_enabled {
            problems.push(Problem::ConnectNotEnabled);
        }
        if [":scheme", ":path", ":authority"].iter().any(|p| pseudo(p).is_none()) {
            problems.push(Problem::MissingPseudoHeader);
        }
        for &problem in &problems {
            up(Up::Problem { problem, stream, meta });
        }
        let request = request_of(&fields);
        let opening = Box::new(Opening { stream, request, response: Response::default(), fields, meta, problems });
        self.streams.insert(
            stream,
            Stream::Connecting { opening, pending: Vec::new(), pending_bytes: 0, client_ended: end_stream },
        );
    }

    /// The server's headers on `stream`: the response to a CONNECT opens or refuses a WebSocket.
    fn response(
        &mut self,
        stream: u32,
        fields: Vec<(String, String)>,
        end_stream: bool,
        meta: M,
        up: &mut impl FnMut(Up<'_, M>),
    ) {
        let status = fields.iter().find(|(n, _)| n == ":status").and_then(|(_, v)| v.parse::<u16>().ok());
        match self.streams.get(&stream) {
            Some(Stream::Connecting { .. }) if status.is_some_and(|s| s >= 200) => {}
            Some(Stream::WebSocket { .. } | Stream::Other { .. }) => {
                return self.headers_on_open_stream(stream, false, end_stream, meta, up);
            }
            // Informational (1xx), or not a stream the client opened.
            _ => return,
        }
        let Some(Stream::Connecting { mut opening, pending, client_ended, .. }) = self.streams.remove(&stream) else {
            return;
        };
        opening.response = response_of(&fields);
        opening.fields.extend(fields);
        opening.meta = meta;
        if (200..300).contains(&opening.response.code) {
            self.streams.insert(stream, Stream::WebSocket { ended: [client_ended, end_stream] });
            up(Up::Opened(opening));
            for (bytes, m, frame_len) in pending {
                up(Up::Data { stream, from_client: true, bytes: &bytes, meta: m, frame_len });
            }
            if client_ended {
                up(Up::End { stream, from_client: true, reset: false, meta });
            }
            if end_stream {
                up(Up::End { stream, from_client: false, reset: false, meta });
            }
            self.forget_if_closed(stream);
        } else {
            self.streams.insert(stream, Stream::Other { ended: [client_ended, end_stream] });
            self.forget_if_closed(stream);
            up(Up::Refused(opening));
        }
    }

    /// Headers on a stream already open (trailers, or a response's after its first block):
    /// END_STREAM on them ends that side.
    fn headers_on_open_stream(
        &mut self,
        stream: u32,
        from_client: bool,
        end_stream: bool,
        meta: M,
        up: &mut impl FnMut(Up<'_, M>),
    ) {
        let Some(Stream::WebSocket { ended } | Stream::Other { ended }) = self.streams.get_mut(&stream) else { return };
        ended[usize::from(!from_client)] |= end_stream;
        if end_stream && matches!(self.streams.get(&stream), Some(Stream::WebSocket { .. })) {
            up(Up::End { stream, from_client, reset: false, meta });
        }
        self.forget_if_closed(stream);
    }

    /// Keeps a reset stream known, so that DATA still in flight on it is not taken for DATA on
    /// a closed stream.
    fn remember_reset(&mut self, stream: u32) {
        if self.streams.len() < MAX_STREAMS {
            self.streams.insert(stream, Stream::Reset);
        }
    }

    /// Forgets a stream both sides have ended.
    fn forget_if_closed(&mut self, stream: u32) {
        if let Some(Stream::WebSocket { ended: [true, true] } | Stream::Other { ended: [true, true] }) =
            self.streams.get(&stream)
        {
            self.streams.remove(&stream);
        }
    }
}

/// The payload length of the frame header at the start of `bytes`, if its fields make sense on
/// their own: a type known and not CONTINUATION (a header block cannot be picked up in its
/// middle), flags and length that type allows, at most `max_frame`, the reserved bit clear, and
/// a stream id the type allows. `from_client`: the sender, if known (only a server pushes).
fn plausible_fields(bytes: &[u8], max_frame: u32, from_client: Option<bool>) -> Option<u32> {
    let h = bytes.get(..FRAME_HEADER_LEN)?;
    let len = u32::from_be_bytes([0, h[0], h[1], h[2]]);
    let (kind, flags) = (h[3], h[4]);
    let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
    let ok = stream >> 31 == 0
        && len <= max_frame
        && match kind {
            frame_type::DATA => stream != 0 && flags & !(END_STREAM | PADDED) == 0,
            frame_type::HEADERS => stream != 0 && flags & !(END_STREAM | END_HEADERS | PADDED | PRIORITY) == 0,
            frame_type::PRIORITY => stream != 0 && len == 5 && flags == 0,
            frame_type::RST_STREAM => stream != 0 && len == 4 && flags == 0,
            frame_type::SETTINGS => stream == 0 && len.is_multiple_of(6) && flags & !ACK == 0,
            frame_type::PUSH_PROMISE => {
                from_client != Some(true) && stream != 0 && flags & !(END_HEADERS | PADDED) == 0
            }
            frame_type::PING => stream == 0 && len == 8 && flags & !ACK == 0,
            frame_type::GOAWAY => stream == 0 && len >= 8 && flags == 0,
            frame_type::WINDOW_UPDATE => len == 4 && flags == 0,
            _ => false,
        };
    ok.then_some(len)
}

/// Where `bytes` hold `count` HTTP/2 frames one after the other (each header where the
/// previous frame ends, each of the default size at most): `Ok` with the first frame's offset,
/// or `Err` with how many bytes start no such run (whatever bytes come next). For a
/// connection the capture joined late.
pub fn find_frames(bytes: &[u8], count: usize) -> Result<usize, usize> {
    let mut at = 0;
    'start: while at + FRAME_HEADER_LEN <= bytes.len() {
        let mut next = at;
        for _ in 0..count {
            let Some(header) = bytes.get(next..next + FRAME_HEADER_LEN) else { return Err(at) };
            let Some(len) = plausible_fields(header, DEFAULT_MAX_FRAME_SIZE, None) else {
                at += 1;
                continue 'start;
            };
            next += FRAME_HEADER_LEN + len as usize;
        }
        return Ok(at);
    }
    Err(at)
}

/// Whether bytes start with a SETTINGS frame on stream 0, as a server's first bytes do (its
/// connection preface).
pub fn looks_like_settings(bytes: &[u8]) -> bool {
    bytes.len() >= FRAME_HEADER_LEN
        && bytes[3] == frame_type::SETTINGS
        && bytes[4] == 0
        && bytes[5..9] == [0; 4]
        && u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]).is_multiple_of(6)
}

/// The header fields of a whole header block, names and values as text (bytes that are not
/// UTF-8 replaced); `None` when HPACK cannot decode it.
fn decode_fields(hpack: &mut Decoder<'static>, block: &[u8]) -> Option<Vec<(String, String)>> {
    let mut fields = Vec::new();
    hpack
        .decode_with_cb(block, |name: Cow<'_, [u8]>, value: Cow<'_, [u8]>| {
            fields.push((String::from_utf8_lossy(&name).into_owned(), String::from_utf8_lossy(&value).into_owned()))
        })
        .ok()?;
    Some(fields)
}

/// The header block fragment of a HEADERS or PUSH_PROMISE frame: without its padding, priority
/// or promised stream id. `None` when the frame is too short for what its flags announce.
fn header_fragment(kind: u8, flags: u8, payload: &[u8]) -> Option<&[u8]> {
    let mut p = payload;
    let mut pad = 0;
    if flags & PADDED != 0 {
        pad = usize::from(*p.first()?);
        p = &p[1..];
    }
    let skip = match kind {
        frame_type::HEADERS if flags & PRIORITY != 0 => 5,
        frame_type::PUSH_PROMISE => 4,
        _ => 0,
    };
    let end = p.len().checked_sub(pad)?;
    p.get(skip..end)
}

/// The request an extended CONNECT stands for.
fn request_of(fields: &[(String, String)]) -> Request {
    let mut request = Request { version: "HTTP/2", ..Request::default() };
    for (name, value) in fields {
        match name.as_str() {
            ":method" => request.method = method_name(value),
            ":path" => request.uri = value.clone(),
            ":authority" => request.headers.add("host", value),
            ":protocol" => request.headers.add("upgrade", value),
            _ => request.headers.add(name, value),
        }
    }
    request
}

/// The response its header fields stand for; HTTP/2 has no reason phrase, so the usual one for
/// the status is given.
fn response_of(fields: &[(String, String)]) -> Response {
    let mut response = Response { version: "HTTP/2", ..Response::default() };
    for (name, value) in fields {
        match name.as_str() {
            ":status" => response.code = value.parse().unwrap_or(0),
            _ => response.headers.add(name, value),
        }
    }
    response.reason = Cow::Borrowed(reason_phrase(response.code));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    /// RFC 7541 appendix C.3 (literals) and C.4 (the same requests, Huffman-coded): three
    /// requests on one connection, each indexing into the table the ones before filled.
    #[test]
    fn test_hpack_rfc7541_c3_c4_requests() {
        let first = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")];
        let second = [&first[..], &[("cache-control", "no-cache")]].concat();
        let third = [
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ];
        for blocks in [
            [
                "828684410f7777772e6578616d706c652e636f6d",
                "828684be58086e6f2d6361636865",
                "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
            ],
            [
                "828684418cf1e3c2e5f23a6ba0ab90f4ff",
                "828684be5886a8eb10649cbf",
                "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
            ],
        ] {
            let mut hpack = Reader::new(true).hpack;
            for (block, want) in blocks.iter().zip([&first[..], &second[..], &third[..]]) {
                assert_eq!(decode_fields(&mut hpack, &hex(block)), Some(fields(want)), "{block}");
            }
        }
    }

    /// RFC 7541 appendix C.6: responses, Huffman-coded, with a 256-byte table, so that entries
    /// are evicted from one response to the next.
    #[test]
    fn test_hpack_rfc7541_c6_responses_with_eviction() {
        let mut hpack = Reader::new(false).hpack;
        hpack.set_max_table_size(256);
        let blocks = [
            "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
            "4883640effc1c0bf",
            "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
        ];
        let date = "Mon, 21 Oct 2013 20:13:21 GMT";
        let location = ("location", "https://www.example.com");
        let want = [
            fields(&[(":status", "302"), ("cache-control", "private"), ("date", date), location]),
            fields(&[(":status", "307"), ("cache-control", "private"), ("date", date), location]),
            fields(&[
                (":status", "200"),
                ("cache-control", "private"),
                ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
                location,
                ("content-encoding", "gzip"),
                ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
            ]),
        ];
        for (block, want) in blocks.iter().zip(want) {
            assert_eq!(decode_fields(&mut hpack, &hex(block)), Some(want), "{block}");
        }
    }

    #[test]
    fn test_hpack_errors_are_reported_not_panics() {
        let mut hpack = Reader::new(true).hpack;
        // Index 70 with an empty dynamic table; a string longer than the block; a Huffman
        // string with the EOS symbol; a table size update past the allowed maximum.
        for block in ["c6", "0f", "4005ffffffffff", "3fe1ff7f"] {
            assert_eq!(decode_fields(&mut hpack, &hex(block)), None, "{block}");
        }
    }

    /// The server's SETTINGS enabling extended CONNECT.
    const ENABLE_CONNECT: &[u8] = b"\0\0\x06\x04\0\0\0\0\0\0\x08\0\0\0\x01";
    /// The server's 200 (HPACK static entry 8) on stream 1.
    const OK_ON_STREAM_1: &[u8] = b"\0\0\x01\x01\x04\0\0\0\x01\x88";

    /// The client's preface and a CONNECT for a WebSocket on stream 1 (HPACK literals).
    fn websocket_request() -> Vec<u8> {
        let block = b"\x00\x07:method\x07CONNECT\x00\x09:protocol\x09websocket\x00\x07:scheme\x04http\x00\x05:path\x01/\x00\x0a:authority\x01a";
        let mut request = PREFACE.to_vec();
        request.extend_from_slice(&[0, 0, block.len() as u8, 1, 4, 0, 0, 0, 1]);
        request.extend_from_slice(block);
        request
    }

    /// Frames split at every byte give the same WebSocket bytes as frames whole: the preface,
    /// the CONNECT's HEADERS and padded DATA cut anywhere.
    #[test]
    fn test_frames_split_anywhere() {
        let request = websocket_request();
        // A padded DATA frame (pad length 3), then one with END_STREAM.
        let mut data = vec![0, 0, 9, 0, PADDED, 0, 0, 0, 1, 3, b'h', b'e', b'l', b'l', b'o', 0, 0, 0];
        data.extend_from_slice(&[0, 0, 2, 0, END_STREAM, 0, 0, 0, 1, b'!', b'!']);
        // (direction, bytes): the request, the server's response, then the DATA; the request
        // (at 0) or the DATA (at 2) is cut in two.
        let whole: [(usize, &[u8]); 3] = [(0, &request), (1, OK_ON_STREAM_1), (0, &data)];
        for at in [0, 2] {
            for cut in 1..whole[at].1.len() {
                let (a, b) = whole[at].1.split_at(cut);
                let mut pieces = whole.to_vec();
                pieces.splice(at..=at, [(0, a), (0, b)]);
                let mut h2 = Http2::new(0);
                let (mut opened, mut seen, mut ended) = (0, Vec::new(), false);
                let mut on_up = |up: Up<'_, u64>| match up {
                    Up::Opened(_) => opened += 1,
                    Up::Data { bytes, .. } => seen.extend_from_slice(bytes),
                    Up::End { from_client: true, reset: false, .. } => ended = true,
                    other => panic!("{other:?}"),
                };
                h2.data(1, ENABLE_CONNECT, 0, &mut on_up);
                for (i, (dir, bytes)) in pieces.into_iter().enumerate() {
                    h2.data(dir, bytes, i as u64, &mut on_up);
                }
                assert_eq!((opened, &seen[..], ended), (1, &b"hello!!"[..], true), "{at} cut at {cut}");
            }
        }
    }

    /// A hole that takes a whole DATA frame, header and all: reading picks up at the next
    /// frame header, and the stream is told it lost bytes.
    #[test]
    fn test_joined_late_hands_up_streams_opened_before() {
        let data = |stream: u8, text: &[u8]| [&[0, 0, text.len() as u8, 0, 0, 0, 0, 0, stream][..], text].concat();
        let window_update = [0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        // Joined inside a DATA frame: its end, then whole frames.
        let stream =
            [&data(3, b"lost")[11..], &data(3, b"one "), &window_update, &data(5, b"x"), &data(3, b"two")].concat();
        assert_eq!(find_frames(&stream, 4), Ok(2));
        // The fourth header not whole yet: the first may still start a run.
        assert_eq!(find_frames(&stream[..40], 4), Err(2));
        assert_eq!(find_frames(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 4), Err(19));
        let mut h2 = Http2::joined_late(0);
        let mut seen: Vec<(u32, bool, Vec<u8>, u64)> = Vec::new();
        let mut on_up = |up: Up<'_, u64>| {
            if let Up::Data { stream, from_client, bytes, meta, .. } = up {
                seen.push((stream, from_client, bytes.to_vec(), meta));
            }
        };
        h2.data(0, &stream[..20], 1, &mut on_up);
        h2.data(0, &stream[20..], 2, &mut on_up);
        let want = [(3, true, b"one ".to_vec(), 1), (5, true, b"x".to_vec(), 2), (3, true, b"two".to_vec(), 2)];
        assert_eq!(seen, want);
    }

    #[test]
    fn test_frame_header_lost_then_found() {
        let data = |text: &[u8]| [&[0, 0, text.len() as u8, 0, 0, 0, 0, 0, 1][..], text].concat();
        let mut h2 = Http2::new(0);
        let (mut seen, mut lost) = (Vec::new(), 0);
        let mut on_up = |up: Up<'_, u64>| match up {
            Up::Data { bytes, .. } => seen.extend_from_slice(bytes),
            Up::Lost { from_client: true, .. } => lost += 1,
            _ => {}
        };
        h2.data(1, ENABLE_CONNECT, 0, &mut on_up);
        h2.data(0, &websocket_request(), 1, &mut on_up);
        h2.data(1, OK_ON_STREAM_1, 2, &mut on_up);
        h2.data(0, &data(b"one "), 3, &mut on_up);
        h2.gap(0, data(b"two ").len() as u64, 4, &mut on_up);
        h2.data(0, &[data(b"three "), data(b"four")].concat(), 5, &mut on_up);
        assert_eq!((&seen[..], lost), (&b"one three four"[..], 1));
        assert_eq!(h2.counts.resyncs, 1);
    }
}
