//! `-T json` and `-T jsonl`: a frame as a JSON object nested by protocol, with the names of the
//! filter fields (`.websocket.opcode` in jq is `websocket.opcode` in a filter) and typed values.
//! The schema is `schema/frame.schema.json`.

use std::io::{self, Write};

use std::borrow::Cow;
use std::fmt;

use base64::display::Base64Display;
use serde::{Serialize, Serializer};
use serde_json::Number;

use super::messages::ExpertRecord;
use super::text::write_hex_runs;
use crate::analyzer::{Frame, Origin};
use crate::fields::{Context, close_code, text_of};
use crate::http::Header;
use crate::tls::TlsInfo;
use crate::tls::cipher::Suite;
use crate::tls::content_type::APPLICATION_DATA;
use crate::ws::frame::{Opcode, close_body};
use crate::ws::message::Fragment;

/// How byte strings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BytesAs {
    /// Lowercase hex, two digits a byte.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

impl BytesAs {
    /// Encodes bytes.
    pub fn encode(self, bytes: &[u8]) -> String {
        Encoded(bytes, self).to_string()
    }
}

/// An absolute time as RFC 3339 in UTC, with microseconds (or nanoseconds when they matter).
pub fn rfc3339(nanos: i64) -> String {
    let t = super::Civil::of(nanos);
    let frac = if t.nanos % 1000 == 0 { format!("{:06}", t.nanos / 1000) } else { format!("{:09}", t.nanos) };
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{frac}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

/// Exact decimal seconds, as a JSON number.
fn seconds(nanos: i64) -> Number {
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.unsigned_abs();
    let text = format!("{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000);
    serde_json::from_str(&text).expect("digits, a point and digits are a JSON number")
}

/// Bytes as a JSON string, encoded as they are written.
struct Encoded<'a>(&'a [u8], BytesAs);

impl fmt::Display for Encoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            // In runs: the writer escapes what it is given, piece by piece.
            BytesAs::Hex => write_hex_runs(self.0, |run| f.write_str(run)),
            BytesAs::Base64 => write!(f, "{}", Base64Display::new(self.0, &base64::engine::general_purpose::STANDARD)),
        }
    }
}

impl Serialize for Encoded<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A masking key, always in hex.
struct MaskingKey([u8; 4]);

impl Serialize for MaskingKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Encoded(&self.0, BytesAs::Hex).serialize(serializer)
    }
}

/// A frame as a JSON object: written field by field, nothing built in between. The order of
/// the members is the schema's.
#[derive(Serialize)]
pub struct FrameRecord<'a> {
    frame: FrameMembers,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<IpMembers>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6: Option<IpMembers>,
    tcp: TcpMembers,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsMembers<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http2: Option<Http2Members>,
    websocket: WebSocketMembers<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<HttpMembers<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    expert: Vec<ExpertRecord>,
}

#[derive(Serialize)]
struct FrameMembers {
    number: u64,
    time: String,
    time_epoch: Number,
    time_relative: Number,
    len: u32,
    cap_len: u32,
}

#[derive(Serialize)]
struct IpMembers {
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
}

/// `http2.*`: the stream of a WebSocket over HTTP/2.
#[derive(Serialize)]
struct Http2Members {
    streamid: u32,
}

#[derive(Serialize)]
struct TcpMembers {
    srcport: u16,
    dstport: u16,
    stream: u32,
    seq: u32,
    ack: u32,
    len: u32,
}

/// `tls.*`: the record that carried the frame's end, and the connection's handshake.
#[derive(Serialize)]
struct TlsMembers<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<RecordMembers>,
    decrypted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_name: Option<&'static str>,
    handshake: TlsHandshakeMembers<'a>,
}

#[derive(Serialize)]
struct RecordMembers {
    version: u16,
    content_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    opaque_type: Option<u8>,
    length: u16,
}

#[derive(Serialize)]
struct TlsHandshakeMembers<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ciphersuite: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ciphersuite_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extensions_server_name: Option<&'a str>,
    /// Offered, then chosen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extensions_alpn_str: Vec<&'a str>,
}

#[derive(Serialize)]
struct WebSocketMembers<'a> {
    fin: bool,
    rsv: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pmc: Option<bool>,
    opcode: u8,
    opcode_name: &'static str,
    mask: bool,
    payload_length: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_length_ext_16: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_length_ext_64: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    masking_key: Option<MaskingKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<PayloadMembers<'a>>,
    payload_captured: u64,
    cut: bool,
    /// Present on the frames of a connection found without its handshake.
    #[serde(skip_serializing_if = "Option::is_none")]
    heuristic: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<MessageMembers<'a>>,
}

#[derive(Serialize)]
struct PayloadMembers<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Encoded<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    close: Option<CloseMembers<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ping: Option<Encoded<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pong: Option<Encoded<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct CloseMembers<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct MessageMembers<'a> {
    opcode: u8,
    opcode_name: &'static str,
    length: u64,
    wire_length: u64,
    frames: usize,
    #[serde(serialize_with = "packet_numbers")]
    fragment: &'a [Fragment],
    compressed: bool,
    complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Encoded<'a>>,
}

fn packet_numbers<S: Serializer>(fragments: &&[Fragment], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(fragments.iter().map(|x| x.packet))
}

#[derive(Serialize)]
struct HttpMembers<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sec_websocket_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sec_websocket_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sec_websocket_accept: Option<&'a str>,
    /// The request's value, then the response's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    upgrade: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sec_websocket_protocol: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sec_websocket_extensions: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<RequestMembers<'a>>,
    response: ResponseMembers,
    #[serde(skip_serializing_if = "Option::is_none")]
    accept_valid: Option<bool>,
}

#[derive(Serialize)]
struct RequestMembers<'a> {
    method: &'a str,
    uri: &'a str,
}

#[derive(Serialize)]
struct ResponseMembers {
    code: u16,
}

/// The frame as a JSON object (serialize it with serde_json).
pub fn frame_record<'a>(ctx: &Context, f: &Frame<'a>, bytes: BytesAs) -> FrameRecord<'a> {
    let p = &f.packet;
    let (src, dst) = (f.src(), f.dst());
    let ip = IpMembers { src: src.ip, dst: dst.ip };
    let (ip, ipv6) = if src.ip.is_ipv4() { (Some(ip), None) } else { (None, Some(ip)) };
    FrameRecord {
        frame: FrameMembers {
            number: p.number,
            time: rfc3339(p.ts_nanos),
            time_epoch: seconds(p.ts_nanos),
            time_relative: seconds(p.ts_nanos - ctx.first_ts),
            len: p.len,
            cap_len: p.caplen,
        },
        ip,
        ipv6,
        tcp: TcpMembers {
            srcport: src.port,
            dstport: dst.port,
            stream: f.connection.stream,
            seq: f.relative_seq(),
            ack: f.relative_ack(),
            len: p.tcp_len,
        },
        tls: tls(f),
        http2: f.connection.http2_stream.map(|streamid| Http2Members { streamid }),
        websocket: websocket(f, bytes),
        http: http(f),
        expert: ExpertRecord::all_of(f),
    }
}

fn websocket<'a>(f: &Frame<'a>, bytes: BytesAs) -> WebSocketMembers<'a> {
    let h = &f.header;
    let some_payload = h.payload_len > 0;
    let control = |op: Opcode| (h.opcode == op && some_payload).then_some(Encoded(f.payload, bytes));
    let close = (h.opcode == Opcode::CLOSE && some_payload).then(|| CloseMembers {
        status_code: close_code(f),
        reason: close_body(f.payload).1.map(String::from_utf8_lossy),
    });
    let payload = PayloadMembers {
        data: some_payload.then_some(Encoded(f.payload, bytes)),
        close,
        ping: control(Opcode::PING),
        pong: control(Opcode::PONG),
        text: text_of(f),
    };
    let any = payload.data.is_some() || payload.close.is_some() || payload.text.is_some();
    WebSocketMembers {
        fin: h.fin,
        rsv: h.rsv,
        pmc: f.connection.deflate.is_some().then(|| h.rsv1()),
        opcode: h.opcode.0,
        opcode_name: h.opcode.name().unwrap_or("Unknown"),
        mask: h.masked,
        payload_length: h.len7,
        payload_length_ext_16: h.ext_16(),
        payload_length_ext_64: h.ext_64(),
        masking_key: h.masking_key.map(MaskingKey),
        payload: any.then_some(payload),
        payload_captured: f.payload_seen,
        cut: f.cut.is_some(),
        heuristic: (f.connection.origin == Origin::Heuristic).then_some(true),
        message: f.message.map(|m| MessageMembers {
            opcode: m.opcode.0,
            opcode_name: m.opcode.name().unwrap_or("Unknown"),
            length: m.length,
            wire_length: m.wire_length,
            frames: m.fragments.len(),
            fragment: m.fragments,
            compressed: m.compressed,
            complete: m.complete,
            data: (m.compressed || m.fragments.len() > 1).then_some(Encoded(m.data, bytes)),
        }),
    }
}

fn tls<'a>(f: &Frame<'a>) -> Option<TlsMembers<'a>> {
    let t = f.connection.tls.as_deref()?;
    let record = f.packet.record;
    Some(TlsMembers {
        record: record.map(|r| RecordMembers {
            version: t.record_version.unwrap_or_default(),
            content_type: r.content_type,
            opaque_type: (t.version == Some(0x0304)).then_some(APPLICATION_DATA),
            length: r.length,
        }),
        decrypted: record.is_some(),
        version_name: t.version.map(TlsInfo::version_name),
        handshake: TlsHandshakeMembers {
            version: t.server_hello_version,
            ciphersuite: t.cipher_suite,
            ciphersuite_name: t.cipher_suite.and_then(Suite::name),
            extensions_server_name: t.server_name.as_deref(),
            extensions_alpn_str: t.alpn_offered.iter().chain(&t.alpn).map(String::as_str).collect(),
        },
    })
}

fn http<'a>(f: &Frame<'a>) -> Option<HttpMembers<'a>> {
    let hs = f.connection.handshake.as_deref()?;
    let req = hs.request.as_ref().map(|r| &r.headers);
    let resp = &hs.response.headers;
    let from_request = |header| req.and_then(|r| r.get(header));
    let both = |header| -> Vec<&'a str> { from_request(header).into_iter().chain(resp.get(header)).collect() };
    Some(HttpMembers {
        host: from_request(Header::Host),
        user_agent: from_request(Header::UserAgent),
        origin: from_request(Header::Origin),
        sec_websocket_key: from_request(Header::SecWebSocketKey),
        sec_websocket_version: from_request(Header::SecWebSocketVersion),
        sec_websocket_accept: resp.get(Header::SecWebSocketAccept),
        upgrade: both(Header::Upgrade),
        sec_websocket_protocol: both(Header::SecWebSocketProtocol),
        sec_websocket_extensions: both(Header::SecWebSocketExtensions),
        request: hs.request.as_ref().map(|r| RequestMembers { method: &r.method, uri: &r.uri }),
        response: ResponseMembers { code: hs.response.code },
        accept_valid: hs.accept_valid,
    })
}

/// Writes JSON records one per line (`-T jsonl`) or as the elements of one array (`-T json`),
/// pretty-printed or compact.
#[derive(Debug)]
pub struct JsonWriter {
    array: bool,
    pretty: bool,
    written: u64,
}

impl JsonWriter {
    /// A writer for `-T json` (`array`) or `-T jsonl`.
    pub fn new(array: bool, pretty: bool) -> Self {
        JsonWriter { array, pretty: pretty && array, written: 0 }
    }

    /// Writes one record.
    pub fn write(&mut self, w: &mut impl Write, value: &impl serde::Serialize) -> io::Result<()> {
        if self.array {
            w.write_all(if self.written == 0 { b"[\n" } else { b",\n" })?;
        }
        if self.pretty {
            serde_json::to_writer_pretty(&mut *w, value)?;
        } else {
            serde_json::to_writer(&mut *w, value)?;
        }
        self.written += 1;
        if !self.array {
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Closes the array (an empty one if nothing was written).
    pub fn finish(&mut self, w: &mut impl Write) -> io::Result<()> {
        if self.array {
            w.write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_rfc3339() {
        assert_eq!(rfc3339(1_475_222_152_123_456_000), "2016-09-30T07:55:52.123456Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(951_782_400_000_000_001), "2000-02-29T00:00:00.000000001Z");
        assert_eq!(rfc3339(-1_000_000_000), "1969-12-31T23:59:59.000000Z");
    }

    #[test]
    fn test_bytes() {
        assert_eq!(BytesAs::Hex.encode(&[0xe1, 0x07]), "e107");
        assert_eq!(BytesAs::Base64.encode(b"hi"), "aGk=");
    }
}
