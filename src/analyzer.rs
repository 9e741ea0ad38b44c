//! The pipeline from records to frames and messages. Its first half (here) decodes TCP, finds
//! the connection, reassembles each direction, decrypts TLS when the connection is TLS
//! ([`crate::tls`]), follows the HTTP upgrade and decodes WebSocket frames; its second half (`analyzer::stage`) joins, inflates and checks messages and hands
//! each frame to the [`Output`]. The halves run on one thread, or on two through
//! `analyzer::batch` ([`Dissector::run_parallel`](crate::Dissector::run_parallel)).
//!
//! ```
//! use wsdissect::analyzer::{Analyzer, Config};
//! use wsdissect::capture::CaptureReader;
//! let bytes = std::fs::read("testdata/crafted/reorder.pcap").unwrap();
//! let mut reader = CaptureReader::new(&bytes[..]).unwrap();
//! let mut analyzer = Analyzer::new(Config::default());
//! let mut texts = Vec::new();
//! let mut on_frame = |f: &wsdissect::analyzer::Frame<'_>| texts.push(String::from_utf8_lossy(f.payload).into_owned());
//! while let Some(record) = reader.next_record().unwrap() {
//!     analyzer.packet(&record, &mut on_frame);
//! }
//! analyzer.finish(&mut on_frame);
//! assert!(!texts.is_empty());
//! ```

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Arc;

use crate::capture::Record;
use crate::flow::analysis::{AnalysisFlags, SegmentFacts, TcpAnalysis};
use crate::flow::reassembler::{Delivery, Reassembler, ReassemblyStats};
use crate::http::upgrade::{Switched, Upgrade, UpgradeScanner};
use crate::http::{self, Header, Request, Response};
use crate::http2::{self, Http2, Opening, Up};
use crate::net::{self, Skip, TcpSegment};
use crate::tls::keylog::KeyLog;
use crate::tls::{self, Problem, RecordMeta, TlsContext, TlsInfo, TlsSession, Upward};
use crate::ws::detect::Run;
use crate::ws::expert::{Expert, ExpertKind};
use crate::ws::extensions::DeflateParams;
use crate::ws::frame::FrameHeader;
use crate::ws::message::{Limits, Message};
use crate::ws::stream::{Cut, DecodedFrame, FrameDecoder, PacketNumber};

pub(crate) mod batch;
mod midstream;
pub(crate) mod stage;

use midstream::{MidStream, Verdict};
use stage::{ByKey, Direct, FrameSink, MessageStage};

/// Settings of the pipeline.
#[derive(Debug, Clone)]
pub struct Config {
    /// Out-of-order bytes buffered per direction before a hole is given up.
    pub reassembly_limit: usize,
    /// Payload bytes kept per frame and per message (the rest is streamed past). With 0, no
    /// payload is kept: messages are followed by shape only and not inflated.
    pub payload_cap: usize,
    /// Inflated bytes per compressed message: inflating stops there.
    pub inflate_cap: usize,
    /// Inflated bytes per compressed byte beyond which (past 1 MiB) inflating stops.
    pub inflate_ratio: u32,
    /// Ports treated as WebSocket without a handshake (`-d tcp.port==N,websocket`); the side
    /// using the port is the server.
    pub decode_as_ports: Vec<u16>,
    /// TCP connections followed at once; beyond, the least recently active are closed (their
    /// unfinished frames reported cut) and forgotten.
    pub max_connections: usize,
    /// TLS secrets (`--keylog`); secrets found inside the capture are added as it is read.
    pub keylog: KeyLog,
    /// Connections the capture joined after their start are looked at for WebSocket frames
    /// (off with `--no-heuristics`).
    pub heuristics: bool,
    /// Read each packet's link, IP and TCP header values (`eth.*`, `ip.ttl`, `tcp.flags`, ...);
    /// off when nothing shows them, which saves a tenth of the work on small packets.
    pub packet_headers: bool,
    /// Join frames into messages and check them ([`Frame::message`], [`Frame::expert`]). Off
    /// when nothing reads either (a run that shows only header fields): frames then come
    /// without them, and only where messages begin and end is followed, for the counts in
    /// [`Stats`]. With thousands of connections open, each direction's assembler is a cache
    /// miss on every frame, and without them a `-T fields` run of 10,000 compressed connections
    /// takes 8% fewer instructions and 11 MB less memory.
    pub messages: bool,
}

impl Config {
    /// What a message may cost.
    pub(crate) fn limits(&self) -> Limits {
        Limits { max_message: self.payload_cap, max_inflated: self.inflate_cap, max_ratio: self.inflate_ratio }
    }
}

impl Default for Config {
    fn default() -> Self {
        let limits = Limits::default();
        Config {
            reassembly_limit: 4 * 1024 * 1024,
            payload_cap: limits.max_message,
            inflate_cap: limits.max_inflated,
            inflate_ratio: limits.max_ratio,
            decode_as_ports: Vec::new(),
            max_connections: 100_000,
            keylog: KeyLog::default(),
            heuristics: true,
            packet_headers: true,
            messages: true,
        }
    }
}

/// Facts about one packet that output needs (`frame.*` and the TCP line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketMeta {
    /// `frame.number`: 1-based index in the file.
    pub number: u64,
    /// Capture time, nanoseconds since the epoch.
    pub ts_nanos: i64,
    /// `frame.len`: bytes on the wire.
    pub len: u32,
    /// `frame.cap_len`: bytes captured.
    pub caplen: u32,
    /// Raw TCP sequence number.
    pub seq: u32,
    /// Raw TCP acknowledgement number.
    pub ack: u32,
    /// TCP payload length (`tcp.len`).
    pub tcp_len: u32,
    /// On a TLS connection: the record whose decrypted bytes these are (the one that ended in
    /// this packet).
    pub record: Option<RecordMeta>,
    /// Over HTTP/2: the length of the DATA frame these bytes came in (`http2.length`).
    pub http2_data_len: Option<std::num::NonZeroU32>,
    /// Over HTTP/2: a breach seen on the connection since the stream's last frame (an HPACK
    /// error, DATA after END_STREAM), reported on the frame these bytes end.
    pub http2_problem: Option<ExpertKind>,
    /// The file of a capture set it came from (`frame.file`), 0 when reading one capture.
    pub file: u16,
    /// The pcapng interface that captured it (`frame.interface_id`).
    pub interface_id: Option<u32>,
    /// Time since the packet captured before it (`frame.time_delta`), nanoseconds.
    pub delta_nanos: i64,
    /// Its link, IP and TCP header values (`eth.*`, `ip.*`, `tcp.flags`, ...).
    pub headers: net::Headers,
    /// tshark's sequence analysis of it (`tcp.analysis.*`), made with the header values.
    pub tcp_analysis: AnalysisFlags,
}

impl PacketNumber for PacketMeta {
    fn packet_number(&self) -> u64 {
        self.number
    }
}

/// An address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// IPv4 or IPv6 address.
    pub ip: IpAddr,
    /// TCP port.
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// The opening handshake of a connection as seen in the capture.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    /// The client's upgrade request, when captured.
    pub request: Option<Request>,
    /// The server's `101` response.
    pub response: Response,
    /// Packet that carried the end of the response head.
    pub response_packet: u64,
    /// Whether Sec-WebSocket-Accept matches the request's key (None without both headers).
    pub accept_valid: Option<bool>,
    /// Over HTTP/2: every header field of the CONNECT, then of its response, as decoded.
    pub http2_fields: Vec<(String, String)>,
}

/// How a connection came to be treated as WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An HTTP upgrade handshake was seen.
    Handshake,
    /// `-d tcp.port==N,websocket`.
    DecodeAs,
    /// Its frames, the capture having joined the connection after its handshake
    /// ([`crate::ws::detect`]).
    Heuristic,
}

/// What is known about a WebSocket connection; every frame of it refers to this. Its
/// [`key`](ConnectionInfo::key) first (`repr(C)`): every packet reads it.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct ConnectionInfo {
    /// `tcp.stream`: connections numbered by first packet, from 0.
    pub stream: u32,
    /// The HTTP/2 stream carrying the WebSocket (RFC 8441); `None` over HTTP/1.1.
    pub http2_stream: Option<u32>,
    /// The side that opened the WebSocket (sent the upgrade request).
    pub client: Endpoint,
    /// The other side.
    pub server: Endpoint,
    /// How the connection was recognised.
    pub origin: Origin,
    /// The handshake, when seen: behind a pointer (most connections in a capture are not
    /// WebSocket), shared by the copies of these details the two threads keep, as it does not
    /// change once seen.
    pub handshake: Option<Arc<Handshake>>,
    /// The permessage-deflate parameters the server accepted (`websocket.pmc` applies).
    pub deflate: Option<DeflateParams>,
    /// Relative sequence numbers: the initial sequence number of each side (client, server).
    pub isn: [Option<u32>; 2],
    /// The window scale shift of each side (client, server), as tshark applies it
    /// ([`crate::flow::analysis::window_scale`]): unknown until its own SYN is seen.
    /// `tcp.window_size`.
    pub window_shift: [Option<u8>; 2],
    /// `frame.number` of the connection's first packet.
    pub first_packet: u64,
    /// TLS, when the connection is (boxed: most connections are not).
    pub tls: Option<Box<TlsInfo>>,
    /// "client → server" and "server → client", formatted once for the summary lines.
    pub arrows: std::cell::OnceCell<[String; 2]>,
}

impl ConnectionInfo {
    /// `"src → dst"` for a frame sent by the client (or the server), formatted once; over
    /// HTTP/2 followed by the stream, `[h2 stream 3]`.
    pub fn arrow(&self, from_client: bool) -> &str {
        let arrows = self.arrows.get_or_init(|| {
            let stream = self.http2_stream.map_or(String::new(), |id| format!(" [h2 stream {id}]"));
            [format!("{} → {}{stream}", self.client, self.server), format!("{} → {}{stream}", self.server, self.client)]
        });
        &arrows[usize::from(!from_client)]
    }

    /// Identifies the WebSocket among all of the capture's: its TCP stream, and its HTTP/2
    /// stream when it has one.
    pub fn key(&self) -> u64 {
        (u64::from(self.stream) << 32) | u64::from(self.http2_stream.unwrap_or(0))
    }

    /// A packet's sequence and acknowledgement numbers relative to the initial sequence numbers
    /// of its sender and receiver, as Wireshark shows them.
    pub fn relative(&self, from_client: bool, p: PacketMeta) -> (u32, u32) {
        let [sender, receiver] = if from_client { self.isn } else { [self.isn[1], self.isn[0]] };
        (sender.map_or(p.seq, |isn| p.seq.wrapping_sub(isn)), receiver.map_or(p.ack, |isn| p.ack.wrapping_sub(isn)))
    }
}

/// A WebSocket frame with everything output and filters need.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// The packet carrying the frame's last byte.
    pub packet: PacketMeta,
    /// `frame.number` of the packet carrying the frame's first byte.
    pub first_packet: u64,
    /// Its connection.
    pub connection: &'a ConnectionInfo,
    /// Sent by the client.
    pub from_client: bool,
    /// The header.
    pub header: FrameHeader,
    /// The payload, unmasked, up to the configured cap.
    pub payload: &'a [u8],
    /// How many payload bytes the capture carried.
    pub payload_seen: u64,
    /// Set when the frame is incomplete.
    pub cut: Option<Cut>,
    /// The message this frame completes (every control frame completes one).
    pub message: Option<Message<'a>>,
    /// What is wrong with the frame, or with the message it completes.
    pub expert: &'a [Expert],
}

/// The packet where a connection switched to WebSocket (the server's `101` response).
#[derive(Debug, Clone, Copy)]
pub struct HandshakeEvent<'a> {
    /// The packet carrying the end of the response head.
    pub packet: PacketMeta,
    /// The connection, with its handshake.
    pub connection: &'a ConnectionInfo,
    /// What is wrong with the handshake.
    pub expert: &'a [Expert],
}

/// Where the analyzer reports what it finds. Any `FnMut(&Frame)` closure is one that takes
/// frames and ignores handshakes.
pub trait Output {
    /// A WebSocket frame.
    fn frame(&mut self, frame: &Frame<'_>);
    /// A connection switched to WebSocket; called before the frames that follow in the packet.
    fn handshake(&mut self, _handshake: &HandshakeEvent<'_>) {}
    /// Whether nothing more is wanted (a count reached, a closed pipe): reading stops.
    fn done(&self) -> bool {
        false
    }
    /// The first record was read: `ctx` holds what fields relative to the capture need.
    fn capture_start(&mut self, _ctx: &crate::fields::Context) {}
}

impl<F: FnMut(&Frame<'_>)> Output for F {
    fn frame(&mut self, frame: &Frame<'_>) {
        self(frame)
    }
}

impl Frame<'_> {
    /// Sender.
    pub fn src(&self) -> Endpoint {
        if self.from_client { self.connection.client } else { self.connection.server }
    }

    /// Receiver.
    pub fn dst(&self) -> Endpoint {
        if self.from_client { self.connection.server } else { self.connection.client }
    }

    /// Whether `payload` holds the whole payload.
    pub fn payload_complete(&self) -> bool {
        self.cut.is_none() && self.payload.len() as u64 == self.header.payload_len
    }

    /// TCP sequence number relative to the sender's initial one, as Wireshark shows it.
    pub fn relative_seq(&self) -> u32 {
        self.connection.relative(self.from_client, self.packet).0
    }

    /// TCP acknowledgement number relative to the receiver's initial sequence number.
    pub fn relative_ack(&self) -> u32 {
        self.connection.relative(self.from_client, self.packet).1
    }
}

/// Counters over the whole capture, for the summary at the end.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Records read.
    pub packets: u64,
    /// TCP segments decoded.
    pub tcp_packets: u64,
    /// Records of link types not decoded, by link type.
    pub unsupported_links: Vec<(u32, u64)>,
    /// Records that are not IP.
    pub not_ip: u64,
    /// IP packets that are not TCP.
    pub not_tcp: u64,
    /// IP fragments (not reassembled).
    pub ip_fragments: u64,
    /// Records whose headers could not be decoded.
    pub malformed: u64,
    /// First packet number of each kind of malformed record.
    pub first_malformed: Option<u64>,
    /// TCP connections seen.
    pub connections: u64,
    /// Connections forgotten at the `max_connections` limit.
    pub evicted: u64,
    /// Connections carrying WebSocket.
    pub websocket_connections: u64,
    /// WebSocket frames decoded.
    pub frames: u64,
    /// Messages completed.
    pub messages: u64,
    /// Messages begun and never ended when their connection (or HTTP/2 stream) ended: cut
    /// short by the end of the capture, a closed connection, or RST_STREAM.
    pub unfinished_messages: u64,
    /// The one on the connection that came first: its [`ConnectionInfo::key`] (`tcp.stream` in
    /// the high 32 bits, the HTTP/2 stream in the low).
    pub first_unfinished: Option<u64>,
    /// Frames whose payload was longer than the payload limit (the rest was not kept).
    pub payload_limit_hits: u64,
    /// Messages whose inflating stopped at the inflate size limit.
    pub inflate_limit_hits: u64,
    /// Messages whose inflating stopped at the inflate ratio limit.
    pub inflate_ratio_hits: u64,
    /// Frames reported as cut.
    pub cut_frames: u64,
    /// Bytes skipped while resynchronising after gaps.
    pub resync_skipped: u64,
    /// Connections taken as WebSocket from their frames, the capture holding no handshake.
    pub heuristic_connections: u64,
    /// Their compressed messages not inflated: they may refer to bytes sent before the capture.
    pub history_before_capture: u64,
    /// Sum of every direction's reassembly counters.
    pub reassembly: ReassemblyStats,
    /// TLS connections and how their decryption went.
    pub tls: TlsStats,
    /// HTTP/2 connections and their WebSockets.
    pub http2: Http2Stats,
}

/// HTTP/2 over the whole capture, for the summary at the end.
#[derive(Debug, Default, Clone)]
pub struct Http2Stats {
    /// Connections read as HTTP/2.
    pub connections: u64,
    /// WebSockets opened on their streams (RFC 8441).
    pub websockets: u64,
    /// Streams other than WebSockets, stepped over.
    pub other_streams: u64,
    /// Frame headers found again after holes that took one.
    pub resyncs: u64,
    /// Refused WebSockets: (`tcp.stream`, stream id, path, status, packet), the first few.
    pub refused: Vec<(u32, u32, String, u16, u64)>,
    /// Refused WebSockets in all.
    pub refused_count: u64,
    /// Breaches of RFC 9113 or RFC 8441: (problem, `tcp.stream`, stream id, packet), the first
    /// few.
    pub problems: Vec<(http2::Problem, u32, u32, u64)>,
    /// Breaches in all.
    pub problem_count: u64,
}

/// Refusals and problems named in [`Http2Stats`].
const NAMED_HTTP2: usize = 10;

/// TLS over the whole capture, for the summary at the end.
#[derive(Debug, Default, Clone)]
pub struct TlsStats {
    /// Connections whose bytes are TLS records.
    pub connections: u64,
    /// Of them, those with at least one record decrypted.
    pub decrypted: u64,
    /// Records decrypted.
    pub records_decrypted: u64,
    /// Protected records not decrypted (no key, unsupported, failed).
    pub records_undecrypted: u64,
    /// Records that failed their integrity check.
    pub failed_records: u64,
    /// Connections that negotiated HTTP/2 by ALPN.
    pub http2: u64,
    /// Connections with records left undecrypted, by the reason, with the first few of each.
    pub undecrypted: Vec<(Problem, u64, Vec<TlsConnectionSummary>)>,
}

/// Connections named per reason in [`TlsStats::undecrypted`].
const NAMED_PER_PROBLEM: usize = 3;

/// A TLS connection, as the end-of-run summary names it.
#[derive(Debug, Clone)]
pub struct TlsConnectionSummary {
    /// `tcp.stream`.
    pub stream: u32,
    /// The side that sent the ClientHello (or opened the TCP connection).
    pub client: Endpoint,
    /// The other side.
    pub server: Endpoint,
    /// The SNI of its ClientHello.
    pub server_name: Option<String>,
}

impl TlsStats {
    /// Counts a TLS connection that has ended.
    fn add(&mut self, summary: TlsConnectionSummary, session: &TlsSession<PacketMeta>) {
        let info = session.info();
        self.connections += 1;
        self.decrypted += u64::from(info.decrypted);
        self.records_decrypted += session.records_decrypted;
        self.records_undecrypted += session.records_undecrypted;
        self.failed_records += info.failed_records;
        self.http2 += u64::from(info.alpn.as_deref() == Some("h2"));
        let problem = match session.problem() {
            Some(p) if session.records_undecrypted > 0 => p,
            _ => return,
        };
        match self.undecrypted.iter_mut().find(|(p, ..)| *p == problem) {
            Some((_, n, named)) => {
                *n += 1;
                if named.len() < NAMED_PER_PROBLEM {
                    named.push(summary);
                }
            }
            None => self.undecrypted.push((problem, 1, vec![summary])),
        }
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Mode {
    Http,
    WebSocket,
    /// HTTP/2: the connection preface, or ALPN `h2`; its WebSockets are on streams.
    Http2,
}

/// Connection state apart from the reassemblers, so both can be borrowed at once. What each
/// packet of an open WebSocket connection reads comes first (`repr(C)`, see [`Conn`]).
#[derive(Debug)]
#[repr(C)]
struct ConnState {
    /// Frames and messages of each direction, once WebSocket.
    ws: [Option<WsDirection>; 2],
    isn: [Option<u32>; 2],
    /// Sequence number just past each side's FIN, once seen.
    fin_seq: [Option<u32>; 2],
    /// Direction (0 = from `a`) of the client, once known.
    client_dir: Option<usize>,
    /// Endpoint of direction 0 (the sender of the first packet seen).
    a: Endpoint,
    mode: Mode,
    websocket_counted: bool,
    /// The sink has been given `info` as it is now.
    info_sent: bool,
    syn_seen: [bool; 2],
    /// A direction has delivered bytes (an HTTP/2 preface can only come first).
    seen_data: [bool; 2],
    /// Whether to look for WebSocket frames should the connection prove to have begun before
    /// the capture (no SYN either way); cleared once it is known what the connection is.
    heuristics: bool,
    info: ConnectionInfo,
    b: Endpoint,
    /// The window scale shift each direction's SYN offered.
    syn_wscale: [Option<u8>; 2],
    limits: Limits,
    /// HTTP, until the upgrade.
    http: UpgradeScanner<PacketMeta>,
    /// A direction's first bytes, when they look like a server's HTTP/2 SETTINGS: kept in case
    /// the other side's preface follows (h2c with prior knowledge, the server speaking first).
    early_settings: Option<Box<(usize, Vec<u8>, PacketMeta)>>,
    /// HTTP/2 and its WebSockets.
    h2: Option<Box<H2Conn>>,
    /// The bytes held while looking.
    mid_stream: Option<Box<MidStream>>,
}

/// An HTTP/2 connection and the WebSockets on its streams.
#[derive(Debug)]
struct H2Conn {
    framing: Http2<PacketMeta>,
    /// By stream id, in order: what is done to every WebSocket of the connection (at a hole, at
    /// its end) is done in the same order on every run.
    sockets: BTreeMap<u32, H2Socket>,
    /// The capture joined the connection after it began.
    late: Option<Box<LateStreams>>,
}

/// The streams of an HTTP/2 connection the capture joined late that it did not see open: each
/// is looked at for WebSocket frames, as a TCP connection joined late is.
#[derive(Debug, Default)]
struct LateStreams {
    /// By stream id: the bytes held while looking, or `None` once the stream is known not to
    /// be a WebSocket.
    looking: BTreeMap<u32, Option<Box<MidStream>>>,
    /// Which side is the client is known (from TLS, or from the masked frames of a WebSocket
    /// found).
    sides_known: bool,
    /// The framing took the server for the client (it had to guess which side was which).
    swapped: bool,
    /// `swapped` was just found: the connection's own details are still to be turned round.
    turn_parent: bool,
}

impl LateStreams {
    /// DATA of a stream not seen opening (`from_client` as the framing takes it), looked at for
    /// WebSocket frames: the WebSocket, once they show it.
    #[allow(clippy::too_many_arguments)]
    fn data(
        &mut self,
        parent: &ConnectionInfo,
        stream: u32,
        from_client: bool,
        bytes: &[u8],
        meta: PacketMeta,
        limits: Limits,
        stats: &mut Stats,
        out: &mut impl FrameSink,
    ) -> Option<H2Socket> {
        let entry = self.looking.entry(stream).or_insert_with(|| Some(Box::default()));
        let verdict = entry.as_deref_mut()?.data(usize::from(from_client), bytes, meta);
        let Verdict::WebSocket(runs) = verdict else {
            if verdict != Verdict::Undecided {
                *entry = None;
            }
            return None;
        };
        let held = entry.take().expect("looking").into_held();
        self.looking.remove(&stream);
        // Held by the framing's side: 1 is the side it takes for the client.
        if !self.sides_known {
            self.sides_known = true;
            self.swapped = midstream::client_of(&runs) == 0;
            self.turn_parent = self.swapped;
        }
        let mut info = parent.clone();
        if self.turn_parent {
            (info.client, info.server) = (info.server, info.client);
        }
        info.http2_stream = Some(stream);
        info.arrows = Default::default();
        info.origin = Origin::Heuristic;
        info.handshake = None;
        info.deflate = None;
        let client = usize::from(!self.swapped);
        let starts = midstream::frame_starts(&runs, client);
        let decoders = [false, true].map(|from_client| {
            let held_as = usize::from(from_client != self.swapped);
            frame_decoder(from_client, starts[held_as].is_some(), &info, limits)
        });
        let mut socket = H2Socket { info, decoders, ended: [false; 2], problem: None, info_sent: false };
        stats.websocket_connections += 1;
        stats.http2.websockets += 1;
        stats.heuristic_connections += 1;
        let [a, b] = &held;
        let from = starts.map(|s| s.unwrap_or(0));
        for (held_as, range, meta) in midstream::in_packet_order([(&a.pieces, from[0]), (&b.pieces, from[1])]) {
            let (decoder, mut emit) = socket.decoder_and_reporter((held_as == 1) != self.swapped, stats, out);
            decoder.feed(&held[held_as].bytes[range], meta, &mut emit);
        }
        Some(socket)
    }
}

/// A WebSocket on an HTTP/2 stream: a connection of its own for frames and messages.
#[derive(Debug)]
struct H2Socket {
    info: ConnectionInfo,
    /// Frames of each side: (server's, client's).
    decoders: [FrameDecoder<PacketMeta>; 2],
    /// Each side ended (END_STREAM, RST_STREAM, or the TCP connection's end).
    ended: [bool; 2],
    /// A breach on the connection, for the stream's next frame.
    problem: Option<ExpertKind>,
    /// The sink has been given `info`.
    info_sent: bool,
}

impl H2Socket {
    /// Ends the side that sends `from_client`'s frames: its unfinished frame is reported cut.
    /// Returns whether both sides have now ended.
    fn end(&mut self, from_client: bool, stats: &mut Stats, out: &mut impl FrameSink) -> bool {
        let side = usize::from(from_client);
        if !self.ended[side] {
            self.ended[side] = true;
            let (decoder, mut emit) = self.decoder_and_reporter(from_client, stats, out);
            decoder.finish(&mut emit);
            let skipped = decoder.skipped_bytes;
            drop(emit);
            stats.resync_skipped += skipped;
        }
        self.ended == [true, true]
    }

    /// The decoder of `from_client`'s side, and the callback its frames go to: the first one
    /// carries the breach waiting for it.
    fn decoder_and_reporter<'s>(
        &'s mut self,
        from_client: bool,
        stats: &'s mut Stats,
        out: &'s mut impl FrameSink,
    ) -> (&'s mut FrameDecoder<PacketMeta>, impl FnMut(DecodedFrame<'_, PacketMeta>) + 's) {
        report_info(&mut self.info_sent, &self.info, out);
        let H2Socket { info, decoders, problem, .. } = self;
        let mut report = reporter(info, from_client, stats, out);
        let emit = move |mut f: DecodedFrame<'_, PacketMeta>| {
            f.meta.http2_problem = f.meta.http2_problem.or(problem.take());
            report(f)
        };
        (&mut decoders[usize::from(from_client)], emit)
    }
}

/// One direction of a WebSocket connection: frames out of bytes (messages are the
/// [`MessageStage`]'s).
#[derive(Debug)]
enum WsDirection {
    /// Decoded here, with how many deliveries it was given and the largest (to judge whether
    /// to hand its decoder over).
    Here { from_client: bool, decoder: Box<FrameDecoder<PacketMeta>>, deliveries: u64, largest: usize },
    /// By the sink, from the bytes ([`FrameSink::decodes`]): its decoder was handed over.
    BySink { from_client: bool },
}

/// A direction's decoder is handed over to a sink that decodes ([`FrameSink::decodes`]) once
/// it has been given this many deliveries...
const HAND_OVER_AFTER: u64 = 8;
/// ...none larger than this: for such small pieces, copying them for the other thread costs
/// the reading thread less than decoding their frames. A direction that has carried a larger
/// one is decoded here, where its bytes are not copied.
const HAND_OVER_LARGEST: usize = 2048;

impl WsDirection {
    /// `aligned`: the stream is known to start at a frame boundary.
    fn new(from_client: bool, aligned: bool, info: &ConnectionInfo, limits: Limits) -> Self {
        let decoder = Box::new(frame_decoder(from_client, aligned, info, limits));
        WsDirection::Here { from_client, decoder, deliveries: 0, largest: 0 }
    }
}

/// A decoder for the frames `from_client` (or the server) sends on `info`'s connection;
/// `aligned`: the stream is known to start at a frame boundary.
fn frame_decoder(from_client: bool, aligned: bool, info: &ConnectionInfo, limits: Limits) -> FrameDecoder<PacketMeta> {
    let rsv = allowed_rsv(info);
    // A compressed message cannot be inflated from part of its bytes.
    let cap = limits.max_message;
    if aligned { FrameDecoder::new(from_client, rsv, cap) } else { FrameDecoder::new_unaligned(from_client, rsv, cap) }
}

/// RSV bits the negotiated extensions may use.
fn allowed_rsv(info: &ConnectionInfo) -> u8 {
    if info.origin == Origin::Heuristic {
        // permessage-deflate, by far the most common extension, is assumed.
        return 0x4;
    }
    let accepted = info.handshake.as_ref().and_then(|h| h.response.headers.get(Header::SecWebSocketExtensions));
    match accepted {
        None => 0,
        Some(_) if info.deflate.is_some() => 0x4,
        // An extension we do not know may use any RSV bit.
        Some(_) => 0x7,
    }
}

/// What carries a connection's bytes up to HTTP and WebSocket.
#[derive(Debug)]
enum Carrier {
    /// Nothing delivered yet: the first bytes tell.
    Unknown,
    /// Plain TCP.
    Tcp,
    /// TLS records, decrypted on the way up.
    Tls(Box<TlsSession<PacketMeta>>),
}

/// In the order a packet reads it (`repr(C)`), from the start of a cache line (connections lie
/// side by side in the [`ConnTable`]): with thousands of connections open at once, each
/// packet's first touch of its connection misses the cache, and every further cache line it
/// reads is another miss.
#[derive(Debug)]
#[repr(C, align(64))]
struct Conn {
    /// Where it is in the [`ConnTable`].
    key: TableKey,
    /// `frame.number` of its latest packet, to find the least recently active.
    last_seen: u64,
    closed: bool,
    /// Taken out of the [`ConnTable`] (evicted, or followed by a new connection on the same
    /// ports): its place is free.
    vacated: bool,
    carrier: Carrier,
    /// `tcp.analysis.*` state, kept when header values are read.
    analysis: Option<Box<TcpAnalysis>>,
    state: ConnState,
    reasm: [Reassembler<PacketMeta>; 2],
}

/// Canonical key of a connection: the two endpoints in order.
pub type FlowKey = (Endpoint, Endpoint);

/// The key of the connection between two endpoints, whichever sent the packet.
pub fn flow_key(a: Endpoint, b: Endpoint) -> FlowKey {
    if a <= b { (a, b) } else { (b, a) }
}

/// The connection table's key: the two endpoints in a fixed order, each packed into an
/// address (IPv4 mapped into IPv6) and its port and family, so that hashing and comparing it
/// take a few word operations rather than a walk through two `IpAddr` enums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct TableKey([(u128, u32); 2]);

impl TableKey {
    fn pack(e: Endpoint) -> (u128, u32) {
        match e.ip {
            IpAddr::V4(ip) => (u128::from(ip.to_bits()), u32::from(e.port)),
            IpAddr::V6(ip) => (ip.to_bits(), u32::from(e.port) | 1 << 16),
        }
    }

    /// The key of the connection between `src` and `dst`, and the side `src` is on in it.
    fn of(src: Endpoint, dst: Endpoint) -> (Self, usize) {
        let (s, d) = (Self::pack(src), Self::pack(dst));
        if s <= d { (TableKey([s, d]), 0) } else { (TableKey([d, s]), 1) }
    }
}

/// The connections, found by their [`TableKey`]. They live side by side in [`Slots`], not in
/// an allocation each: with 10,000 open at once, each packet's connection is a cache miss, and
/// connections allocated one by one lay among the strings and buffers allocated with them,
/// each on a page of its own. The table holds only indices (40 KB for 10,000, which stays in
/// cache); the key is kept in the connection itself, so comparing it reads the connection,
/// which the packet reads next anyway.
#[derive(Default)]
struct ConnTable {
    /// Hashed with foldhash, fast and seeded per run so that crafted addresses cannot force
    /// collisions.
    hasher: foldhash::fast::RandomState,
    /// Indices into `slots`.
    table: hashbrown::HashTable<u32>,
    slots: Slots,
    /// Slots emptied by [`ConnTable::remove`], filled again first.
    free: Vec<u32>,
}

/// Places for connections, side by side in chunks that never move: a single vector doubling
/// as connections came copied every one of them (13.6 MB moved for 10,000 of 832 bytes) and
/// held the old and the new vector at once.
///
/// A connection taken out of the table stays in its place, closed and marked
/// [`vacated`](Conn::vacated), until a new one is put there. Places held as `Option<Conn>`
/// made every look-up read the option's discriminant, which the compiler keeps in a spare bit
/// pattern of a field further into the connection: one more cache line per packet (cachegrind:
/// the look-up's misses beyond L2 halved with 10,000 connections open).
#[derive(Default)]
struct Slots {
    /// Each of `CHUNK` places, allocated at once.
    chunks: Vec<Vec<Conn>>,
}

impl Slots {
    /// Connections in a chunk (53 KB).
    const CHUNK: usize = 64;

    fn get(&self, index: u32) -> &Conn {
        let index = index as usize;
        &self.chunks[index / Self::CHUNK][index % Self::CHUNK]
    }

    fn get_mut(&mut self, index: u32) -> &mut Conn {
        let index = index as usize;
        &mut self.chunks[index / Self::CHUNK][index % Self::CHUNK]
    }

    /// Puts `conn` in a new place; its index.
    fn push(&mut self, conn: Conn) -> u32 {
        if self.chunks.last().is_none_or(|chunk| chunk.len() == Self::CHUNK) {
            self.chunks.push(Vec::with_capacity(Self::CHUNK));
        }
        let full = (self.chunks.len() - 1) * Self::CHUNK;
        let chunk = self.chunks.last_mut().expect("a chunk with room was just made");
        let index = u32::try_from(full + chunk.len()).expect("fewer than 2^32 connections");
        chunk.push(conn);
        index
    }

    /// The connections in the table.
    fn iter(&self) -> impl Iterator<Item = &Conn> {
        self.chunks.iter().flatten().filter(|c| !c.vacated)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Conn> {
        self.chunks.iter_mut().flatten().filter(|c| !c.vacated)
    }
}

impl std::fmt::Debug for ConnTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnTable").field("len", &self.table.len()).finish_non_exhaustive()
    }
}

impl ConnTable {
    fn hash(&self, key: &TableKey) -> u64 {
        self.hasher.hash_one(key)
    }

    fn is_at(slots: &Slots, index: u32, key: &TableKey) -> bool {
        slots.get(index).key == *key
    }

    fn get_mut(&mut self, key: &TableKey) -> Option<&mut Conn> {
        let slots = &self.slots;
        let &index = self.table.find(self.hash(key), |&i| Self::is_at(slots, i, key))?;
        Some(self.slots.get_mut(index))
    }

    /// Takes a connection out of the table; it stays in its place, for the caller to close,
    /// until another is put there.
    fn remove(&mut self, key: &TableKey) -> Option<&mut Conn> {
        let slots = &self.slots;
        let entry = self.table.find_entry(self.hash(key), |&i| Self::is_at(slots, i, key)).ok()?;
        let index = entry.remove().0;
        self.free.push(index);
        let conn = self.slots.get_mut(index);
        conn.vacated = true;
        Some(conn)
    }

    /// Adds a connection whose key is not in the table.
    fn insert(&mut self, conn: Conn) -> &mut Conn {
        let hash = self.hash(&conn.key);
        let index = match self.free.pop() {
            Some(i) => {
                *self.slots.get_mut(i) = conn;
                i
            }
            None => self.slots.push(conn),
        };
        let Self { hasher, table, slots, .. } = self;
        // Growing the table rehashes the connections already in it.
        table.insert_unique(hash, index, |&i| hasher.hash_one(slots.get(i).key));
        self.slots.get_mut(index)
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn iter(&self) -> impl Iterator<Item = &Conn> {
        self.slots.iter()
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Conn> {
        self.slots.iter_mut()
    }
}

/// Turns records into WebSocket frames and messages.
pub struct Analyzer {
    transport: Transport,
    messages: MessageStage,
    assemblers: ByKey,
}

impl Analyzer {
    /// A new analyzer.
    pub fn new(config: Config) -> Self {
        let messages = MessageStage::new(config.limits(), config.messages);
        Analyzer { transport: Transport::new(config), messages, assemblers: ByKey::default() }
    }

    /// Capture time of the first packet (the origin of `frame.time_relative`).
    pub fn first_ts(&self) -> Option<i64> {
        self.transport.first_ts
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        let mut stats = self.transport.stats.clone();
        self.messages.counts.add_to(&mut stats);
        stats
    }

    /// Adds TLS secrets (NSS key log text) found in the capture, for the connections still to
    /// come and those whose keys were not known yet.
    pub fn add_secrets(&mut self, text: &[u8]) {
        self.transport.add_secrets(text);
    }

    /// The TLS secrets: those given, and those found in the capture so far.
    pub fn keylog(&self) -> &KeyLog {
        &self.transport.tls.keys
    }

    /// Analyses one record; calls `out` for each frame it completes.
    pub fn packet(&mut self, record: &Record<'_>, out: &mut impl Output) {
        self.transport.packet(record, &mut Direct { stage: &mut self.messages, assemblers: &mut self.assemblers, out });
    }

    /// End of the capture: closes every open connection, in stream order.
    pub fn finish(&mut self, out: &mut impl Output) {
        self.transport.finish(&mut Direct { stage: &mut self.messages, assemblers: &mut self.assemblers, out });
    }

    /// Counts the messages another stage assembled (the printing thread's share).
    pub(crate) fn count_messages_of(&mut self, stage: &MessageStage) {
        self.messages.counts.absorb(&stage.counts);
    }

    /// The two halves, for running them on two threads.
    pub(crate) fn halves(&mut self) -> (&mut Transport, &mut MessageStage) {
        (&mut self.transport, &mut self.messages)
    }
}

/// The first half of the pipeline: records to connections, bytes, handshakes and frames.
pub(crate) struct Transport {
    config: Config,
    flows: ConnTable,
    next_stream: u32,
    first_ts: Option<i64>,
    /// Time of the packet read last (for `frame.time_delta`).
    previous_ts: Option<i64>,
    stats: Stats,
    /// TLS secrets (the config's, and those found in the capture) and the decryption buffer.
    tls: TlsContext,
}

impl Transport {
    fn new(mut config: Config) -> Self {
        let tls = TlsContext::new(std::mem::take(&mut config.keylog));
        Transport {
            config,
            flows: ConnTable::default(),
            next_stream: 0,
            first_ts: None,
            previous_ts: None,
            stats: Stats::default(),
            tls,
        }
    }

    /// Adds TLS secrets found in the capture (a pcapng Decryption Secrets Block).
    pub(crate) fn add_secrets(&mut self, text: &[u8]) {
        self.tls.keys.add_text(text);
    }

    /// Analyses one record; reports what it completes to `out`.
    pub(crate) fn packet(&mut self, record: &Record<'_>, out: &mut impl FrameSink) {
        self.stats.packets += 1;
        self.first_ts.get_or_insert(record.ts_nanos);
        let previous = self.previous_ts.replace(record.ts_nanos).unwrap_or(record.ts_nanos);
        let delta_nanos = record.ts_nanos.saturating_sub(previous);
        let decoded = if self.config.packet_headers {
            net::decode_with_headers(record.link_type, record.data)
        } else {
            net::decode(record.link_type, record.data)
        };
        let seg = match decoded {
            Ok(seg) => seg,
            Err(skip) => {
                self.count_skip(skip, record.number);
                return;
            }
        };
        self.stats.tcp_packets += 1;
        let meta = PacketMeta {
            number: record.number,
            ts_nanos: record.ts_nanos,
            len: record.orig_len,
            caplen: u32::try_from(record.data.len()).unwrap_or(u32::MAX),
            seq: seg.seq,
            ack: seg.ack,
            tcp_len: u32::try_from(seg.payload.len()).unwrap_or(u32::MAX).saturating_add(seg.missing),
            record: None,
            http2_data_len: None,
            http2_problem: None,
            file: record.file,
            interface_id: record.interface_id,
            delta_nanos,
            headers: seg.headers,
            tcp_analysis: AnalysisFlags::default(),
        };
        self.segment(&seg, meta, out);
    }

    fn count_skip(&mut self, skip: Skip, number: u64) {
        match skip {
            Skip::UnsupportedLink(l) => match self.stats.unsupported_links.iter_mut().find(|(t, _)| *t == l) {
                Some((_, n)) => *n += 1,
                None => self.stats.unsupported_links.push((l, 1)),
            },
            Skip::NotIp => self.stats.not_ip += 1,
            Skip::NotTcp => self.stats.not_tcp += 1,
            Skip::IpFragment => self.stats.ip_fragments += 1,
            Skip::Malformed => {
                self.stats.malformed += 1;
                self.stats.first_malformed.get_or_insert(number);
            }
        }
    }

    fn segment(&mut self, seg: &TcpSegment<'_>, meta: PacketMeta, out: &mut impl FrameSink) {
        let src = Endpoint { ip: seg.src, port: seg.src_port };
        let dst = Endpoint { ip: seg.dst, port: seg.dst_port };
        let (key, side) = TableKey::of(src, dst);
        let pure_syn = seg.flags.syn && !seg.flags.ack;
        // A new SYN on a closed pair, or one with a new ISN, starts a new connection.
        let restarts = |conn: &Conn| {
            let dir = conn.state.dir_of(src);
            pure_syn && (conn.closed || conn.state.isn[dir].is_some_and(|isn| isn != seg.seq))
        };
        // One look-up for a packet of a connection already known (nearly every packet).
        if let Some(conn) = self.flows.get_mut(&key)
            && !restarts(conn)
        {
            return Self::conn_segment(conn, side, seg, meta, &self.config, &mut self.tls, &mut self.stats, out);
        }
        // The sequence analysis goes on across connections on the same ports, as tshark's
        // (which notes their reuse).
        let mut analysis = None;
        if let Some(old) = self.flows.remove(&key) {
            analysis = old.analysis.take();
            Self::close(old, &mut self.tls, &mut self.stats, out);
        }
        if self.flows.len() >= self.config.max_connections.max(1) {
            self.evict(out);
        }
        let mut conn = self.new_conn(key, src, dst, meta.number);
        conn.analysis = analysis;
        let conn = self.flows.insert(conn);
        Self::conn_segment(conn, side, seg, meta, &self.config, &mut self.tls, &mut self.stats, out);
    }

    /// A segment of `conn`, sent from `side` of its [`TableKey`].
    #[allow(clippy::too_many_arguments)]
    fn conn_segment(
        conn: &mut Conn,
        side: usize,
        seg: &TcpSegment<'_>,
        mut meta: PacketMeta,
        config: &Config,
        tls: &mut TlsContext,
        stats: &mut Stats,
        out: &mut impl FrameSink,
    ) {
        conn.last_seen = meta.number;
        let dir = conn.state.dir_of(Endpoint { ip: seg.src, port: seg.src_port });
        if config.packet_headers {
            let facts = SegmentFacts {
                seq: seg.seq,
                ack: seg.ack,
                len: meta.tcp_len,
                flags: seg.headers.tcp_flags,
                window: seg.headers.window,
                ts_nanos: meta.ts_nanos,
            };
            // Sides by address, not by who opened: the state outlives a connection.
            meta.tcp_analysis = conn.analysis.get_or_insert_default().segment(side, &facts, seg.headers.wscale);
        }
        if conn.closed {
            return;
        }
        if seg.flags.syn {
            conn.state.syn_seen[dir] = true;
            conn.state.syn_wscale[dir] = seg.headers.wscale;
            conn.state.isn[dir].get_or_insert(seg.seq);
            conn.reasm[dir].syn(seg.seq);
            conn.state.sync_isn();
        } else if conn.state.isn[dir].is_none() && (!seg.payload.is_empty() || seg.missing > 0) {
            // Picked up mid-stream: the first byte seen is relative byte 1.
            conn.state.isn[dir] = Some(seg.seq.wrapping_sub(1));
            conn.state.sync_isn();
        }
        if seg.flags.ack && conn.state.isn[1 - dir].is_none() {
            // Nothing of the other side seen yet: the first byte acknowledged is its relative
            // byte 1 (tshark's guess too, which the other side's first segment then keeps).
            conn.state.isn[1 - dir] = Some(seg.ack.wrapping_sub(1));
            conn.state.sync_isn();
        }
        let (state, carrier) = (&mut conn.state, &mut conn.carrier);
        conn.reasm[dir].segment_with_missing(seg.seq, seg.payload, u64::from(seg.missing), meta, &mut |d| {
            carry(carrier, tls, state, dir, d, stats, out)
        });
        if seg.flags.fin {
            let len = u32::try_from(seg.payload.len()).unwrap_or(u32::MAX).saturating_add(seg.missing);
            conn.state.fin_seq[dir] = Some(seg.seq.wrapping_add(len));
        }
        // Closed once both sides' streams are complete up to their FIN (segments may still be
        // arriving out of order after a FIN), or at once on a reset.
        let finished =
            |d: usize| conn.state.fin_seq[d].is_some_and(|fin| conn.reasm[d].next_seq().is_none_or(|next| next == fin));
        if seg.flags.rst || (finished(0) && finished(1)) {
            Self::close(conn, tls, stats, out);
        }
    }

    fn new_conn(&mut self, key: TableKey, a: Endpoint, b: Endpoint, first_packet: u64) -> Conn {
        let stream = self.next_stream;
        self.next_stream += 1;
        self.stats.connections += 1;
        let limit = self.config.reassembly_limit;
        let decode_as = [a, b].iter().position(|e| self.config.decode_as_ports.contains(&e.port));
        let (client, server) = if decode_as == Some(0) { (b, a) } else { (a, b) };
        let mut state = ConnState {
            info: ConnectionInfo {
                stream,
                client,
                server,
                origin: Origin::Handshake,
                handshake: None,
                deflate: None,
                isn: [None; 2],
                window_shift: [None; 2],
                first_packet,
                tls: None,
                http2_stream: None,
                arrows: Default::default(),
            },
            a,
            b,
            client_dir: None,
            mode: Mode::Http,
            http: UpgradeScanner::default(),
            ws: [None, None],
            syn_seen: [false; 2],
            syn_wscale: [None; 2],
            isn: [None; 2],
            fin_seq: [None; 2],
            websocket_counted: false,
            info_sent: false,
            limits: self.config.limits(),
            seen_data: [false; 2],
            early_settings: None,
            h2: None,
            heuristics: self.config.heuristics && decode_as.is_none(),
            mid_stream: None,
        };
        if let Some(server_dir) = decode_as {
            state.info.origin = Origin::DecodeAs;
            state.client_dir = Some(1 - server_dir);
            state.mode = Mode::WebSocket;
        }
        Conn {
            key,
            state,
            carrier: Carrier::Unknown,
            reasm: [Reassembler::new(limit), Reassembler::new(limit)],
            analysis: None,
            closed: false,
            vacated: false,
            last_seen: first_packet,
        }
    }

    /// Ends a connection: gives up its holes and reports frames left unfinished.
    fn close(conn: &mut Conn, tls: &mut TlsContext, stats: &mut Stats, out: &mut impl FrameSink) {
        if conn.closed {
            return;
        }
        conn.closed = true;
        for dir in 0..2 {
            let (state, carrier) = (&mut conn.state, &mut conn.carrier);
            conn.reasm[dir].flush(&mut |d| carry(carrier, tls, state, dir, d, stats, out));
            state.finish(dir, stats, out);
            stats.reassembly += conn.reasm[dir].stats();
        }
        if let Carrier::Tls(session) = &conn.carrier {
            let (a, b) = (conn.state.a, conn.state.b);
            let (client, server) = if session.client_dir() == Some(1) { (b, a) } else { (a, b) };
            let server_name = session.info().server_name.clone();
            stats
                .tls
                .add(TlsConnectionSummary { stream: conn.state.info.stream, client, server, server_name }, session);
        }
        if let Some(h2) = conn.state.h2.take() {
            stats.http2.other_streams += h2.framing.counts.other_streams;
            stats.http2.resyncs += h2.framing.counts.resyncs;
            for socket in h2.sockets.values() {
                out.closed(socket.info.key());
            }
        }
        out.closed(conn.state.info.key());
        // Release the buffers; the entry stays so late packets keep their stream.
        conn.reasm = [Reassembler::new(0), Reassembler::new(0)];
        conn.carrier = Carrier::Tcp;
        conn.state.ws = [None, None];
        conn.state.http = Default::default();
        conn.state.stop_looking();
    }

    /// Closes and forgets the least recently active eighth of the connections, to make room for
    /// a new one, so that eviction costs O(1) amortised per connection.
    fn evict(&mut self, out: &mut impl FrameSink) {
        let mut ages: Vec<(u64, TableKey)> = self.flows.iter().map(|c| (c.last_seen, c.key)).collect();
        let n = (self.config.max_connections / 8).clamp(1, ages.len().max(1));
        if ages.len() > n {
            ages.select_nth_unstable(n);
            ages.truncate(n);
        }
        ages.sort_unstable();
        for (_, key) in ages {
            if let Some(conn) = self.flows.remove(&key) {
                Self::close(conn, &mut self.tls, &mut self.stats, out);
                self.stats.evicted += 1;
            }
        }
    }

    /// End of the capture: closes every open connection, in stream order.
    pub(crate) fn finish(&mut self, out: &mut impl FrameSink) {
        let mut open: Vec<&mut Conn> = self.flows.iter_mut().filter(|c| !c.closed).collect();
        open.sort_by_key(|c| c.state.info.stream);
        for conn in open {
            Self::close(conn, &mut self.tls, &mut self.stats, out);
        }
    }
}

impl ConnState {
    /// Direction index of a side of the connection.
    fn dir_of(&self, e: Endpoint) -> usize {
        usize::from(self.a != e)
    }

    /// Copies the initial sequence numbers into the (client, server) order frames use.
    fn sync_isn(&mut self) {
        let client_dir = self.dir_of(self.info.client);
        self.info.isn = [self.isn[client_dir], self.isn[1 - client_dir]];
        let syn = |dir: usize| self.syn_seen[dir].then_some(self.syn_wscale[dir]);
        let shift = |dir: usize| crate::flow::analysis::window_scale(syn(dir), syn(1 - dir));
        self.info.window_shift = [shift(client_dir), shift(1 - client_dir)];
        self.info_sent = false;
    }

    /// Handles bytes (or a hole) the reassembler delivers for direction `dir`.
    fn deliver(&mut self, dir: usize, d: Delivery<'_, PacketMeta>, stats: &mut Stats, out: &mut impl FrameSink) {
        match self.mode {
            Mode::WebSocket => self.feed_decoder(dir, d, stats, out),
            Mode::Http2 => self.deliver_http2(dir, d, stats, out),
            Mode::Http => match d {
                Delivery::Data(bytes, meta) => {
                    if !std::mem::replace(&mut self.seen_data[dir], true) {
                        if is_preface_start(bytes) {
                            self.start_http2(dir, None, stats, out);
                            return self.deliver_http2(dir, d, stats, out);
                        }
                        if http2::looks_like_settings(bytes) {
                            self.early_settings = Some(Box::new((dir, bytes.to_vec(), meta)));
                        }
                    }
                    if let Some(upgrade) = self.http.data(dir, bytes, meta) {
                        self.switch(upgrade, stats, out);
                    } else {
                        self.look_for_frames(dir, bytes, meta, stats, out);
                    }
                }
                Delivery::Gap(..) => {
                    self.http.gap(dir);
                    if let Some(mid_stream) = self.mid_stream.as_deref_mut() {
                        mid_stream.gap(dir);
                    }
                }
            },
        }
    }

    fn feed_decoder(&mut self, dir: usize, d: Delivery<'_, PacketMeta>, stats: &mut Stats, out: &mut impl FrameSink) {
        let from_client = Some(dir) == self.client_dir || self.client_dir.is_none() && dir == 0;
        // Decode As: aligned only if the stream was seen from its SYN.
        let ws = self.ws[dir]
            .get_or_insert_with(|| WsDirection::new(from_client, self.syn_seen[dir], &self.info, self.limits));
        if !self.websocket_counted {
            self.websocket_counted = true;
            stats.websocket_connections += 1;
        }
        report_info(&mut self.info_sent, &self.info, out);
        let WsDirection::Here { decoder, deliveries, largest, .. } = ws else {
            return out.bytes(&self.info, from_client, d);
        };
        let mut emit = reporter(&self.info, from_client, stats, out);
        match d {
            Delivery::Data(bytes, meta) => {
                decoder.feed(bytes, meta, &mut emit);
                *deliveries += 1;
                *largest = (*largest).max(bytes.len());
            }
            Delivery::Gap(len, _) => decoder.gap(len, &mut emit),
        }
        drop(emit);
        if *deliveries >= HAND_OVER_AFTER
            && *largest <= HAND_OVER_LARGEST
            && decoder.between_frames()
            && out.decodes(&self.info)
            && let WsDirection::Here { decoder, .. } = std::mem::replace(ws, WsDirection::BySink { from_client })
        {
            out.hand_over_decoder(&self.info, from_client, decoder);
        }
    }

    /// Holds the bytes of a connection the capture joined late until they show whether it is
    /// WebSocket; if so, it is from the first frame found in each direction.
    fn look_for_frames(
        &mut self,
        dir: usize,
        bytes: &[u8],
        meta: PacketMeta,
        stats: &mut Stats,
        out: &mut impl FrameSink,
    ) {
        if !self.heuristics || self.syn_seen != [false, false] {
            return self.stop_looking();
        }
        match self.mid_stream.get_or_insert_with(|| Box::new(MidStream::connection())).data(dir, bytes, meta) {
            Verdict::Undecided => {}
            Verdict::NotWebSocket => self.stop_looking(),
            Verdict::WebSocket(runs) => {
                let held = self.mid_stream.take().expect("looking").into_held();
                self.stop_looking();
                self.start_mid_stream(runs, held, stats, out);
            }
            Verdict::Http2 { dir, offset } => {
                let probes = self.mid_stream.take().expect("looking").into_http2().expect("probed");
                self.start_late_http2(&probes, dir, offset, stats, out);
            }
        }
    }

    /// The connection is HTTP/2, found from its frames (direction `dir` holds them from
    /// `offset`): the bytes held are replayed to a framing that looks for its frame headers,
    /// and hands up the streams it did not see open.
    fn start_late_http2(
        &mut self,
        probes: &[midstream::Http2Probe; 2],
        dir: usize,
        offset: usize,
        stats: &mut Stats,
        out: &mut impl FrameSink,
    ) {
        let late = LateStreams { sides_known: self.client_dir.is_some(), ..LateStreams::default() };
        self.start_http2(self.client_dir.unwrap_or(0), Some(Box::new(late)), stats, out);
        let starts = if dir == 0 { [offset, 0] } else { [0, offset] };
        let [a, b] = probes;
        for (d, range, meta) in midstream::in_packet_order([(&a.pieces, starts[0]), (&b.pieces, starts[1])]) {
            self.deliver_http2(d, Delivery::Data(&probes[d].bytes[range], meta), stats, out);
        }
    }

    /// No SYN either way: the capture joined the connection after it began.
    fn joined_late(&self) -> bool {
        self.heuristics && self.syn_seen == [false, false]
    }

    /// Looks for frames afresh: the bytes looked at so far were not the connection's own
    /// (they were TLS records, now decrypted, whose keys tell the client's direction).
    fn look_again(&mut self, client_dir: Option<usize>) {
        self.client_dir = client_dir;
        self.heuristics = self.syn_seen == [false, false];
        self.mid_stream = None;
        self.seen_data = [false; 2];
    }

    fn stop_looking(&mut self) {
        self.heuristics = false;
        self.mid_stream = None;
    }

    /// The connection is WebSocket, found from its frames: the masked direction is the client's.
    /// A direction with a run of frames starts at it; the other looks for its first frame as
    /// after a hole. The bytes held are replayed in packet order.
    fn start_mid_stream(
        &mut self,
        runs: [Option<Run>; 2],
        held: [midstream::Held; 2],
        stats: &mut Stats,
        out: &mut impl FrameSink,
    ) {
        let client_dir = midstream::client_of(&runs);
        let (client, server) = if client_dir == 0 { (self.a, self.b) } else { (self.b, self.a) };
        self.info.client = client;
        self.info.server = server;
        self.info.origin = Origin::Heuristic;
        self.client_dir = Some(client_dir);
        self.sync_isn();
        self.mode = Mode::WebSocket;
        stats.heuristic_connections += 1;
        let starts = midstream::frame_starts(&runs, client_dir);
        for (dir, start) in starts.iter().enumerate() {
            let ws = WsDirection::new(dir == client_dir, start.is_some(), &self.info, self.limits);
            self.ws[dir] = Some(ws);
        }
        let [a, b] = &held;
        let from = starts.map(|s| s.unwrap_or(0));
        for (dir, range, meta) in midstream::in_packet_order([(&a.pieces, from[0]), (&b.pieces, from[1])]) {
            self.feed_decoder(dir, Delivery::Data(&held[dir].bytes[range], meta), stats, out);
        }
    }

    /// The server accepted the upgrade: the connection is WebSocket (or HTTP/2) from here,
    /// starting with what followed the `101` on each side.
    fn switch(&mut self, upgrade: Upgrade<PacketMeta>, stats: &mut Stats, out: &mut impl FrameSink) {
        let Upgrade { switched, server_dir, request, response, meta, server_rest, client_pending } = upgrade;
        self.stop_looking();
        if switched == Switched::Http2 {
            let client_dir = 1 - server_dir;
            self.start_http2(client_dir, None, stats, out);
            if let Some(h2) = self.h2.as_deref_mut() {
                h2.framing.upgraded_from_http1();
            }
            if !server_rest.is_empty() {
                self.deliver_http2(server_dir, Delivery::Data(&server_rest, meta), stats, out);
            }
            for (bytes, m) in client_pending {
                self.deliver_http2(client_dir, Delivery::Data(&bytes, m), stats, out);
            }
            return;
        }
        let client_dir = 1 - server_dir;
        let (client, server) = if client_dir == 0 { (self.a, self.b) } else { (self.b, self.a) };
        self.info.client = client;
        self.info.server = server;
        self.client_dir = Some(client_dir);
        self.sync_isn();
        let accept_valid = match (&request, response.headers.get(Header::SecWebSocketAccept)) {
            (Some(req), Some(accept)) => req.headers.get(Header::SecWebSocketKey).map(|key| http::accepts(key, accept)),
            _ => None,
        };
        self.info.deflate = response.headers.get(Header::SecWebSocketExtensions).and_then(DeflateParams::from_response);
        let client_seen = request.is_some();
        self.info.handshake = Some(Arc::new(Handshake {
            request,
            response,
            response_packet: meta.number,
            accept_valid,
            http2_fields: Vec::new(),
        }));
        self.mode = Mode::WebSocket;
        self.ws[server_dir] = Some(WsDirection::new(false, true, &self.info, self.limits));
        // Without the request we do not know where the client's frames begin.
        self.ws[client_dir] = Some(WsDirection::new(true, client_seen, &self.info, self.limits));
        let expert = [Expert::new(ExpertKind::WrongAccept, 0)];
        let expert = if accept_valid == Some(false) { &expert[..] } else { &[] };
        report_info(&mut self.info_sent, &self.info, out);
        out.handshake(&self.info, meta, expert);
        if !server_rest.is_empty() {
            self.feed_decoder(server_dir, Delivery::Data(&server_rest, meta), stats, out);
        }
        for (bytes, m) in client_pending {
            self.feed_decoder(client_dir, Delivery::Data(&bytes, m), stats, out);
        }
    }

    /// The connection is HTTP/2 from here, its client sending in `client_dir`: the preface
    /// came that way, or TLS's ALPN said `h2`; or its frames were found in a connection the
    /// capture joined `late`.
    fn start_http2(
        &mut self,
        client_dir: usize,
        late: Option<Box<LateStreams>>,
        stats: &mut Stats,
        out: &mut impl FrameSink,
    ) {
        let (client, server) = if client_dir == 0 { (self.a, self.b) } else { (self.b, self.a) };
        self.info.client = client;
        self.info.server = server;
        self.client_dir = Some(client_dir);
        self.sync_isn();
        self.mode = Mode::Http2;
        self.http = UpgradeScanner::default();
        self.stop_looking();
        stats.http2.connections += 1;
        let framing = if late.is_some() { Http2::joined_late(client_dir) } else { Http2::new(client_dir) };
        self.h2 = Some(Box::new(H2Conn { framing, sockets: BTreeMap::new(), late }));
        // The server's SETTINGS, seen before the preface.
        if let Some(early) = self.early_settings.take()
            && early.0 != client_dir
        {
            let (dir, bytes, meta) = *early;
            self.deliver_http2(dir, Delivery::Data(&bytes, meta), stats, out);
        }
    }

    /// Hands HTTP/2 bytes (or a hole) to the framing, and what it finds to the WebSockets on
    /// its streams.
    fn deliver_http2(&mut self, dir: usize, d: Delivery<'_, PacketMeta>, stats: &mut Stats, out: &mut impl FrameSink) {
        let Some(h2) = self.h2.as_deref_mut() else { return };
        let H2Conn { framing, sockets, late } = h2;
        let (parent, limits) = (&self.info, self.limits);
        // The framing's idea of which side sends is turned round if it guessed wrong.
        let swapped = |late: &Option<Box<LateStreams>>| late.as_ref().is_some_and(|l| l.swapped);
        let mut on_up = |up: Up<'_, PacketMeta>| match up {
            Up::Opened(opening) => {
                let socket = open_h2_socket(parent, *opening, limits, stats, out);
                sockets.insert(socket.info.http2_stream.unwrap_or(0), socket);
            }
            Up::Refused(o) => {
                let h2 = &mut stats.http2;
                h2.refused_count += 1;
                if h2.refused.len() < NAMED_HTTP2 {
                    h2.refused.push((parent.stream, o.stream, o.request.uri, o.response.code, o.meta.number));
                }
            }
            Up::Data { stream, from_client, bytes, meta, frame_len } => {
                let meta = PacketMeta { http2_data_len: std::num::NonZeroU32::new(frame_len), ..meta };
                if let Some(s) = sockets.get_mut(&stream) {
                    let (decoder, mut emit) = s.decoder_and_reporter(from_client != swapped(late), stats, out);
                    decoder.feed(bytes, meta, &mut emit);
                } else if let Some(late) = late.as_deref_mut()
                    && let Some(socket) = late.data(parent, stream, from_client, bytes, meta, limits, stats, out)
                {
                    sockets.insert(stream, socket);
                }
            }
            Up::End { stream, from_client, reset, .. } => {
                if let Some(late) = late.as_deref_mut() {
                    late.looking.remove(&stream);
                }
                let from_client = from_client != swapped(late);
                let Some(s) = sockets.get_mut(&stream) else { return };
                let mut both = s.end(from_client, stats, out);
                if reset {
                    both = s.end(!from_client, stats, out);
                }
                if both {
                    out.closed(s.info.key());
                    sockets.remove(&stream);
                }
            }
            Up::Gap { stream, from_client, len, .. } => {
                if let Some(late) = late.as_deref_mut()
                    && let Some(Some(mid)) = late.looking.get_mut(&stream)
                {
                    mid.gap(usize::from(from_client));
                }
                if let Some(s) = sockets.get_mut(&stream) {
                    let (decoder, mut emit) = s.decoder_and_reporter(from_client != swapped(late), stats, out);
                    decoder.gap(len, &mut emit);
                }
            }
            Up::Lost { from_client, .. } => {
                if let Some(late) = late.as_deref_mut() {
                    late.looking.values_mut().flatten().for_each(|mid| mid.gap(usize::from(from_client)));
                }
                let from_client = from_client != swapped(late);
                for s in sockets.values_mut().filter(|s| !s.ended[usize::from(from_client)]) {
                    let (decoder, mut emit) = s.decoder_and_reporter(from_client, stats, out);
                    decoder.gap(u64::MAX, &mut emit);
                }
            }
            Up::Problem { problem, stream, meta } => {
                // On the next frame of the WebSockets it concerns: every one of the connection
                // for HPACK (its headers are no longer read), the stream's own for DATA.
                match problem {
                    http2::Problem::Hpack => {
                        sockets.values_mut().for_each(|s| s.problem = Some(ExpertKind::Http2HpackError))
                    }
                    http2::Problem::DataOnClosedStream => {
                        if let Some(s) = sockets.get_mut(&stream) {
                            s.problem = Some(ExpertKind::Http2DataOnClosedStream);
                        }
                    }
                    _ => {}
                }
                let h2 = &mut stats.http2;
                h2.problem_count += 1;
                if h2.problems.len() < NAMED_HTTP2 {
                    h2.problems.push((problem, parent.stream, stream, meta.number));
                }
            }
        };
        match d {
            Delivery::Data(bytes, meta) => framing.data(dir, bytes, meta, &mut on_up),
            Delivery::Gap(len, meta) => framing.gap(dir, len, meta, &mut on_up),
        }
        if late.as_deref_mut().is_some_and(|l| std::mem::take(&mut l.turn_parent)) {
            // A WebSocket found showed the framing's guess of the client wrong.
            let client_dir = self.dir_of(self.info.server);
            (self.info.client, self.info.server) = (self.info.server, self.info.client);
            self.client_dir = Some(client_dir);
            self.sync_isn();
        }
    }

    /// The direction's stream has ended.
    fn finish(&mut self, dir: usize, stats: &mut Stats, out: &mut impl FrameSink) {
        if let Some(h2) = self.h2.as_deref_mut() {
            let from_client = Some(dir) == self.client_dir;
            for s in h2.sockets.values_mut() {
                s.end(from_client, stats, out);
            }
        }
        if let Some(ws) = self.ws[dir].as_mut() {
            report_info(&mut self.info_sent, &self.info, out);
            match ws {
                WsDirection::Here { from_client, decoder, .. } => {
                    decoder.finish(&mut reporter(&self.info, *from_client, stats, out));
                    stats.resync_skipped += decoder.skipped_bytes;
                }
                WsDirection::BySink { from_client } => out.stream_end(&self.info, *from_client),
            }
        }
    }
}

/// Hands what TCP delivered in direction `dir` to the connection's carrier: straight up for
/// plain TCP (kept cheap: it is every delivery of most captures), through decryption for TLS.
#[inline]
fn carry(
    carrier: &mut Carrier,
    tls: &mut TlsContext,
    state: &mut ConnState,
    dir: usize,
    d: Delivery<'_, PacketMeta>,
    stats: &mut Stats,
    out: &mut impl FrameSink,
) {
    match carrier {
        Carrier::Tcp => state.deliver(dir, d, stats, out),
        _ => carry_first_or_tls(carrier, tls, state, dir, d, stats, out),
    }
}

/// [`carry`] for a connection that is TLS, or whose first bytes are still to tell which it is.
#[inline(never)]
fn carry_first_or_tls(
    carrier: &mut Carrier,
    tls: &mut TlsContext,
    state: &mut ConnState,
    dir: usize,
    d: Delivery<'_, PacketMeta>,
    stats: &mut Stats,
    out: &mut impl FrameSink,
) {
    if let (Carrier::Unknown, Delivery::Data(bytes, _)) = (&*carrier, &d) {
        *carrier = if state.mode != Mode::Http {
            Carrier::Tcp
        } else if state.joined_late() && !tls.keys.is_empty() {
            // It may be TLS joined after its handshake, or anything else: both are looked for.
            Carrier::Tls(Box::new(TlsSession::joined_late()))
        } else if tls::looks_like_record(bytes) {
            state.info.tls = Some(Box::default());
            Carrier::Tls(Box::default())
        } else {
            Carrier::Tcp
        };
    }
    let Carrier::Tls(session) = carrier else { return state.deliver(dir, d, stats, out) };
    let looking = session.looking_for_keys();
    if looking {
        // Until a secret opens its records, a connection joined late is also looked at as it is.
        state.deliver(dir, d, stats, out);
        if state.mode != Mode::Http {
            *carrier = Carrier::Tcp;
            return;
        }
    }
    session.feed(dir, d, tls, &mut |up| match up {
        Upward::Data(dir, bytes, meta, record) => {
            state.deliver(dir, Delivery::Data(bytes, PacketMeta { record: Some(record), ..meta }), stats, out)
        }
        // How much plaintext was lost is not known: what is above must find its footing again.
        Upward::Gap(dir, meta) => state.deliver(dir, Delivery::Gap(u64::MAX, meta), stats, out),
        Upward::Info(info, client_dir) => {
            if looking && state.info.tls.is_none() {
                // What was looked at so far was ciphertext: look again, at the plaintext.
                state.look_again(client_dir);
            }
            state.info.tls = Some(Box::new(info.clone()));
            state.info_sent = false;
            // ALPN says what runs on top: HTTP/1.1 (or nothing said) goes on to the upgrade.
            if info.alpn.as_deref() == Some("h2")
                && state.mode == Mode::Http
                && let Some(client_dir) = client_dir
            {
                state.start_http2(client_dir, None, stats, out);
            }
        }
    });
    if looking && session.late_not_tls() {
        *carrier = Carrier::Tcp;
    }
}

/// Whether a direction's first bytes start the HTTP/2 client preface (at least `PRI `).
fn is_preface_start(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && http2::PREFACE.starts_with(&bytes[..bytes.len().min(http2::PREFACE.len())])
}

/// A WebSocket the server accepted on an HTTP/2 stream: a connection of its own, with the
/// TCP connection's endpoints and the CONNECT as its handshake.
fn open_h2_socket(
    parent: &ConnectionInfo,
    opening: Opening<PacketMeta>,
    limits: Limits,
    stats: &mut Stats,
    out: &mut impl FrameSink,
) -> H2Socket {
    let Opening { stream, request, response, fields, meta, problems } = opening;
    let mut info = parent.clone();
    info.http2_stream = Some(stream);
    info.arrows = Default::default();
    info.origin = Origin::Handshake;
    info.deflate = response.headers.get(Header::SecWebSocketExtensions).and_then(DeflateParams::from_response);
    info.handshake = Some(Arc::new(Handshake {
        request: Some(request),
        response,
        response_packet: meta.number,
        accept_valid: None,
        http2_fields: fields,
    }));
    let decoders = [frame_decoder(false, true, &info, limits), frame_decoder(true, true, &info, limits)];
    let mut socket = H2Socket { info, decoders, ended: [false; 2], problem: None, info_sent: false };
    stats.websocket_connections += 1;
    stats.http2.websockets += 1;
    let expert: Vec<Expert> = problems
        .iter()
        .filter_map(|p| match p {
            http2::Problem::ConnectNotEnabled => Some(Expert::new(ExpertKind::Http2ConnectNotEnabled, 0)),
            http2::Problem::MissingPseudoHeader => Some(Expert::new(ExpertKind::Http2MissingPseudoHeader, 0)),
            _ => None,
        })
        .collect();
    report_info(&mut socket.info_sent, &socket.info, out);
    out.handshake(&socket.info, meta, &expert);
    socket
}

/// Gives `out` the connection's details unless it has them as they are (`sent`).
fn report_info(sent: &mut bool, info: &ConnectionInfo, out: &mut impl FrameSink) {
    if !*sent {
        *sent = true;
        out.connection(info);
    }
}

/// The callback a decoder reports to: counts the frame and hands it on.
fn reporter<'s>(
    info: &'s ConnectionInfo,
    from_client: bool,
    stats: &'s mut Stats,
    out: &'s mut impl FrameSink,
) -> impl FnMut(DecodedFrame<'_, PacketMeta>) + 's {
    move |f| {
        stats.frames += 1;
        stats.cut_frames += u64::from(f.cut.is_some());
        out.frame(info, from_client, &f);
    }
}
