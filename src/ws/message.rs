//! Messages out of one direction's frames (RFC 6455 section 5.4), inflated when
//! permessage-deflate is in use (RFC 7692), with every protocol check that needs the frame's
//! place in the conversation.
//!
//! [`MessageAssembler::frame`] takes each frame in order, reports what is wrong with it as
//! [`Expert`] items, and returns the [`Message`] the frame completes: a control frame is a
//! message on its own; a data message ends at its FIN frame, control frames in between do not
//! disturb it. A compressed message is inflated fragment by fragment as it arrives, with one
//! window per direction kept across messages unless that direction's `*_no_context_takeover` was
//! negotiated. Inflating a message stops at `max_inflated` bytes, or once it has grown more than
//! `max_ratio` times its compressed size (past 1 MiB): decompression bombs cost bounded memory
//! and time, the message is flagged, and the next one starts a fresh window.
//!
//! ```
//! use wsdissect::ws::frame::parse_header;
//! use wsdissect::ws::message::{Limits, MessageAssembler};
//! let mut server = MessageAssembler::new(false, None, 0, Limits::default());
//! let mut expert = Vec::new();
//! let (_, first) = parse_header(&[0x01, 0x03]).unwrap(); // Text, FIN=0
//! assert!(server.frame(&first, b"Hel", None, 7, &mut expert).is_none());
//! let (_, last) = parse_header(&[0x80, 0x02]).unwrap(); // Continuation, FIN=1
//! let message = server.frame(&last, b"lo", None, 9, &mut expert).unwrap();
//! assert_eq!(message.data, b"Hello");
//! assert_eq!(message.fragments.iter().map(|f| f.packet).collect::<Vec<_>>(), [7, 9]);
//! assert!(expert.is_empty());
//! ```

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::{Decompress, FlushDecompress, Status};

use super::expert::{Expert, ExpertKind, close_code_allowed};
use super::extensions::DeflateParams;
use super::frame::{FrameHeader, Opcode, close_body};
use super::stream::Cut;

/// How much of a message is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Payload bytes of a message kept (as sent, before inflating).
    pub max_message: usize,
    /// Inflated bytes of a compressed message: inflating stops there.
    pub max_inflated: usize,
    /// Inflated bytes per compressed byte beyond which (past 1 MiB) inflating stops.
    pub max_ratio: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_message: 16 << 20, max_inflated: 16 << 20, max_ratio: 500 }
    }
}

/// One frame of a message: the packet carrying its end and its payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// `frame.number` of the packet holding the frame's last byte.
    pub packet: u64,
    /// The frame's payload length.
    pub len: u64,
}

/// A complete message, borrowed from the assembler (or the frame) until the next frame.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The opcode of the first frame.
    pub opcode: Opcode,
    /// RSV1 was set on the first frame of a permessage-deflate connection.
    pub compressed: bool,
    /// Its frames, in order.
    pub fragments: &'a [Fragment],
    /// Payload bytes on the wire, summed over the frames.
    pub wire_length: u64,
    /// The message length after inflating (the wire length when not compressed).
    pub length: u64,
    /// The message payload, inflated; a prefix when `complete` is false.
    pub data: &'a [u8],
    /// `data` is the whole message.
    pub complete: bool,
    /// Inflating failed; `data` holds what came out before.
    pub inflate_failed: bool,
}

impl<'a> Message<'a> {
    /// The text of a text message (invalid UTF-8 shown as U+FFFD).
    pub fn text(&self) -> Option<Cow<'a, str>> {
        (self.opcode == Opcode::TEXT).then(|| String::from_utf8_lossy(self.data))
    }
}

/// Checks UTF-8 across pieces, carrying a sequence split between them.
#[derive(Debug, Default, Clone, Copy)]
struct Utf8Check {
    carry: [u8; 4],
    carry_len: usize,
    invalid: bool,
}

impl Utf8Check {
    fn push(&mut self, mut data: &[u8]) {
        while self.carry_len > 0 && !self.invalid {
            let Some((&b, rest)) = data.split_first() else { return };
            self.carry[self.carry_len] = b;
            self.carry_len += 1;
            data = rest;
            match std::str::from_utf8(&self.carry[..self.carry_len]) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_some() || self.carry_len == 4 => self.invalid = true,
                Err(_) => {}
            }
        }
        if self.invalid {
            return;
        }
        if let Err(e) = std::str::from_utf8(data) {
            if e.error_len().is_some() {
                self.invalid = true;
            } else {
                let tail = &data[e.valid_up_to()..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.carry_len = tail.len();
            }
        }
    }

    fn valid_at_end(&self) -> bool {
        !self.invalid && self.carry_len == 0
    }
}

/// What inflating a message takes: zlib's state (with its 32 KiB window) and a buffer for
/// its output, about 40 KB. A direction holds one only while it inflates a message; between
/// messages it keeps just its own window, so that thousands of idle compressed connections cost
/// what they sent, not a state each. [`MessageAssembler::lend`] and
/// [`MessageAssembler::reclaim`] pass states between directions. The exception is a direction
/// whose window is zlib's whole 32 KiB: it keeps its state, which holds that window (about
/// 41 KB in all, against the 32 KiB ring), rather than copy the window into a state for every
/// message (with hundreds of such directions, that copy was half the time of a summary run).
pub struct InflateState {
    /// Boxed: a state moves between directions and pools, and idle directions stay small.
    z: Box<Decompress>,
    /// Where inflated bytes land before they are kept: [`INFLATE_CHUNK_MIN`] bytes at first,
    /// doubled up to [`INFLATE_CHUNK`] each time a call into zlib fills it, so that a state kept
    /// by a direction of short messages stays small.
    out: Box<[u8]>,
    /// The direction ([`Inflater::id`]) whose window zlib's holds, as its last message left it;
    /// 0 for none.
    holds: u64,
}

/// Inflated bytes produced per call into zlib, at most.
const INFLATE_CHUNK: usize = 16 * 1024;
/// ... and at first.
const INFLATE_CHUNK_MIN: usize = 1024;

impl Default for InflateState {
    fn default() -> Self {
        Self::new()
    }
}

impl InflateState {
    /// A fresh state. Always made for a 15-bit window: flate2 resets a state of any other size
    /// by making a new one (an allocation and 40 KB zeroed), and resets a 15-bit one in place.
    pub fn new() -> InflateState {
        InflateState {
            z: Box::new(Decompress::new_with_window_bits(false, 15)),
            out: vec![0; INFLATE_CHUNK_MIN].into_boxed_slice(),
            holds: 0,
        }
    }

    /// Whether zlib's window holds that of the direction whose [`MessageAssembler::window_owner`]
    /// is `owner`: lent back to it, the state goes on without being reset.
    pub fn holds_window_of(&self, owner: u64) -> bool {
        owner != 0 && self.holds == owner
    }

    /// Forgets whose window zlib's is: the direction goes on elsewhere, its window moving on
    /// without this state, which is reset before it is used again.
    pub fn disown(&mut self) {
        self.holds = 0;
    }
}

impl std::fmt::Debug for InflateState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InflateState").finish_non_exhaustive()
    }
}

/// One direction's inflating: its parameters and, with context takeover, its window.
///
/// Each message starts from a reset state given the direction's window (the last `2^bits`
/// bytes it produced) as its dictionary: that is the state the sender's compressor left it in,
/// as a sync flush ends each message on a block boundary. It also enforces a window narrower
/// than zlib-rs's fixed 32 KiB: a reference further back fails to inflate. A 15-bit window
/// given back the state that inflated its last message goes on with it instead: zlib's window
/// is then the direction's already (a 32 KiB copy less per message, most of the cost of a
/// short one); once that window is full, the direction keeps the state ([`Inflater::kept`]).
#[derive(Debug)]
struct Inflater {
    /// Tells this direction's window apart in [`InflateState::holds`]: unique in the process.
    id: u64,
    no_context_takeover: bool,
    window_bits: u8,
    /// The last `2^window_bits` bytes inflated (with context takeover), unless `kept`.
    window: Window,
    /// The state is kept between messages, its window the direction's, full (15 bits): the
    /// ring is dropped, and filled again only after a fresh start.
    kept: bool,
    /// The window no longer matches the sender's (a loss, a failure or a final block): start
    /// the next message with a fresh one.
    stale: bool,
    /// The state, while the direction holds one.
    state: Option<InflateState>,
    /// Bytes of window the message being inflated started with.
    primed: usize,
}

impl Inflater {
    /// zlib takes 9 for a raw 8-bit window and compresses with 9 when asked for 8, so 8 is read as 9.
    fn new(no_context_takeover: bool, window_bits: u8) -> Self {
        /// The next [`Inflater::id`].
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Inflater {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            no_context_takeover,
            window_bits: window_bits.clamp(9, 15),
            window: Window::default(),
            kept: false,
            stale: false,
            state: None,
            primed: 0,
        }
    }

    /// Prepares for the next compressed message: a state (lent, or made), reset and given the
    /// window unless it holds it already.
    fn start_message(&mut self) {
        let fresh = self.no_context_takeover || self.stale;
        if fresh {
            self.window.clear();
            self.stale = false;
            self.kept = false;
        }
        let mut state = self.state.take().unwrap_or_default();
        self.primed = if self.kept { 1 << self.window_bits } else { self.window.len() };
        if fresh || !state.holds_window_of(self.owner()) {
            // inflateReset: the same state, no allocation.
            state.z.reset(false);
            // A raw state just reset takes a dictionary in parts, each appended to its window
            // as output would be; were one refused, the references into it would fail to
            // inflate, and be reported.
            for part in self.window.oldest_first() {
                if !part.is_empty() {
                    let _ = state.z.set_dictionary(part);
                }
            }
        }
        // What it inflates next is this direction's (a failure marks the direction stale).
        state.holds = self.owner();
        self.state = Some(state);
    }

    /// [`InflateState::holds`] for a state left by this direction: its id when the next message
    /// may go on from zlib's window as it is (context kept, and a full 15-bit window that zlib
    /// needs to enforce nothing narrower), 0 otherwise.
    fn owner(&self) -> u64 {
        if self.no_context_takeover || self.window_bits < 15 { 0 } else { self.id }
    }

    /// Whether the state goes on with this direction after its message: the direction's window
    /// (in zlib's state as in the ring) is zlib's whole window, and sound. Then the ring is let
    /// go. A stale window (the next message starts afresh) gives the state back.
    fn keeps_state(&mut self) -> bool {
        let holds_window = self.state.as_ref().is_some_and(|s| s.holds_window_of(self.owner()));
        if self.stale {
            self.kept = false;
        } else if !self.kept && holds_window && self.window.len() == 1 << self.window_bits {
            self.kept = true;
            self.window = Window::default();
        }
        self.kept
    }
}

/// A direction's window: the last `2^window_bits` bytes it produced, in a ring, so that each
/// byte is copied in once. Its buffer grows with what was produced, up to the window: an idle
/// direction costs what it sent, at most a window.
#[derive(Debug, Default)]
struct Window {
    buf: Vec<u8>,
    /// Once the ring is full, where its oldest byte is (and the next one goes).
    oldest: usize,
}

impl Window {
    fn len(&self) -> usize {
        self.buf.len()
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.oldest = 0;
    }

    /// The window in order, in two parts: from its oldest byte to the end of the buffer, then
    /// from its start.
    fn oldest_first(&self) -> [&[u8]; 2] {
        let (newer, older) = self.buf.split_at(self.oldest);
        [older, newer]
    }

    /// Adds `bytes` at the end of a `2^window_bits` window.
    fn push(&mut self, window_bits: u8, bytes: &[u8]) {
        let size = 1usize << window_bits;
        let mut bytes = &bytes[bytes.len().saturating_sub(size)..];
        if self.buf.len() < size {
            let take = bytes.len().min(size - self.buf.len());
            let need = self.buf.len() + take;
            if need > self.buf.capacity() {
                let grown = need.max((2 * self.buf.capacity()).min(size));
                self.buf.reserve_exact(grown - self.buf.len());
            }
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        while !bytes.is_empty() {
            let n = bytes.len().min(size - self.oldest);
            self.buf[self.oldest..self.oldest + n].copy_from_slice(&bytes[..n]);
            self.oldest = (self.oldest + n) % size;
            bytes = &bytes[n..];
        }
    }
}

/// The message being assembled.
#[derive(Debug)]
struct Partial {
    opcode: Opcode,
    compressed: bool,
    wire_length: u64,
    /// Inflated (or plain) bytes produced so far.
    length: u64,
    /// Every payload byte so far was captured and kept.
    whole: bool,
    inflate_failed: bool,
    /// Inflating stopped at the size limit.
    over_inflate_limit: bool,
    /// Inflating stopped at the ratio limit.
    over_inflate_ratio: bool,
    /// Compressed bytes given to inflate so far.
    compressed_in: u64,
    /// The message's end (the deflate tail) was inflated with its last frame.
    tail_inflated: bool,
}

/// The end of every permessage-deflate message, removed by the sender (RFC 7692 7.2.2).
const DEFLATE_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// A last frame this short is inflated with the tail in one call (copied into a stack buffer).
const SMALL_LAST_FRAME: usize = 508;

/// Follows where one direction's messages begin and end, from frame headers alone, as
/// [`MessageAssembler::frame`] does: `under_way` says whether a data message is begun and not
/// ended. Returns whether `h` completes a message (a control frame is one by itself; a
/// continuation with none under way completes nothing).
pub(crate) fn message_bounds(under_way: &mut bool, h: &FrameHeader) -> bool {
    match h.opcode {
        Opcode::CLOSE | Opcode::PING | Opcode::PONG => true,
        Opcode::TEXT | Opcode::BINARY => {
            *under_way = !h.fin;
            h.fin
        }
        Opcode::CONTINUATION if *under_way => {
            *under_way = !h.fin;
            h.fin
        }
        _ => false,
    }
}

/// Assembles and checks one direction's messages.
///
/// Laid out in order, from a cache line's start: with thousands of connections open, each
/// frame finds its assembler out of cache, and what every frame reads (the flags, whether it
/// inflates, the limits, the last single frame) is in the first line, and the message under
/// way in the second; the buffers after them are read only with payloads kept.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct MessageAssembler {
    from_client: bool,
    /// RSV bits the negotiated extensions may set.
    allowed_rsv: u8,
    close_sent: bool,
    /// The capture joined the connection late ([`MessageAssembler::joined_late`]).
    joined_late: bool,
    /// Joined late, and no data frame seen yet: a continuation ends a message begun before.
    before_first_message: bool,
    /// Boxed: most frames only ask whether there is one.
    inflater: Option<Box<Inflater>>,
    limits: Limits,
    /// The frame of the last single-frame message (kept apart so that a control frame between
    /// fragments leaves `fragments` alone).
    single: Fragment,
    partial: Option<Partial>,
    /// The frames of the data message being assembled.
    fragments: Vec<Fragment>,
    data: Vec<u8>,
    utf8: Utf8Check,
}

impl MessageAssembler {
    /// An assembler for the client's (`from_client`) or the server's frames; `deflate` holds the
    /// negotiated permessage-deflate parameters, `allowed_rsv` the RSV bits extensions may set.
    /// With `max_message` 0 only the message's shape is followed, not its content.
    pub fn new(from_client: bool, deflate: Option<DeflateParams>, allowed_rsv: u8, limits: Limits) -> Self {
        let inflater = deflate.map(|p| {
            let (no_context_takeover, bits) = p.sender(from_client);
            Box::new(Inflater::new(no_context_takeover, bits))
        });
        MessageAssembler {
            from_client,
            allowed_rsv,
            close_sent: false,
            joined_late: false,
            before_first_message: false,
            inflater,
            limits,
            single: Fragment { packet: 0, len: 0 },
            partial: None,
            fragments: Vec::new(),
            data: Vec::new(),
            utf8: Utf8Check::default(),
        }
    }

    /// For a connection the capture joined after it began: continuations before the first
    /// data frame end a message begun earlier; RSV1 is taken as permessage-deflate (with
    /// context takeover and a full window, what is most often negotiated), and a message that
    /// fails to inflate before a full window of what came before it is known may refer to bytes
    /// sent before the capture ([`ExpertKind::HistoryBeforeCapture`]). Any message that does
    /// inflate is exact: it refers to nothing it was not given.
    pub fn joined_late(mut self) -> Self {
        self.joined_late = true;
        self.before_first_message = true;
        self.inflater.get_or_insert_with(|| Box::new(Inflater::new(false, 15)));
        self
    }

    /// Takes the next frame of this direction: `payload` is its (unmasked) payload or a prefix
    /// of it, `cut` says whether bytes were lost, `packet` is the packet holding its end.
    /// Pushes what is wrong onto `expert`; returns the message the frame completes.
    pub fn frame<'a>(
        &'a mut self,
        h: &FrameHeader,
        payload: &'a [u8],
        cut: Option<Cut>,
        packet: u64,
        expert: &mut Vec<Expert>,
    ) -> Option<Message<'a>> {
        self.check_frame(h, cut, expert);
        let whole = cut.is_none() && payload.len() as u64 == h.payload_len;
        match h.opcode {
            Opcode::CLOSE | Opcode::PING | Opcode::PONG => Some(self.single(h, payload, whole, packet, expert)),
            Opcode::TEXT | Opcode::BINARY => {
                self.before_first_message = false;
                if self.partial.take().is_some() {
                    expert.push(Expert::new(ExpertKind::UnfinishedMessage, 0));
                }
                let compressed = self.inflater.is_some() && h.rsv1();
                if h.fin && !compressed {
                    // A cut frame is already reported as such; a payload over the limit is not.
                    if cut.is_none() && !whole && self.keeps_content() {
                        expert.push(Expert::new(ExpertKind::MessageIncomplete, 0));
                    }
                    return Some(self.single(h, payload, whole, packet, expert));
                }
                if h.fin && !self.keeps_content() {
                    // Followed by shape only, a compressed message of one frame is not inflated
                    // and is shown where it is, as a plain one is.
                    let message = self.single(h, payload, false, packet, expert);
                    return Some(Message { compressed: true, ..message });
                }
                self.start(h.opcode, compressed);
                self.append(h, payload, whole, packet);
                if h.fin { Some(self.complete(expert)) } else { None }
            }
            Opcode::CONTINUATION => {
                if self.partial.is_none() {
                    if !self.before_first_message {
                        expert.push(Expert::new(ExpertKind::OrphanContinuation, 0));
                    }
                    return None;
                }
                self.append(h, payload, whole, packet);
                if h.fin { Some(self.complete(expert)) } else { None }
            }
            _ => None,
        }
    }

    /// Checks that need only the frame and the connection's parameters.
    fn check_frame(&mut self, h: &FrameHeader, cut: Option<Cut>, expert: &mut Vec<Expert>) {
        let mut report = |kind, value| expert.push(Expert::new(kind, value));
        if self.close_sent {
            report(ExpertKind::FrameAfterClose, 0);
        }
        if h.rsv & !self.allowed_rsv != 0 {
            report(ExpertKind::RsvWithoutExtension, u64::from(h.rsv));
        }
        if self.inflater.is_some() && h.rsv1() && (h.opcode.is_control() || h.opcode == Opcode::CONTINUATION) {
            report(ExpertKind::Rsv1Misplaced, 0);
        }
        if !h.opcode.is_defined() {
            report(ExpertKind::ReservedOpcode, u64::from(h.opcode.0));
        }
        if h.opcode.is_control() && h.payload_len > 125 {
            report(ExpertKind::ControlTooLong, h.payload_len);
        }
        if h.opcode.is_control() && !h.fin {
            report(ExpertKind::ControlFragmented, 0);
        }
        if self.from_client && !h.masked {
            report(ExpertKind::UnmaskedClientFrame, 0);
        }
        if !self.from_client && h.masked {
            report(ExpertKind::MaskedServerFrame, 0);
        }
        if !h.length_is_minimal() {
            report(ExpertKind::NonMinimalLength, h.payload_len);
        }
        if h.payload_len >> 63 != 0 {
            report(ExpertKind::LengthTopBit, 0);
        }
        if let Some(cut) = cut {
            report(ExpertKind::FrameCut, u64::from(cut == Cut::End));
        }
    }

    /// Bytes of this direction were lost before its next frame, whole frames perhaps: the
    /// message under way misses some, and the window is no longer the sender's, so the next
    /// compressed message starts from an empty one. What inflates then is exact; a message
    /// that refers to the lost bytes fails to.
    pub fn lost_before(&mut self) {
        if let Some(p) = self.partial.as_mut() {
            p.whole = false;
        }
        if let Some(inf) = self.inflater.as_mut() {
            inf.stale = true;
        }
    }

    /// Whether it inflates and holds no inflate state: [`MessageAssembler::lend`] it one.
    pub fn wants_state(&self) -> bool {
        self.keeps_content() && self.inflater.as_ref().is_some_and(|inf| inf.state.is_none())
    }

    /// Lends the assembler an inflate state for the frames to come; only when it
    /// [wants one](MessageAssembler::wants_state).
    pub fn lend(&mut self, state: InflateState) {
        debug_assert!(self.wants_state());
        if let Some(inf) = self.inflater.as_mut() {
            inf.state = Some(state);
        }
    }

    /// Which [`InflateState`] to lend it by preference: the one that
    /// [holds its window](InflateState::holds_window_of); 0 when none can.
    pub fn window_owner(&self) -> u64 {
        self.inflater.as_ref().map_or(0, |inf| inf.owner())
    }

    /// Takes back the inflate state, unless a compressed message is being inflated or the
    /// direction keeps it (a full 15-bit window).
    pub fn reclaim(&mut self) -> Option<InflateState> {
        if !self.inflates() || self.partial.as_ref().is_some_and(|p| p.compressed) {
            return None;
        }
        let inf = self.inflater.as_mut()?;
        if inf.keeps_state() { None } else { inf.state.take() }
    }

    /// Whether messages are inflated here (permessage-deflate, and payloads kept).
    pub fn inflates(&self) -> bool {
        self.inflater.is_some() && self.keeps_content()
    }

    /// Whether a data message has begun and not ended (its last frame had FIN=0).
    pub fn unfinished(&self) -> bool {
        self.partial.is_some()
    }

    /// Whether payloads are kept (and messages inflated and checked), or only their shape followed.
    pub fn keeps_content(&self) -> bool {
        self.limits.max_message > 0
    }

    /// A message of one frame (every control frame, and an uncompressed data frame with FIN):
    /// checked, and shown where it is, without a copy.
    fn single<'a>(
        &'a mut self,
        h: &FrameHeader,
        payload: &'a [u8],
        whole: bool,
        packet: u64,
        expert: &mut Vec<Expert>,
    ) -> Message<'a> {
        match h.opcode {
            Opcode::CLOSE => {
                self.close_sent = true;
                if h.payload_len == 1 {
                    expert.push(Expert::new(ExpertKind::CloseBodyTooShort, 0));
                }
                let (code, reason) = close_body(payload);
                if let Some(code) = code.filter(|c| !close_code_allowed(*c)) {
                    expert.push(Expert::new(ExpertKind::InvalidCloseCode, u64::from(code)));
                }
                if whole && reason.is_some_and(|r| std::str::from_utf8(r).is_err()) {
                    expert.push(Expert::new(ExpertKind::InvalidCloseReason, 0));
                }
            }
            Opcode::TEXT if whole && self.keeps_content() && std::str::from_utf8(payload).is_err() => {
                expert.push(Expert::new(ExpertKind::InvalidUtf8, 0));
            }
            _ => {}
        }
        self.single = Fragment { packet, len: h.payload_len };
        Message {
            opcode: h.opcode,
            compressed: false,
            fragments: std::slice::from_ref(&self.single),
            wire_length: h.payload_len,
            length: h.payload_len,
            data: payload,
            complete: whole,
            inflate_failed: false,
        }
    }

    fn start(&mut self, opcode: Opcode, compressed: bool) {
        self.fragments.clear();
        self.data.clear();
        self.utf8 = Utf8Check::default();
        if compressed
            && self.limits.max_message > 0
            && let Some(inf) = self.inflater.as_mut()
        {
            inf.start_message();
        }
        self.partial = Some(Partial {
            opcode,
            compressed,
            wire_length: 0,
            length: 0,
            whole: true,
            inflate_failed: false,
            over_inflate_limit: false,
            over_inflate_ratio: false,
            compressed_in: 0,
            tail_inflated: false,
        });
    }

    fn append(&mut self, h: &FrameHeader, payload: &[u8], whole: bool, packet: u64) {
        let keep = self.keeps_content();
        let Some(p) = self.partial.as_mut() else { return };
        self.fragments.push(Fragment { packet, len: h.payload_len });
        p.wire_length = p.wire_length.saturating_add(h.payload_len);
        if !keep {
            p.length = p.wire_length;
            return;
        }
        let was_whole = p.whole;
        // Bytes of the message beyond what is kept cannot be inflated either.
        let room = (self.limits.max_message as u64).saturating_sub(p.wire_length - h.payload_len);
        let usable = &payload[..payload.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        p.whole &= whole && usable.len() == payload.len();
        if !was_whole {
            return;
        }
        if p.compressed && h.fin && p.whole && usable.len() <= SMALL_LAST_FRAME {
            // A short last frame and the tail in one call into zlib, not two.
            let mut joined = [0u8; SMALL_LAST_FRAME + DEFLATE_TAIL.len()];
            joined[..usable.len()].copy_from_slice(usable);
            joined[usable.len()..usable.len() + DEFLATE_TAIL.len()].copy_from_slice(&DEFLATE_TAIL);
            p.tail_inflated = true;
            self.inflate(&joined[..usable.len() + DEFLATE_TAIL.len()]);
        } else if p.compressed {
            self.inflate(usable);
        } else {
            p.length += usable.len() as u64;
            if p.opcode == Opcode::TEXT {
                self.utf8.push(usable);
            }
            self.data.extend_from_slice(usable);
        }
    }

    /// Inflates `input` into the message, keeping up to the inflate limit.
    fn inflate(&mut self, mut input: &[u8]) {
        let (Some(p), Some(inf)) = (self.partial.as_mut(), self.inflater.as_mut()) else { return };
        if p.inflate_failed || p.over_inflate_limit || p.over_inflate_ratio {
            return;
        }
        let Inflater { state, window, no_context_takeover, window_bits, kept, stale, .. } = &mut **inf;
        let Some(state) = state.as_mut() else { return };
        loop {
            let z = &mut state.z;
            let (in0, out0) = (z.total_in(), z.total_out());
            let status = z.decompress(input, &mut state.out, FlushDecompress::Sync);
            let used = (z.total_in() - in0) as usize;
            let made = (z.total_out() - out0) as usize;
            let out = &state.out;
            if !*no_context_takeover && !*kept {
                window.push(*window_bits, &out[..made]);
            }
            input = &input[used..];
            p.compressed_in += used as u64;
            let room = self.limits.max_inflated.saturating_sub(self.data.len());
            let produced = &out[..made.min(room)];
            p.length += produced.len() as u64;
            if p.opcode == Opcode::TEXT {
                self.utf8.push(produced);
            }
            self.data.extend_from_slice(produced);
            let ratio_exceeded = p.length > 1 << 20 && p.length > u64::from(self.limits.max_ratio) * p.compressed_in;
            if made > room || ratio_exceeded {
                // Stop: what follows in this message is not inflated, and the window is lost.
                p.over_inflate_limit = made > room;
                p.over_inflate_ratio = !p.over_inflate_limit;
                *stale = true;
                return;
            }
            match status {
                Err(_) => {
                    p.inflate_failed = true;
                    *stale = true;
                    return;
                }
                Ok(Status::StreamEnd) => {
                    // A final block ends the deflate stream; what follows starts a new one.
                    *stale = true;
                    return;
                }
                Ok(_) if used == 0 && made == 0 => return,
                Ok(_) if input.is_empty() && made < out.len() => return,
                Ok(_) => {}
            }
            if made == state.out.len() && state.out.len() < INFLATE_CHUNK {
                state.out = vec![0; 2 * state.out.len()].into_boxed_slice();
            }
        }
    }

    /// The FIN frame of a multi-frame or compressed message arrived.
    fn complete(&mut self, expert: &mut Vec<Expert>) -> Message<'_> {
        let keep = self.keeps_content();
        if keep && self.partial.as_ref().is_some_and(|p| p.compressed && p.whole && !p.tail_inflated) {
            self.inflate(&DEFLATE_TAIL);
        }
        let p = self.partial.take().expect("complete() follows append()");
        if let Some(inf) = self.inflater.as_mut()
            && p.compressed
            && (!p.whole || p.inflate_failed)
        {
            inf.stale = true;
        }
        if keep {
            if !p.whole {
                expert.push(Expert::new(ExpertKind::MessageIncomplete, 0));
            }
            if p.inflate_failed {
                let history_missing =
                    self.joined_late && self.inflater.as_ref().is_some_and(|i| i.primed < 1 << i.window_bits);
                let kind =
                    if history_missing { ExpertKind::HistoryBeforeCapture } else { ExpertKind::DecompressionFailed };
                expert.push(Expert::new(kind, 0));
            }
            if p.over_inflate_limit {
                expert.push(Expert::new(ExpertKind::InflateLimit, self.limits.max_inflated as u64));
            }
            if p.over_inflate_ratio {
                expert.push(Expert::new(ExpertKind::InflateRatio, u64::from(self.limits.max_ratio)));
            }
            if p.opcode == Opcode::TEXT && p.whole && !p.inflate_failed && !self.utf8.valid_at_end() {
                expert.push(Expert::new(ExpertKind::InvalidUtf8, 0));
            }
        }
        Message {
            opcode: p.opcode,
            compressed: p.compressed,
            fragments: &self.fragments,
            wire_length: p.wire_length,
            length: p.length,
            data: &self.data,
            complete: keep && p.whole && !p.inflate_failed && !p.over_inflate_limit && !p.over_inflate_ratio,
            inflate_failed: p.inflate_failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use flate2::{Compress, Compression, FlushCompress};

    use super::*;
    use crate::ws::frame::parse_header;

    fn header(b0: u8, len: usize, masked: bool) -> FrameHeader {
        let mut bytes = vec![b0];
        let mask = if masked { 0x80 } else { 0 };
        match len {
            0..=125 => bytes.push(mask | len as u8),
            126..=0xffff => {
                bytes.push(mask | 126);
                bytes.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                bytes.push(mask | 127);
                bytes.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        if masked {
            bytes.extend_from_slice(&[0; 4]);
        }
        parse_header(&bytes).unwrap().1
    }

    /// Compresses messages as a permessage-deflate sender does: sync flush, tail removed.
    fn deflate_messages(messages: &[&[u8]], context_takeover: bool) -> Vec<Vec<u8>> {
        let mut c = Compress::new(Compression::default(), false);
        messages
            .iter()
            .map(|m| {
                if !context_takeover {
                    c = Compress::new(Compression::default(), false);
                }
                let mut out = Vec::with_capacity(m.len() + 64);
                c.compress_vec(m, &mut out, FlushCompress::Sync).unwrap();
                assert!(out.ends_with(&DEFLATE_TAIL));
                out.truncate(out.len() - 4);
                out
            })
            .collect()
    }

    fn params(ctx: bool) -> Option<DeflateParams> {
        let ext = if ctx { "permessage-deflate" } else { "permessage-deflate; server_no_context_takeover" };
        DeflateParams::from_response(ext)
    }

    #[test]
    fn test_window_keeps_the_last_bytes_in_order() {
        let mut window = Window::default();
        let mut all = Vec::new();
        // Pieces smaller than the window, one that fills it exactly, one past its size.
        for (i, len) in [100, 700, 300, 1024, 5, 1500, 1023, 2].into_iter().enumerate() {
            let piece: Vec<u8> = (0..len).map(|j| (i * 31 + j) as u8).collect();
            window.push(10, &piece);
            all.extend_from_slice(&piece);
            let kept = &all[all.len().saturating_sub(1024)..];
            assert_eq!(window.oldest_first().concat(), kept, "after piece {i}");
            assert!(window.buf.capacity() <= 1024);
        }
        window.clear();
        assert_eq!(window.oldest_first().concat(), b"");
    }

    #[test]
    fn test_context_takeover_across_messages_and_fragments() {
        let texts: [&[u8]; 3] = [b"hello hello hello", b"hello hello hello again", b"hello"];
        let wire = deflate_messages(&texts, true);
        let mut a = MessageAssembler::new(false, params(true), 4, Limits::default());
        let mut expert = Vec::new();
        for (i, (w, t)) in wire.iter().zip(texts).enumerate() {
            // The second message is sent in two fragments, RSV1 on the first only.
            if i == 1 {
                let (x, y) = w.split_at(w.len() / 2);
                assert!(a.frame(&header(0x41, x.len(), false), x, None, 1, &mut expert).is_none());
                let m = a.frame(&header(0x80, y.len(), false), y, None, 2, &mut expert).unwrap();
                assert_eq!(m.data, t);
                assert!(m.compressed && m.complete);
                assert_eq!(m.fragments.len(), 2);
            } else {
                let m = a.frame(&header(0xc1, w.len(), false), w, None, 1, &mut expert).unwrap();
                assert_eq!(m.data, t);
                assert_eq!(m.length, t.len() as u64);
            }
        }
        assert!(expert.is_empty(), "{expert:?}");
    }

    #[test]
    fn test_no_context_takeover_resets_and_wrong_parameters_fail() {
        let texts: [&[u8]; 2] = [b"abcabcabcabc", b"abcabcabcabc"];
        let fresh = deflate_messages(&texts, false);
        let mut a = MessageAssembler::new(false, params(false), 4, Limits::default());
        let mut expert = Vec::new();
        for (w, t) in fresh.iter().zip(texts) {
            assert_eq!(a.frame(&header(0xc1, w.len(), false), w, None, 1, &mut expert).unwrap().data, t);
        }
        // A sender that keeps its context, read as if it did not: the second message refers to
        // the first and cannot inflate alone.
        let kept = deflate_messages(&texts, true);
        let mut a = MessageAssembler::new(false, params(false), 4, Limits::default());
        a.frame(&header(0xc1, kept[0].len(), false), &kept[0], None, 1, &mut expert).unwrap();
        let m = a.frame(&header(0xc1, kept[1].len(), false), &kept[1], None, 2, &mut expert).unwrap();
        assert!(m.inflate_failed);
        assert_eq!(expert.iter().map(|e| e.kind).collect::<Vec<_>>(), [ExpertKind::DecompressionFailed]);
    }

    #[test]
    fn test_window_bits_are_honoured() {
        // A 15-bit sender whose second message refers 1000 bytes back into the first: readable
        // with the 15-bit window it used, not with the 9-bit (512-byte) one it negotiated.
        let mut seed = 1u32;
        let first: Vec<u8> = (0..1000)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (seed >> 16) as u8 % 26 + b'a'
            })
            .collect();
        let second = first[..200].to_vec();
        let wire = deflate_messages(&[&first, &second], true);
        let read = |params: Option<DeflateParams>, expert: &mut Vec<Expert>| {
            let mut a = MessageAssembler::new(false, params, 4, Limits::default());
            a.frame(&header(0xc1, wire[0].len(), false), &wire[0], None, 1, expert).unwrap();
            let m = a.frame(&header(0xc1, wire[1].len(), false), &wire[1], None, 2, expert).unwrap();
            (m.data.to_vec(), m.inflate_failed)
        };
        let mut expert = Vec::new();
        let narrow = DeflateParams::from_response("permessage-deflate; server_max_window_bits=9");
        assert!(read(narrow, &mut expert).1);
        assert_eq!(expert, [Expert::new(ExpertKind::DecompressionFailed, 0)]);
        expert.clear();
        assert_eq!(read(params(true), &mut expert), (second, false));
        assert!(expert.is_empty());
    }

    #[test]
    fn test_after_a_failure_the_next_message_starts_afresh() {
        let good = deflate_messages(&[b"fresh start"], true);
        let mut a = MessageAssembler::new(false, params(true), 4, Limits::default());
        let mut expert = Vec::new();
        assert!(a.frame(&header(0xc2, 4, false), &[0xff; 4], None, 1, &mut expert).unwrap().inflate_failed);
        let m = a.frame(&header(0xc1, good[0].len(), false), &good[0], None, 2, &mut expert).unwrap();
        assert_eq!((m.data, m.inflate_failed), (&b"fresh start"[..], false));
    }

    #[test]
    fn test_after_lost_frames_the_window_starts_afresh_and_the_message_under_way_is_cut() {
        // The third message repeats the first two; the fourth shares nothing with them.
        let texts: [&[u8]; 4] = [b"abcdefgh abcdefgh", b"ijklmnop abcdefgh", b"abcdefgh ijklmnop", b"QRSTUVWXYZ"];
        let wire = deflate_messages(&texts, true);
        let mut a = MessageAssembler::new(false, params(true), 4, Limits::default());
        let mut expert = Vec::new();
        let send = |a: &mut MessageAssembler, i: usize, expert: &mut Vec<Expert>| {
            let m = a.frame(&header(0xc1, wire[i].len(), false), &wire[i], None, 1, expert).unwrap();
            (m.data.to_vec(), m.inflate_failed)
        };
        assert_eq!(send(&mut a, 0, &mut expert), (texts[0].to_vec(), false));
        // The second message is lost whole: the third refers to bytes the window no longer
        // has as the sender's did, and fails rather than inflating to something else.
        a.lost_before();
        assert!(send(&mut a, 2, &mut expert).1);
        assert_eq!(expert, [Expert::new(ExpertKind::DecompressionFailed, 0)]);
        expert.clear();
        assert_eq!(send(&mut a, 3, &mut expert), (texts[3].to_vec(), false));
        assert!(expert.is_empty(), "{expert:?}");
        // Frames of a message under way lost: its last frame ends it, cut.
        let mut a = MessageAssembler::new(false, None, 0, Limits::default());
        assert!(a.frame(&header(0x01, 3, false), b"one", None, 1, &mut expert).is_none());
        a.lost_before();
        let m = a.frame(&header(0x80, 3, false), b"six", None, 2, &mut expert).unwrap();
        assert!(!m.complete);
        assert_eq!(expert, [Expert::new(ExpertKind::MessageIncomplete, 0)]);
    }

    #[test]
    fn test_a_full_15_bit_window_keeps_its_state_until_a_failure() {
        // Ten messages of 4,000 pseudo-random letters fill the 32 KiB window; the next ones
        // repeat parts of the third, fourth and seventh, up to 32,000 bytes back.
        let mut seed = 7u32;
        let mut letters = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8 % 26 + b'a'
                })
                .collect()
        };
        let mut texts: Vec<Vec<u8>> = (0..10).map(|_| letters(4000)).collect();
        texts.push([&texts[2][..2000], &texts[3][..2000]].concat());
        texts.push(texts[6].clone());
        let wire = deflate_messages(&texts.iter().map(Vec::as_slice).collect::<Vec<_>>(), true);
        let mut a = MessageAssembler::new(false, params(true), 4, Limits::default());
        let mut expert = Vec::new();
        let mut pool = None;
        for (i, (w, t)) in wire.iter().zip(&texts).enumerate() {
            if let Some(state) = pool.take() {
                a.lend(state);
            }
            let m = a.frame(&header(0xc1, w.len(), false), w, None, 1, &mut expert).unwrap();
            assert_eq!((m.data, m.complete), (&t[..], true), "message {i}");
            pool = a.reclaim();
            let inf = a.inflater.as_ref().unwrap();
            // Kept once 32 KiB were produced (after the ninth message), the ring let go.
            assert_eq!(pool.is_none(), i >= 8, "message {i}");
            assert_eq!(inf.kept, i >= 8);
            assert_eq!(inf.window.buf.capacity() == 0, i >= 8);
            assert_eq!(inf.state.is_some(), i >= 8);
        }
        assert!(expert.is_empty(), "{expert:?}");
        // A message that fails to inflate: the state goes back, and the next message starts
        // from a fresh window, its own.
        assert!(a.frame(&header(0xc2, 4, false), &[0xff; 4], None, 1, &mut expert).unwrap().inflate_failed);
        assert!(a.reclaim().is_some());
        let fresh = deflate_messages(&[b"fresh start"], true);
        a.lend(InflateState::new());
        let m = a.frame(&header(0xc1, fresh[0].len(), false), &fresh[0], None, 2, &mut expert).unwrap();
        assert_eq!((m.data, m.inflate_failed), (&b"fresh start"[..], false));
        assert!(a.reclaim().is_some());
        assert!(!a.inflater.as_ref().unwrap().kept);
    }

    #[test]
    fn test_inflate_limit_keeps_a_prefix_and_counts_all() {
        let big = vec![b'a'; 100_000];
        let wire = deflate_messages(&[&big], true);
        let limits = Limits { max_message: 1 << 20, max_inflated: 1000, max_ratio: 500 };
        let mut a = MessageAssembler::new(false, params(true), 4, limits);
        let mut expert = Vec::new();
        let m = a.frame(&header(0xc1, wire[0].len(), false), &wire[0], None, 1, &mut expert).unwrap();
        assert_eq!((m.data.len(), m.length, m.complete), (1000, 1000, false));
        assert_eq!(expert, [Expert::new(ExpertKind::InflateLimit, 1000)]);
        // A bomb: 8 MiB of zeros in 8 KB stops at the ratio, past 1 MiB, long before the size.
        let bomb = vec![0u8; 8 << 20];
        let wire = deflate_messages(&[&bomb], true);
        let mut a = MessageAssembler::new(false, params(true), 4, Limits::default());
        expert.clear();
        let m = a.frame(&header(0xc2, wire[0].len(), false), &wire[0], None, 1, &mut expert).unwrap();
        assert!(m.length > 1 << 20 && m.length < 2 << 20 && !m.complete, "{}", m.length);
        assert_eq!(expert, [Expert::new(ExpertKind::InflateRatio, 500)]);
    }

    #[test]
    fn test_control_frames_between_fragments_and_sequence_errors() {
        let mut a = MessageAssembler::new(true, None, 0, Limits::default());
        let mut e = Vec::new();
        assert!(a.frame(&header(0x01, 2, true), b"ab", None, 1, &mut e).is_none());
        let ping = a.frame(&header(0x89, 1, true), b"p", None, 2, &mut e).unwrap();
        assert_eq!((ping.opcode, ping.data), (Opcode::PING, &b"p"[..]));
        let m = a.frame(&header(0x80, 1, true), b"c", None, 3, &mut e).unwrap();
        assert_eq!(m.data, b"abc");
        assert_eq!(m.fragments, [Fragment { packet: 1, len: 2 }, Fragment { packet: 3, len: 1 }]);
        assert!(e.is_empty());
        assert!(a.frame(&header(0x80, 1, true), b"d", None, 4, &mut e).is_none());
        assert!(a.frame(&header(0x01, 1, true), b"e", None, 5, &mut e).is_none());
        a.frame(&header(0x82, 1, false), b"f", None, 6, &mut e).unwrap();
        let kinds: Vec<_> = e.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [ExpertKind::OrphanContinuation, ExpertKind::UnmaskedClientFrame, ExpertKind::UnfinishedMessage]
        );
    }

    #[test]
    fn test_utf8_checked_across_fragments() {
        let mut a = MessageAssembler::new(false, None, 0, Limits::default());
        let mut e = Vec::new();
        let euro = "€".as_bytes();
        a.frame(&header(0x01, 1, false), &euro[..1], None, 1, &mut e);
        a.frame(&header(0x00, 1, false), &euro[1..2], None, 2, &mut e);
        assert_eq!(a.frame(&header(0x80, 1, false), &euro[2..], None, 3, &mut e).unwrap().data, euro);
        assert!(e.is_empty());
        a.frame(&header(0x01, 1, false), &euro[..1], None, 4, &mut e);
        a.frame(&header(0x80, 1, false), b"x", None, 5, &mut e).unwrap();
        assert_eq!(e, [Expert::new(ExpertKind::InvalidUtf8, 0)]);
    }

    #[test]
    fn test_frame_checks() {
        let mut a = MessageAssembler::new(false, None, 0, Limits::default());
        let mut e = Vec::new();
        let kinds = |a: &mut MessageAssembler, h: FrameHeader, payload: &[u8], e: &mut Vec<Expert>| {
            e.clear();
            a.frame(&h, payload, None, 1, e);
            e.iter().map(|x| (x.kind, x.value)).collect::<Vec<_>>()
        };
        assert_eq!(kinds(&mut a, header(0xc1, 1, false), b"a", &mut e), [(ExpertKind::RsvWithoutExtension, 4)]);
        assert_eq!(kinds(&mut a, header(0x83, 0, false), b"", &mut e), [(ExpertKind::ReservedOpcode, 3)]);
        assert_eq!(
            kinds(&mut a, header(0x09, 0, true), b"", &mut e),
            [(ExpertKind::ControlFragmented, 0), (ExpertKind::MaskedServerFrame, 0)]
        );
        let long = vec![0; 126];
        assert_eq!(kinds(&mut a, header(0x8a, 126, false), &long, &mut e), [(ExpertKind::ControlTooLong, 126)]);
        let (_, h) = parse_header(&[0x82, 126, 0, 5]).unwrap();
        assert_eq!(kinds(&mut a, h, b"12345", &mut e), [(ExpertKind::NonMinimalLength, 5)]);
        assert_eq!(
            kinds(&mut a, header(0x88, 3, false), &[0x03, 0xed, 0xff], &mut e),
            [(ExpertKind::InvalidCloseCode, 1005), (ExpertKind::InvalidCloseReason, 0)]
        );
        assert_eq!(
            kinds(&mut a, header(0x88, 1, false), &[3], &mut e),
            [(ExpertKind::FrameAfterClose, 0), (ExpertKind::CloseBodyTooShort, 0)]
        );
    }
}
