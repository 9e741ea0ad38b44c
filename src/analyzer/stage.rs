//! The second half of the pipeline: messages out of frames (joined, inflated, checked), then
//! the [`Output`].
//!
//! The first half (records, TCP, HTTP, frame headers) reports to a [`FrameSink`]. [`Direct`]
//! hands what it reports straight to the [`MessageStage`] on the same thread;
//! [`batch`](super::batch) carries it to another thread, so that inflating and formatting run
//! beside the decoding.

use std::collections::HashMap;

use super::{ConnectionInfo, Frame, HandshakeEvent, Origin, Output, PacketMeta, Stats, allowed_rsv};
use crate::flow::reassembler::Delivery;
use crate::ws::expert::{Expert, ExpertKind};
use crate::ws::message::{InflateState, Limits, Message, MessageAssembler, message_bounds};
use crate::ws::stream::{DecodedFrame, FrameDecoder};

/// Where the first half of the pipeline reports.
pub(crate) trait FrameSink {
    /// A connection's details are new or have changed; what follows for it refers to them.
    fn connection(&mut self, info: &ConnectionInfo);
    /// The connection switched to WebSocket at `packet`.
    fn handshake(&mut self, info: &ConnectionInfo, packet: PacketMeta, expert: &[Expert]);
    /// A frame of the connection, in its direction's order.
    fn frame(&mut self, info: &ConnectionInfo, from_client: bool, frame: &DecodedFrame<'_, PacketMeta>);
    /// Whether the sink would decode the frames of the WebSocket connection `info` itself,
    /// from the bytes of each direction, if given the direction's decoder.
    fn decodes(&self, info: &ConnectionInfo) -> bool;
    /// The sink goes on decoding the frames `from_client` (or the server) sends with `decoder`,
    /// which has been given every byte before the next [`FrameSink::bytes`].
    fn hand_over_decoder(&mut self, info: &ConnectionInfo, from_client: bool, decoder: Box<FrameDecoder<PacketMeta>>);
    /// Bytes (or a gap) of a direction whose decoder the sink holds.
    fn bytes(&mut self, info: &ConnectionInfo, from_client: bool, d: Delivery<'_, PacketMeta>);
    /// A direction whose decoder the sink holds has reached the end of its stream: a frame
    /// under way is cut there.
    fn stream_end(&mut self, info: &ConnectionInfo, from_client: bool);
    /// Nothing more will come for the connection whose [`ConnectionInfo::key`] is `key`.
    fn closed(&mut self, key: u64);
}

/// Idle inflate states kept for the next messages (beyond, the oldest is freed): a direction
/// holds one only while it inflates a message, and takes back the one that holds its window
/// when it is still here, so that the few connections of a browser each go on with their own.
const MAX_IDLE_INFLATERS: usize = 16;

/// What the message stage counts, for [`Stats`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MessageCounts {
    messages: u64,
    /// Messages begun and never ended when their connection (or HTTP/2 stream) ended.
    unfinished: u64,
    /// The one on the connection that came first: its [`ConnectionInfo::key`].
    first_unfinished: Option<u64>,
    payload_limit_hits: u64,
    inflate_limit_hits: u64,
    inflate_ratio_hits: u64,
    /// Compressed messages of connections joined late, not inflated for want of their history.
    history_before_capture: u64,
    /// Frames decoded beside the stage ([`FrameSink::decodes`]): how many, how many cut, and
    /// the bytes skipped looking for a frame boundary.
    frames: u64,
    cut_frames: u64,
    resync_skipped: u64,
}

/// The connection that came first of two, by [`ConnectionInfo::key`] (either may be absent).
fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl MessageCounts {
    /// Adds another stage's counts (the two threads each assemble some connections).
    pub(crate) fn absorb(&mut self, other: &MessageCounts) {
        self.messages += other.messages;
        self.unfinished += other.unfinished;
        self.first_unfinished = earliest(self.first_unfinished, other.first_unfinished);
        self.payload_limit_hits += other.payload_limit_hits;
        self.inflate_limit_hits += other.inflate_limit_hits;
        self.inflate_ratio_hits += other.inflate_ratio_hits;
        self.history_before_capture += other.history_before_capture;
        self.frames += other.frames;
        self.cut_frames += other.cut_frames;
        self.resync_skipped += other.resync_skipped;
    }

    pub(crate) fn add_to(&self, stats: &mut Stats) {
        stats.messages += self.messages;
        stats.unfinished_messages += self.unfinished;
        stats.first_unfinished = earliest(stats.first_unfinished, self.first_unfinished);
        stats.payload_limit_hits += self.payload_limit_hits;
        stats.inflate_limit_hits += self.inflate_limit_hits;
        stats.inflate_ratio_hits += self.inflate_ratio_hits;
        stats.history_before_capture += self.history_before_capture;
        stats.frames += self.frames;
        stats.cut_frames += self.cut_frames;
        stats.resync_skipped += self.resync_skipped;
    }
}

/// A connection's message assemblers: (server's, client's), each made at the direction's
/// first frame. Kept by whoever keeps the connection, so that a frame finds them with it.
#[derive(Debug, Default)]
pub(crate) struct Directions {
    assemblers: [Option<Box<MessageAssembler>>; 2],
    /// For a stage that does not assemble messages, which has no assemblers: whether each
    /// direction is inside a message ([`message_bounds`]).
    under_way: [bool; 2],
}

impl Directions {
    /// Whether neither direction is inside a message (then its assemblers hold nothing but
    /// their windows, and may move to the other thread's stage).
    pub(crate) fn idle(&self) -> bool {
        self.unfinished() == 0
    }

    /// How many directions are inside a message.
    fn unfinished(&self) -> u64 {
        let assembling = self.assemblers.iter().flatten().filter(|m| m.unfinished()).count();
        (assembling + self.under_way.iter().filter(|&&u| u).count()) as u64
    }
}

/// Connections' assemblers by [`ConnectionInfo::key`], where nothing else is kept per
/// connection.
pub(crate) type ByKey = HashMap<u64, Directions, foldhash::fast::RandomState>;

/// Joins, inflates and checks the messages of the connections whose [`Directions`] it is
/// given with their frames.
///
/// Aligned to two cache lines so that, when it runs on its own thread, the counters it updates
/// per frame never share a line with those of the transport beside it (that false sharing made
/// some two-thread runs take 40% longer, at random).
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct MessageStage {
    limits: Limits,
    /// Frames are joined into messages and checked; without, they go out with neither message
    /// nor expert items, and only where messages begin and end is followed (for the counts).
    assembles: bool,
    /// Expert items of the frame being reported (kept to reuse its allocation).
    expert: Vec<Expert>,
    /// Inflate states no direction holds: lent to a direction for each frame it may inflate,
    /// taken back once its message is done.
    idle_inflaters: Vec<InflateState>,
    pub(crate) counts: MessageCounts,
}

impl MessageStage {
    /// A stage that assembles messages within `limits`, or (`assembles` false) one that only
    /// follows where they begin and end.
    pub(crate) fn new(limits: Limits, assembles: bool) -> Self {
        MessageStage {
            limits,
            assembles,
            expert: Vec::new(),
            idle_inflaters: Vec::new(),
            counts: MessageCounts::default(),
        }
    }

    /// Another stage like this one, with nothing assembled or counted yet.
    pub(crate) fn twin(&self) -> Self {
        MessageStage::new(self.limits, self.assembles)
    }

    /// The limits it assembles messages with.
    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// Assembles the message `f` belongs to with the connection's `directions`, then hands
    /// the frame to `out`.
    pub(crate) fn frame(
        &mut self,
        directions: &mut Directions,
        info: &ConnectionInfo,
        from_client: bool,
        f: &DecodedFrame<'_, PacketMeta>,
        out: &mut impl Output,
    ) {
        if !self.assembles {
            let under_way = &mut directions.under_way[usize::from(from_client)];
            self.counts.messages += u64::from(message_bounds(under_way, &f.header));
            return out.frame(&output_frame(info, from_client, f, None, &[]));
        }
        let limits = self.limits;
        let slot = &mut directions.assemblers[usize::from(from_client)];
        let first_frame = slot.is_none();
        let messages = slot.get_or_insert_with(|| {
            let messages = MessageAssembler::new(from_client, info.deflate, allowed_rsv(info), limits);
            Box::new(if info.origin == Origin::Heuristic { messages.joined_late() } else { messages })
        });
        if messages.wants_state() {
            // Its own state if idle; else, once there are enough to go round, the one used
            // last, still in the cache (until then, the direction makes one).
            let owner = messages.window_owner();
            let idle = &mut self.idle_inflaters;
            let own = if owner == 0 { None } else { idle.iter().rposition(|s| s.holds_window_of(owner)) };
            if let Some(i) = own.or((idle.len() == MAX_IDLE_INFLATERS).then(|| idle.len() - 1)) {
                messages.lend(idle.remove(i));
            }
        }
        if f.after_loss || f.meta.record.is_some_and(|r| r.after_loss) {
            messages.lost_before();
        }
        let expert = &mut self.expert;
        let counts = &mut self.counts;
        expert.clear();
        let truncated = f.cut.is_none() && (f.payload.len() as u64) < f.header.payload_len;
        counts.payload_limit_hits += u64::from(truncated && messages.keeps_content());
        let message = messages.frame(&f.header, f.payload, f.cut, f.meta.number, expert);
        if f.meta.record.is_some_and(|r| r.after_loss) {
            expert.push(Expert::new(ExpertKind::TlsRecordsLost, 0));
        }
        if let Some(kind) = f.meta.http2_problem {
            expert.push(Expert::new(kind, 0));
        }
        if first_frame && info.origin == Origin::Heuristic {
            expert.push(Expert::new(ExpertKind::Heuristic, 0));
        }
        counts.messages += u64::from(message.is_some());
        for e in expert.iter() {
            counts.inflate_limit_hits += u64::from(e.kind == ExpertKind::InflateLimit);
            counts.inflate_ratio_hits += u64::from(e.kind == ExpertKind::InflateRatio);
            counts.history_before_capture += u64::from(e.kind == ExpertKind::HistoryBeforeCapture);
        }
        out.frame(&output_frame(info, from_client, f, message, expert));
        if let Some(state) = messages.reclaim() {
            if self.idle_inflaters.len() == MAX_IDLE_INFLATERS {
                self.idle_inflaters.remove(0);
            }
            self.idle_inflaters.push(state);
        }
    }

    /// [`MessageStage::frame`] for a frame decoded beside the stage, counted as the transport
    /// counts those it decodes.
    pub(crate) fn decoded_frame(
        &mut self,
        directions: &mut Directions,
        info: &ConnectionInfo,
        from_client: bool,
        f: &DecodedFrame<'_, PacketMeta>,
        out: &mut impl Output,
    ) {
        self.counts.frames += 1;
        self.counts.cut_frames += u64::from(f.cut.is_some());
        self.frame(directions, info, from_client, f, out);
    }

    /// Bytes a decoder beside the stage skipped looking for a frame boundary.
    pub(crate) fn resync_skipped(&mut self, bytes: u64) {
        self.counts.resync_skipped += bytes;
    }

    /// A connection's assemblers leave this stage for another's. An idle state here that
    /// holds one of their windows no longer does once they go on elsewhere: lent back to them
    /// here later, it would take up that window where it was left.
    pub(crate) fn hand_over(&mut self, directions: &Directions) {
        for owner in directions.assemblers.iter().flatten().map(|m| m.window_owner()) {
            self.idle_inflaters.iter_mut().filter(|s| s.holds_window_of(owner)).for_each(InflateState::disown);
        }
    }

    /// A connection has ended: counts the messages its `directions` left unfinished.
    pub(crate) fn closed(&mut self, key: u64, directions: &Directions) {
        let unfinished = directions.unfinished();
        if unfinished > 0 {
            self.counts.unfinished += unfinished;
            self.counts.first_unfinished = earliest(self.counts.first_unfinished, Some(key));
        }
    }
}

/// Frame `f` of `info`'s connection as output sees it, with the message it ends and its expert
/// items.
fn output_frame<'a>(
    info: &'a ConnectionInfo,
    from_client: bool,
    f: &DecodedFrame<'a, PacketMeta>,
    message: Option<Message<'a>>,
    expert: &'a [Expert],
) -> Frame<'a> {
    Frame {
        packet: f.meta,
        first_packet: f.first_packet,
        connection: info,
        from_client,
        header: f.header,
        payload: f.payload,
        payload_seen: f.payload_seen,
        cut: f.cut,
        message,
        expert,
    }
}

/// Both halves on one thread: the message stage and the output are called as frames come.
pub(crate) struct Direct<'a, O> {
    pub(crate) stage: &'a mut MessageStage,
    pub(crate) assemblers: &'a mut ByKey,
    pub(crate) out: &'a mut O,
}

impl<O: Output> FrameSink for Direct<'_, O> {
    fn connection(&mut self, _info: &ConnectionInfo) {}

    fn handshake(&mut self, info: &ConnectionInfo, packet: PacketMeta, expert: &[Expert]) {
        self.out.handshake(&HandshakeEvent { packet, connection: info, expert });
    }

    fn frame(&mut self, info: &ConnectionInfo, from_client: bool, frame: &DecodedFrame<'_, PacketMeta>) {
        let directions = self.assemblers.entry(info.key()).or_default();
        self.stage.frame(directions, info, from_client, frame, self.out);
    }

    /// One thread decodes every frame where the bytes arrive: no decoder is handed over, and
    /// `bytes` and `stream_end` are never called.
    fn decodes(&self, _info: &ConnectionInfo) -> bool {
        false
    }

    fn hand_over_decoder(
        &mut self,
        _info: &ConnectionInfo,
        _from_client: bool,
        _decoder: Box<FrameDecoder<PacketMeta>>,
    ) {
    }

    fn bytes(&mut self, _info: &ConnectionInfo, _from_client: bool, _d: Delivery<'_, PacketMeta>) {}

    fn stream_end(&mut self, _info: &ConnectionInfo, _from_client: bool) {}

    fn closed(&mut self, key: u64) {
        if let Some(directions) = self.assemblers.remove(&key) {
            self.stage.closed(key, &directions);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use flate2::{Compress, Compression, FlushCompress};

    use super::*;
    use crate::analyzer::{Endpoint, Handshake, Origin};
    use crate::http::Response;
    use crate::synth::Rng;
    use crate::ws::extensions::DeflateParams;
    use crate::ws::frame::{FrameHeader, Opcode, parse_header};

    /// A connection whose `101` accepted `deflate`.
    fn connection(stream: u32, deflate: &str) -> ConnectionInfo {
        let end = |port| Endpoint { ip: IpAddr::V4(Ipv4Addr::LOCALHOST), port };
        let mut response = Response { code: 101, ..Response::default() };
        response.headers.add("Sec-WebSocket-Extensions", deflate);
        let handshake =
            Handshake { request: None, response, response_packet: 1, accept_valid: None, http2_fields: Vec::new() };
        ConnectionInfo {
            stream,
            http2_stream: None,
            client: end(40000 + stream as u16),
            server: end(8080),
            origin: Origin::Handshake,
            handshake: Some(std::sync::Arc::new(handshake)),
            deflate: DeflateParams::from_response(deflate),
            isn: [None; 2],
            window_shift: [None; 2],
            first_packet: 1,
            tls: None,
            arrows: Default::default(),
        }
    }

    /// One direction of a connection, and its sender's compressor (context kept).
    struct Sender {
        info: ConnectionInfo,
        from_client: bool,
        z: Compress,
    }

    impl Sender {
        /// `text` compressed as permessage-deflate sends it: sync flush, tail removed.
        fn message(&mut self, text: &[u8]) -> Vec<u8> {
            // Until zlib leaves room in the output: then the flush is complete.
            let (mut wire, start) = (Vec::new(), self.z.total_in());
            while wire.len() == wire.capacity() {
                wire.reserve(text.len() + 64);
                let consumed = (self.z.total_in() - start) as usize;
                self.z.compress_vec(&text[consumed..], &mut wire, FlushCompress::Sync).unwrap();
            }
            assert!(wire.ends_with(&[0, 0, 0xff, 0xff]));
            wire.truncate(wire.len() - 4);
            wire
        }
    }

    /// Runs `senders`' messages through one stage, interleaved round after round, and checks
    /// that every message inflates to what was sent.
    fn inflate_interleaved(senders: &mut [Sender], rounds: usize) {
        let mut stage = MessageStage::new(Limits::default(), true);
        let mut assemblers = ByKey::default();
        for round in 0..rounds {
            for (i, s) in senders.iter_mut().enumerate() {
                // Text that refers back to earlier messages of the same direction.
                let text = format!("{{\"direction\":{i},\"round\":{round},\"price\":{}}}", round * 7919 % 1000);
                let wire = s.message(text.as_bytes());
                let mut header = vec![0xc1, wire.len() as u8];
                assert!(wire.len() < 126);
                header[1] |= if s.from_client { 0x80 } else { 0 };
                if s.from_client {
                    header.extend_from_slice(&[0; 4]);
                }
                let frame = DecodedFrame {
                    header: parse_header(&header).unwrap().1,
                    payload: &wire,
                    payload_seen: wire.len() as u64,
                    cut: None,
                    meta: PacketMeta { number: (round * 1000 + i) as u64 + 1, ..PacketMeta::default() },
                    first_packet: 1,
                    after_loss: false,
                };
                let mut seen = None;
                let directions = assemblers.entry(s.info.key()).or_default();
                stage.frame(directions, &s.info, s.from_client, &frame, &mut |f: &Frame<'_>| {
                    assert!(f.expert.is_empty(), "{:?}", f.expert);
                    seen = f.message.map(|m| m.data.to_vec());
                });
                assert_eq!(seen.as_deref(), Some(text.as_bytes()), "direction {i}, round {round}");
            }
        }
    }

    fn senders(connections: u32, deflate: &str, bits: u8) -> Vec<Sender> {
        (0..connections)
            .flat_map(|c| [true, false].map(|from_client| (c, from_client)))
            .map(|(c, from_client)| Sender {
                info: connection(c, deflate),
                from_client,
                z: Compress::new_with_window_bits(Compression::default(), false, bits),
            })
            .collect()
    }

    #[test]
    fn directions_given_back_their_own_state_go_on_and_others_start_from_their_window() {
        // Few directions: each finds its own state idle and goes on with zlib's window.
        inflate_interleaved(&mut senders(3, "permessage-deflate", 15), 40);
        // More directions than idle states: states pass from one to another, each message
        // starting from its direction's own window.
        inflate_interleaved(&mut senders(2 * MAX_IDLE_INFLATERS as u32, "permessage-deflate", 15), 10);
        // Narrower windows are always given again, as zlib's stays 15-bit.
        let narrow = "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10";
        inflate_interleaved(&mut senders(3, narrow, 10), 40);
    }

    /// A number below `n` (0 for 0).
    fn below(rng: &mut Rng, n: usize) -> usize {
        rng.below(n as u64) as usize
    }

    /// A message under way in [`every_message_inflates_to_what_was_sent`]: what was sent, and
    /// the frames still to go.
    struct Pending {
        text: Vec<u8>,
        compressed: bool,
        frames: std::collections::VecDeque<Vec<u8>>,
        first: bool,
    }

    /// A direction of [`every_message_inflates_to_what_was_sent`]: its sender (a compressor
    /// with the negotiated window, made afresh for each message without context takeover),
    /// what it has compressed so far, and its message under way.
    struct Direction {
        connection: usize,
        sender: Sender,
        bits: u8,
        takeover: bool,
        history: Vec<u8>,
        pending: Option<Pending>,
    }

    impl Direction {
        /// The next message: pieces of new text and, mostly, repeats of what this direction
        /// compressed before, from anywhere in its window (up to its far edge); one in ten sent
        /// uncompressed; split into one to three frames.
        fn next_message(&mut self, rng: &mut Rng) -> Pending {
            let len = if below(rng, 10) == 0 { 2000 + below(rng, 10_000) } else { below(rng, 400) };
            let window = 1usize << self.bits;
            let mut text = Vec::with_capacity(len);
            while text.len() < len {
                let reach = self.history.len().min(window);
                if reach > 0 && below(rng, 3) > 0 {
                    let start = self.history.len() - 1 - below(rng, reach);
                    let end = (start + 3 + below(rng, 255)).min(self.history.len());
                    text.extend_from_slice(&self.history[start..end]);
                } else {
                    text.extend((0..8 + below(rng, 32)).map(|_| b"abcdefgh{}:,0123456789"[below(rng, 22)]));
                }
            }
            text.truncate(len);
            let compressed = below(rng, 10) > 0;
            let wire = if compressed && text.is_empty() {
                // zlib flushes nothing after a flush without input: the single byte an empty
                // message compresses to (RFC 7692 7.2.3.6), as Python `websockets` sends it.
                vec![0x00]
            } else if compressed {
                if !self.takeover {
                    self.sender.z = Compress::new_with_window_bits(Compression::default(), false, self.bits);
                    self.history.clear();
                }
                self.history.extend_from_slice(&text);
                self.sender.message(&text)
            } else {
                text.clone()
            };
            // None, one or two cuts: one to three frames.
            let mut cuts = [below(rng, wire.len() + 1), below(rng, wire.len() + 1)];
            cuts.sort_unstable();
            let bounds: Vec<usize> =
                [0].into_iter().chain(cuts[..below(rng, 3)].iter().copied()).chain([wire.len()]).collect();
            let frames = bounds.windows(2).map(|b| wire[b[0]..b[1]].to_vec()).collect();
            Pending { text, compressed, frames, first: true }
        }
    }

    /// The header of a frame of `len` bytes.
    fn frame_header(opcode: Opcode, fin: bool, rsv1: bool, from_client: bool, len: usize) -> FrameHeader {
        let len7 = match len {
            0..=125 => len as u8,
            126..=0xffff => 126,
            _ => 127,
        };
        let extended = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        FrameHeader {
            fin,
            rsv: if rsv1 { 4 } else { 0 },
            opcode,
            masked: from_client,
            len7,
            payload_len: len as u64,
            masking_key: from_client.then_some([0; 4]),
            header_len: 2 + extended + if from_client { 4 } else { 0 },
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(40))]

        /// Whatever the windows (9 to 15 bits, each direction its own), with or without context
        /// takeover, however the frames of many directions interleave, and wherever their
        /// assemblers move between the two threads' stages between messages, every message
        /// inflates to exactly what was sent: states lent, pooled, kept and given back never
        /// carry one direction's window into another's message.
        #[test]
        fn every_message_inflates_to_what_was_sent(
            offers in proptest::collection::vec((9u8..=15, 9u8..=15, proptest::bool::weighted(0.8)), 1..24),
            seed in 1u64..,
            frames in 100usize..1500,
        ) {
            let mut directions: Vec<Direction> = offers
                .iter()
                .enumerate()
                .flat_map(|(c, &(server_bits, client_bits, takeover))| {
                    let reset = if takeover { "" } else { "; server_no_context_takeover; client_no_context_takeover" };
                    let ext = format!(
                        "permessage-deflate; server_max_window_bits={server_bits}; client_max_window_bits={client_bits}{reset}"
                    );
                    let info = connection(c as u32, &ext);
                    [(false, server_bits), (true, client_bits)].map(|(from_client, bits)| Direction {
                        connection: c,
                        sender: Sender {
                            info: info.clone(),
                            from_client,
                            z: Compress::new_with_window_bits(Compression::default(), false, bits),
                        },
                        bits,
                        takeover,
                        history: Vec::new(),
                        pending: None,
                    })
                })
                .collect();
            let mut stages = [MessageStage::new(Limits::default(), true), MessageStage::new(Limits::default(), true)];
            let mut assemblers = [ByKey::default(), ByKey::default()];
            let mut stage_of = vec![0usize; offers.len()];
            let mut rng = Rng(seed);
            let mut inflated = 0;
            for number in 1..=frames as u64 {
                let d = &mut directions[below(&mut rng, offers.len() * 2)];
                if d.pending.is_none() {
                    d.pending = Some(d.next_message(&mut rng));
                }
                let pending = d.pending.as_mut().unwrap();
                let payload = pending.frames.pop_front().unwrap();
                let fin = pending.frames.is_empty();
                let opcode = if !pending.first { Opcode::CONTINUATION } else if number % 2 == 0 { Opcode::TEXT } else { Opcode::BINARY };
                let frame = DecodedFrame {
                    header: frame_header(opcode, fin, pending.first && pending.compressed, d.sender.from_client, payload.len()),
                    payload: &payload,
                    payload_seen: payload.len() as u64,
                    cut: None,
                    meta: PacketMeta { number, ..PacketMeta::default() },
                    first_packet: 1,
                    after_loss: false,
                };
                pending.first = false;
                let mut message = None;
                let (stage, key) = (stage_of[d.connection], d.sender.info.key());
                let its_assemblers = assemblers[stage].entry(key).or_default();
                stages[stage].frame(its_assemblers, &d.sender.info, d.sender.from_client, &frame, &mut |f: &Frame<'_>| {
                    assert!(f.expert.is_empty(), "frame {number}: {:?}", f.expert);
                    message = f.message.map(|m| (m.data.to_vec(), m.complete, m.compressed));
                });
                if fin {
                    let sent = d.pending.take().unwrap();
                    let Some((data, complete, compressed)) = message else { panic!("frame {number}: no message") };
                    proptest::prop_assert!(data == sent.text, "frame {}: {} bytes inflated, {} sent", number, data.len(), sent.text.len());
                    proptest::prop_assert!(complete && compressed == sent.compressed);
                    inflated += usize::from(compressed);
                } else {
                    proptest::prop_assert!(message.is_none());
                }
                // Now and then a connection between messages moves to the other stage.
                let c = below(&mut rng, offers.len());
                let key = directions[2 * c].sender.info.key();
                let from = stage_of[c];
                if below(&mut rng, 20) == 0 && assemblers[from].get(&key).is_none_or(Directions::idle) {
                    let moving = assemblers[from].remove(&key).unwrap_or_default();
                    stages[from].hand_over(&moving);
                    stage_of[c] ^= 1;
                    assemblers[stage_of[c]].insert(key, moving);
                }
            }
            proptest::prop_assert!(inflated > 0 || frames < 200);
        }
    }
}
