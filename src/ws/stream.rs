//! Frames out of one direction's byte stream.
//!
//! [`FrameDecoder`] takes the reassembled stream piece by piece (each piece tagged with the
//! packet that carried it) and calls back once per frame, at the piece holding the frame's last
//! byte. Headers split across pieces are completed in a 14-byte buffer; payloads of any declared
//! size are streamed, and only their first `payload_cap` bytes are kept (unmasked) for output.
//!
//! A gap inside a payload leaves the decoder aligned: the frame is reported as cut and parsing
//! continues at the next header. A gap anywhere else loses the frame boundary, and the decoder
//! resynchronises: it looks for a header that fits this direction (defined opcode, RSV bits
//! allowed here, the mask bit this direction uses, minimal length, control frame rules) and whose
//! frame is followed by two more such frames, one right after the other. Fewer do when nothing
//! more can come: at the stream's end, or where a packet's bytes begin and whole frames run up to
//! the next gap.

use super::frame::{FrameHeader, Opcode, parse_header, unmask};

/// Why a frame is incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Bytes inside the frame were lost (a TCP hole or snaplen).
    Gap,
    /// The stream ended (connection close or end of capture) before the frame did.
    End,
}

/// One frame, as handed to the callback. Borrowed from the decoder until it returns.
#[derive(Debug)]
pub struct DecodedFrame<'a, M> {
    /// The header.
    pub header: FrameHeader,
    /// The first bytes of the payload, unmasked: at most the decoder's payload cap, and only
    /// those before the first hole.
    pub payload: &'a [u8],
    /// Payload bytes actually carried by the capture.
    pub payload_seen: u64,
    /// Set when the frame is not whole.
    pub cut: Option<Cut>,
    /// The packet that carried the frame's last byte (or its last byte seen, when cut).
    pub meta: M,
    /// The number of the packet that carried the frame's first byte.
    pub first_packet: u64,
    /// Bytes of the stream were lost between the frame reported before and this one (whole
    /// frames with them, perhaps: the decoder found this one by resynchronising).
    pub after_loss: bool,
}

/// The details of a packet the decoder is given with its bytes: it reads their number.
pub trait PacketNumber: Copy {
    /// The packet's number in the capture.
    fn packet_number(&self) -> u64;
}

/// How many bytes resynchronisation may hold before it settles for a header it cannot verify.
const RESYNC_LIMIT: usize = 256 * 1024;
/// Frames in a row (each header right after the previous frame) that make a resynchronisation
/// point believable, unless the data ends first.
const RESYNC_CHAIN: usize = 3;

/// How a chain of frames may end with the bytes held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settle {
    /// More bytes may come: a chain that reaches the end waits for them.
    No,
    /// None will (the stream ended, or too much is held): a chain may end there, its last frame
    /// cut.
    AtEnd,
    /// A gap follows: a chain may end there only with its last frame whole.
    AtGap,
}

/// What a candidate resynchronisation point looks like.
enum Chain {
    Verified,
    Rejected,
    NeedMore,
}

/// Lengths above this are taken as noise while resynchronising (1 TiB).
const RESYNC_MAX_PAYLOAD: u64 = 1 << 40;

#[derive(Debug)]
enum State {
    /// Collecting a header; `hdr[..hdr_len]` holds its first bytes.
    Header,
    /// Inside a payload.
    Payload { header: FrameHeader, received: u64, seen: u64, cut: bool },
    /// Looking for a frame boundary after a gap.
    Resync,
}

/// Turns one direction's byte stream into frames.
///
/// What every frame reads and writes comes first (`repr(C)`), in its first 128 bytes: with
/// thousands of connections open, a direction's decoder is not in cache when its next bytes
/// come, and each further cache line read is another miss. (Aligning it to a cache line as
/// well made two-thread runs a third slower, for reasons not found.)
#[derive(Debug)]
#[repr(C)]
pub struct FrameDecoder<M> {
    state: State,
    /// The number of the packet that carried the first byte of the frame under way.
    first_packet: u64,
    hdr_len: usize,
    payload: Vec<u8>,
    payload_cap: usize,
    /// The mask bit this direction uses: RFC 6455 says clients mask, but some peers do not,
    /// so the bit of the last frame seen wins.
    expect_mask: bool,
    /// RSV bits a negotiated extension allows (RSV1 = 0x4 for permessage-deflate).
    allowed_rsv: u8,
    /// A gap lost the frame boundary since the last frame reported: the next one says so.
    lost: bool,
    /// The held bytes begin where a packet's bytes begin.
    resync_at_piece_start: bool,
    hdr: [u8; 14],
    /// Bytes thrown away while looking for a frame boundary.
    pub skipped_bytes: u64,
    /// The packet of the last piece, kept while a frame is under way.
    last_meta: Option<M>,
    /// Bytes held while resynchronising, and the packet boundaries inside them.
    resync: Vec<u8>,
    resync_meta: Vec<(usize, M)>,
}

impl<M: PacketNumber> FrameDecoder<M> {
    /// A decoder for a client (masking) or server direction, keeping up to `payload_cap`
    /// payload bytes per frame.
    pub fn new(client: bool, allowed_rsv: u8, payload_cap: usize) -> Self {
        FrameDecoder {
            state: State::Header,
            hdr: [0; 14],
            hdr_len: 0,
            payload: Vec::new(),
            payload_cap,
            expect_mask: client,
            allowed_rsv,
            resync: Vec::new(),
            resync_meta: Vec::new(),
            resync_at_piece_start: true,
            last_meta: None,
            first_packet: 0,
            lost: false,
            skipped_bytes: 0,
        }
    }

    /// A decoder that starts without knowing where a frame begins (mid-stream pickup).
    pub fn new_unaligned(client: bool, allowed_rsv: u8, payload_cap: usize) -> Self {
        FrameDecoder { state: State::Resync, ..Self::new(client, allowed_rsv, payload_cap) }
    }

    /// Feeds bytes that follow the previous ones in the stream.
    pub fn feed(&mut self, mut data: &[u8], meta: M, out: &mut impl FnMut(DecodedFrame<'_, M>)) {
        while !data.is_empty() {
            match &mut self.state {
                State::Resync => {
                    self.resync.extend_from_slice(data);
                    self.resync_meta.push((self.resync.len(), meta));
                    self.try_resync(Settle::No, out);
                    return;
                }
                State::Header => {
                    if self.hdr_len == 0 {
                        self.first_packet = meta.packet_number();
                        // Nearly every header is whole in one piece: read where it is, not
                        // copied into `hdr` first.
                        if let Ok((_, header)) = parse_header(data) {
                            data = &data[usize::from(header.header_len)..];
                            self.start_payload(header);
                            self.finish_if_done(meta, out);
                            continue;
                        }
                    }
                    let take = data.len().min(14 - self.hdr_len);
                    self.hdr[self.hdr_len..self.hdr_len + take].copy_from_slice(&data[..take]);
                    match parse_header(&self.hdr[..self.hdr_len + take]) {
                        Ok((_, header)) => {
                            let used = usize::from(header.header_len) - self.hdr_len;
                            data = &data[used..];
                            self.hdr_len = 0;
                            self.start_payload(header);
                            self.finish_if_done(meta, out);
                        }
                        Err(_) => {
                            // Incomplete: everything given is header so far.
                            self.hdr_len += take;
                            data = &data[take..];
                        }
                    }
                }
                State::Payload { header, received, seen, cut } => {
                    let remaining = header.payload_len - *received;
                    let take = (data.len() as u64).min(remaining) as usize;
                    // The kept payload is a prefix: nothing after a hole is kept.
                    let room = if *cut { 0 } else { self.payload_cap.saturating_sub(self.payload.len()) };
                    let keep = take.min(room);
                    if keep > 0 {
                        let at = self.payload.len();
                        self.payload.extend_from_slice(&data[..keep]);
                        if let Some(key) = header.masking_key {
                            unmask(&mut self.payload[at..], key, *received);
                        }
                    }
                    *received += take as u64;
                    *seen += take as u64;
                    data = &data[take..];
                    self.finish_if_done(meta, out);
                }
            }
        }
        // The packet of a frame still under way is kept (not that of every piece: most frames
        // end in the piece they begin in), for a hole or the stream's end may report it cut.
        let mid_frame = match self.state {
            State::Header => self.hdr_len > 0,
            State::Payload { .. } => true,
            State::Resync => false,
        };
        if mid_frame {
            self.last_meta = Some(meta);
        }
    }

    /// Whether the bytes given so far end with a whole frame (nothing of the next one given
    /// yet): the decoder could go on elsewhere from the next byte.
    pub fn between_frames(&self) -> bool {
        matches!(self.state, State::Header) && self.hdr_len == 0
    }

    /// Tells the decoder that `len` bytes of the stream are lost; `meta` is the packet after them.
    pub fn gap(&mut self, len: u64, out: &mut impl FnMut(DecodedFrame<'_, M>)) {
        match &mut self.state {
            State::Payload { header, received, cut, .. } if len <= header.payload_len - *received => {
                // Still aligned: the next header is where it always was.
                *received += len;
                *cut = true;
                if let Some(meta) = self.last_meta {
                    self.finish_if_done(meta, out);
                }
            }
            State::Payload { .. } => {
                self.emit_cut(Cut::Gap, out);
                self.enter_resync();
            }
            State::Header => {
                self.skipped_bytes += self.hdr_len as u64;
                self.enter_resync();
            }
            State::Resync => {
                // The frames found before the gap are read, and the gap falls after them.
                self.try_resync(Settle::AtGap, out);
                if matches!(self.state, State::Resync) {
                    self.enter_resync();
                } else {
                    self.gap(len, out);
                }
            }
        }
    }

    /// The stream has ended: reports a frame left unfinished.
    pub fn finish(&mut self, out: &mut impl FnMut(DecodedFrame<'_, M>)) {
        if matches!(self.state, State::Resync) {
            self.try_resync(Settle::AtEnd, out);
        }
        match self.state {
            State::Payload { .. } => self.emit_cut(Cut::End, out),
            State::Header => self.skipped_bytes += self.hdr_len as u64,
            State::Resync => self.skipped_bytes += self.resync.len() as u64,
        }
        self.hdr_len = 0;
        self.state = State::Header;
    }

    /// A gap lost the frame boundary: look for the next one.
    fn enter_resync(&mut self) {
        self.lost = true;
        self.state = State::Resync;
        self.hdr_len = 0;
        self.resync.clear();
        self.resync_meta.clear();
        self.resync_at_piece_start = true;
    }

    fn start_payload(&mut self, header: FrameHeader) {
        self.expect_mask = header.masked;
        self.payload.clear();
        self.state = State::Payload { header, received: 0, seen: 0, cut: false };
    }

    fn finish_if_done(&mut self, meta: M, out: &mut impl FnMut(DecodedFrame<'_, M>)) {
        if let State::Payload { header, received, seen, cut } = self.state
            && received == header.payload_len
        {
            out(DecodedFrame {
                header,
                payload: &self.payload,
                payload_seen: seen,
                cut: cut.then_some(Cut::Gap),
                meta,
                first_packet: self.first_packet,
                after_loss: std::mem::take(&mut self.lost),
            });
            self.state = State::Header;
        }
    }

    fn emit_cut(&mut self, why: Cut, out: &mut impl FnMut(DecodedFrame<'_, M>)) {
        if let (State::Payload { header, seen, cut, .. }, Some(meta)) = (&self.state, self.last_meta) {
            let why = if *cut { Cut::Gap } else { why };
            out(DecodedFrame {
                header: *header,
                payload: &self.payload,
                payload_seen: *seen,
                cut: Some(why),
                meta,
                first_packet: self.first_packet,
                after_loss: std::mem::take(&mut self.lost),
            });
        }
        self.state = State::Header;
    }

    /// Whether a header could start a frame in this direction.
    fn plausible(&self, h: &FrameHeader) -> bool {
        let control_ok = !h.opcode.is_control() || (h.fin && h.payload_len <= 125 && h.rsv == 0);
        h.opcode.is_defined()
            && control_ok
            && h.rsv & !self.allowed_rsv == 0
            && h.masked == self.expect_mask
            && h.length_is_minimal()
            && h.payload_len < RESYNC_MAX_PAYLOAD
    }

    /// Whether a frame at `p` starts a chain of `depth` plausible frames, each header right after
    /// the previous frame, or of fewer that reach the end of the bytes held as `settle` allows.
    fn chain(&self, buf: &[u8], p: usize, depth: usize, settle: Settle) -> Chain {
        let Ok((_, h)) = parse_header(&buf[p..]) else {
            return if settle == Settle::No { Chain::NeedMore } else { Chain::Rejected };
        };
        // A continuation needs the header after it to agree, and an empty one must end its
        // message: runs of zero bytes would otherwise read as endless empty continuations.
        let continuation = h.opcode == Opcode::CONTINUATION;
        if !self.plausible(&h) || (continuation && h.payload_len == 0 && !h.fin) {
            return Chain::Rejected;
        }
        // A continuation that ends its message may stand last, like any other frame.
        let may_end = !continuation || h.fin;
        let end = p as u64 + h.frame_len();
        let len = buf.len() as u64;
        // Data that merely pauses at a frame's end proves nothing (segments end anywhere): only
        // the stream's real end does, or a gap right after a whole frame.
        if end >= len {
            return match settle {
                Settle::No => Chain::NeedMore,
                Settle::AtEnd if may_end => Chain::Verified,
                Settle::AtGap if may_end && end == len => Chain::Verified,
                Settle::AtEnd | Settle::AtGap => Chain::Rejected,
            };
        }
        if depth <= 1 {
            return Chain::Verified;
        }
        self.chain(buf, end as usize, depth - 1, settle)
    }

    /// Looks for a verifiable frame start in the held bytes; on success replays them from there.
    /// Before a gap, a chain shorter than [`RESYNC_CHAIN`] is taken only from where a packet's
    /// bytes begin (as a frame most often does): anywhere in random payload bytes, one in a few
    /// dozen gaps would find a header whose length happens to reach the gap.
    fn try_resync(&mut self, settle: Settle, out: &mut impl FnMut(DecodedFrame<'_, M>)) {
        let buf = &self.resync;
        let settle = if settle == Settle::No && buf.len() > RESYNC_LIMIT { Settle::AtEnd } else { settle };
        let piece_start = |p: usize| {
            (p == 0 && self.resync_at_piece_start) || self.resync_meta.binary_search_by_key(&p, |(end, _)| *end).is_ok()
        };
        let mut found = None;
        let mut wait_at = None;
        for p in 0..buf.len() {
            let here = if settle == Settle::AtGap && !piece_start(p) { Settle::No } else { settle };
            match self.chain(buf, p, RESYNC_CHAIN, here) {
                Chain::Verified => {
                    found = Some(p);
                    break;
                }
                Chain::NeedMore if settle == Settle::No => {
                    wait_at = Some(p);
                    break;
                }
                Chain::NeedMore | Chain::Rejected => {}
            }
        }
        let drop_to = match (found, wait_at) {
            (Some(p), _) => p,
            (None, Some(p)) => p,
            (None, None) => buf.len(),
        };
        self.skipped_bytes += drop_to as u64;
        let held = std::mem::take(&mut self.resync);
        let metas = std::mem::take(&mut self.resync_meta);
        if found.is_some() {
            // Replay from the frame start, piece by piece, so each frame gets its own packet.
            self.state = State::Header;
            let mut from = drop_to;
            for (end, meta) in metas {
                if end > from {
                    self.feed(&held[from..end], meta, out);
                    from = end;
                }
            }
        } else {
            self.resync_at_piece_start =
                if drop_to == 0 { self.resync_at_piece_start } else { metas.iter().any(|(end, _)| *end == drop_to) };
            self.resync = held[drop_to..].to_vec();
            self.resync_meta =
                metas.into_iter().filter(|(end, _)| *end > drop_to).map(|(end, m)| (end - drop_to, m)).collect();
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    impl PacketNumber for u32 {
        fn packet_number(&self) -> u64 {
            u64::from(*self)
        }
    }

    /// A frame's bytes, masked with `key` when given (for the tests of `ws`).
    pub(in crate::ws) fn frame(fin_opcode: u8, payload: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
        let mut f = vec![fin_opcode];
        let mask_bit = if key.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(mask_bit | n as u8),
            n if n <= 0xffff => {
                f.push(mask_bit | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(mask_bit | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mut body = payload.to_vec();
        if let Some(k) = key {
            f.extend_from_slice(&k);
            unmask(&mut body, k, 0);
        }
        f.extend(body);
        f
    }

    type Seen = Vec<(u8, Vec<u8>, Option<Cut>, u32)>;

    fn run(decoder: &mut FrameDecoder<u32>, pieces: &[(&[u8], u32)], seen: &mut Seen) {
        for (data, meta) in pieces {
            decoder.feed(data, *meta, &mut |f| seen.push((f.header.opcode.0, f.payload.to_vec(), f.cut, f.meta)));
        }
    }

    #[test]
    fn test_many_frames_per_piece_and_one_frame_over_many() {
        let mut stream = frame(0x81, b"one", Some([1, 2, 3, 4]));
        stream.extend(frame(0x81, b"two", Some([5, 6, 7, 8])));
        let big = vec![b'x'; 70000];
        stream.extend(frame(0x82, &big, Some([9, 9, 9, 9])));
        let mut d = FrameDecoder::new(true, 0, usize::MAX);
        let mut seen = Seen::new();
        let (a, rest) = stream.split_at(stream.len() - 70005);
        let pieces: Vec<(&[u8], u32)> = std::iter::once((a, 1)).chain(rest.chunks(1000).map(|c| (c, 2))).collect();
        let mut pieces = pieces;
        let last = pieces.len() - 1;
        pieces[last].1 = 3;
        run(&mut d, &pieces, &mut seen);
        assert_eq!(seen.len(), 3);
        assert_eq!((seen[0].1.as_slice(), seen[0].3), (&b"one"[..], 1));
        assert_eq!((seen[1].1.as_slice(), seen[1].3), (&b"two"[..], 1));
        assert_eq!((seen[2].1.len(), seen[2].3), (70000, 3));
        assert!(seen[2].1.iter().all(|b| *b == b'x'));
    }

    #[test]
    fn test_gap_inside_payload_keeps_alignment() {
        let mut stream = frame(0x82, &[7u8; 100], None);
        stream.extend(frame(0x81, b"after", None));
        let mut d = FrameDecoder::new(false, 0, usize::MAX);
        let mut seen = Seen::new();
        run(&mut d, &[(&stream[..50], 1)], &mut seen);
        d.gap(30, &mut |_| panic!("no frame yet"));
        run(&mut d, &[(&stream[80..], 2)], &mut seen);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].2, Some(Cut::Gap));
        assert_eq!(seen[0].1.len(), 48, "the payload kept is the prefix before the hole");
        assert_eq!((seen[1].1.as_slice(), seen[1].2), (&b"after"[..], None));
    }

    #[test]
    fn test_the_frame_after_a_lost_boundary_says_so() {
        // A hole inside a payload leaves the boundaries where they were: the frame says it is
        // cut, and nothing is lost between frames. A hole over a boundary loses whole frames
        // perhaps: the next frame found is marked, and only that one.
        let mut stream = frame(0x82, &[7u8; 100], None);
        let second = stream.len();
        stream.extend(frame(0x81, b"lost", None));
        let third = stream.len();
        for text in [b"one", b"two", b"six"] {
            stream.extend(frame(0x81, text, None));
        }
        let mut d = FrameDecoder::new(false, 0, usize::MAX);
        let mut seen = Vec::new();
        let mut note = |f: DecodedFrame<'_, u32>| seen.push((f.payload.to_vec(), f.cut, f.after_loss));
        d.feed(&stream[..50], 1, &mut note);
        d.gap(30, &mut note);
        d.feed(&stream[80..second + 1], 2, &mut note);
        d.gap((third - second - 1) as u64, &mut note);
        d.feed(&stream[third..], 3, &mut note);
        d.finish(&mut note);
        let want: [(&[u8], _, _); 4] =
            [(&[7; 48], Some(Cut::Gap), false), (b"one", None, true), (b"two", None, false), (b"six", None, false)];
        assert_eq!(seen, want.map(|(p, c, l)| (p.to_vec(), c, l)));
    }

    #[test]
    fn test_resync_after_gap_over_header() {
        let mut stream = frame(0x81, b"lost frame", None);
        let keep_from = stream.len();
        stream.extend(frame(0x81, b"first found", None));
        stream.extend(frame(0x89, b"", None));
        let mut d = FrameDecoder::new(false, 0, usize::MAX);
        let mut seen = Seen::new();
        run(&mut d, &[(&stream[..1], 1)], &mut seen);
        d.gap((keep_from - 1) as u64, &mut |_| panic!("nothing complete"));
        // Starts exactly at a frame; with only two frames after the hole, resynchronisation is
        // sure of them when the stream ends.
        run(&mut d, &[(&stream[keep_from..], 2)], &mut seen);
        assert!(seen.is_empty(), "two frames are not yet a believable chain");
        d.finish(&mut |f| seen.push((f.header.opcode.0, f.payload.to_vec(), f.cut, f.meta)));
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), vec![1, 9]);
        assert_eq!(seen[0].1, b"first found");
    }

    #[test]
    fn test_frames_between_two_gaps_are_read_when_they_run_up_to_the_second() {
        // Client frames in packets of their own, as small messages go; the packets holding
        // "two" and "five" are lost, which takes away the frame boundary each time.
        let texts: [&[u8]; 6] = [b"one", b"two", b"three", b"four", b"five", b"six"];
        let frames: Vec<Vec<u8>> = texts.iter().map(|t| frame(0x81, t, Some([7, 1, 7, 1]))).collect();
        let mut d = FrameDecoder::new(true, 0, usize::MAX);
        let seen = std::cell::RefCell::new(Vec::new());
        let mut note = |f: DecodedFrame<'_, u32>| seen.borrow_mut().push((f.payload.to_vec(), f.meta, f.after_loss));
        d.feed(&frames[0], 1, &mut note);
        d.gap(frames[1].len() as u64, &mut note);
        d.feed(&frames[2], 3, &mut note);
        d.feed(&frames[3], 4, &mut note);
        // Two frames are no proof while more may follow them...
        assert_eq!(seen.borrow().len(), 1);
        // ...but whole frames from a packet's start up to the next gap are.
        d.gap(frames[4].len() as u64, &mut note);
        d.feed(&frames[5], 6, &mut note);
        d.finish(&mut note);
        let want: [(&[u8], u32, bool); 4] =
            [(b"one", 1, false), (b"three", 3, true), (b"four", 4, false), (b"six", 6, true)];
        assert_eq!(seen.into_inner(), want.map(|(p, m, l)| (p.to_vec(), m, l)));
        assert_eq!(d.skipped_bytes, 0);
    }

    #[test]
    fn test_a_header_inside_a_packet_that_reaches_a_gap_is_not_taken() {
        // After the first gap, the packet is the middle of a payload; from its 9th byte it
        // reads as a whole frame up to the next gap, but nothing starts there.
        let mut noise = vec![0u8; 8];
        noise.extend(frame(0x82, &[1, 2, 3], None));
        let mut d = FrameDecoder::new(false, 0, usize::MAX);
        d.feed(&frame(0x82, &[0; 40], None), 1, &mut |_| {});
        d.gap(100, &mut |_| panic!("the gap is past the frame"));
        d.feed(&noise, 3, &mut |_| panic!("not yet"));
        d.gap(100, &mut |f| panic!("taken from inside a packet: {f:?}"));
        assert_eq!(d.skipped_bytes, noise.len() as u64);
    }

    #[test]
    fn test_unaligned_start_skips_noise() {
        let mut stream = b"\x00\x13garbage tail of an earlier frame".to_vec();
        let noise = stream.len();
        stream.extend(frame(0x82, &[1, 2, 3], Some([1, 1, 1, 1])));
        stream.extend(frame(0x82, &[4, 5], Some([2, 2, 2, 2])));
        let mut d = FrameDecoder::new_unaligned(true, 0, usize::MAX);
        let mut seen = Seen::new();
        run(&mut d, &[(&stream, 1)], &mut seen);
        d.finish(&mut |f| seen.push((f.header.opcode.0, f.payload.to_vec(), f.cut, f.meta)));
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].1, vec![1, 2, 3]);
        assert_eq!(d.skipped_bytes, noise as u64);
    }

    #[test]
    fn test_finish_reports_cut_frame() {
        let stream = frame(0x82, &[0u8; 50], None);
        let mut d = FrameDecoder::new(false, 0, 10);
        let mut seen = Seen::new();
        run(&mut d, &[(&stream[..20], 4)], &mut seen);
        d.finish(&mut |f| seen.push((f.header.opcode.0, f.payload.to_vec(), f.cut, f.meta)));
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].1.len(), seen[0].2, seen[0].3), (10, Some(Cut::End), 4));
    }

    #[test]
    fn test_exabyte_length_streams_without_buffering() {
        let mut hdr = vec![0x82, 127];
        hdr.extend_from_slice(&(1u64 << 62).to_be_bytes());
        let mut d = FrameDecoder::new(false, 0, 64);
        let mut seen = Seen::new();
        run(&mut d, &[(&hdr, 1)], &mut seen);
        for _ in 0..100 {
            run(&mut d, &[(&[0u8; 4096], 2)], &mut seen);
        }
        assert!(seen.is_empty());
        assert!(d.payload.capacity() <= 4096);
    }

    proptest::proptest! {
        /// However the stream is cut into pieces (down to single bytes, a header split
        /// anywhere), every frame comes out once, at the piece holding its last byte, with its
        /// payload unmasked up to the cap: the in-place header path and the buffered one agree,
        /// and the mask stays in phase across pieces.
        #[test]
        fn frames_do_not_depend_on_where_pieces_end(
            frames in proptest::collection::vec((0usize..7, 0usize..8, proptest::prelude::any::<[u8; 4]>()), 1..10),
            cuts in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..60),
            client in proptest::prelude::any::<bool>(),
            cap in proptest::sample::select(vec![0usize, 7, 200, usize::MAX]),
        ) {
            const FIN_OPCODES: [u8; 7] = [0x81, 0x82, 0x01, 0x80, 0x89, 0x8a, 0x88];
            const LENGTHS: [usize; 8] = [0, 5, 125, 126, 127, 3000, 65535, 65536];
            let mut stream = Vec::new();
            // Each frame: its first and last byte's offsets, opcode and payload.
            let mut expected = Vec::new();
            for (i, &(op, len, key)) in frames.iter().enumerate() {
                let payload: Vec<u8> = (0..LENGTHS[len]).map(|j| (j * 31 + i * 7) as u8).collect();
                let first = stream.len();
                stream.extend(frame(FIN_OPCODES[op], &payload, client.then_some(key)));
                expected.push((first, stream.len() - 1, FIN_OPCODES[op] & 0x0f, payload));
            }
            let mut ends: Vec<usize> = cuts.iter().map(|c| c.index(stream.len())).chain([stream.len()]).collect();
            ends.sort_unstable();
            ends.dedup();
            // The piece (numbered from 1) that holds the byte at `offset`.
            let piece_of = |offset: usize| ends.iter().position(|&end| offset < end).unwrap() as u32 + 1;
            let mut decoder = FrameDecoder::new(client, 0, cap);
            let mut seen = Vec::new();
            let mut start = 0;
            for (n, &end) in ends.iter().enumerate() {
                decoder.feed(&stream[start..end], n as u32 + 1, &mut |f| {
                    seen.push((f.first_packet, f.meta, f.header.opcode.0, f.payload.to_vec(), f.cut));
                });
                start = end;
            }
            proptest::prop_assert!(decoder.between_frames());
            proptest::prop_assert_eq!(seen.len(), expected.len());
            for (got, (first, last, opcode, payload)) in seen.iter().zip(&expected) {
                let kept = &payload[..payload.len().min(cap)];
                proptest::prop_assert_eq!(got, &(u64::from(piece_of(*first)), piece_of(*last), *opcode, kept.to_vec(), None));
            }
        }

        /// Pieces lost anywhere (inside payloads, over headers, several in a row): every frame
        /// that comes out was sent, in order and once, whole only when all its bytes arrived,
        /// and cut with a prefix of its payload otherwise. Payloads are letters and lengths are
        /// chosen so that only real frame starts read as plausible headers, which makes what
        /// resynchronisation finds checkable exactly. A frame that arrives whole from a piece's
        /// start up to a lost piece always comes out.
        #[test]
        fn after_gaps_every_frame_out_is_one_that_was_sent(
            frames in proptest::collection::vec((0usize..6, 0usize..5), 1..16),
            cuts in proptest::collection::vec(proptest::prelude::any::<(bool, proptest::sample::Index)>(), 0..40),
            lost in proptest::collection::vec(proptest::prelude::any::<bool>(), 41),
        ) {
            const FIN_OPCODES: [u8; 6] = [0x81, 0x82, 0x01, 0x80, 0x89, 0x8a];
            // Every length byte (7-bit, or both bytes of a 16-bit length) has RSV bits set when
            // read as a first byte, as letters do.
            const LENGTHS: [usize; 5] = [16, 50, 125, 0x1020, 0x4141];
            let mut stream = Vec::new();
            // Each frame: its first byte's offset and the offset after it, header and payload.
            let mut sent = Vec::new();
            for (i, &(op, len)) in frames.iter().enumerate() {
                let mut payload = vec![b'x'; LENGTHS[len]];
                payload[..2].copy_from_slice(&[b'a' + i as u8, b'a' + op as u8]);
                let first = stream.len();
                stream.extend(frame(FIN_OPCODES[op], &payload, None));
                sent.push((first, stream.len(), FIN_OPCODES[op], payload));
            }
            // Packets often end where frames do (small messages), else anywhere.
            let cut_at = |&(at_frame, c): &(bool, proptest::sample::Index)| {
                if at_frame { sent[c.index(sent.len())].0 } else { c.index(stream.len()) }
            };
            let mut ends: Vec<usize> = cuts.iter().map(cut_at).filter(|&e| e > 0).chain([stream.len()]).collect();
            ends.sort_unstable();
            ends.dedup();
            let starts: Vec<usize> = std::iter::once(0).chain(ends.iter().copied()).collect();
            // Whether no lost piece holds a byte of `from..to`.
            let received = |from: usize, to: usize| {
                ends.iter().enumerate().all(|(n, &end)| !lost[n] || end <= from || starts[n] >= to)
            };
            let mut decoder = FrameDecoder::new(false, 0, usize::MAX);
            let mut out = Vec::new();
            let mut note = |f: DecodedFrame<'_, u32>| {
                out.push((f.header.fin, f.header.opcode.0, f.header.payload_len, f.payload.to_vec(), f.cut));
            };
            for (n, &end) in ends.iter().enumerate() {
                if lost[n] {
                    decoder.gap((end - starts[n]) as u64, &mut note);
                } else {
                    decoder.feed(&stream[starts[n]..end], n as u32 + 1, &mut note);
                }
            }
            decoder.finish(&mut note);
            let mut next = 0;
            for (fin, opcode, len, payload, cut) in &out {
                // Identified by its first two payload bytes when it has them.
                let Some(i) = payload.first().map(|b| usize::from(b.wrapping_sub(b'a'))) else { continue };
                proptest::prop_assert!(i >= next && i < sent.len(), "frame {} out of order or unknown", i);
                let (first, after, fin_opcode, sent_payload) = &sent[i];
                proptest::prop_assert_eq!((*fin, *opcode), (fin_opcode & 0x80 != 0, fin_opcode & 0x0f));
                proptest::prop_assert_eq!(*len, sent_payload.len() as u64);
                proptest::prop_assert!(sent_payload.starts_with(payload));
                proptest::prop_assert_eq!(cut.is_none(), received(*first, *after), "frame {} whole or not", i);
                if cut.is_none() {
                    proptest::prop_assert_eq!(payload, sent_payload);
                }
                next = i + 1;
            }
            for n in (0..ends.len()).filter(|&n| !lost[n] && (n + 1 == ends.len() || lost[n + 1])) {
                // Pieces m..=n received, then a lost one (or the end): when whole frames fill
                // them from the start of piece m, those frames come out.
                for m in (0..=n).rev().take_while(|&m| !lost[m]) {
                    let filling: Vec<_> = sent.iter().filter(|s| s.0 >= starts[m] && s.1 <= ends[n]).collect();
                    let fills = filling.first().is_some_and(|s| s.0 == starts[m])
                        && filling.last().is_some_and(|s| s.1 == ends[n]);
                    let plausible = filling.iter().all(|s| s.2 & 0x08 == 0 || s.3.len() <= 125);
                    if !(fills && plausible) {
                        continue;
                    }
                    for s in filling {
                        let whole_out = out.iter().any(|o| o.3.first() == Some(&s.3[0]) && o.4.is_none());
                        proptest::prop_assert!(whole_out, "frame {} lost", s.3[0] - b'a');
                    }
                }
            }
        }
    }
}
