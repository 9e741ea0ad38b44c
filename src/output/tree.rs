//! The `-V` view: Wireshark's protocol tree for each frame, in the layout tshark prints
//! (four spaces per level, bit-pattern lines for header bits).

use std::io::{self, Write};
use std::net::IpAddr;

use super::text::{format_text, hex_dump, hex_label, label, text_only_label};
use crate::analyzer::Frame;
use crate::fields::{close_code, close_code_name};
use crate::ws::frame::Opcode;
use crate::ws::stream::Cut;

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

/// Writes the tree of one frame, followed by a blank line.
pub fn write_frame_tree(w: &mut impl Write, f: &Frame<'_>) -> io::Result<()> {
    let p = &f.packet;
    writeln!(
        w,
        "Frame {}: {} bytes on wire ({} bits), {} bytes captured ({} bits)",
        p.number,
        p.len,
        u64::from(p.len) * 8,
        p.caplen,
        u64::from(p.caplen) * 8
    )?;
    let (src, dst) = (f.src(), f.dst());
    let version = if matches!(src.ip, IpAddr::V4(_)) { 4 } else { 6 };
    writeln!(w, "Internet Protocol Version {version}, Src: {}, Dst: {}", src.ip, dst.ip)?;
    writeln!(
        w,
        "Transmission Control Protocol, Src Port: {}, Dst Port: {}, Seq: {}, Ack: {}, Len: {}",
        src.port,
        dst.port,
        f.relative_seq(),
        f.relative_ack(),
        p.tcp_len
    )?;
    write_websocket_tree(w, f)?;
    writeln!(w)
}

/// The `WebSocket` subtree and the top-level payload items after it.
fn write_websocket_tree(w: &mut impl Write, f: &Frame<'_>) -> io::Result<()> {
    let h = &f.header;
    let b0 = (u8::from(h.fin) << 7) | (h.rsv << 4) | h.opcode.0;
    let b1 = (u8::from(h.masked) << 7) | h.len7;
    writeln!(w, "WebSocket")?;
    writeln!(w, "    {} = Fin: {}", bit_pattern(b0, 0x80), true_false(h.fin))?;
    writeln!(w, "    {} = Reserved: {:#x}", bit_pattern(b0, 0x70), h.rsv)?;
    if f.connection.deflate {
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
    if h.payload_len == 0 {
        return write_cut(w, f);
    }
    if h.masked {
        writeln!(w, "    Masked payload")?;
    }
    writeln!(w, "    Payload")?;
    let compressed = f.connection.deflate && h.rsv1();
    let payload = f.payload;
    match h.opcode {
        Opcode::TEXT if h.fin && !compressed => {
            let text = String::from_utf8_lossy(payload);
            writeln!(w, "        {}", label("Text", &format_text(&text)))?;
            write_cut(w, f)?;
            write_text_lines(w, &text)?;
        }
        Opcode::CLOSE => {
            writeln!(w, "        Close")?;
            if let Some(code) = close_code(f) {
                match close_code_name(code) {
                    Some(name) => writeln!(w, "            Status code: {name} ({code})")?,
                    None => writeln!(w, "            Status code: Unknown ({code})")?,
                }
            }
            if payload.len() > 2 {
                let reason = String::from_utf8_lossy(&payload[2..]);
                writeln!(w, "            {}", label("Reason", &format_text(&reason)))?;
            }
            write_cut(w, f)?;
        }
        Opcode::PING => {
            writeln!(w, "        Ping: {}", hex_label(payload))?;
            write_cut(w, f)?;
        }
        Opcode::PONG => {
            writeln!(w, "        Pong: {}", hex_label(payload))?;
            write_cut(w, f)?;
        }
        Opcode::BINARY | Opcode::TEXT if h.fin => {
            write_cut(w, f)?;
            write_data(w, payload, h.payload_len)?;
        }
        Opcode::TEXT | Opcode::BINARY => write_cut(w, f)?,
        Opcode::CONTINUATION => {
            write_cut(w, f)?;
            writeln!(w, "Continue: {}", hex_label(payload))?;
        }
        op => {
            let message = format!(
                "Dissector for Websocket Opcode ({}) code not implemented, Contact Wireshark developers if you want this supported",
                op.0
            );
            writeln!(w, "        Unknown: {}", hex_label(payload))?;
            writeln!(w, "            [Expert Info (Note/Undecoded): {message}]")?;
            writeln!(w, "                [{message}]")?;
            writeln!(w, "                [Severity level: Note]")?;
            writeln!(w, "                [Group: Undecoded]")?;
            write_cut(w, f)?;
        }
    }
    Ok(())
}

/// A note on frames the capture does not hold whole.
fn write_cut(w: &mut impl Write, f: &Frame<'_>) -> io::Result<()> {
    let Some(cut) = f.cut else { return Ok(()) };
    let why = match cut {
        Cut::Gap => "bytes lost in a gap in the capture",
        Cut::End => "the stream ended inside the frame",
    };
    let message = format!("Frame cut: {why} ({} of {} payload bytes captured)", f.payload_seen, f.header.payload_len);
    writeln!(w, "    [Expert Info (Warning/Malformed): {message}]")?;
    writeln!(w, "        [{message}]")?;
    writeln!(w, "        [Severity level: Warning]")?;
    writeln!(w, "        [Group: Malformed]")
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
    w.write_all(hex_dump(payload).as_bytes())?;
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
