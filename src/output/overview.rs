//! Views over the whole capture, printed at the end: `--connections` (one row per WebSocket
//! connection, in the spirit of Zeek's websocket.log) and `--stats` (opcodes, message sizes,
//! messages per second).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::json::rfc3339;
use crate::analyzer::{Frame, HandshakeEvent};
use crate::http::Header;
use crate::tls::TlsInfo;
use crate::tls::cipher::Suite;
use crate::ws::frame::{Opcode, close_body};

/// Traffic in one direction of a connection.
#[derive(Debug, Default, Clone, Serialize)]
pub struct DirectionTotals {
    /// Frames sent.
    pub frames: u64,
    /// Complete messages (data and control).
    pub messages: u64,
    /// Payload bytes on the wire.
    pub wire_bytes: u64,
    /// Message bytes after inflating.
    pub bytes: u64,
    /// A close frame was sent.
    pub closed: bool,
    /// Status code of the close frame sent, if any.
    pub close_code: Option<u16>,
    /// Its reason, if any.
    pub close_reason: Option<String>,
}

/// One WebSocket connection (over HTTP/2, one WebSocket stream).
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionRow {
    /// `tcp.stream`.
    pub stream: u32,
    /// What carried the handshake: `http/1.1`, or `h2` (RFC 8441).
    pub transport: &'static str,
    /// `http2.streamid`, over HTTP/2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http2_stream: Option<u32>,
    /// Client `address:port`.
    pub client: String,
    /// Server `address:port`.
    pub server: String,
    /// Time of the handshake or first frame (RFC 3339).
    pub first_time: String,
    /// Time of the last frame.
    pub last_time: String,
    /// Request `Host`.
    pub host: Option<String>,
    /// Request URI.
    pub uri: Option<String>,
    /// Request `User-Agent`.
    pub user_agent: Option<String>,
    /// Request `Origin`.
    pub origin: Option<String>,
    /// Subprotocols the client offered.
    pub client_protocols: Option<String>,
    /// Subprotocol the server chose.
    pub subprotocol: Option<String>,
    /// Extensions the client offered.
    pub client_extensions: Option<String>,
    /// Extensions the server accepted.
    pub server_extensions: Option<String>,
    /// Whether `Sec-WebSocket-Accept` matches the key (absent without both).
    pub accept_valid: Option<bool>,
    /// Client to server.
    pub client_to_server: DirectionTotals,
    /// Server to client.
    pub server_to_client: DirectionTotals,
    /// Who sent a close frame first: `client` or `server`.
    pub closed_first: Option<&'static str>,
    /// Expert items reported on the connection.
    pub violations: u64,
    /// TLS, on wss:// connections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsRow>,
    #[serde(skip)]
    first_ns: i64,
    #[serde(skip)]
    last_ns: i64,
}

/// The TLS of a wss:// connection.
#[derive(Debug, Clone, Serialize)]
pub struct TlsRow {
    /// `TLSv1.2`, `TLSv1.3`.
    pub version: Option<&'static str>,
    /// The IANA name of the cipher suite (or its number in hex).
    pub cipher_suite: Option<String>,
    /// SNI.
    pub server_name: Option<String>,
    /// The protocol chosen by ALPN.
    pub alpn: Option<String>,
    /// Whether its records were decrypted.
    pub decrypted: bool,
    /// Records that failed their integrity check.
    pub failed_records: u64,
    /// TLS 1.3 KeyUpdates, both directions.
    pub key_updates: u32,
}

impl TlsRow {
    fn of(t: &TlsInfo) -> TlsRow {
        TlsRow {
            version: t.version.map(TlsInfo::version_name),
            cipher_suite: t.cipher_suite.map(|s| Suite::name(s).map_or_else(|| format!("{s:#06x}"), str::to_string)),
            server_name: t.server_name.clone(),
            alpn: t.alpn.clone(),
            decrypted: t.decrypted,
            failed_records: t.failed_records,
            key_updates: t.key_updates,
        }
    }
}

/// Collects [`ConnectionRow`]s from the analyzer's reports.
#[derive(Debug, Default)]
pub struct ConnectionTable {
    /// By [`ConnectionInfo::key`](crate::analyzer::ConnectionInfo::key).
    rows: BTreeMap<u64, ConnectionRow>,
}

impl ConnectionTable {
    fn row(&mut self, f: &crate::analyzer::ConnectionInfo, ts: i64) -> &mut ConnectionRow {
        let row = self.rows.entry(f.key()).or_insert_with(|| {
            let hs = f.handshake.as_ref();
            let req = hs.and_then(|h| h.request.as_ref());
            let resp = hs.map(|h| &h.response.headers);
            ConnectionRow {
                stream: f.stream,
                transport: if f.http2_stream.is_some() { "h2" } else { "http/1.1" },
                http2_stream: f.http2_stream,
                client: f.client.to_string(),
                server: f.server.to_string(),
                first_time: String::new(),
                last_time: String::new(),
                host: req.and_then(|r| r.headers.get(Header::Host)).map(str::to_owned),
                uri: req.map(|r| r.uri.clone()),
                user_agent: req.and_then(|r| r.headers.get(Header::UserAgent)).map(str::to_owned),
                origin: req.and_then(|r| r.headers.get(Header::Origin)).map(str::to_owned),
                client_protocols: req.and_then(|r| r.headers.get(Header::SecWebSocketProtocol)).map(str::to_owned),
                subprotocol: resp.and_then(|h| h.get(Header::SecWebSocketProtocol)).map(str::to_owned),
                client_extensions: req.and_then(|r| r.headers.get(Header::SecWebSocketExtensions)).map(str::to_owned),
                server_extensions: resp.and_then(|h| h.get(Header::SecWebSocketExtensions)).map(str::to_owned),
                accept_valid: hs.and_then(|h| h.accept_valid),
                client_to_server: DirectionTotals::default(),
                server_to_client: DirectionTotals::default(),
                closed_first: None,
                violations: 0,
                tls: None,
                first_ns: ts,
                last_ns: ts,
            }
        });
        row.first_ns = row.first_ns.min(ts);
        row.last_ns = row.last_ns.max(ts);
        // The TLS details as they are now (records may fail later on).
        if let Some(t) = f.tls.as_deref()
            && row.tls.as_ref().is_none_or(|r| r.failed_records != t.failed_records || r.key_updates != t.key_updates)
        {
            row.tls = Some(TlsRow::of(t));
        }
        row
    }

    /// A connection switched to WebSocket.
    pub fn handshake(&mut self, h: &HandshakeEvent<'_>) {
        let row = self.row(h.connection, h.packet.ts_nanos);
        row.violations += h.expert.len() as u64;
    }

    /// A frame.
    pub fn frame(&mut self, f: &Frame<'_>) {
        let row = self.row(f.connection, f.packet.ts_nanos);
        row.violations += f.expert.len() as u64;
        let from_client = f.from_client;
        let dir = if from_client { &mut row.client_to_server } else { &mut row.server_to_client };
        dir.frames += 1;
        dir.wire_bytes += f.header.payload_len;
        if let Some(m) = f.message {
            dir.messages += 1;
            dir.bytes += m.length;
            if m.opcode == Opcode::CLOSE && !dir.closed {
                dir.closed = true;
                let (code, reason) = close_body(m.data);
                dir.close_code = code;
                dir.close_reason = reason.map(|r| String::from_utf8_lossy(r).into_owned());
                row.closed_first.get_or_insert(if from_client { "client" } else { "server" });
            }
        }
    }

    /// The rows, by stream (and HTTP/2 stream), with their times filled in.
    pub fn rows(&self) -> impl Iterator<Item = ConnectionRow> + '_ {
        self.rows.values().map(|r| ConnectionRow {
            first_time: rfc3339(r.first_ns),
            last_time: rfc3339(r.last_ns),
            ..r.clone()
        })
    }

    /// A tab-separated table with a header line, `-` for what is absent (as Zeek's logs).
    pub fn write_text(&self, w: &mut impl Write) -> io::Result<()> {
        writeln!(
            w,
            "stream\tclient\tserver\tfirst_time\tlast_time\thost\turi\tuser_agent\torigin\tclient_protocols\tsubprotocol\t\
             client_extensions\tserver_extensions\taccept\tc2s_frames\tc2s_messages\tc2s_wire_bytes\tc2s_bytes\t\
             s2c_frames\ts2c_messages\ts2c_wire_bytes\ts2c_bytes\tc2s_close\ts2c_close\tclosed_first\tviolations\t\
             tls\tcipher_suite\tsni\talpn\tdecrypted\ttransport\th2_stream"
        )?;
        let opt = |v: &Option<String>| v.as_deref().map_or("-".to_string(), |s| s.replace(['\t', '\n', '\r'], " "));
        // `-` without a close frame, the code (or `none`) and the reason with one.
        let close = |d: &DirectionTotals| {
            if !d.closed {
                return "-".to_string();
            }
            let code = d.close_code.map_or("none".to_string(), |c| c.to_string());
            let reason =
                d.close_reason.as_ref().map_or(String::new(), |r| format!(" {}", r.replace(['\t', '\n', '\r'], " ")));
            code + &reason
        };
        for r in self.rows() {
            let (c, s) = (&r.client_to_server, &r.server_to_client);
            let tls = r.tls.as_ref();
            writeln!(
                w,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                r.stream,
                r.client,
                r.server,
                r.first_time,
                r.last_time,
                opt(&r.host),
                opt(&r.uri),
                opt(&r.user_agent),
                opt(&r.origin),
                opt(&r.client_protocols),
                opt(&r.subprotocol),
                opt(&r.client_extensions),
                opt(&r.server_extensions),
                r.accept_valid.map_or("-", |ok| if ok { "ok" } else { "WRONG" }),
                c.frames,
                c.messages,
                c.wire_bytes,
                c.bytes,
                s.frames,
                s.messages,
                s.wire_bytes,
                s.bytes,
                close(c),
                close(s),
                r.closed_first.unwrap_or("-"),
                r.violations,
                tls.and_then(|t| t.version).unwrap_or("-"),
                opt(&tls.and_then(|t| t.cipher_suite.clone())),
                opt(&tls.and_then(|t| t.server_name.clone())),
                opt(&tls.and_then(|t| t.alpn.clone())),
                tls.map_or("-", |t| if t.decrypted { "yes" } else { "no" }),
                r.transport,
                r.http2_stream.map_or("-".to_string(), |id| id.to_string()),
            )?;
        }
        Ok(())
    }
}

/// Sizes of messages in one direction, for the distribution.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SizeSummary {
    /// Messages counted.
    pub count: u64,
    /// Smallest length (after inflating).
    pub min: u64,
    /// Median.
    pub median: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

/// What `--stats` reports.
#[derive(Debug, Default, Clone, Serialize)]
pub struct StatsReport {
    /// Frames by opcode name.
    pub frames_by_opcode: BTreeMap<String, u64>,
    /// Data message sizes, client to server.
    pub client_to_server: SizeSummary,
    /// Data message sizes, server to client.
    pub server_to_client: SizeSummary,
    /// Messages (data and control) completed in each second since the first packet.
    pub messages_per_second: Vec<u64>,
}

/// Collects `--stats` from frames.
#[derive(Debug, Default)]
pub struct StatsCollector {
    opcodes: BTreeMap<String, u64>,
    sizes: [Vec<u64>; 2],
    per_second: BTreeMap<i64, u64>,
}

impl StatsCollector {
    /// A frame; `first_ts` is the capture's first packet time.
    pub fn frame(&mut self, f: &Frame<'_>, first_ts: i64) {
        let name = f.header.opcode.name().map_or_else(|| format!("Unknown ({})", f.header.opcode.0), str::to_string);
        *self.opcodes.entry(name).or_default() += 1;
        if let Some(m) = f.message {
            *self.per_second.entry((f.packet.ts_nanos - first_ts).div_euclid(1_000_000_000)).or_default() += 1;
            if !m.opcode.is_control() {
                self.sizes[usize::from(!f.from_client)].push(m.length);
            }
        }
    }

    /// The report.
    pub fn report(&mut self) -> StatsReport {
        let summary = |sizes: &mut Vec<u64>| {
            sizes.sort_unstable();
            let at = |q: f64| sizes[((sizes.len() as f64 - 1.0) * q).round() as usize];
            if sizes.is_empty() {
                SizeSummary::default()
            } else {
                SizeSummary {
                    count: sizes.len() as u64,
                    min: sizes[0],
                    median: at(0.5),
                    p99: at(0.99),
                    max: sizes[sizes.len() - 1],
                }
            }
        };
        let last = self.per_second.keys().next_back().copied().unwrap_or(-1);
        let first = self.per_second.keys().next().copied().unwrap_or(0).min(0);
        StatsReport {
            frames_by_opcode: self.opcodes.clone(),
            client_to_server: summary(&mut self.sizes[0]),
            server_to_client: summary(&mut self.sizes[1]),
            messages_per_second: (first..=last).map(|s| self.per_second.get(&s).copied().unwrap_or(0)).collect(),
        }
    }
}

impl StatsReport {
    /// The report as readable tables.
    pub fn write_text(&self, w: &mut impl Write) -> io::Result<()> {
        writeln!(w, "Frames by opcode")?;
        for (name, n) in &self.frames_by_opcode {
            writeln!(w, "  {name:<18} {n:>10}")?;
        }
        writeln!(w, "\nData message sizes (bytes, after inflating)")?;
        writeln!(
            w,
            "  {:<18} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "direction", "messages", "min", "median", "p99", "max"
        )?;
        for (name, s) in [("client-to-server", &self.client_to_server), ("server-to-client", &self.server_to_client)] {
            writeln!(w, "  {name:<18} {:>10} {:>10} {:>10} {:>10} {:>10}", s.count, s.min, s.median, s.p99, s.max)?;
        }
        writeln!(w, "\nMessages per second (from the first packet)")?;
        let peak = self.messages_per_second.iter().copied().max().unwrap_or(0).max(1);
        for (second, n) in self.messages_per_second.iter().enumerate() {
            let bar = "#".repeat(((n * 50).div_ceil(peak)) as usize);
            writeln!(w, "  {second:>6}s {n:>10} {bar}")?;
        }
        Ok(())
    }
}
