//! Expert items: breaches of RFC 6455, RFC 7692 and RFC 8441 and incomplete data (TLS records
//! lost included), each reported on the frame (or handshake) where it is seen, in Wireshark's
//! severity and group terms.
//!
//! Every kind has its own boolean field (`websocket.expert.<kind>`, listed by
//! `wsdissect --list-fields`), so `-e`, the tree and filters name it the same way.

use std::fmt;

/// How bad an item is (Wireshark's severities used here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing: nothing is wrong, but the dissection rests on it.
    Note,
    /// Something is wrong.
    Warning,
}

impl Severity {
    /// Wireshark's numeric value (`_ws.expert.severity`).
    pub fn code(self) -> u32 {
        match self {
            Severity::Note => 0x0040_0000,
            Severity::Warning => 0x0060_0000,
        }
    }

    /// Wireshark's name, as in `[Expert Info (Warning/Protocol): ...]`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Note => "Note",
            Severity::Warning => "Warning",
        }
    }
}

/// What an item is about (Wireshark's groups used here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// A breach of the protocol.
    Protocol,
    /// Data the capture does not hold whole.
    Malformed,
    /// Dissected on an assumption (the capture lacks what would say so).
    Assumption,
}

impl Group {
    /// Wireshark's numeric value (`_ws.expert.group`).
    pub fn code(self) -> u32 {
        match self {
            Group::Malformed => 0x0700_0000,
            Group::Protocol => 0x0900_0000,
            Group::Assumption => 0x0d00_0000,
        }
    }

    /// Wireshark's name.
    pub fn name(self) -> &'static str {
        match self {
            Group::Protocol => "Protocol",
            Group::Malformed => "Malformed",
            Group::Assumption => "Assumption",
        }
    }
}

macro_rules! expert_kinds {
    ($($kind:ident => $field:literal, $severity:ident / $group:ident, $description:literal;)*) => {
        /// The kinds of expert item.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum ExpertKind {
            $(#[doc = $description] $kind,)*
        }

        impl ExpertKind {
            /// Every kind, in the order of their fields.
            pub const ALL: &'static [ExpertKind] = &[$(ExpertKind::$kind,)*];

            /// The kind's boolean field, e.g. `websocket.expert.unmasked_client_frame`.
            pub const fn field(self) -> &'static str {
                match self { $(ExpertKind::$kind => $field,)* }
            }

            /// One line on what the kind means.
            pub const fn description(self) -> &'static str {
                match self { $(ExpertKind::$kind => $description,)* }
            }

            /// Severity of items of this kind.
            pub const fn severity(self) -> Severity {
                match self { $(ExpertKind::$kind => Severity::$severity,)* }
            }

            /// Group of items of this kind.
            pub const fn group(self) -> Group {
                match self { $(ExpertKind::$kind => Group::$group,)* }
            }
        }
    };
}

expert_kinds! {
    RsvWithoutExtension => "websocket.expert.rsv_not_negotiated", Warning / Protocol,
        "RSV bits set that no negotiated extension defines";
    Rsv1Misplaced => "websocket.expert.rsv1_misplaced", Warning / Protocol,
        "RSV1 (Per-Message Compressed) on a continuation or control frame";
    ReservedOpcode => "websocket.expert.reserved_opcode", Warning / Protocol,
        "A reserved opcode (3-7, 11-15)";
    ControlTooLong => "websocket.expert.control_too_long", Warning / Protocol,
        "A control frame with more than 125 payload bytes";
    ControlFragmented => "websocket.expert.control_fragmented", Warning / Protocol,
        "A control frame with FIN=0";
    OrphanContinuation => "websocket.expert.orphan_continuation", Warning / Protocol,
        "A continuation frame with no message started";
    UnfinishedMessage => "websocket.expert.unfinished_message", Warning / Protocol,
        "A new data message while the previous one is unfinished";
    UnmaskedClientFrame => "websocket.expert.unmasked_client_frame", Warning / Protocol,
        "A client frame without a mask";
    MaskedServerFrame => "websocket.expert.masked_server_frame", Warning / Protocol,
        "A server frame with a mask";
    NonMinimalLength => "websocket.expert.non_minimal_length", Warning / Protocol,
        "A payload length not in its shortest encoding";
    LengthTopBit => "websocket.expert.length_top_bit", Warning / Protocol,
        "A 64-bit payload length with its most significant bit set";
    InvalidUtf8 => "websocket.expert.invalid_utf8", Warning / Protocol,
        "A text message that is not valid UTF-8";
    InvalidCloseReason => "websocket.expert.invalid_close_reason", Warning / Protocol,
        "A close reason that is not valid UTF-8";
    CloseBodyTooShort => "websocket.expert.close_body_too_short", Warning / Protocol,
        "A close frame with a 1-byte body";
    InvalidCloseCode => "websocket.expert.invalid_close_code", Warning / Protocol,
        "A close status code that may not be sent (below 1000, 1004-1006, 1015, 1016-2999, 5000 and up)";
    FrameAfterClose => "websocket.expert.frame_after_close", Warning / Protocol,
        "A frame sent after a close frame in the same direction";
    WrongAccept => "websocket.expert.wrong_accept", Warning / Protocol,
        "Sec-WebSocket-Accept does not match Sec-WebSocket-Key";
    FrameCut => "websocket.expert.frame_cut", Warning / Malformed,
        "A frame cut by a gap in the capture or by its end";
    MessageIncomplete => "websocket.expert.message_incomplete", Warning / Malformed,
        "A message whose payload is not whole (a fragment was cut, or it is over the size limit)";
    DecompressionFailed => "websocket.decompression.failed.expert", Warning / Protocol,
        "permessage-deflate data that does not inflate";
    InflateLimit => "websocket.expert.inflate_limit", Warning / Malformed,
        "A compressed message that inflates past --inflate-limit (inflating stops there)";
    InflateRatio => "websocket.expert.inflate_ratio", Warning / Malformed,
        "A compressed message that inflates more than --inflate-ratio times its size (a likely bomb)";
    TlsRecordsLost => "tls.expert.records_lost", Warning / Malformed,
        "TLS records before this frame's were lost to a gap or failed their integrity check: their bytes are missing";
    Http2ConnectNotEnabled => "http2.expert.connect_not_enabled", Warning / Protocol,
        "An extended CONNECT (RFC 8441) before the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1";
    Http2MissingPseudoHeader => "http2.expert.missing_pseudo_header", Warning / Protocol,
        "An extended CONNECT (RFC 8441) without :scheme, :path or :authority";
    Http2HpackError => "http2.expert.hpack_error", Warning / Protocol,
        "A header block on the connection HPACK cannot decode, since this stream's last frame: later headers in that direction are not read";
    Http2DataOnClosedStream => "http2.expert.data_on_closed_stream", Warning / Protocol,
        "DATA on this WebSocket's stream after its sender ended it, since this stream's last frame (not read)";
    Heuristic => "websocket.expert.heuristic", Note / Assumption,
        "The capture holds no handshake for the connection: it was taken as WebSocket from its frames (on its first frame each way)";
    HistoryBeforeCapture => "websocket.expert.history_before_capture", Note / Assumption,
        "A compressed message of a connection joined late that may refer to bytes sent before the capture began: it cannot be inflated";
}

/// One expert item: its kind and a number the message quotes (an opcode, a length, a close code
/// or a limit), 0 where the kind needs none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expert {
    /// What it is.
    pub kind: ExpertKind,
    /// The value it is about.
    pub value: u64,
}

impl Expert {
    /// An item about `value`.
    pub fn new(kind: ExpertKind, value: u64) -> Self {
        Expert { kind, value }
    }
}

/// The message, as shown in the tree and in `_ws.expert.message`.
impl fmt::Display for Expert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.value;
        match self.kind {
            ExpertKind::RsvWithoutExtension => write!(f, "RSV bits {v:#x} set without a negotiated extension"),
            ExpertKind::Rsv1Misplaced => f.write_str("RSV1 set on a continuation or control frame"),
            ExpertKind::ReservedOpcode => write!(f, "Reserved opcode {v}"),
            ExpertKind::ControlTooLong => write!(f, "Control frame payload of {v} bytes (at most 125 allowed)"),
            ExpertKind::ControlFragmented => {
                f.write_str("Control frame with FIN=0 (control frames cannot be fragmented)")
            }
            ExpertKind::OrphanContinuation => f.write_str("Continuation frame with no message started"),
            ExpertKind::UnfinishedMessage => f.write_str("New data message while the previous one is unfinished"),
            ExpertKind::UnmaskedClientFrame => f.write_str("Client frame is not masked"),
            ExpertKind::MaskedServerFrame => f.write_str("Server frame is masked"),
            ExpertKind::NonMinimalLength => write!(f, "Payload length {v} not in its minimal encoding"),
            ExpertKind::LengthTopBit => f.write_str("64-bit payload length has its most significant bit set"),
            ExpertKind::InvalidUtf8 => f.write_str("Text message is not valid UTF-8"),
            ExpertKind::InvalidCloseReason => f.write_str("Close reason is not valid UTF-8"),
            ExpertKind::CloseBodyTooShort => f.write_str("Close frame body of 1 byte (a status code needs 2)"),
            ExpertKind::InvalidCloseCode => write!(f, "Close status code {v} may not be sent"),
            ExpertKind::FrameAfterClose => f.write_str("Frame sent after a close frame in the same direction"),
            ExpertKind::WrongAccept => f.write_str("Sec-WebSocket-Accept does not match Sec-WebSocket-Key"),
            ExpertKind::FrameCut if v == 0 => f.write_str("Frame cut: bytes lost in a gap in the capture"),
            ExpertKind::FrameCut => f.write_str("Frame cut: the stream ended inside the frame"),
            ExpertKind::MessageIncomplete => f.write_str("Message incomplete: not every payload byte was kept"),
            ExpertKind::DecompressionFailed => f.write_str("Decompression failed"),
            ExpertKind::InflateLimit => write!(f, "Inflated message over {v} bytes: inflating stopped there"),
            ExpertKind::InflateRatio => write!(f, "Message inflates more than {v} times its size: inflating stopped"),
            ExpertKind::TlsRecordsLost => {
                f.write_str("TLS records before this one were lost or failed their integrity check (bytes missing)")
            }
            ExpertKind::Http2ConnectNotEnabled => {
                f.write_str("Extended CONNECT before the server enabled it (SETTINGS_ENABLE_CONNECT_PROTOCOL)")
            }
            ExpertKind::Http2MissingPseudoHeader => {
                f.write_str("Extended CONNECT without :scheme, :path or :authority")
            }
            ExpertKind::Http2HpackError => {
                f.write_str("HPACK decoding error on the connection: later headers in that direction are not read")
            }
            ExpertKind::Http2DataOnClosedStream => {
                f.write_str("DATA on this stream after its sender ended it (not read)")
            }
            ExpertKind::Heuristic => f.write_str("WebSocket found without a handshake (the capture began later)"),
            ExpertKind::HistoryBeforeCapture => {
                f.write_str("Not inflated whole: may refer to bytes sent before the capture began")
            }
        }
    }
}

/// Whether a close status code may be sent in a close frame (RFC 6455 section 7.4, IANA).
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_fields_unique() {
        for (i, k) in ExpertKind::ALL.iter().enumerate() {
            assert!(ExpertKind::ALL[i + 1..].iter().all(|o| o.field() != k.field()));
            assert_eq!(*k as usize, i);
        }
    }

    #[test]
    fn test_close_codes() {
        for ok in [1000, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert!(close_code_allowed(ok), "{ok}");
        }
        for bad in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            assert!(!close_code_allowed(bad), "{bad}");
        }
    }
}
