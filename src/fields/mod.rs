//! The field registry: every name a user can print, with its type, a description and how to read
//! it from a frame. Names and value strings are Wireshark's, so `-e`, the tree and (later)
//! filters and JSON all agree.
//!
//! ```
//! use wsdissect::fields::{lookup, FieldType};
//! let f = lookup("websocket.opcode").unwrap();
//! assert_eq!(f.ty, FieldType::UInt8);
//! assert!(lookup("websocket.opcod").is_none());
//! ```

use std::borrow::Cow;
use std::net::IpAddr;

use crate::analyzer::{Frame, Origin};
use crate::flow::analysis::AnalysisFlags;
use crate::http::{Header, Headers};
use crate::net;
use crate::ws::expert::ExpertKind;
use crate::ws::frame::{Opcode, close_body};

/// What kind of value a field holds (Wireshark's FT_* types, reduced to what is used here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A protocol or label: present or absent.
    None,
    /// True/false.
    Bool,
    /// Unsigned integers of the given width.
    UInt8,
    /// 16-bit unsigned.
    UInt16,
    /// 24-bit unsigned.
    UInt24,
    /// 32-bit unsigned.
    UInt32,
    /// 64-bit unsigned.
    UInt64,
    /// A packet number.
    FrameNum,
    /// A 32-bit signed integer.
    Int32,
    /// A MAC address, written `00:1a:2b:3c:4d:5e`.
    Ether,
    /// Raw bytes.
    Bytes,
    /// UTF-8 text.
    String,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// An absolute time, seconds since the epoch.
    AbsTime,
    /// An absolute time written as a date (`frame.time`: `Nov 25, 2026 17:04:08.019576000 UTC`).
    Date,
    /// A time relative to the first packet.
    RelTime,
}

impl FieldType {
    /// Wireshark's name for the type, as `tshark -G fields` lists it.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::None => "FT_NONE",
            FieldType::Bool => "FT_BOOLEAN",
            FieldType::UInt8 => "FT_UINT8",
            FieldType::UInt16 => "FT_UINT16",
            FieldType::UInt24 => "FT_UINT24",
            FieldType::UInt32 => "FT_UINT32",
            FieldType::UInt64 => "FT_UINT64",
            FieldType::FrameNum => "FT_FRAMENUM",
            FieldType::Int32 => "FT_INT32",
            FieldType::Ether => "FT_ETHER",
            FieldType::Bytes => "FT_BYTES",
            FieldType::String => "FT_STRING",
            FieldType::Ipv4 => "FT_IPv4",
            FieldType::Ipv6 => "FT_IPv6",
            FieldType::AbsTime | FieldType::Date => "FT_ABSOLUTE_TIME",
            FieldType::RelTime => "FT_RELATIVE_TIME",
        }
    }
}

/// One value of a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Present (protocols and labels).
    Present,
    /// A boolean.
    Bool(bool),
    /// An unsigned integer.
    UInt(u64),
    /// A signed integer (what display-filter arithmetic gives).
    Int(i64),
    /// Bytes.
    Bytes(Cow<'a, [u8]>),
    /// Text.
    Str(Cow<'a, str>),
    /// An address.
    Ip(IpAddr),
    /// Nanoseconds (since the epoch for absolute times, since the first packet for relative).
    Nanos(i64),
}

/// Per-capture context some fields need.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Time of the first packet in the capture.
    pub first_ts: i64,
    /// The capture's file names (several for a set), indexed by [`PacketMeta::file`]
    /// (`frame.file`); empty for standard input.
    ///
    /// [`PacketMeta::file`]: crate::analyzer::PacketMeta::file
    pub files: std::sync::Arc<[String]>,
}

/// Reads a field's values (zero, one or several) from a frame.
pub type Getter = for<'a> fn(&Context, &Frame<'a>, &mut dyn FnMut(Value<'a>));

/// A registered field.
pub struct Field {
    /// Wireshark's abbreviation, e.g. `websocket.opcode`.
    pub name: &'static str,
    /// The value type.
    pub ty: FieldType,
    /// Integers shown in hex (`websocket.rsv`), with this many digits in `-T fields`.
    pub hex_digits: Option<u8>,
    /// One line for `--list-fields`.
    pub description: &'static str,
    /// How to read it.
    pub get: Getter,
    /// Names of values (Wireshark's value strings), usable in filters: `websocket.opcode == ping`.
    pub names: &'static [(u64, &'static str)],
}

impl Field {
    /// Whether the field is read from the packet's link, IP and TCP header values
    /// ([`crate::net::Headers`]), which are then decoded for every packet.
    pub fn reads_headers(&self) -> bool {
        const FROM_HEADERS: [&str; 17] = [
            "eth.",
            "vlan.",
            "ip.len",
            "ip.id",
            "ip.flags",
            "ip.ttl",
            "ip.proto",
            "ip.dsfield",
            "ipv6.plen",
            "ipv6.hlim",
            "ipv6.flow",
            "tcp.hdr_len",
            "tcp.flags",
            "tcp.window_size",
            "tcp.options",
            "tcp.analysis",
            "frame.protocols",
        ];
        FROM_HEADERS.iter().any(|p| self.name.starts_with(p))
    }

    /// Whether the field is read from the payload or the message built from it (inflated and
    /// checked), so payloads must be kept and unmasked.
    pub fn reads_payload(&self) -> bool {
        ["websocket.payload", "websocket.message", "websocket.expert", "_ws.expert", "data", "frame.protocols"]
            .iter()
            .any(|p| self.name.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('.')))
            || self.name == "websocket.decompression.failed.expert"
    }

    /// Whether the field is read from the message the frame ends or the frame's expert items,
    /// so frames must be joined into messages and checked: those that read payloads, a
    /// message's shape (its fragments), and every expert item's field.
    pub fn reads_messages(&self) -> bool {
        self.reads_payload()
            || self.name.starts_with("websocket.fragment")
            || self.name == "websocket.reassembled.length"
            || EXPERT_FIELDS.iter().any(|f| f.name == self.name)
    }
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field").field("name", &self.name).field("ty", &self.ty).finish()
    }
}

const fn field(name: &'static str, ty: FieldType, description: &'static str, get: Getter) -> Field {
    Field { name, ty, hex_digits: None, description, get, names: &[] }
}

/// `websocket.opcode` values by name.
pub const OPCODE_NAMES: &[(u64, &str)] =
    &[(0, "Continuation"), (1, "Text"), (2, "Binary"), (8, "Connection Close"), (9, "Ping"), (10, "Pong")];

/// `websocket.payload.close.status_code` values by name (Wireshark's).
pub const CLOSE_CODE_NAMES: &[(u64, &str)] = &[
    (1000, "Normal Closure"),
    (1001, "Going Away"),
    (1002, "Protocol error"),
    (1003, "Unsupported Data"),
    (1004, "---Reserved----"),
    (1005, "No Status Rcvd"),
    (1006, "Abnormal Closure"),
    (1007, "Invalid frame payload data"),
    (1008, "Policy Violation"),
    (1009, "Message Too Big"),
    (1010, "Mandatory Ext."),
    (1011, "Internal Server"),
    (1015, "TLS handshake"),
];

/// `tls.record.content_type` values by name (Wireshark's).
pub const TLS_CONTENT_TYPE_NAMES: &[(u64, &str)] =
    &[(20, "Change Cipher Spec"), (21, "Alert"), (22, "Handshake"), (23, "Application Data"), (24, "Heartbeat")];

/// `tls.record.version` and `tls.handshake.version` values by name (Wireshark's).
pub const TLS_VERSION_NAMES: &[(u64, &str)] =
    &[(0x0300, "SSL 3.0"), (0x0301, "TLS 1.0"), (0x0302, "TLS 1.1"), (0x0303, "TLS 1.2"), (0x0304, "TLS 1.3")];

const SEVERITY_NAMES: &[(u64, &str)] = &[(0x0040_0000, "Note"), (0x0060_0000, "Warning")];
const GROUP_NAMES: &[(u64, &str)] =
    &[(0x0700_0000, "Malformed"), (0x0900_0000, "Protocol"), (0x0d00_0000, "Assumption")];

/// Wireshark's name for a close status code (`websocket.payload.close.status_code`).
pub fn close_code_name(code: u16) -> Option<&'static str> {
    CLOSE_CODE_NAMES.iter().find(|(c, _)| *c == u64::from(code)).map(|(_, name)| *name)
}

/// The close status code, when the close frame carries one.
pub fn close_code(f: &Frame<'_>) -> Option<u16> {
    if f.header.opcode == Opcode::CLOSE { close_body(f.payload).0 } else { None }
}

/// The text of the text message this frame completes (joined and inflated), as Wireshark shows
/// it on the last frame of a message (`websocket.payload.text`); an empty message has none, as in
/// Wireshark.
pub fn text_of<'a>(f: &Frame<'a>) -> Option<Cow<'a, str>> {
    f.message.filter(|m| m.length > 0).and_then(|m| m.text())
}

/// A 16-bit value shown in hex with four digits (`0x0303`), as Wireshark shows TLS versions and
/// cipher suites.
const fn hex16(name: &'static str, description: &'static str, get: Getter) -> Field {
    hex(name, FieldType::UInt16, 4, description, get)
}

/// An integer shown in hex with `digits` digits (`ip.flags`: `0x02`).
const fn hex(name: &'static str, ty: FieldType, digits: u8, description: &'static str, get: Getter) -> Field {
    Field { hex_digits: Some(digits), ..field(name, ty, description, get) }
}

/// The header values of the frame's packet (its last), when it came over IPv4, IPv6 or
/// Ethernet as asked.
fn ipv4_headers<'f>(f: &'f Frame<'_>) -> Option<&'f net::Headers> {
    Some(&f.packet.headers).filter(|h| !h.ipv6)
}

fn ipv6_headers<'f>(f: &'f Frame<'_>) -> Option<&'f net::Headers> {
    Some(&f.packet.headers).filter(|h| h.ipv6)
}

fn ethernet_headers<'f>(f: &'f Frame<'_>) -> Option<&'f net::Headers> {
    Some(&f.packet.headers).filter(|h| h.link == net::Link::Ethernet)
}

/// A `tcp.flags.*` bit.
fn tcp_flag<'a>(f: &Frame<'a>, bit: u16, v: &mut dyn FnMut(Value<'a>)) {
    v(Value::Bool(f.packet.headers.tcp_flags & bit != 0))
}

/// A `tcp.analysis.*` flag: present on the packets tshark's sequence analysis marks.
fn tcp_analysis<'a>(f: &Frame<'a>, bits: u16, v: &mut dyn FnMut(Value<'a>)) {
    if f.packet.tcp_analysis.has(bits) {
        v(Value::Present)
    }
}

/// `frame.protocols`: the protocols tshark names for the packet, down to what the frame's
/// message is dissected as.
pub fn protocols(f: &Frame<'_>) -> String {
    let h = &f.packet.headers;
    let mut out = String::from(match h.link {
        net::Link::Ethernet if h.vlan_id.is_some() => "eth:ethertype:vlan:ethertype",
        net::Link::Ethernet => "eth:ethertype",
        net::Link::Sll | net::Link::Sll2 => "sll:ethertype",
        net::Link::Raw => "raw",
        net::Link::Null => "null",
    });
    out += if h.ipv6 { ":ipv6:tcp" } else { ":ip:tcp" };
    if f.connection.tls.is_some() {
        out += ":tls";
    }
    out += match (f.connection.http2_stream, f.connection.origin) {
        (Some(_), _) => ":http2",
        (None, Origin::Handshake) => ":http",
        _ => "",
    };
    out += ":websocket";
    match f.message.filter(|m| m.wire_length > 0).map(|m| m.opcode) {
        Some(Opcode::TEXT) => out += ":data-text-lines",
        Some(Opcode::BINARY) => out += ":data",
        _ => {}
    }
    out
}

/// What is known of the frame's TLS connection (`tls.handshake.*`, on every frame of it).
fn tls_of<'a>(f: &Frame<'a>) -> Option<&'a crate::tls::TlsInfo> {
    f.connection.tls.as_deref()
}

/// A string header of the request, the response or both.
fn header_field<'a>(
    f: &Frame<'a>,
    request: bool,
    response: bool,
    get: fn(&Headers) -> Option<&str>,
    v: &mut dyn FnMut(Value<'a>),
) {
    let Some(h) = f.connection.handshake.as_ref() else { return };
    let from_request = h.request.as_ref().filter(|_| request).and_then(|r| get(&r.headers));
    let from_response = Some(&h.response.headers).filter(|_| response).and_then(get);
    for value in from_request.into_iter().chain(from_response) {
        v(Value::Str(Cow::Borrowed(value)));
    }
}

fn ip_of(f: &Frame<'_>, src: bool) -> IpAddr {
    if src { f.src().ip } else { f.dst().ip }
}

/// Every field, in the order `--list-fields` shows them.
pub static FIELDS: &[Field] = &[
    field("frame.number", FieldType::FrameNum, "Packet number in the capture, from 1", |_, f, v| {
        v(Value::UInt(f.packet.number))
    }),
    field("frame.time_epoch", FieldType::AbsTime, "Capture time, seconds since 1970-01-01 UTC", |_, f, v| {
        v(Value::Nanos(f.packet.ts_nanos))
    }),
    field("frame.time_relative", FieldType::RelTime, "Seconds since the first packet of the capture", |c, f, v| {
        v(Value::Nanos(f.packet.ts_nanos - c.first_ts))
    }),
    field("frame.time", FieldType::Date, "Capture time, as a date (UTC)", |_, f, v| v(Value::Nanos(f.packet.ts_nanos))),
    field("frame.time_delta", FieldType::RelTime, "Seconds since the packet captured before it", |_, f, v| {
        v(Value::Nanos(f.packet.delta_nanos))
    }),
    field(
        "frame.protocols",
        FieldType::String,
        "The protocols of the packet, as tshark lists them (eth:ethertype:ip:tcp:http:websocket:...)",
        |_, f, v| v(Value::Str(Cow::Owned(protocols(f)))),
    ),
    field("frame.len", FieldType::UInt32, "Packet length on the wire", |_, f, v| {
        v(Value::UInt(u64::from(f.packet.len)))
    }),
    field("frame.cap_len", FieldType::UInt32, "Packet length captured", |_, f, v| {
        v(Value::UInt(u64::from(f.packet.caplen)))
    }),
    field(
        "frame.file",
        FieldType::String,
        "The file the packet came from (several are read as one capture with -r given more than once, a directory or a pattern)",
        |ctx, f, v| {
            if let Some(name) = ctx.files.get(usize::from(f.packet.file)) {
                v(Value::Str(Cow::Owned(name.clone())))
            }
        },
    ),
    field(
        "frame.interface_id",
        FieldType::UInt32,
        "The pcapng interface that captured the packet (absent in pcap files)",
        |_, f, v| {
            if let Some(id) = f.packet.interface_id {
                v(Value::UInt(u64::from(id)))
            }
        },
    ),
    field("eth.src", FieldType::Ether, "Ethernet source address", |_, f, v| {
        if let Some(h) = ethernet_headers(f) {
            v(Value::Bytes(Cow::Owned(h.eth_src.to_vec())))
        }
    }),
    field("eth.dst", FieldType::Ether, "Ethernet destination address", |_, f, v| {
        if let Some(h) = ethernet_headers(f) {
            v(Value::Bytes(Cow::Owned(h.eth_dst.to_vec())))
        }
    }),
    field("eth.addr", FieldType::Ether, "Ethernet source or destination address", |_, f, v| {
        if let Some(h) = ethernet_headers(f) {
            v(Value::Bytes(Cow::Owned(h.eth_dst.to_vec())));
            v(Value::Bytes(Cow::Owned(h.eth_src.to_vec())));
        }
    }),
    hex16("eth.type", "EtherType after the Ethernet addresses (0x8100 before a VLAN tag)", |_, f, v| {
        if let Some(h) = ethernet_headers(f) {
            v(Value::UInt(u64::from(h.eth_type)))
        }
    }),
    field("vlan.id", FieldType::UInt16, "802.1Q VLAN id (of the first tag)", |_, f, v| {
        if let Some(id) = f.packet.headers.vlan_id {
            v(Value::UInt(u64::from(id)))
        }
    }),
    field("ip.src", FieldType::Ipv4, "IPv4 source address", |_, f, v| {
        if f.src().ip.is_ipv4() {
            v(Value::Ip(ip_of(f, true)))
        }
    }),
    field("ip.dst", FieldType::Ipv4, "IPv4 destination address", |_, f, v| {
        if f.src().ip.is_ipv4() {
            v(Value::Ip(ip_of(f, false)))
        }
    }),
    field("ip.addr", FieldType::Ipv4, "IPv4 source or destination address", |_, f, v| {
        if f.src().ip.is_ipv4() {
            v(Value::Ip(ip_of(f, true)));
            v(Value::Ip(ip_of(f, false)));
        }
    }),
    field("ip.len", FieldType::UInt16, "IPv4 total length", |_, f, v| {
        if let Some(h) = ipv4_headers(f) {
            v(Value::UInt(u64::from(h.ip_len)))
        }
    }),
    hex16("ip.id", "IPv4 identification", |_, f, v| {
        if let Some(h) = ipv4_headers(f) {
            v(Value::UInt(u64::from(h.ip_id_or_flow)))
        }
    }),
    hex("ip.flags", FieldType::UInt8, 2, "IPv4 flags (0x02: don't fragment, 0x01: more fragments)", |_, f, v| {
        if let Some(h) = ipv4_headers(f) {
            v(Value::UInt(u64::from(h.ip_flags)))
        }
    }),
    field("ip.flags.df", FieldType::Bool, "IPv4 don't fragment", |_, f, v| {
        if let Some(h) = ipv4_headers(f) {
            v(Value::Bool(h.ip_flags & 0x2 != 0))
        }
    }),
    field("ip.ttl", FieldType::UInt8, "IPv4 time to live", |_, f, v| {
        if let Some(h) = ipv4_headers(f) {
            v(Value::UInt(u64::from(h.ttl)))
        }
    }),
    field("ip.proto", FieldType::UInt8, "IPv4 protocol (6: TCP)", |_, f, v| {
        if let Some(h) = ipv4_headers(f) {
            v(Value::UInt(u64::from(h.proto)))
        }
    }),
    hex("ip.dsfield", FieldType::UInt8, 2, "IPv4 differentiated services field (DSCP and ECN)", |_, f, v| {
        if let Some(h) = ipv4_headers(f) {
            v(Value::UInt(u64::from(h.dsfield)))
        }
    }),
    field("ipv6.src", FieldType::Ipv6, "IPv6 source address", |_, f, v| {
        if f.src().ip.is_ipv6() {
            v(Value::Ip(ip_of(f, true)))
        }
    }),
    field("ipv6.dst", FieldType::Ipv6, "IPv6 destination address", |_, f, v| {
        if f.src().ip.is_ipv6() {
            v(Value::Ip(ip_of(f, false)))
        }
    }),
    field("ipv6.addr", FieldType::Ipv6, "IPv6 source or destination address", |_, f, v| {
        if f.src().ip.is_ipv6() {
            v(Value::Ip(ip_of(f, true)));
            v(Value::Ip(ip_of(f, false)));
        }
    }),
    field("ipv6.plen", FieldType::UInt16, "IPv6 payload length", |_, f, v| {
        if let Some(h) = ipv6_headers(f) {
            v(Value::UInt(u64::from(h.ip_len)))
        }
    }),
    field("ipv6.hlim", FieldType::UInt8, "IPv6 hop limit", |_, f, v| {
        if let Some(h) = ipv6_headers(f) {
            v(Value::UInt(u64::from(h.ttl)))
        }
    }),
    hex("ipv6.flow", FieldType::UInt24, 6, "IPv6 flow label", |_, f, v| {
        if let Some(h) = ipv6_headers(f) {
            v(Value::UInt(u64::from(h.ip_id_or_flow)))
        }
    }),
    field("tcp.srcport", FieldType::UInt16, "TCP source port", |_, f, v| v(Value::UInt(u64::from(f.src().port)))),
    field("tcp.dstport", FieldType::UInt16, "TCP destination port", |_, f, v| v(Value::UInt(u64::from(f.dst().port)))),
    field("tcp.port", FieldType::UInt16, "TCP source or destination port", |_, f, v| {
        v(Value::UInt(u64::from(f.src().port)));
        v(Value::UInt(u64::from(f.dst().port)));
    }),
    field("tcp.stream", FieldType::UInt32, "TCP connection index, in order of first packet, from 0", |_, f, v| {
        v(Value::UInt(u64::from(f.connection.stream)))
    }),
    field("tcp.seq", FieldType::UInt32, "TCP sequence number, relative to the first", |_, f, v| {
        v(Value::UInt(u64::from(f.relative_seq())))
    }),
    field("tcp.ack", FieldType::UInt32, "TCP acknowledgement number, relative", |_, f, v| {
        v(Value::UInt(u64::from(f.relative_ack())))
    }),
    field("tcp.len", FieldType::UInt32, "TCP payload length of the packet", |_, f, v| {
        v(Value::UInt(u64::from(f.packet.tcp_len)))
    }),
    field("tcp.hdr_len", FieldType::UInt8, "TCP header length, bytes", |_, f, v| {
        v(Value::UInt(u64::from(f.packet.headers.tcp_hdr_len)))
    }),
    hex16("tcp.flags", "TCP flags (0x002 SYN, 0x010 ACK, 0x008 PSH, ...)", |_, f, v| {
        v(Value::UInt(u64::from(f.packet.headers.tcp_flags)))
    }),
    field("tcp.flags.syn", FieldType::Bool, "TCP SYN", |_, f, v| tcp_flag(f, net::tcp_flag::SYN, v)),
    field("tcp.flags.ack", FieldType::Bool, "TCP ACK", |_, f, v| tcp_flag(f, net::tcp_flag::ACK, v)),
    field("tcp.flags.fin", FieldType::Bool, "TCP FIN", |_, f, v| tcp_flag(f, net::tcp_flag::FIN, v)),
    field("tcp.flags.reset", FieldType::Bool, "TCP RST", |_, f, v| tcp_flag(f, net::tcp_flag::RST, v)),
    field("tcp.flags.push", FieldType::Bool, "TCP PSH", |_, f, v| tcp_flag(f, net::tcp_flag::PSH, v)),
    field("tcp.flags.urg", FieldType::Bool, "TCP URG", |_, f, v| tcp_flag(f, net::tcp_flag::URG, v)),
    field("tcp.window_size_value", FieldType::UInt16, "TCP window, as in the header", |_, f, v| {
        v(Value::UInt(u64::from(f.packet.headers.window)))
    }),
    field(
        "tcp.window_size",
        FieldType::UInt32,
        "TCP window, scaled by the shift the sender's SYN announced (none if either SYN had none)",
        |_, f, v| {
            let h = &f.packet.headers;
            let shift = f.connection.window_shift[usize::from(!f.from_client)]
                .filter(|_| h.tcp_flags & net::tcp_flag::SYN == 0);
            v(Value::UInt(u64::from(h.window) << shift.unwrap_or(0)))
        },
    ),
    field("tcp.analysis.flags", FieldType::None, "TCP sequence analysis: any of the tcp.analysis flags", |_, f, v| {
        if !f.packet.tcp_analysis.is_empty() {
            v(Value::Present)
        }
    }),
    field(
        "tcp.analysis.retransmission",
        FieldType::None,
        "A (suspected) retransmission; also on fast and spurious ones",
        |_, f, v| tcp_analysis(f, AnalysisFlags::RETRANSMISSION, v),
    ),
    field(
        "tcp.analysis.fast_retransmission",
        FieldType::None,
        "A (suspected) fast retransmission: resent within 20 ms of the second duplicate ACK asking for it",
        |_, f, v| tcp_analysis(f, AnalysisFlags::FAST_RETRANSMISSION, v),
    ),
    field(
        "tcp.analysis.spurious_retransmission",
        FieldType::None,
        "A (suspected) spurious retransmission: resends bytes already ACKed",
        |_, f, v| tcp_analysis(f, AnalysisFlags::SPURIOUS_RETRANSMISSION, v),
    ),
    field(
        "tcp.analysis.out_of_order",
        FieldType::None,
        "A (suspected) out-of-order segment: earlier bytes within the handshake round trip (or 3 ms) of the highest",
        |_, f, v| tcp_analysis(f, AnalysisFlags::OUT_OF_ORDER, v),
    ),
    field(
        "tcp.analysis.lost_segment",
        FieldType::None,
        "Previous segment(s) not captured: starts beyond the highest byte seen",
        |_, f, v| tcp_analysis(f, AnalysisFlags::LOST_SEGMENT, v),
    ),
    field("tcp.analysis.ack_lost_segment", FieldType::None, "ACKs a segment that was not captured", |_, f, v| {
        tcp_analysis(f, AnalysisFlags::ACK_LOST_SEGMENT, v)
    }),
    field(
        "tcp.analysis.duplicate_ack",
        FieldType::None,
        "Duplicate ACK: empty, same ACK and window as the sender's previous segment",
        |_, f, v| tcp_analysis(f, AnalysisFlags::DUPLICATE_ACK, v),
    ),
    field(
        "tcp.analysis.keep_alive",
        FieldType::None,
        "TCP keep-alive: 0 or 1 byte one before the next expected byte",
        |_, f, v| tcp_analysis(f, AnalysisFlags::KEEP_ALIVE, v),
    ),
    field("tcp.analysis.keep_alive_ack", FieldType::None, "ACK to a TCP keep-alive", |_, f, v| {
        tcp_analysis(f, AnalysisFlags::KEEP_ALIVE_ACK, v)
    }),
    field(
        "tcp.analysis.window_update",
        FieldType::None,
        "TCP window update: empty, same ACK, a new window",
        |_, f, v| tcp_analysis(f, AnalysisFlags::WINDOW_UPDATE, v),
    ),
    field("tcp.analysis.window_full", FieldType::None, "Fills the window the receiver last offered", |_, f, v| {
        tcp_analysis(f, AnalysisFlags::WINDOW_FULL, v)
    }),
    field("tcp.analysis.zero_window", FieldType::None, "Offers a zero window", |_, f, v| {
        tcp_analysis(f, AnalysisFlags::ZERO_WINDOW, v)
    }),
    field(
        "tcp.analysis.zero_window_probe",
        FieldType::None,
        "TCP zero window probe: one byte into a zero window",
        |_, f, v| tcp_analysis(f, AnalysisFlags::ZERO_WINDOW_PROBE, v),
    ),
    field(
        "tcp.analysis.reused_ports",
        FieldType::None,
        "A SYN with a new sequence number reuses the ports of an earlier connection",
        |_, f, v| tcp_analysis(f, AnalysisFlags::REUSED_PORTS, v),
    ),
    field("tcp.analysis.zero_window_probe_ack", FieldType::None, "ACK to a TCP zero window probe", |_, f, v| {
        tcp_analysis(f, AnalysisFlags::ZERO_WINDOW_PROBE_ACK, v)
    }),
    field("tcp.options.mss_val", FieldType::UInt16, "TCP maximum segment size option", |_, f, v| {
        if let Some(mss) = f.packet.headers.mss {
            v(Value::UInt(u64::from(mss)))
        }
    }),
    field("tcp.options.wscale.shift", FieldType::UInt8, "TCP window scale option: shift count", |_, f, v| {
        if let Some(shift) = f.packet.headers.wscale {
            v(Value::UInt(u64::from(shift)))
        }
    }),
    field("tcp.options.sack_perm", FieldType::Bytes, "TCP SACK permitted option (its bytes, 04:02)", |_, f, v| {
        if f.packet.headers.sack_perm {
            v(Value::Bytes(Cow::Borrowed(&[4, 2])))
        }
    }),
    field("tcp.options.timestamp.tsval", FieldType::UInt32, "TCP timestamps option: value", |_, f, v| {
        if let Some((tsval, _)) = f.packet.headers.timestamps {
            v(Value::UInt(u64::from(tsval)))
        }
    }),
    field("tcp.options.timestamp.tsecr", FieldType::UInt32, "TCP timestamps option: echo reply", |_, f, v| {
        if let Some((_, tsecr)) = f.packet.headers.timestamps {
            v(Value::UInt(u64::from(tsecr)))
        }
    }),
    Field {
        names: TLS_VERSION_NAMES,
        ..hex16(
            "tls.record.version",
            "TLS: the version in the header of the record that carried the frame's end",
            |_, f, v| {
                if let Some(version) = f.packet.record.and(tls_of(f).and_then(|t| t.record_version)) {
                    v(Value::UInt(u64::from(version)))
                }
            },
        )
    },
    Field {
        names: TLS_CONTENT_TYPE_NAMES,
        ..field(
            "tls.record.content_type",
            FieldType::UInt8,
            "TLS: the content type of that record (after decryption in TLS 1.3)",
            |_, f, v| {
                if let Some(r) = f.packet.record {
                    v(Value::UInt(u64::from(r.content_type)))
                }
            },
        )
    },
    Field {
        names: TLS_CONTENT_TYPE_NAMES,
        ..field(
            "tls.record.opaque_type",
            FieldType::UInt8,
            "TLS 1.3: the record header's type (always 23)",
            |_, f, v| {
                // Every protected TLS 1.3 record says application_data outside.
                if f.packet.record.is_some() && tls_of(f).is_some_and(|t| t.version == Some(0x0304)) {
                    v(Value::UInt(u64::from(crate::tls::content_type::APPLICATION_DATA)))
                }
            },
        )
    },
    field("tls.record.length", FieldType::UInt16, "TLS: the length of that record (protected bytes)", |_, f, v| {
        if let Some(r) = f.packet.record {
            v(Value::UInt(u64::from(r.length)))
        }
    }),
    field(
        "tls.decrypted",
        FieldType::Bool,
        "TLS: the frame was decrypted (present on TLS connections only)",
        |_, f, v| {
            if tls_of(f).is_some() {
                v(Value::Bool(f.packet.record.is_some()))
            }
        },
    ),
    field(
        "tls.handshake.type",
        FieldType::UInt8,
        "TLS: the connection's hello messages seen (1 ClientHello, 2 ServerHello), on every frame",
        |_, f, v| {
            if let Some(t) = tls_of(f) {
                // Each is known only from its message.
                if t.server_name.is_some() || !t.alpn_offered.is_empty() || t.server_hello_version.is_some() {
                    v(Value::UInt(1));
                }
                if t.server_hello_version.is_some() {
                    v(Value::UInt(2));
                }
            }
        },
    ),
    Field {
        names: TLS_VERSION_NAMES,
        ..hex16("tls.handshake.version", "TLS: the ServerHello's version field (0x0303 for TLS 1.3 too)", |_, f, v| {
            if let Some(version) = tls_of(f).and_then(|t| t.server_hello_version) {
                v(Value::UInt(u64::from(version)))
            }
        })
    },
    Field {
        names: TLS_VERSION_NAMES,
        ..hex16(
            "tls.handshake.extensions.supported_version",
            "TLS: the version the ServerHello chose by supported_versions (TLS 1.3)",
            |_, f, v| {
                if let Some(t) = tls_of(f).filter(|t| t.version != t.server_hello_version) {
                    t.version.into_iter().for_each(|version| v(Value::UInt(u64::from(version))));
                }
            },
        )
    },
    hex16("tls.handshake.ciphersuite", "TLS: the cipher suite the ServerHello chose", |_, f, v| {
        if let Some(suite) = tls_of(f).and_then(|t| t.cipher_suite) {
            v(Value::UInt(u64::from(suite)))
        }
    }),
    field(
        "tls.handshake.extensions_server_name",
        FieldType::String,
        "TLS: the server name (SNI) of the ClientHello",
        |_, f, v| {
            if let Some(name) = tls_of(f).and_then(|t| t.server_name.as_deref()) {
                v(Value::Str(Cow::Borrowed(name)))
            }
        },
    ),
    field(
        "tls.handshake.extensions_alpn_str",
        FieldType::String,
        "TLS: ALPN protocols the ClientHello offered, then the one the ServerHello chose",
        |_, f, v| {
            if let Some(t) = tls_of(f) {
                t.alpn_offered.iter().chain(&t.alpn).for_each(|p| v(Value::Str(Cow::Borrowed(p.as_str()))));
            }
        },
    ),
    field("websocket", FieldType::None, "WebSocket frame", |_, _, v| v(Value::Present)),
    field("websocket.fin", FieldType::Bool, "Fin: the last frame of a message", |_, f, v| v(Value::Bool(f.header.fin))),
    Field {
        hex_digits: Some(2),
        ..field("websocket.rsv", FieldType::UInt8, "Reserved bits RSV1-3 (RSV1 = 0x4)", |_, f, v| {
            v(Value::UInt(u64::from(f.header.rsv)))
        })
    },
    field(
        "websocket.pmc",
        FieldType::Bool,
        "Per-Message Compressed (RSV1), on connections that negotiated permessage-deflate",
        |_, f, v| {
            if f.connection.deflate.is_some() {
                v(Value::Bool(f.header.rsv1()))
            }
        },
    ),
    Field {
        names: OPCODE_NAMES,
        ..field(
            "websocket.opcode",
            FieldType::UInt8,
            "Opcode: 0 Continuation, 1 Text, 2 Binary, 8 Close, 9 Ping, 10 Pong",
            |_, f, v| v(Value::UInt(u64::from(f.header.opcode.0))),
        )
    },
    field("websocket.mask", FieldType::Bool, "Mask: the payload is masked", |_, f, v| v(Value::Bool(f.header.masked))),
    field(
        "websocket.payload_length",
        FieldType::UInt8,
        "Payload length, 7-bit field (126/127 announce extended lengths)",
        |_, f, v| v(Value::UInt(u64::from(f.header.len7))),
    ),
    field("websocket.payload_length_ext_16", FieldType::UInt16, "Extended Payload length (16 bits)", |_, f, v| {
        if let Some(n) = f.header.ext_16() {
            v(Value::UInt(u64::from(n)))
        }
    }),
    field("websocket.payload_length_ext_64", FieldType::UInt64, "Extended Payload length (64 bits)", |_, f, v| {
        if let Some(n) = f.header.ext_64() {
            v(Value::UInt(n))
        }
    }),
    field("websocket.masking_key", FieldType::Bytes, "Masking-Key", |_, f, v| {
        if let Some(k) = f.header.masking_key {
            v(Value::Bytes(Cow::Owned(k.to_vec())))
        }
    }),
    field(
        "websocket.masked_payload",
        FieldType::None,
        "Masked payload (present when masked and not empty)",
        |_, f, v| {
            if f.header.masked && f.header.payload_len > 0 {
                v(Value::Present)
            }
        },
    ),
    field("websocket.payload", FieldType::Bytes, "Payload (after unmasking)", |_, f, v| {
        if f.header.payload_len > 0 {
            v(Value::Bytes(Cow::Borrowed(f.payload)))
        }
    }),
    field("websocket.payload.text", FieldType::String, "Text payload", |_, f, v| {
        if let Some(t) = text_of(f) {
            v(Value::Str(t))
        }
    }),
    field("data", FieldType::None, "tshark's data dissector: a binary message's data, on its last frame", |_, f, v| {
        if f.message.is_some_and(|m| m.opcode == Opcode::BINARY && m.length > 0) {
            v(Value::Present)
        }
    }),
    field(
        "data.data",
        FieldType::Bytes,
        "A binary message's data (tshark's data dissector), on its last frame",
        |_, f, v| {
            if let Some(m) = f.message.filter(|m| m.opcode == Opcode::BINARY && m.length > 0) {
                v(Value::Bytes(Cow::Borrowed(m.data)))
            }
        },
    ),
    field("data.len", FieldType::Int32, "Length of data.data", |_, f, v| {
        if let Some(m) = f.message.filter(|m| m.opcode == Opcode::BINARY && m.length > 0) {
            v(Value::UInt(m.length))
        }
    }),
    field("websocket.payload.close", FieldType::None, "Close frame body", |_, f, v| {
        if f.header.opcode == Opcode::CLOSE && f.header.payload_len > 0 {
            v(Value::Present)
        }
    }),
    Field {
        names: CLOSE_CODE_NAMES,
        ..field("websocket.payload.close.status_code", FieldType::UInt16, "Close status code", |_, f, v| {
            if let Some(code) = close_code(f) {
                v(Value::UInt(u64::from(code)))
            }
        })
    },
    field("websocket.payload.close.reason", FieldType::String, "Close reason", |_, f, v| {
        if let (Opcode::CLOSE, (_, Some(reason))) = (f.header.opcode, close_body(f.payload)) {
            v(Value::Str(String::from_utf8_lossy(reason)))
        }
    }),
    field("websocket.payload.ping", FieldType::Bytes, "Ping payload", |_, f, v| {
        if f.header.opcode == Opcode::PING && f.header.payload_len > 0 {
            v(Value::Bytes(Cow::Borrowed(f.payload)))
        }
    }),
    field("websocket.payload.pong", FieldType::Bytes, "Pong payload", |_, f, v| {
        if f.header.opcode == Opcode::PONG && f.header.payload_len > 0 {
            v(Value::Bytes(Cow::Borrowed(f.payload)))
        }
    }),
    field("websocket.payload.continue", FieldType::Bytes, "Payload of a continuation frame", |_, f, v| {
        if f.header.opcode == Opcode::CONTINUATION && f.header.payload_len > 0 {
            v(Value::Bytes(Cow::Borrowed(f.payload)))
        }
    }),
    field("websocket.payload.unknown", FieldType::Bytes, "Payload of a frame with a reserved opcode", |_, f, v| {
        if !f.header.opcode.is_defined() && f.header.payload_len > 0 {
            v(Value::Bytes(Cow::Borrowed(f.payload)))
        }
    }),
    Field {
        names: OPCODE_NAMES,
        ..field(
            "websocket.message.opcode",
            FieldType::UInt8,
            "Opcode of the message this frame completes",
            |_, f, v| {
                if let Some(m) = f.message {
                    v(Value::UInt(u64::from(m.opcode.0)))
                }
            },
        )
    },
    field(
        "websocket.message.length",
        FieldType::UInt64,
        "Length of the message this frame completes, after inflating",
        |_, f, v| {
            if let Some(m) = f.message {
                v(Value::UInt(m.length))
            }
        },
    ),
    field(
        "websocket.message.wire_length",
        FieldType::UInt64,
        "Payload bytes of the message on the wire, over all its frames",
        |_, f, v| {
            if let Some(m) = f.message {
                v(Value::UInt(m.wire_length))
            }
        },
    ),
    field("websocket.message.frames", FieldType::UInt32, "Number of frames of the message", |_, f, v| {
        if let Some(m) = f.message {
            v(Value::UInt(m.fragments.len() as u64))
        }
    }),
    field(
        "websocket.message.compressed",
        FieldType::Bool,
        "The message was compressed with permessage-deflate",
        |_, f, v| {
            if let Some(m) = f.message {
                v(Value::Bool(m.compressed))
            }
        },
    ),
    field(
        "websocket.message.complete",
        FieldType::Bool,
        "The whole message was captured, kept and (if compressed) inflated",
        |_, f, v| {
            if let Some(m) = f.message {
                v(Value::Bool(m.complete))
            }
        },
    ),
    field("websocket.message.data", FieldType::Bytes, "The message payload, joined and inflated", |_, f, v| {
        if let Some(m) = f.message.filter(|m| !m.data.is_empty()) {
            v(Value::Bytes(Cow::Borrowed(m.data)))
        }
    }),
    field(
        "websocket.fragment",
        FieldType::FrameNum,
        "Packets carrying the frames of a message of several frames",
        |_, f, v| {
            if let Some(m) = f.message.filter(|m| m.fragments.len() > 1) {
                m.fragments.iter().for_each(|frag| v(Value::UInt(frag.packet)));
            }
        },
    ),
    field("websocket.fragment.count", FieldType::UInt32, "Fragment count of a message of several frames", |_, f, v| {
        if let Some(m) = f.message.filter(|m| m.fragments.len() > 1) {
            v(Value::UInt(m.fragments.len() as u64))
        }
    }),
    field(
        "websocket.reassembled.length",
        FieldType::UInt32,
        "Reassembled websocket Payload length (wire bytes) of a message of several frames",
        |_, f, v| {
            if let Some(m) = f.message.filter(|m| m.fragments.len() > 1) {
                v(Value::UInt(m.wire_length))
            }
        },
    ),
    field(
        "websocket.heuristic",
        FieldType::Bool,
        "The connection was found from its frames, without a handshake (the capture joined it late)",
        |_, f, v| {
            if f.connection.origin == Origin::Heuristic {
                v(Value::Bool(true))
            }
        },
    ),
    field(
        "websocket.cut",
        FieldType::Bool,
        "The frame is incomplete: bytes lost to a gap or the capture's end",
        |_, f, v| v(Value::Bool(f.cut.is_some())),
    ),
    field("websocket.payload_captured", FieldType::UInt64, "Payload bytes the capture carried", |_, f, v| {
        v(Value::UInt(f.payload_seen))
    }),
    field(
        "http2.streamid",
        FieldType::UInt32,
        "HTTP/2: the stream carrying the WebSocket (RFC 8441), on every frame of it",
        |_, f, v| {
            if let Some(id) = f.connection.http2_stream {
                v(Value::UInt(u64::from(id)))
            }
        },
    ),
    field(
        "http2.header.name",
        FieldType::String,
        "HTTP/2: the name of each header field of the CONNECT and its response, in order (every frame)",
        |_, f, v| {
            for (name, _) in http2_fields(f) {
                v(Value::Str(Cow::Borrowed(name.as_str())))
            }
        },
    ),
    field(
        "http2.header.value",
        FieldType::String,
        "HTTP/2: the value of each header field of the CONNECT and its response, in order (every frame)",
        |_, f, v| {
            for (_, value) in http2_fields(f) {
                v(Value::Str(Cow::Borrowed(value.as_str())))
            }
        },
    ),
    field(
        "http.request.method",
        FieldType::String,
        "Handshake request method, on every frame of its connection (tshark: the handshake packets)",
        |_, f, v| {
            if let Some(r) = f.connection.handshake.as_ref().and_then(|h| h.request.as_ref()) {
                v(Value::Str(Cow::Borrowed(&r.method)))
            }
        },
    ),
    field(
        "http.request.uri",
        FieldType::String,
        "Handshake request URI, on every frame of its connection (tshark: the handshake packets)",
        |_, f, v| {
            if let Some(r) = f.connection.handshake.as_ref().and_then(|h| h.request.as_ref()) {
                v(Value::Str(Cow::Borrowed(r.uri.as_str())))
            }
        },
    ),
    field(
        "http.host",
        FieldType::String,
        "Handshake Host header, on every frame of its connection (tshark: the handshake packets)",
        |_, f, v| header_field(f, true, false, |h| h.get(Header::Host), v),
    ),
    field(
        "http.user_agent",
        FieldType::String,
        "Handshake User-Agent header, on every frame of its connection (tshark: the handshake packets)",
        |_, f, v| header_field(f, true, false, |h| h.get(Header::UserAgent), v),
    ),
    field(
        "http.origin",
        FieldType::String,
        "Handshake Origin header, on every frame of its connection (tshark: the handshake packets)",
        |_, f, v| header_field(f, true, false, |h| h.get(Header::Origin), v),
    ),
    field("http.upgrade", FieldType::String, "Upgrade header of the request and of the response", |_, f, v| {
        header_field(f, true, true, |h| h.get(Header::Upgrade), v)
    }),
    field("http.sec_websocket_key", FieldType::String, "Sec-WebSocket-Key of the request", |_, f, v| {
        header_field(f, true, false, |h| h.get(Header::SecWebSocketKey), v)
    }),
    field("http.sec_websocket_accept", FieldType::String, "Sec-WebSocket-Accept of the response", |_, f, v| {
        header_field(f, false, true, |h| h.get(Header::SecWebSocketAccept), v)
    }),
    field("http.sec_websocket_version", FieldType::String, "Sec-WebSocket-Version of the request", |_, f, v| {
        header_field(f, true, false, |h| h.get(Header::SecWebSocketVersion), v)
    }),
    field(
        "http.sec_websocket_protocol",
        FieldType::String,
        "Sec-WebSocket-Protocol offered (request) and chosen (response), in that order",
        |_, f, v| header_field(f, true, true, |h| h.get(Header::SecWebSocketProtocol), v),
    ),
    field(
        "http.sec_websocket_extensions",
        FieldType::String,
        "Sec-WebSocket-Extensions offered (request) and accepted (response), in that order",
        |_, f, v| header_field(f, true, true, |h| h.get(Header::SecWebSocketExtensions), v),
    ),
    field(
        "http.response.code",
        FieldType::UInt16,
        "Handshake response status code (101), on every frame of its connection (tshark: the handshake packets)",
        |_, f, v| {
            if let Some(h) = f.connection.handshake.as_ref() {
                v(Value::UInt(u64::from(h.response.code)))
            }
        },
    ),
    field(
        "websocket.handshake.accept_valid",
        FieldType::Bool,
        "Sec-WebSocket-Accept matches Sec-WebSocket-Key (absent without both)",
        |_, f, v| {
            if let Some(ok) = f.connection.handshake.as_ref().and_then(|h| h.accept_valid) {
                v(Value::Bool(ok))
            }
        },
    ),
    field("_ws.expert", FieldType::None, "Expert info: present when something is wrong", |_, f, v| {
        if !f.expert.is_empty() {
            v(Value::Present)
        }
    }),
    field("_ws.expert.message", FieldType::String, "Expert info message", |_, f, v| {
        f.expert.iter().for_each(|e| v(Value::Str(Cow::Owned(e.to_string()))))
    }),
    Field {
        names: SEVERITY_NAMES,
        ..field(
            "_ws.expert.severity",
            FieldType::UInt32,
            "Expert info severity (Note 0x400000, Warning 0x600000)",
            |_, f, v| f.expert.iter().for_each(|e| v(Value::UInt(u64::from(e.kind.severity().code())))),
        )
    },
    Field {
        names: GROUP_NAMES,
        ..field(
            "_ws.expert.group",
            FieldType::UInt32,
            "Expert info group (Malformed 0x7000000, Protocol 0x9000000, Assumption 0xd000000)",
            |_, f, v| f.expert.iter().for_each(|e| v(Value::UInt(u64::from(e.kind.group().code())))),
        )
    },
];

/// Whether the frame has an expert item of kind number `N`.
fn has_expert<'a, const N: usize>(_: &Context, f: &Frame<'a>, v: &mut dyn FnMut(Value<'a>)) {
    if f.expert.iter().any(|e| e.kind as usize == N) {
        v(Value::Bool(true))
    }
}

const fn expert_field<const N: usize>() -> Field {
    let kind = ExpertKind::ALL[N];
    field(kind.field(), FieldType::Bool, kind.description(), has_expert::<N>)
}

macro_rules! expert_fields {
    ($($n:literal)*) => { &[$(expert_field::<$n>(),)*] };
}

/// One boolean field per kind of expert item, in [`ExpertKind::ALL`] order.
pub static EXPERT_FIELDS: &[Field] =
    expert_fields!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28);

/// Every field: [`FIELDS`] then [`EXPERT_FIELDS`].
pub fn all() -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().chain(EXPERT_FIELDS)
}

/// The header fields of a WebSocket's CONNECT and response over HTTP/2 (none over HTTP/1.1).
fn http2_fields<'a>(f: &Frame<'a>) -> &'a [(String, String)] {
    f.connection.handshake.as_deref().map_or(&[], |h| h.http2_fields.as_slice())
}

/// Finds a field by name.
pub fn lookup(name: &str) -> Option<&'static Field> {
    all().find(|f| f.name == name)
}

/// Known names closest to `name`, for "did you mean" messages.
pub fn closest(name: &str) -> Vec<&'static str> {
    closest_among(name, all().map(|f| f.name))
}

/// The names among `names` closest to `name` (by edit distance), for "did you mean" messages.
pub fn closest_among<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &'a str)> = names.map(|n| (edit_distance(name, n), n)).collect();
    scored.sort();
    let best = scored.first().map_or(0, |s| s.0);
    scored.into_iter().take_while(|s| s.0 <= best + 2 && s.0 <= name.len().max(4)).take(3).map(|s| s.1).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_unique_and_described() {
        let all: Vec<_> = all().collect();
        for (i, f) in all.iter().enumerate() {
            assert!(!f.description.is_empty(), "{}", f.name);
            assert!(all[i + 1..].iter().all(|g| g.name != f.name), "duplicate {}", f.name);
        }
        assert_eq!(EXPERT_FIELDS.len(), ExpertKind::ALL.len());
        for (k, f) in ExpertKind::ALL.iter().zip(EXPERT_FIELDS) {
            assert_eq!(k.field(), f.name);
        }
    }

    #[test]
    fn test_closest_suggests() {
        assert_eq!(closest("websocket.opcod")[0], "websocket.opcode");
        assert!(closest("tcp.strem").contains(&"tcp.stream"));
    }

    #[test]
    fn test_close_code_names() {
        assert_eq!(close_code_name(1000), Some("Normal Closure"));
        assert_eq!(close_code_name(4000), None);
    }
}
