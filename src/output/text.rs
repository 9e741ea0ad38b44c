//! Text helpers shared by the printers: Wireshark's label escaping and truncation, hex labels,
//! hex dumps and payload previews.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

use crate::analyzer::Frame;
use crate::ws::frame::{Opcode, close_body};

/// Longest label Wireshark shows; longer ones are cut and marked `[truncated]`.
pub const MAX_LABEL: usize = 239;
/// Bytes shown in a bytes label before `…`.
pub const MAX_BYTES_IN_LABEL: usize = 36;

/// Wireshark's `format_text`: C escapes for `\a \b \f \n \r \t \v`, octal for other control
/// bytes and DEL; everything else (quotes and backslash included) as is.
pub fn format_text(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match u8::try_from(c).ok().filter(|b| needs_escape(*b)) {
            Some(b) => out.push_str(escape(b).as_str()),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Writes `s` as [`format_text`] formats it, without building a string: runs of plain bytes
/// go out as they are.
pub fn write_format_text(w: &mut impl io::Write, s: &str) -> io::Result<()> {
    let bytes = s.as_bytes();
    // Without an early exit the check compiles to a few vector instructions.
    if !bytes.iter().fold(false, |any, &b| any | needs_escape(b)) {
        return w.write_all(bytes);
    }
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if needs_escape(b) {
            w.write_all(&bytes[plain..i])?;
            w.write_all(escape(b).as_str().as_bytes())?;
            plain = i + 1;
        }
    }
    w.write_all(&bytes[plain..])
}

/// A control byte or DEL, which [`format_text`] escapes (each is a character of its own in UTF-8).
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// The escape of a byte [`needs_escape`] accepts: `\n` and its kind, or `\` and three octal digits.
struct Escaped {
    bytes: [u8; 4],
    len: usize,
}

impl Escaped {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

fn escape(b: u8) -> Escaped {
    let letter = match b {
        0x07 => b'a',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x0b => b'v',
        _ => return Escaped { bytes: [b'\\', b'0' + (b >> 6), b'0' + ((b >> 3) & 7), b'0' + (b & 7)], len: 4 },
    };
    Escaped { bytes: [b'\\', letter, 0, 0], len: 2 }
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

/// `bytes` in lowercase hex, handed to `write` in runs of up to 512 digits: not through
/// `core::fmt` a byte at a time, which took most of a `-T ek` run.
pub fn write_hex_runs<E>(bytes: &[u8], mut write: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
    let mut digits = [0u8; 512];
    bytes.chunks(digits.len() / 2).try_for_each(|chunk| {
        for (pair, b) in digits.chunks_exact_mut(2).zip(chunk) {
            pair.copy_from_slice(&hex_digits(*b));
        }
        write(std::str::from_utf8(&digits[..2 * chunk.len()]).expect("hex digits"))
    })
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

    /// Writes the preview: `"text…"` escaped as [`format_text`] does, or hex digits.
    pub fn write(&self, w: &mut impl io::Write) -> io::Result<()> {
        let ellipsis = |more: bool| if more { "…" } else { "" }.as_bytes();
        match self {
            Preview::None => Ok(()),
            Preview::Text { text, more } => {
                w.write_all(b"\"")?;
                write_format_text(w, text)?;
                w.write_all(ellipsis(*more))?;
                w.write_all(b"\"")
            }
            Preview::Hex { bytes, more } => {
                for b in *bytes {
                    w.write_all(&hex_digits(*b))?;
                }
                w.write_all(ellipsis(*more))
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
    // Only the first characters are shown, so only the first bytes are looked at: one more
    // than shown when they are ASCII (as text mostly is), else as many as the characters take.
    let ascii = &data[..data.len().min(max_chars + 1)];
    let head = if ascii.is_ascii() { ascii } else { &data[..data.len().min(4 * max_chars + 4)] };
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
    let end = if text.is_ascii() {
        (text.len() > max_chars).then_some(max_chars)
    } else {
        text.char_indices().nth(max_chars).map(|(end, _)| end)
    };
    match end {
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
    fn test_write_format_text_writes_what_format_text_gives() {
        for s in ["plain text", "a\tb\n\u{1}\u{7f}\"\\é", "\r", ""] {
            let mut out = Vec::new();
            write_format_text(&mut out, s).unwrap();
            assert_eq!(out, format_text(s).as_bytes(), "{s:?}");
        }
    }

    #[test]
    fn test_quoted_cuts_after_max_chars() {
        let shown = |text, max| match quoted(Cow::Borrowed(text), max, false) {
            Preview::Text { text, more } => (text.into_owned(), more),
            other => panic!("{other:?}"),
        };
        assert_eq!(shown("abcd", 3), ("abc".to_string(), true));
        assert_eq!(shown("abc", 3), ("abc".to_string(), false));
        assert_eq!(shown("éaéé", 3), ("éaé".to_string(), true));
        assert_eq!(shown("éaé", 3), ("éaé".to_string(), false));
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
