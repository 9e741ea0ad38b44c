//! `--follow STREAM`: one connection's conversation as messages in time order, as Wireshark's
//! Follow WebSocket Stream shows it: the client's messages at the margin, the server's indented,
//! text as text and binary as a hex dump.

use std::io::{self, Write};

use super::text::write_hex_dump;
use crate::analyzer::Frame;
use crate::fields::Context;
use crate::ws::frame::{Opcode, close_body};

/// The header: which connection is followed. Over HTTP/2 the whole TCP connection may be
/// followed (`every_stream`), every WebSocket on it.
pub fn write_follow_header(w: &mut impl Write, f: &Frame<'_>, every_stream: bool) -> io::Result<()> {
    let rule = "=".repeat(72);
    writeln!(w, "{rule}")?;
    match f.connection.http2_stream {
        Some(_) if every_stream => {
            writeln!(w, "Follow: websocket stream {}, every WebSocket on its HTTP/2 streams", f.connection.stream)?
        }
        Some(id) => writeln!(w, "Follow: websocket stream {}, HTTP/2 stream {id}", f.connection.stream)?,
        None => writeln!(w, "Follow: websocket stream {}", f.connection.stream)?,
    }
    writeln!(w, "Client: {}", f.connection.client)?;
    writeln!(w, "Server: {}", f.connection.server)?;
    if let Some(req) = f.connection.handshake.as_ref().and_then(|h| h.request.as_ref())
        && !(every_stream && f.connection.http2_stream.is_some())
    {
        writeln!(w, "Request: {} {}", req.method, req.uri)?;
    }
    writeln!(w, "{rule}")
}

/// One message of the followed connection: time, direction, opcode, then its content.
pub fn write_follow_message(w: &mut impl Write, ctx: &Context, f: &Frame<'_>) -> io::Result<()> {
    let Some(m) = f.message else { return Ok(()) };
    let rel = f.packet.ts_nanos - ctx.first_ts;
    let indent = if f.from_client { "" } else { "    " };
    let arrow = if f.from_client { "client → server" } else { "server → client" };
    // Following every WebSocket of an HTTP/2 connection: which stream each message is on.
    let arrow = match f.connection.http2_stream {
        Some(id) => format!("{arrow} [h2 stream {id}]"),
        None => arrow.to_string(),
    };
    let mut notes = vec![format!("{} bytes", m.length)];
    if m.fragments.len() > 1 {
        notes.push(format!("{} frames", m.fragments.len()));
    }
    if m.compressed {
        notes.push(format!("deflate {} bytes", m.wire_length));
    }
    if !m.complete {
        notes.push("incomplete".to_string());
    }
    writeln!(
        w,
        "{indent}[{}.{:06}] {arrow} {} ({})",
        rel.div_euclid(1_000_000_000),
        rel.rem_euclid(1_000_000_000) / 1000,
        m.opcode.name().unwrap_or("Unknown"),
        notes.join(", ")
    )?;
    match m.opcode {
        Opcode::TEXT => {
            for line in String::from_utf8_lossy(m.data).lines() {
                writeln!(w, "{indent}{line}")?;
            }
        }
        Opcode::CLOSE if let (Some(code), reason) = close_body(m.data) => {
            let reason = String::from_utf8_lossy(reason.unwrap_or_default());
            writeln!(w, "{indent}close {code} {reason}")?;
        }
        _ if !m.data.is_empty() => write_hex_dump(w, m.data, indent)?,
        _ => {}
    }
    Ok(())
}
