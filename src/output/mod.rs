//! Printing frames: one-line summaries, tshark-style field columns and the Wireshark tree.
//!
//! Every printer writes to a `Write` and returns its errors, so the binary can end quietly on a
//! closed pipe.

pub mod ek;
pub mod follow;
pub mod json;
pub mod json_tree;
pub mod messages;
pub mod overview;
pub mod text;
pub mod tree;

use std::io::{self, Write};

use crate::analyzer::{Frame, HandshakeEvent, PacketMeta};
use crate::fields::{Context, Field, FieldType, Value};
use crate::http::Header;

/// tshark's Info column for a frame, e.g. `WebSocket Text [FIN] [MASKED]`.
pub fn info_column(f: &Frame<'_>) -> String {
    let mut out = Vec::new();
    write_info_column(&mut out, f, false).expect("writing to a Vec");
    String::from_utf8(out).expect("ASCII")
}

/// Writes the Info column (see [`info_column`]), without its trailing spaces when `trim`.
fn write_info_column(w: &mut impl Write, f: &Frame<'_>, trim: bool) -> io::Result<()> {
    w.write_all(b"WebSocket ")?;
    w.write_all(f.header.opcode.name().unwrap_or("Unknown Opcode").as_bytes())?;
    let tail: &[u8] = match (f.header.fin, f.header.masked) {
        (true, true) => b" [FIN] [MASKED]",
        (true, false) => b" [FIN] ",
        (false, true) => b"[FRAGMENT]  [MASKED]",
        (false, false) => b"[FRAGMENT]  ",
    };
    w.write_all(if trim { tail.trim_ascii_end() } else { tail })
}

/// How `-T fields` lays its lines out: tshark's `-E` options, with tshark's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldsLayout {
    /// `header=y`: a first line with the field names.
    pub header: bool,
    /// `separator=`: between fields (tab).
    pub separator: char,
    /// `quote=d|s`: each field that has a value, in these quotes.
    pub quote: Option<char>,
    /// `occurrence=f|l|a`: which values of a field that has several.
    pub occurrence: Occurrence,
    /// `aggregator=`: between the values of a field (`,`).
    pub aggregator: char,
    /// `escape=y`: tabs, newlines and backslashes in strings written as escapes.
    pub escape: bool,
    /// `bom=y`: the output starts with a UTF-8 byte order mark.
    pub bom: bool,
}

/// `-E occurrence=`: which of a field's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurrence {
    /// `f`.
    First,
    /// `l`.
    Last,
    /// `a`.
    All,
}

impl Default for FieldsLayout {
    fn default() -> Self {
        FieldsLayout {
            header: false,
            separator: '\t',
            quote: None,
            occurrence: Occurrence::All,
            aggregator: ',',
            escape: true,
            bom: false,
        }
    }
}

impl FieldsLayout {
    /// Applies one `-E NAME=VALUE`, as tshark reads it.
    pub fn set(&mut self, option: &str) -> Result<(), String> {
        let (name, value) = option.split_once('=').ok_or("expected NAME=VALUE")?;
        let yes_no = || match value {
            "y" | "Y" => Ok(true),
            "n" | "N" => Ok(false),
            _ => Err(format!("{name} is y or n")),
        };
        let character = || match value {
            "/t" => Ok('\t'),
            "/s" => Ok(' '),
            _ => {
                let mut chars = value.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Ok(c),
                    _ => Err(format!("{name} is one character, /t (tab) or /s (space)")),
                }
            }
        };
        match name {
            "header" => self.header = yes_no()?,
            "separator" => self.separator = character()?,
            "aggregator" => self.aggregator = character()?,
            "escape" => self.escape = yes_no()?,
            "bom" => self.bom = yes_no()?,
            "quote" => {
                self.quote = match value {
                    "d" => Some('"'),
                    "s" => Some('\''),
                    "n" => None,
                    _ => return Err("quote is d (double), s (single) or n (none)".into()),
                }
            }
            "occurrence" => {
                self.occurrence = match value {
                    "f" => Occurrence::First,
                    "l" => Occurrence::Last,
                    "a" => Occurrence::All,
                    _ => return Err("occurrence is f (first), l (last) or a (all)".into()),
                }
            }
            _ => {
                return Err(format!(
                    "unknown option {name:?} (header, separator, quote, occurrence, aggregator, escape, bom)"
                ));
            }
        }
        Ok(())
    }

    /// What goes before the first line: the byte order mark, the header line.
    pub fn write_start(&self, w: &mut impl Write, fields: &[&Field]) -> io::Result<()> {
        if self.bom {
            w.write_all("\u{feff}".as_bytes())?;
        }
        if self.header {
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    write_char(w, self.separator)?;
                }
                w.write_all(field.name.as_bytes())?;
            }
            w.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// Writes a separator: one byte in the common case (the copy is then inlined).
#[inline]
fn write_char(w: &mut impl Write, c: char) -> io::Result<()> {
    match u8::try_from(c) {
        Ok(byte) if byte.is_ascii() => w.write_all(&[byte]),
        _ => w.write_all(c.encode_utf8(&mut [0; 4]).as_bytes()),
    }
}

/// Writes one `-T fields` cell: the field's values formatted as tshark does, those `layout`
/// asks for joined by its aggregator, quoted as it says.
pub fn write_field_cell(
    w: &mut impl Write,
    ctx: &Context,
    layout: &FieldsLayout,
    field: &Field,
    frame: &Frame<'_>,
) -> io::Result<()> {
    if layout.quote.is_none() && layout.occurrence == Occurrence::All {
        // Every line of most runs: streamed, nothing kept.
        let mut first = true;
        let mut result = Ok(());
        (field.get)(ctx, frame, &mut |value| {
            if result.is_ok() && !std::mem::take(&mut first) {
                result = write_char(w, layout.aggregator);
            }
            if result.is_ok() {
                result = write_value(w, field, &value, layout.escape);
            }
        });
        return result;
    }
    write_laid_out_cell(w, ctx, layout, field, frame)
}

/// [`write_field_cell`] with quotes, or some of several values.
#[inline(never)]
fn write_laid_out_cell(
    w: &mut impl Write,
    ctx: &Context,
    layout: &FieldsLayout,
    field: &Field,
    frame: &Frame<'_>,
) -> io::Result<()> {
    let mut count = 0;
    let mut last = Vec::new();
    let mut result = Ok(());
    (field.get)(ctx, frame, &mut |value| {
        if result.is_err() {
            return;
        }
        count += 1;
        result = match layout.occurrence {
            Occurrence::All => (if count == 1 { write_quote(w, layout) } else { write_char(w, layout.aggregator) })
                .and_then(|_| write_value(w, field, &value, layout.escape)),
            Occurrence::First if count == 1 => {
                write_quote(w, layout).and_then(|_| write_value(w, field, &value, layout.escape))
            }
            Occurrence::First => Ok(()),
            Occurrence::Last => {
                last.clear();
                write_value(&mut last, field, &value, layout.escape)
            }
        };
    });
    result?;
    if count == 0 {
        return Ok(());
    }
    if layout.occurrence == Occurrence::Last {
        write_quote(w, layout)?;
        w.write_all(&last)?;
    }
    write_quote(w, layout)
}

/// The quote around a cell, if the layout has one.
fn write_quote(w: &mut impl Write, layout: &FieldsLayout) -> io::Result<()> {
    match layout.quote {
        Some(q) => write_char(w, q),
        None => Ok(()),
    }
}

/// Formats one value the way `tshark -T fields` does (strings escaped or not).
#[inline(always)]
pub fn write_value(w: &mut impl Write, field: &Field, value: &Value<'_>, escape: bool) -> io::Result<()> {
    match value {
        Value::Present => w.write_all(b"1"),
        Value::Bool(b) => w.write_all(if *b { b"1" } else { b"0" }),
        Value::UInt(n) => match field.hex_digits {
            Some(d) => write!(w, "0x{:0width$x}", n, width = usize::from(d)),
            // itoa: -T fields writes numbers on every line, and core::fmt was a third of the run.
            None => w.write_all(itoa::Buffer::new().format(*n).as_bytes()),
        },
        Value::Bytes(b) if field.ty == FieldType::Ether => {
            for (i, byte) in b.iter().enumerate() {
                w.write_all(if i > 0 { b":" } else { b"" })?;
                w.write_all(&text::hex_digits(*byte))?;
            }
            Ok(())
        }
        Value::Bytes(b) => text::write_hex_runs(b, |run| w.write_all(run.as_bytes())),
        Value::Nanos(n) if field.ty == FieldType::Date => w.write_all(Civil::of(*n).tshark().as_bytes()),
        Value::Str(s) if escape => write_escaped_field(w, s),
        Value::Str(s) => w.write_all(s.as_bytes()),
        Value::Int(n) => w.write_all(itoa::Buffer::new().format(*n).as_bytes()),
        Value::Ip(ip) => write!(w, "{ip}"),
        Value::Nanos(n) => {
            let sign = if *n < 0 { "-" } else { "" };
            let abs = n.unsigned_abs();
            write!(w, "{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000)
        }
    }
}

/// A UTC calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: i64,
    /// Day of the month, from 1.
    pub day: i64,
    /// Hour.
    pub hour: i64,
    /// Minute.
    pub minute: i64,
    /// Second.
    pub second: i64,
    /// Nanoseconds into the second.
    pub nanos: i64,
}

impl Civil {
    /// The UTC calendar time of nanoseconds since the epoch (Howard Hinnant's days-to-date).
    pub fn of(nanos: i64) -> Civil {
        let secs = nanos.div_euclid(1_000_000_000);
        let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Civil {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day: doy - (153 * mp + 2) / 5 + 1,
            hour: day_secs / 3600,
            minute: day_secs / 60 % 60,
            second: day_secs % 60,
            nanos: nanos.rem_euclid(1_000_000_000),
        }
    }

    /// As tshark writes `frame.time` (in UTC): `Nov 25, 2026 17:04:08.019576000 UTC`.
    pub fn tshark(self) -> String {
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let month = MONTHS[(self.month - 1) as usize];
        format!(
            "{month} {:2}, {} {:02}:{:02}:{:02}.{:09} UTC",
            self.day, self.year, self.hour, self.minute, self.second, self.nanos
        )
    }
}

/// tshark's escaping of strings in `-T fields`: `\t \n \r \f \b` and backslash become escapes,
/// everything else is printed as is.
fn write_escaped_field(w: &mut impl Write, s: &str) -> io::Result<()> {
    let mut from = 0;
    for (i, c) in s.char_indices() {
        let esc: &[u8] = match c {
            '\t' => b"\\t",
            '\n' => b"\\n",
            '\r' => b"\\r",
            '\u{c}' => b"\\f",
            '\u{8}' => b"\\b",
            '\\' => b"\\\\",
            _ => continue,
        };
        w.write_all(&s.as_bytes()[from..i])?;
        w.write_all(esc)?;
        from = i + 1;
    }
    w.write_all(&s.as_bytes()[from..])
}

/// Writes a `-T fields` line for a frame.
pub fn write_fields_line(
    w: &mut impl Write,
    ctx: &Context,
    layout: &FieldsLayout,
    fields: &[&Field],
    frame: &Frame<'_>,
) -> io::Result<()> {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            write_char(w, layout.separator)?;
        }
        write_field_cell(w, ctx, layout, field, frame)?;
    }
    w.write_all(b"\n")
}

/// Writes the default one-line summary of a frame: number, relative time, endpoints, info,
/// payload length and a short preview.
pub fn write_summary_line(w: &mut impl Write, ctx: &Context, f: &Frame<'_>) -> io::Result<()> {
    write_line_start(w, ctx, &f.packet, f.connection.arrow(f.from_client))?;
    write_info_column(w, f, true)?;
    let mut digits = itoa::Buffer::new();
    w.write_all(b" len=")?;
    w.write_all(digits.format(f.header.payload_len).as_bytes())?;
    if let Some(code) = crate::fields::close_code(f) {
        w.write_all(b" code=")?;
        w.write_all(digits.format(code).as_bytes())?;
    }
    let preview = text::preview(f, 48);
    if !preview.is_empty() {
        w.write_all(b" ")?;
        preview.write(w)?;
    }
    if let Some(m) = f.message.filter(|m| m.fragments.len() > 1 || m.compressed) {
        w.write_all(b" [message: ")?;
        w.write_all(digits.format(m.fragments.len()).as_bytes())?;
        w.write_all(b" frames, ")?;
        w.write_all(digits.format(m.length).as_bytes())?;
        w.write_all(if m.compressed { b" bytes inflated]" } else { b" bytes]" })?;
    }
    if f.cut.is_some() {
        write!(w, " [CUT: {} of {} payload bytes captured]", f.payload_seen, f.header.payload_len)?;
    }
    write_expert_suffix(w, f)?;
    w.write_all(b"\n")
}

/// The start of every summary line: packet number, seconds since the first packet, and
/// `src → dst`, each followed by a space.
pub fn write_line_start(w: &mut impl Write, ctx: &Context, p: &PacketMeta, arrow: &str) -> io::Result<()> {
    // Written by hand (itoa and a fixed-width fraction): this runs once per frame.
    let rel = p.ts_nanos - ctx.first_ts;
    let mut digits = itoa::Buffer::new();
    write_padded(w, digits.format(p.number).as_bytes(), 6)?;
    w.write_all(b" ")?;
    write_padded(w, digits.format(rel.div_euclid(1_000_000_000)).as_bytes(), 4)?;
    let micros = rel.rem_euclid(1_000_000_000) / 1000;
    let mut frac = *b".000000 ";
    let mut m = micros;
    for slot in frac[1..7].iter_mut().rev() {
        *slot = b'0' + (m % 10) as u8;
        m /= 10;
    }
    w.write_all(&frac)?;
    w.write_all(arrow.as_bytes())?;
    w.write_all(b" ")
}

/// `text` right-aligned in `width` columns.
fn write_padded(w: &mut impl Write, text: &[u8], width: usize) -> io::Result<()> {
    const SPACES: &[u8] = b"                ";
    w.write_all(&SPACES[..width.saturating_sub(text.len()).min(SPACES.len())])?;
    w.write_all(text)
}

/// ` [Warning: ...; ...]` after a summary line when the frame has expert items.
fn write_expert_suffix(w: &mut impl Write, f: &Frame<'_>) -> io::Result<()> {
    for (i, e) in f.expert.iter().enumerate() {
        let sep = if i == 0 { " [" } else { "; " };
        write!(w, "{sep}{}: {e}", e.kind.severity().name())?;
    }
    if !f.expert.is_empty() {
        w.write_all(b"]")?;
    }
    Ok(())
}

/// The summary line of a handshake: the `101` packet, who switched, and what was negotiated.
pub fn write_handshake_line(w: &mut impl Write, ctx: &Context, h: &HandshakeEvent<'_>) -> io::Result<()> {
    let c = h.connection;
    let Some(hs) = c.handshake.as_ref() else { return Ok(()) };
    write_line_start(w, ctx, &h.packet, c.arrow(false))?;
    write!(w, "HTTP {} {}", hs.response.code, text::format_text(&hs.response.reason))?;
    if let Some(req) = &hs.request {
        write!(w, " ({} {})", req.method, text::format_text(&req.uri))?;
    }
    let r = &hs.response.headers;
    if let Some(p) = r.get(Header::SecWebSocketProtocol) {
        write!(w, " protocol={}", text::format_text(p))?;
    }
    if let Some(e) = r.get(Header::SecWebSocketExtensions) {
        write!(w, " extensions=\"{}\"", text::format_text(e))?;
    }
    if let Some(t) = c.tls.as_deref() {
        write!(w, " [{}", t.version.map_or("TLS", crate::tls::TlsInfo::version_name))?;
        if let Some(sni) = &t.server_name {
            write!(w, ", SNI {}", text::format_text(sni))?;
        }
        w.write_all(b"]")?;
    }
    for e in h.expert {
        write!(w, " [{}: {e}]", e.kind.severity().name())?;
    }
    w.write_all(b"\n")
}

/// `--list-fields`: every field with its type and description.
pub fn write_field_list(w: &mut impl Write) -> io::Result<()> {
    for f in crate::fields::all() {
        writeln!(w, "{}\t{}\t{}", f.name, f.ty.name(), f.description)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_escape_writes_strings_as_tshark_or_as_they_are() {
        let field = crate::fields::lookup("websocket.payload.text").unwrap();
        let value = Value::Str("a\tb\\c\n".into());
        let mut escaped = Vec::new();
        write_value(&mut escaped, field, &value, true).unwrap();
        assert_eq!(escaped, b"a\\tb\\\\c\\n");
        let mut raw = Vec::new();
        write_value(&mut raw, field, &value, false).unwrap();
        assert_eq!(raw, b"a\tb\\c\n");
    }

    #[test]
    fn test_layout_options() {
        let mut layout = FieldsLayout::default();
        for option in ["header=y", "separator=/s", "quote=s", "occurrence=l", "aggregator=/t", "escape=n", "bom=Y"] {
            layout.set(option).unwrap();
        }
        let want = FieldsLayout {
            header: true,
            separator: ' ',
            quote: Some('\''),
            occurrence: Occurrence::Last,
            aggregator: '\t',
            escape: false,
            bom: true,
        };
        assert_eq!(layout, want);
        assert!(layout.set("occurrence=2").is_err());
    }
}
