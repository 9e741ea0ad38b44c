//! The `--messages` view: one record per complete message (data or control), on the frame that
//! completes it.

use std::io::{self, Write};

use serde::Serialize;

use super::json::BytesAs;
use crate::analyzer::Frame;
use crate::fields::Context;
use crate::ws::frame::{Opcode, close_body};

/// An expert item as JSON.
#[derive(Debug, Serialize)]
pub struct ExpertRecord {
    /// `Note` or `Warning`.
    pub severity: &'static str,
    /// `Protocol` or `Malformed`.
    pub group: &'static str,
    /// The kind's field name.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl ExpertRecord {
    /// The frame's expert items.
    pub fn all_of(f: &Frame<'_>) -> Vec<ExpertRecord> {
        f.expert
            .iter()
            .map(|e| ExpertRecord {
                severity: e.kind.severity().name(),
                group: e.kind.group().name(),
                field: e.kind.field(),
                message: e.to_string(),
            })
            .collect()
    }
}

/// One message as a JSON Lines record.
#[derive(Debug, Serialize)]
pub struct MessageRecord {
    /// `tcp.stream`.
    pub stream: u32,
    /// `http2.streamid`: over HTTP/2 (RFC 8441), the stream carrying the WebSocket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http2_stream: Option<u32>,
    /// `client-to-server` or `server-to-client`.
    pub direction: &'static str,
    /// Sender, `address:port`.
    pub src: String,
    /// Receiver.
    pub dst: String,
    /// Capture time of the packet that completed the message, seconds since the epoch.
    pub time_epoch: f64,
    /// The first frame's opcode.
    pub opcode: u8,
    /// Its name (`Text`, `Binary`, `Connection Close`, ...), or `Unknown`.
    pub opcode_name: &'static str,
    /// Packet numbers of the message's frames.
    pub frames: Vec<u64>,
    /// Sent compressed with permessage-deflate.
    pub compressed: bool,
    /// Length after inflating.
    pub length: u64,
    /// Payload bytes on the wire.
    pub wire_length: u64,
    /// The whole payload was captured, kept and inflated.
    pub complete: bool,
    /// The payload of a text message of valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Otherwise the payload as lowercase hex (or base64, with `--bytes base64`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// A close message's status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_code: Option<u16>,
    /// A close message's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<String>,
    /// What is wrong with the message or its last frame.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expert: Vec<ExpertRecord>,
}

impl MessageRecord {
    /// The record of the message `f` completes, if it completes one.
    pub fn of(f: &Frame<'_>, bytes: BytesAs) -> Option<Self> {
        let m = f.message?;
        let (payload, close_code, close_reason) = if m.opcode == Opcode::CLOSE {
            let (code, reason) = close_body(m.data);
            (&m.data[m.data.len().min(2)..], code, reason.map(|r| String::from_utf8_lossy(r).into_owned()))
        } else {
            (m.data, None, None)
        };
        let text = match std::str::from_utf8(m.data) {
            Ok(t) if m.opcode == Opcode::TEXT => Some(t.to_string()),
            _ => None,
        };
        let data = (text.is_none() && m.opcode != Opcode::CLOSE).then(|| bytes.encode(payload));
        Some(MessageRecord {
            stream: f.connection.stream,
            http2_stream: f.connection.http2_stream,
            direction: if f.from_client { "client-to-server" } else { "server-to-client" },
            src: f.src().to_string(),
            dst: f.dst().to_string(),
            time_epoch: f.packet.ts_nanos as f64 / 1e9,
            opcode: m.opcode.0,
            opcode_name: m.opcode.name().unwrap_or("Unknown"),
            frames: m.fragments.iter().map(|x| x.packet).collect(),
            compressed: m.compressed,
            length: m.length,
            wire_length: m.wire_length,
            complete: m.complete,
            text,
            data,
            close_code,
            close_reason,
            expert: ExpertRecord::all_of(f),
        })
    }
}

/// Writes the one-line summary of the message `f` completes: packet, time, endpoints, opcode,
/// frames, length and a preview.
pub fn write_message_line(w: &mut impl Write, ctx: &Context, f: &Frame<'_>) -> io::Result<()> {
    let Some(m) = f.message else { return Ok(()) };
    super::write_line_start(w, ctx, &f.packet, f.connection.arrow(f.from_client))?;
    write!(w, "{} frames={} len={}", m.opcode.name().unwrap_or("Unknown"), m.fragments.len(), m.length)?;
    if m.compressed {
        write!(w, " deflate={}", m.wire_length)?;
    }
    if let (Opcode::CLOSE, (Some(code), _)) = (m.opcode, close_body(m.data)) {
        write!(w, " code={code}")?;
    }
    let preview = super::text::preview(f, 64);
    if !preview.is_empty() {
        w.write_all(b" ")?;
        preview.write(w)?;
    }
    super::write_expert_suffix(w, f)?;
    w.write_all(b"\n")
}
