//! Text helpers shared by the printers: Wireshark's label escaping and truncation, hex labels,
//! hex dumps and payload previews.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use crate::analyzer::Frame;
use crate::ws::frame::{Opcode, close_body};

/// Longest label Wireshark shows; longer ones are cut and marked `[truncated]`.
pub const MAX_LABEL: usize = 239;
/// Bytes shown in a bytes label before `…`.
pub const MAX_BYTES_IN_LABEL: usize = 36;

/// Wireshark's `format_text`: C escapes for `\a \b \f \n \r \t \v`, octal for other control
/// bytes and DEL; everything else (quotes and backslash included) as is.
pub fn format_text(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `name: value` as a tree label, cut to [`MAX_LABEL`] bytes with `[truncated]` after the name.
pub fn label(name: &str, value: &str) -> String {
    let full = format!("{name}: {value}");
    if full.len() <= MAX_LABEL {
        return full;
    }
    let prefix = format!("{name} [truncated]: ");
    let mut cut = (MAX_LABEL - 1).saturating_sub(prefix.len()).min(value.len());
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{prefix}{}", &value[..cut])
}

/// A label without a field name, cut as Wireshark cuts it: ` [truncated]` in front.
pub fn text_only_label(text: &str) -> String {
    if text.len() <= MAX_LABEL {
        return text.to_string();
    }
    const MARK: &str = " [truncated]";
    let mut cut = MAX_LABEL - 1 - MARK.len();
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{MARK}{}", &text[..cut])
}

/// Bytes as a label value: plain lowercase hex, at most [`MAX_BYTES_IN_LABEL`] bytes, then `…`.
pub fn hex_label(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len().min(MAX_BYTES_IN_LABEL) + 3);
    for b in bytes.iter().take(MAX_BYTES_IN_LABEL) {
        let _ = write!(out, "{b:02x}");
    }
    if bytes.len() > MAX_BYTES_IN_LABEL {
        out.push('…');
    }
    out
}

/// A byte's two lowercase hex digits.
pub fn hex_digits(b: u8) -> [u8; 2] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]
}

/// tshark's hex dump, written row by row after `indent`: offset (at least 4 hex digits), 16
/// bytes in hex, and their ASCII. A row at a time, so that a large payload costs no more memory
/// than a row.
pub fn write_hex_dump(w: &mut impl std::io::Write, bytes: &[u8], indent: &str) -> std::io::Result<()> {
    for (i, row) in bytes.chunks(16).enumerate() {
        // 16 * "xx " + "  " + 16 ASCII + "\n"
        let mut line = [b' '; 48 + 2 + 16 + 1];
        for (j, b) in row.iter().enumerate() {
            line[3 * j..3 * j + 2].copy_from_slice(&hex_digits(*b));
            line[50 + j] = if b.is_ascii_graphic() || *b == b' ' { *b } else { b'.' };
        }
        line[50 + row.len()] = b'\n';
        write!(w, "{indent}{:04x}  ", i * 16)?;
        w.write_all(&line[..=50 + row.len()])?;
    }
    Ok(())
}

/// A short printable preview for the summary line, formatted as it is written.
#[derive(Debug)]
pub enum Preview<'a> {
    /// Nothing to show (no payload, or a compressed frame before its message is complete).
    None,
    /// `"text"`, then `…` when more follows.
    Text {
        /// The characters shown.
        text: Cow<'a, str>,
        /// More follows.
        more: bool,
    },
    /// Bytes in hex, then `…` when more follows.
    Hex {
        /// The bytes shown.
        bytes: &'a [u8],
        /// More follows.
        more: bool,
    },
}

impl Preview<'_> {
    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        matches!(self, Preview::None)
    }
}

impl fmt::Display for Preview<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ellipsis = |more: bool| if more { "…" } else { "" };
        match self {
            Preview::None => Ok(()),
            Preview::Text { text, more } => write!(f, "\"{}{}\"", format_text(text), ellipsis(*more)),
            Preview::Hex { bytes, more } => {
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
                f.write_str(ellipsis(*more))
            }
        }
    }
}

/// The preview of a frame: the message it completes (joined and inflated), or else its own
/// payload unless it is compressed; at most `max_chars` characters of text, or half as many
/// bytes in hex.
pub fn preview<'a>(f: &Frame<'a>, max_chars: usize) -> Preview<'a> {
    let (data, opcode, total) = match f.message {
        Some(m) => (m.data, m.opcode, m.length),
        None if f.connection.deflate.is_some() && f.header.rsv1() => return Preview::None,
        None => (f.payload, f.header.opcode, f.header.payload_len),
    };
    if data.is_empty() {
        return Preview::None;
    }
    // Only the first characters are shown, so only the first bytes are looked at.
    let head = &data[..data.len().min(4 * max_chars + 4)];
    match opcode {
        Opcode::TEXT | Opcode::CONTINUATION if let Some(text) = utf8_prefix(head) => {
            quoted(Cow::Borrowed(text), max_chars, text.len() < data.len() || (data.len() as u64) < total)
        }
        Opcode::CLOSE => match close_body(head) {
            (_, Some(reason)) => quoted(String::from_utf8_lossy(reason), max_chars, head.len() < data.len()),
            _ => Preview::None,
        },
        _ => {
            let n = (max_chars / 2).min(data.len());
            Preview::Hex { bytes: &data[..n], more: data.len() > n || total > n as u64 }
        }
    }
}

/// The bytes as text when they are UTF-8, allowing a character cut at their end.
fn utf8_prefix(bytes: &[u8]) -> Option<&str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok(),
        Err(_) => None,
    }
}

/// `"text"`, cut to `max_chars` with `…` when longer (or when `more` says bytes are missing).
fn quoted(text: Cow<'_, str>, max_chars: usize, more: bool) -> Preview<'_> {
    match text.char_indices().nth(max_chars).map(|(end, _)| end) {
        Some(end) => Preview::Text {
            text: match text {
                Cow::Borrowed(t) => Cow::Borrowed(&t[..end]),
                Cow::Owned(mut t) => {
                    t.truncate(end);
                    Cow::Owned(t)
                }
            },
            more: true,
        },
        None => Preview::Text { text, more },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_format_text_escapes() {
        assert_eq!(format_text("a\tb\n\u{1}\u{7f}\"\\é"), "a\\tb\\n\\001\\177\"\\é");
    }

    #[test]
    fn test_label_truncation() {
        let long = "z".repeat(300);
        let l = label("Text", &long);
        assert!(l.starts_with("Text [truncated]: zzz"));
        assert_eq!(l.len(), MAX_LABEL - 1);
        assert_eq!(label("Text", "short"), "Text: short");
    }

    #[test]
    fn test_hex_label_cut() {
        assert_eq!(hex_label(&[0xab; 2]), "abab");
        assert!(hex_label(&[0; 40]).ends_with('…'));
        assert_eq!(hex_label(&[0; 40]).chars().count(), 73);
    }

    #[test]
    fn test_hex_dump_row() {
        let mut d = Vec::new();
        write_hex_dump(&mut d, b"ABCDEFGHIJKLMNOPQ", "").unwrap();
        let d = String::from_utf8(d).unwrap();
        let first = d.lines().next().unwrap();
        assert_eq!(first, "0000  41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50   ABCDEFGHIJKLMNOP");
        assert!(d.lines().nth(1).unwrap().starts_with("0010  51 "));
    }
}
