//! The RFC 6455 frame header (section 5.2) and masking (section 5.3).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! The parser is nom's streaming kind: on a header split across TCP segments it answers
//! "incomplete" and consumes nothing.
//!
//! ```
//! use wsdissect::ws::frame::{parse_header, Opcode};
//! let (rest, h) = parse_header(&[0x81, 0x85, 1, 2, 3, 4, b'H' ^ 1]).unwrap();
//! assert_eq!((h.fin, h.opcode, h.payload_len, h.header_len), (true, Opcode::TEXT, 5, 6));
//! assert_eq!(rest, &[b'H' ^ 1]);
//! assert!(parse_header(&[0x81, 0xfe, 0x00]).is_err()); // needs more bytes
//! ```

use nom::IResult;
use nom::number::streaming::{be_u8, be_u16, be_u32, be_u64};

/// A frame opcode, kept open so that reserved values still print and filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    /// Continuation of a fragmented message.
    pub const CONTINUATION: Opcode = Opcode(0);
    /// UTF-8 text data.
    pub const TEXT: Opcode = Opcode(1);
    /// Binary data.
    pub const BINARY: Opcode = Opcode(2);
    /// Connection close.
    pub const CLOSE: Opcode = Opcode(8);
    /// Ping.
    pub const PING: Opcode = Opcode(9);
    /// Pong.
    pub const PONG: Opcode = Opcode(10);

    /// Control frames have the high bit of the opcode set (RFC 6455 5.5).
    pub fn is_control(self) -> bool {
        self.0 & 0x8 != 0
    }

    /// Opcodes RFC 6455 defines; the rest are reserved.
    pub fn is_defined(self) -> bool {
        matches!(self.0, 0 | 1 | 2 | 8 | 9 | 10)
    }

    /// Wireshark's name for the opcode (`websocket.opcode` value string).
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "Continuation",
            1 => "Text",
            2 => "Binary",
            8 => "Connection Close",
            9 => "Ping",
            10 => "Pong",
            _ => return None,
        })
    }
}

/// A close frame's body (RFC 6455 section 5.5.1): the status code when there are two bytes,
/// and the reason after it when there is one.
///
/// ```
/// use wsdissect::ws::frame::close_body;
/// assert_eq!(close_body(b"\x03\xe8bye"), (Some(1000), Some(&b"bye"[..])));
/// assert_eq!(close_body(b"\x03"), (None, None));
/// ```
pub fn close_body(body: &[u8]) -> (Option<u16>, Option<&[u8]>) {
    match body {
        [a, b, reason @ ..] => (Some(u16::from_be_bytes([*a, *b])), (!reason.is_empty()).then_some(reason)),
        _ => (None, None),
    }
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: the last frame of a message.
    pub fin: bool,
    /// The three RSV bits as a value 0..=7 (RSV1 is 4), as `websocket.rsv` shows them.
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// MASK: the payload is XORed with the masking key.
    pub masked: bool,
    /// The 7-bit length field (126 and 127 announce extended lengths).
    pub len7: u8,
    /// The payload length the header declares, up to 2^64-1.
    pub payload_len: u64,
    /// The masking key, when MASK is set.
    pub masking_key: Option<[u8; 4]>,
    /// Header bytes: 2 to 14.
    pub header_len: u8,
}

impl FrameHeader {
    /// RSV1 (per-message compressed under permessage-deflate).
    pub fn rsv1(&self) -> bool {
        self.rsv & 0x4 != 0
    }

    /// `websocket.payload_length_ext_16`, present when the 7-bit field is 126.
    pub fn ext_16(&self) -> Option<u16> {
        (self.len7 == 126).then_some(self.payload_len as u16)
    }

    /// `websocket.payload_length_ext_64`, present when the 7-bit field is 127.
    pub fn ext_64(&self) -> Option<u64> {
        (self.len7 == 127).then_some(self.payload_len)
    }

    /// Whether the length uses the shortest encoding RFC 6455 5.2 requires.
    pub fn length_is_minimal(&self) -> bool {
        match self.len7 {
            126 => self.payload_len >= 126,
            127 => self.payload_len > 0xffff,
            _ => true,
        }
    }

    /// Header plus payload, saturating for impossible lengths.
    pub fn frame_len(&self) -> u64 {
        u64::from(self.header_len).saturating_add(self.payload_len)
    }
}

/// Parses a frame header, asking for more input when it is split.
pub fn parse_header(i: &[u8]) -> IResult<&[u8], FrameHeader> {
    let (i, b0) = be_u8(i)?;
    let (i, b1) = be_u8(i)?;
    let len7 = b1 & 0x7f;
    let (i, payload_len, ext) = match len7 {
        126 => {
            let (i, n) = be_u16(i)?;
            (i, u64::from(n), 2)
        }
        127 => {
            let (i, n) = be_u64(i)?;
            (i, n, 8)
        }
        n => (i, u64::from(n), 0),
    };
    let masked = b1 & 0x80 != 0;
    let (i, masking_key) = if masked {
        let (i, key) = be_u32(i)?;
        (i, Some(key.to_be_bytes()))
    } else {
        (i, None)
    };
    let header = FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 & 0x70) >> 4,
        opcode: Opcode(b0 & 0x0f),
        masked,
        len7,
        payload_len,
        masking_key,
        header_len: 2 + ext + if masked { 4 } else { 0 },
    };
    Ok((i, header))
}

/// XORs `data` with the masking key in place; `offset` is the position of `data[0]` in the
/// payload, so a payload can be unmasked piece by piece as its segments arrive.
pub fn unmask(data: &mut [u8], key: [u8; 4], offset: u64) {
    let rot = (offset % 4) as usize;
    let key = [key[rot], key[(rot + 1) % 4], key[(rot + 2) % 4], key[(rot + 3) % 4]];
    let word = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let v = u64::from_ne_bytes(chunk.try_into().expect("8-byte chunk")) ^ word;
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_lengths_7_16_64() {
        let (_, h) = parse_header(&[0x82, 125]).unwrap();
        assert_eq!((h.payload_len, h.ext_16(), h.ext_64(), h.header_len), (125, None, None, 2));
        let (_, h) = parse_header(&[0x82, 126, 0x00, 0x7e]).unwrap();
        assert_eq!((h.payload_len, h.ext_16(), h.header_len), (126, Some(126), 4));
        let (_, h) = parse_header(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]).unwrap();
        assert_eq!((h.payload_len, h.ext_64(), h.header_len), (65536, Some(65536), 10));
        assert!(h.length_is_minimal());
    }

    #[test]
    fn test_impossible_len() {
        let (_, h) = parse_header(&[0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]).unwrap();
        assert_eq!(h.payload_len, u64::MAX);
        assert_eq!(h.frame_len(), u64::MAX);
        assert_eq!(h.header_len, 14);
    }

    #[test]
    fn test_non_minimal_length() {
        let (_, h) = parse_header(&[0x88, 127, 0, 0, 0, 0, 0, 0, 1, 2]).unwrap();
        assert!(!h.length_is_minimal());
    }

    #[test]
    fn test_split_header_is_incomplete_at_every_cut() {
        let full = [0x81, 0xfe, 0x01, 0x00, 9, 8, 7, 6];
        for cut in 0..full.len() {
            assert!(matches!(parse_header(&full[..cut]), Err(nom::Err::Incomplete(_))), "cut {cut}");
        }
        let (_, h) = parse_header(&full).unwrap();
        assert_eq!(h.masking_key, Some([9, 8, 7, 6]));
        assert_eq!(h.payload_len, 256);
    }

    #[test]
    fn test_rsv_and_opcode_bits() {
        let (_, h) = parse_header(&[0x4b, 0]).unwrap();
        assert_eq!((h.fin, h.rsv, h.opcode), (false, 4, Opcode(0xb)));
        assert!(h.rsv1() && h.opcode.is_control() && !h.opcode.is_defined());
    }

    #[test]
    fn test_unmask_in_pieces_matches_whole() {
        let key = [0xe1, 0x7e, 0x8e, 0xb9];
        let plain: Vec<u8> = (0..100u8).collect();
        let mut whole = plain.clone();
        unmask(&mut whole, key, 0);
        for (i, b) in whole.iter().enumerate() {
            assert_eq!(*b, plain[i] ^ key[i % 4]);
        }
        let mut pieces = plain.clone();
        let (a, rest) = pieces.split_at_mut(3);
        let (b, c) = rest.split_at_mut(30);
        unmask(a, key, 0);
        unmask(b, key, 3);
        unmask(c, key, 33);
        assert_eq!(pieces, whole);
    }
}
