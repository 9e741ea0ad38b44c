//! The `-V` view: Wireshark's protocol tree for each frame, in the layout tshark prints
//! (four spaces per level, bit-pattern lines for header bits).

use std::io::{self, Write};
use std::net::IpAddr;

use super::json_tree;
use super::text::{format_text, hex_label, label, text_only_label, write_hex_dump};
use crate::analyzer::{Endpoint, Frame, HandshakeEvent, PacketMeta};
use crate::fields::{TLS_CONTENT_TYPE_NAMES, TLS_VERSION_NAMES, close_code, close_code_name};
use crate::http::{Header, accept_key};
use crate::net;
use crate::tls::TlsInfo;
use crate::tls::content_type::APPLICATION_DATA;
use crate::ws::expert::Expert;
use crate::ws::frame::{Opcode, close_body};
use crate::ws::message::Message;

/// Renders the bits of `value` selected by `mask` as Wireshark does: `.001 0111`.
pub fn bit_pattern(value: u8, mask: u8) -> String {
    let mut out = String::with_capacity(9);
    for bit in (0..8).rev() {
        if bit == 3 {
            out.push(' ');
        }
        let m = 1u8 << bit;
        out.push(if mask & m == 0 {
            '.'
        } else if value & m != 0 {
            '1'
        } else {
            '0'
        });
    }
    out
}

fn true_false(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// The Frame, IP and TCP lines of a packet.
fn write_packet_lines(
    w: &mut impl Write,
    p: &PacketMeta,
    src: Endpoint,
    dst: Endpoint,
    (seq, ack): (u32, u32),
) -> io::Result<()> {
    writeln!(
        w,
        "Frame {}: {} bytes on wire ({} bits), {} bytes captured ({} bits)",
        p.number,
        p.len,
        u64::from(p.len) * 8,
        p.caplen,
        u64::from(p.caplen) * 8
    )?;
    write_link_lines(w, &p.headers)?;
    let version = if matches!(src.ip, IpAddr::V4(_)) { 4 } else { 6 };
    writeln!(w, "Internet Protocol Version {version}, Src: {}, Dst: {}", src.ip, dst.ip)?;
    writeln!(
        w,
        "Transmission Control Protocol, Src Port: {}, Dst Port: {}, Seq: {seq}, Ack: {ack}, Len: {}",
        src.port, dst.port, p.tcp_len
    )
}

/// The link layer's lines, as tshark's tree has them above the IP line (addresses without
/// manufacturer names: wsdissect has no OUI table).
fn write_link_lines(w: &mut impl Write, h: &net::Headers) -> io::Result<()> {
    let mac = |a: &[u8; 6]| a.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
    let ether_type = |t: u16| match t {
        0x0800 => format!("IPv4 (0x{t:04x})"),
        0x86dd => format!("IPv6 (0x{t:04x})"),
        0x8100 => format!("802.1Q Virtual LAN (0x{t:04x})"),
        _ => format!("0x{t:04x}"),
    };
    match h.link {
        net::Link::Ethernet => {
            let (src, dst) = (mac(&h.eth_src), mac(&h.eth_dst));
            writeln!(w, "Ethernet II, Src: {src}, Dst: {dst}")?;
            writeln!(w, "    Destination: {dst}")?;
            writeln!(w, "    Source: {src}")?;
            writeln!(w, "    Type: {}", ether_type(h.eth_type))?;
            if let Some(id) = h.vlan_id {
                writeln!(w, "802.1Q Virtual LAN, ID: {id}")?;
                writeln!(w, "    ID: {id}")?;
            }
            Ok(())
        }
        net::Link::Sll => writeln!(w, "Linux cooked capture v1"),
        net::Link::Sll2 => writeln!(w, "Linux cooked capture v2"),
        net::Link::Null => writeln!(w, "Null/Loopback"),
        net::Link::Raw => writeln!(w, "Raw packet data"),
    }
}

/// The Transport Layer Security block of decrypted bytes: tshark's lines for the record that
/// carried them (the frame's last byte).
fn write_tls_record(w: &mut impl Write, p: &PacketMeta, tls: Option<&TlsInfo>) -> io::Result<()> {
    let (Some(r), Some(t)) = (p.record, tls) else { return Ok(()) };
    let name =
        |names: &[(u64, &'static str)], v: u64| names.iter().find(|(n, _)| *n == v).map_or("Unknown", |(_, s)| *s);
    let content = name(TLS_CONTENT_TYPE_NAMES, u64::from(r.content_type));
    let version = t.version.unwrap_or_default();
    writeln!(w, "Transport Layer Security")?;
    writeln!(
        w,
        "    {} Record Layer: {content} Protocol: Hypertext Transfer Protocol",
        TlsInfo::version_name(version)
    )?;
    let tls13 = version == 0x0304;
    if tls13 {
        // The header says application_data; the real type is inside.
        writeln!(w, "        Opaque Type: Application Data ({APPLICATION_DATA})")?;
    } else {
        writeln!(w, "        Content Type: {content} ({})", r.content_type)?;
    }
    let record_version = t.record_version.unwrap_or_default();
    writeln!(w, "        Version: {} ({record_version:#06x})", name(TLS_VERSION_NAMES, u64::from(record_version)))?;
    writeln!(w, "        Length: {}", r.length)?;
    if tls13 {
        writeln!(w, "        [Content Type: {content} ({})]", r.content_type)?;
    }
    writeln!(w, "        [Application Data Protocol: Hypertext Transfer Protocol]")
}

/// The HTTP/2 block of a WebSocket over HTTP/2: tshark's lines for the DATA frame that carried
/// the frame's end.
fn write_http2_data(w: &mut impl Write, p: &PacketMeta, stream: Option<u32>) -> io::Result<()> {
    let (Some(id), Some(len)) = (stream, p.http2_data_len) else { return Ok(()) };
    writeln!(w, "HyperText Transfer Protocol 2")?;
    writeln!(w, "    Stream: DATA, Stream ID: {id}, Length {len}")?;
    writeln!(w, "        Length: {len}")?;
    writeln!(w, "        Type: DATA (0)")?;
    writeln!(w, "        .000 0000 0000 0000 0000 0000 0000 {:04b} = Stream Identifier: {id}", id & 0xf)
}

/// Writes the tree of one frame, followed by a blank line.
pub fn write_frame_tree(w: &mut impl Write, f: &Frame<'_>, text_as: TextAs) -> io::Result<()> {
    write_packet_lines(w, &f.packet, f.src(), f.dst(), (f.relative_seq(), f.relative_ack()))?;
    write_tls_record(w, &f.packet, f.connection.tls.as_deref())?;
    write_http2_data(w, &f.packet, f.connection.http2_stream)?;
    write_websocket_tree(w, f, text_as)?;
    writeln!(w)
}

/// Writes the handshake at the packet that completed it (the server's `101`), followed by a
/// blank line.
pub fn write_handshake_tree(w: &mut impl Write, h: &HandshakeEvent<'_>) -> io::Result<()> {
    let c = h.connection;
    write_packet_lines(w, &h.packet, c.server, c.client, c.relative(false, h.packet))?;
    write_tls_record(w, &h.packet, c.tls.as_deref())?;
    writeln!(w, "WebSocket Handshake")?;
    let Some(hs) = c.handshake.as_ref() else { return writeln!(w) };
    let line = |w: &mut dyn Write, name: &str, value: Option<&str>| match value {
        Some(v) => writeln!(w, "    {}", label(name, &format_text(v))),
        None => Ok(()),
    };
    match &hs.request {
        Some(req) => {
            writeln!(w, "    {}", format_text(&format!("{} {} {}", req.method, req.uri, req.version)))?;
            let r = &req.headers;
            line(w, "Host", r.get(Header::Host))?;
            line(w, "Origin", r.get(Header::Origin))?;
            line(w, "User-Agent", r.get(Header::UserAgent))?;
            line(w, "Upgrade", r.get(Header::Upgrade))?;
            line(w, "Sec-WebSocket-Key", r.get(Header::SecWebSocketKey))?;
            line(w, "Sec-WebSocket-Version", r.get(Header::SecWebSocketVersion))?;
            line(w, "Sec-WebSocket-Protocol (offered)", r.get(Header::SecWebSocketProtocol))?;
            line(w, "Sec-WebSocket-Extensions (offered)", r.get(Header::SecWebSocketExtensions))?;
        }
        None => writeln!(w, "    [Request not captured]")?,
    }
    let resp = &hs.response;
    writeln!(w, "    {}", format_text(&format!("{} {} {}", resp.version, resp.code, resp.reason)))?;
    let r = &resp.headers;
    line(w, "Upgrade", r.get(Header::Upgrade))?;
    if let Some(accept) = r.get(Header::SecWebSocketAccept) {
        let check = match hs.accept_valid {
            Some(true) => " [correct]",
            Some(false) => " [incorrect]",
            None => "",
        };
        writeln!(w, "    {}{check}", label("Sec-WebSocket-Accept", &format_text(accept)))?;
        let key = hs.request.as_ref().and_then(|r| r.headers.get(Header::SecWebSocketKey));
        if let (Some(false), Some(key)) = (hs.accept_valid, key) {
            writeln!(w, "        [Expected: {}]", accept_key(key))?;
        }
    }
    line(w, "Sec-WebSocket-Protocol (chosen)", r.get(Header::SecWebSocketProtocol))?;
    line(w, "Sec-WebSocket-Extensions (accepted)", r.get(Header::SecWebSocketExtensions))?;
    if let Some(p) = &c.deflate {
        writeln!(w, "        permessage-deflate")?;
        for (who, client) in [("Server", false), ("Client", true)] {
            let (fresh, bits) = p.sender(client);
            let context = if fresh { "no context takeover" } else { "context takeover" };
            writeln!(
                w,
                "            [{who} to {}: {context}, {bits}-bit window]",
                if client { "server" } else { "client" }
            )?;
        }
    }
    if let (Some(id), false) = (c.http2_stream, hs.http2_fields.is_empty()) {
        writeln!(w, "    [HTTP/2 stream {id}: header fields of the CONNECT and its response]")?;
        for (name, value) in &hs.http2_fields {
            writeln!(w, "        {}", label(name, &format_text(value)))?;
        }
    }
    for e in h.expert {
        write_expert(w, 4, e)?;
    }
    writeln!(w)
}

/// How text payloads are shown below the WebSocket subtree (tshark's `websocket.text_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextAs {
    /// `Line-based text data`, one line per item.
    #[default]
    Lines,
    /// A `JavaScript Object Notation` tree when the text is JSON (lines otherwise).
    Json,
}

/// The `WebSocket` subtree, then the top-level items for the payload tshark puts after it.
fn write_websocket_tree(w: &mut impl Write, f: &Frame<'_>, text_as: TextAs) -> io::Result<()> {
    let h = &f.header;
    let b0 = (u8::from(h.fin) << 7) | (h.rsv << 4) | h.opcode.0;
    let b1 = (u8::from(h.masked) << 7) | h.len7;
    writeln!(w, "WebSocket")?;
    writeln!(w, "    {} = Fin: {}", bit_pattern(b0, 0x80), true_false(h.fin))?;
    writeln!(w, "    {} = Reserved: {:#x}", bit_pattern(b0, 0x70), h.rsv)?;
    if f.connection.deflate.is_some() {
        writeln!(w, "    {} = Per-Message Compressed: {}", bit_pattern(b0, 0x40), true_false(h.rsv1()))?;
    }
    match h.opcode.name() {
        Some(name) => writeln!(w, "    {} = Opcode: {name} ({})", bit_pattern(b0, 0x0f), h.opcode.0)?,
        None => writeln!(w, "    {} = Opcode: Unknown ({})", bit_pattern(b0, 0x0f), h.opcode.0)?,
    }
    writeln!(w, "    {} = Mask: {}", bit_pattern(b1, 0x80), true_false(h.masked))?;
    let len_line = format!("    {} = Payload length: {}", bit_pattern(b1, 0x7f), h.len7);
    if let Some(n) = h.ext_16() {
        writeln!(w, "{len_line} Extended Payload Length (16 bits)")?;
        writeln!(w, "    Extended Payload length (16 bits): {n}")?;
    } else if let Some(n) = h.ext_64() {
        writeln!(w, "{len_line} Extended Payload Length (64 bits)")?;
        writeln!(w, "    Extended Payload length (64 bits): {n}")?;
    } else {
        writeln!(w, "{len_line}")?;
    }
    if let Some(key) = h.masking_key {
        writeln!(w, "    Masking-Key: {}", hex_label(&key))?;
    }
    if h.payload_len > 0 || f.message.is_some_and(|m| m.length > 0) {
        if h.masked && h.payload_len > 0 {
            writeln!(w, "    Masked payload")?;
        }
        writeln!(w, "    Payload")?;
        write_payload_items(w, f)?;
    }
    if f.cut.is_some() {
        writeln!(w, "    [Payload captured: {} of {} bytes]", f.payload_seen, h.payload_len)?;
    }
    for e in f.expert {
        write_expert(w, 4, e)?;
    }
    write_top_level_items(w, f, text_as)
}

/// The children of `Payload`.
fn write_payload_items(w: &mut impl Write, f: &Frame<'_>) -> io::Result<()> {
    let payload = f.payload;
    match (f.header.opcode, f.message) {
        (Opcode::CLOSE, _) => {
            writeln!(w, "        Close")?;
            if let Some(code) = close_code(f) {
                match close_code_name(code) {
                    Some(name) => writeln!(w, "            Status code: {name} ({code})")?,
                    None => writeln!(w, "            Status code: Unknown ({code})")?,
                }
            }
            if let (_, Some(reason)) = close_body(payload) {
                let reason = String::from_utf8_lossy(reason);
                writeln!(w, "            {}", label("Reason", &format_text(&reason)))?;
            }
        }
        (Opcode::PING, _) => writeln!(w, "        Ping: {}", hex_label(payload))?,
        (Opcode::PONG, _) => writeln!(w, "        Pong: {}", hex_label(payload))?,
        (_, Some(m)) if m.opcode == Opcode::TEXT => {
            writeln!(w, "        {}", label("Text", &format_text(&String::from_utf8_lossy(m.data))))?;
        }
        (op, _) if !op.is_defined() => writeln!(w, "        Unknown: {}", hex_label(payload))?,
        _ => {}
    }
    Ok(())
}

/// What tshark adds at the top level after the WebSocket subtree: a continuation's bytes, the
/// reassembled fragments of a message, and the message as text lines or data.
fn write_top_level_items(w: &mut impl Write, f: &Frame<'_>, text_as: TextAs) -> io::Result<()> {
    let Some(m) = f.message.filter(|m| !m.opcode.is_control()) else {
        if f.header.opcode == Opcode::CONTINUATION && f.header.payload_len > 0 {
            writeln!(w, "Continue: {}", hex_label(f.payload))?;
        }
        return Ok(());
    };
    if m.fragments.len() > 1 {
        write_fragments(w, &m)?;
    }
    if m.data.is_empty() {
        return Ok(());
    }
    match m.opcode {
        Opcode::TEXT => {
            let text = String::from_utf8_lossy(m.data);
            match text_as {
                TextAs::Json if json_tree::write(w, &text)? => Ok(()),
                TextAs::Json => {
                    // As tshark: the JSON item stays, empty, before the text it could not parse.
                    writeln!(w, "JavaScript Object Notation")?;
                    write_text_lines(w, &text)
                }
                TextAs::Lines => write_text_lines(w, &text),
            }
        }
        _ => write_data(w, m.data, m.length),
    }
}

/// `[N Reassembled websocket Fragments (X bytes): #6(3), #7(3)]` and its children.
fn write_fragments(w: &mut impl Write, m: &Message<'_>) -> io::Result<()> {
    let list: Vec<String> = m.fragments.iter().map(|f| format!("#{}({})", f.packet, f.len)).collect();
    writeln!(
        w,
        "[{} Reassembled websocket Fragments ({} bytes): {}]",
        m.fragments.len(),
        m.wire_length,
        list.join(", ")
    )?;
    let mut offset = 0u64;
    for frag in m.fragments {
        match frag.len {
            0 => writeln!(w, "    [Frame: {}, payload: {offset}-{offset} (0 bytes)]", frag.packet)?,
            1 => writeln!(w, "    [Frame: {}, payload: {offset}-{offset} (1 byte)]", frag.packet)?,
            n => writeln!(w, "    [Frame: {}, payload: {offset}-{} ({n} bytes)]", frag.packet, offset + n - 1)?,
        }
        offset += frag.len;
    }
    writeln!(w, "    [Fragment count: {}]", m.fragments.len())?;
    writeln!(w, "    [Reassembled websocket Payload length: {}]", m.wire_length)
}

/// One expert item in Wireshark's form, `indent` spaces in.
fn write_expert(w: &mut impl Write, indent: usize, e: &Expert) -> io::Result<()> {
    let pad = " ".repeat(indent);
    let (severity, group) = (e.kind.severity().name(), e.kind.group().name());
    writeln!(w, "{pad}[Expert Info ({severity}/{group}): {e}]")?;
    writeln!(w, "{pad}    [{e}]")?;
    writeln!(w, "{pad}    [Severity level: {severity}]")?;
    writeln!(w, "{pad}    [Group: {group}]")
}

/// `Line-based text data (N lines)` with one child per line, terminators escaped.
fn write_text_lines(w: &mut impl Write, text: &str) -> io::Result<()> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    writeln!(w, "Line-based text data ({} lines)", lines.len())?;
    for line in lines {
        writeln!(w, "    {}", text_only_label(&format_text(line)))?;
    }
    Ok(())
}

/// `Data (N bytes)`, the hex dump tshark prints for data, then the item's value and length.
fn write_data(w: &mut impl Write, payload: &[u8], declared: u64) -> io::Result<()> {
    writeln!(w, "Data ({} bytes)", payload.len())?;
    writeln!(w)?;
    write_hex_dump(w, payload, "")?;
    writeln!(w, "    Data: {}", hex_label(payload))?;
    writeln!(w, "    [Length: {}]", payload.len())?;
    if (payload.len() as u64) < declared {
        writeln!(w, "    [Payload shown: first {} of {declared} bytes]", payload.len())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_bit_patterns() {
        assert_eq!(bit_pattern(0x81, 0x80), "1... ....");
        assert_eq!(bit_pattern(0x81, 0x70), ".000 ....");
        assert_eq!(bit_pattern(0xc1, 0x40), ".1.. ....");
        assert_eq!(bit_pattern(0x81, 0x0f), ".... 0001");
        assert_eq!(bit_pattern(0x17, 0x7f), ".001 0111");
    }
}
