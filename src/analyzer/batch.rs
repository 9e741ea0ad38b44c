//! Carries what the pipeline finds to the thread that filters and prints it, in batches: a few
//! thousand reports and their bytes per channel message, so that the cost of crossing threads is
//! paid per batch, not per frame. Batches go back empty for reuse.
//!
//! Inflating messages, the costliest part of a capture where most connections are compressed
//! (as browsers make them), is shared by the two threads connection by connection ([`Staged`]):
//! the reading thread joins, inflates and checks the messages of the compressed connections it
//! holds and sends their frames finished, with message and expert items; the other thread does
//! it for every other connection from their decoded frames, then filters and prints everything,
//! in the order one thread would. The reading thread starts with every compressed connection
//! and, whenever it sends a batch while the other thread waits for work ([`Pace`]), hands over
//! a share of them, each between two messages, in proportion to the time the other thread was
//! idle: how the work divides depends on the output (a JSON record costs far more than a
//! summary line), so it is found as the capture is read, not guessed.
//!
//! The frames of the other connections are decoded on the printing thread too, once a
//! direction shows small pieces: the reading thread, which does more per packet, hands its
//! decoder over between two frames and then only copies the bytes in.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvError, SyncSender};
use std::time::{Duration, Instant};

use super::stage::{ByKey, Directions, FrameSink, MessageStage};
use super::{ConnectionInfo, Frame, HandshakeEvent, Output, PacketMeta};
use crate::fields::Context;
use crate::flow::reassembler::Delivery;
use crate::ws::expert::Expert;
use crate::ws::frame::{FrameHeader, Opcode};
use crate::ws::message::{Fragment, Message};
use crate::ws::stream::{Cut, DecodedFrame, FrameDecoder};

/// A batch is sent once it holds this many reports...
const BATCH_EVENTS: usize = 4096;
/// ...or this many bytes (payloads and messages).
const BATCH_BYTES: usize = 1 << 20;
/// Bytes sent and not yet given back, beyond which the sender waits (unless nothing is out: a
/// frame larger than this still goes, alone).
const IN_FLIGHT_BYTES: usize = 8 << 20;

/// One report of the first half, owned. Kept small (a frame's details go in the batch's
/// `decoded` or `frames`, in the order of their events), as every frame writes one.
#[derive(Debug)]
enum Event {
    /// The first record's time (the capture's [`Context`]).
    Start(i64),
    /// Taken out when replayed.
    Connection(Option<Box<ConnectionInfo>>),
    Handshake(Box<(u64, PacketMeta, Vec<Expert>)>),
    /// A frame of a connection whose messages the printing thread assembles: the batch's next
    /// [`DecodedEvent`].
    Decoded {
        key: u64,
        from_client: bool,
    },
    /// A frame finished on the reading thread: the batch's next [`FrameEvent`].
    Frame {
        key: u64,
        from_client: bool,
    },
    /// The printing thread goes on with the connection's messages from here.
    Handover {
        key: u64,
        directions: Directions,
    },
    /// The printing thread decodes the direction's frames from here (taken out when replayed).
    Decoder {
        key: u64,
        from_client: bool,
        decoder: Option<Box<FrameDecoder<PacketMeta>>>,
    },
    /// Bytes of a direction whose frames the printing thread decodes: the batch's next
    /// [`Piece`].
    Bytes {
        key: u64,
        from_client: bool,
    },
    /// Bytes of such a direction lost.
    Gap {
        key: u64,
        from_client: bool,
        len: u64,
    },
    /// The stream of such a direction has ended.
    StreamEnd {
        key: u64,
        from_client: bool,
    },
    Closed(u64),
}

/// What a direction decoded on the printing thread is given next.
enum Step<'a> {
    Bytes(&'a [u8], PacketMeta),
    Gap(u64),
    End,
}

/// Bytes delivered to a direction: a range of its batch's, and the packet they came in.
#[derive(Debug)]
struct Piece {
    bytes: Range<usize>,
    meta: PacketMeta,
}

/// A [`DecodedFrame`] whose payload is a range of its batch's bytes.
#[derive(Debug)]
struct DecodedEvent {
    header: FrameHeader,
    payload: Range<usize>,
    payload_seen: u64,
    cut: Option<Cut>,
    meta: PacketMeta,
    first_packet: u64,
    after_loss: bool,
}

/// A [`Frame`] whose bytes, message fragments and expert items are ranges of its batch's.
#[derive(Debug)]
struct FrameEvent {
    packet: PacketMeta,
    first_packet: u64,
    header: FrameHeader,
    payload: Range<usize>,
    payload_seen: u64,
    cut: Option<Cut>,
    message: Option<MessageEvent>,
    expert: Range<usize>,
}

/// A [`Message`] in a batch.
#[derive(Debug)]
struct MessageEvent {
    opcode: Opcode,
    compressed: bool,
    fragments: Range<usize>,
    wire_length: u64,
    length: u64,
    /// Its bytes; `None` when they are the frame's payload (a message of one plain frame).
    data: Option<Range<usize>>,
    complete: bool,
    inflate_failed: bool,
}

/// Reports and what they refer to.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    events: Vec<Event>,
    decoded: Vec<DecodedEvent>,
    frames: Vec<FrameEvent>,
    pieces: Vec<Piece>,
    bytes: Vec<u8>,
    fragments: Vec<Fragment>,
    experts: Vec<Expert>,
    /// Bytes it carried when sent.
    sent: usize,
    /// Connections handed over in it.
    handovers: usize,
}

impl Batch {
    /// Connections it hands over to the printing thread.
    #[cfg(test)]
    pub(crate) fn handovers(&self) -> usize {
        self.handovers
    }

    /// Decoders it hands over to the printing thread.
    #[cfg(test)]
    pub(crate) fn decoders_handed_over(&self) -> usize {
        self.events.iter().filter(|e| matches!(e, Event::Decoder { .. })).count()
    }

    /// Copies `data` in; where it is.
    fn keep(&mut self, data: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(data);
        start..self.bytes.len()
    }
}

/// The first half's sink on its own thread: fills batches and sends them.
pub(crate) struct BatchSender {
    batch: Batch,
    full: SyncSender<Batch>,
    empty: Receiver<Batch>,
    /// Emptied batches to fill next: every one given back is kept (no more are ever out than
    /// the channel holds, the one replayed and this one), for one made afresh grows each of
    /// its vectors by reallocating, copying what it holds each time.
    spares: Vec<Batch>,
    /// Payload bytes in batches sent and not yet given back.
    in_flight: usize,
    /// How the other side keeps up.
    pace: Arc<Pace>,
    /// Connections handed over to the other side so far.
    handed_over: usize,
    /// When the last batch was sent, and the other side's [`Pace::busy`] then.
    last_sent: Option<(Instant, Duration)>,
    /// At the last batch sent, the share of the time since the one before that the other side
    /// was idle (0 unless it [is idle](Pace::idle) now); read once.
    other_side_idle: Option<f64>,
    /// The other side has stopped taking batches (its output is done).
    pub(crate) stopped: bool,
}

impl BatchSender {
    /// Sends full batches on `full`, takes emptied ones back from `empty`; the other side
    /// receives them with [`Pace::receive`].
    pub(crate) fn new(full: SyncSender<Batch>, empty: Receiver<Batch>, pace: Arc<Pace>) -> Self {
        BatchSender {
            batch: Batch::default(),
            full,
            empty,
            spares: Vec::new(),
            in_flight: 0,
            pace,
            handed_over: 0,
            last_sent: None,
            other_side_idle: None,
            stopped: false,
        }
    }

    /// The capture's first record was read at `ts_nanos`.
    pub(crate) fn start(&mut self, ts_nanos: i64) {
        self.push(Event::Start(ts_nanos));
    }

    fn push(&mut self, event: Event) {
        self.batch.events.push(event);
        if self.batch.events.len() >= BATCH_EVENTS || self.batch.bytes.len() >= BATCH_BYTES {
            self.flush();
        }
    }

    /// Sends what the batch holds, once the payload bytes out allow it.
    pub(crate) fn flush(&mut self) {
        if self.batch.events.is_empty() || self.stopped {
            return;
        }
        while let Ok(batch) = self.empty.try_recv() {
            self.reclaim(batch);
        }
        let size = self.batch.bytes.len();
        // Waiting for room means the other side is behind, whatever it does once there is room.
        let mut behind = false;
        while self.in_flight > 0 && self.in_flight + size > IN_FLIGHT_BYTES {
            behind = true;
            match self.empty.recv() {
                Ok(batch) => self.reclaim(batch),
                Err(_) => {
                    self.stopped = true;
                    return;
                }
            }
        }
        let next = self.spares.pop().unwrap_or_default();
        let mut batch = std::mem::replace(&mut self.batch, next);
        batch.sent = size;
        self.in_flight += size;
        self.other_side_idle = Some(self.idle_share(behind));
        self.stopped = self.full.send(batch).is_err();
    }

    /// The share of the time since the last batch was sent that the other side spent idle, if
    /// it is [idle](Pace::idle) now and this side was not `behind`; 0 otherwise, and at the
    /// first batch (the other side had nothing to work on, whatever its load will be).
    fn idle_share(&mut self, behind: bool) -> f64 {
        let (now, busy) = (Instant::now(), self.pace.busy());
        let Some((then, busy_then)) = self.last_sent.replace((now, busy)) else { return 0.0 };
        if behind || !self.pace.idle(self.handed_over) {
            return 0.0;
        }
        let busy_share = (busy - busy_then).as_secs_f64() / (now - then).as_secs_f64().max(f64::MIN_POSITIVE);
        (1.0 - busy_share).clamp(0.0, 1.0)
    }

    /// Hands a connection's message assemblers over to the other side, between messages.
    fn hand_over(&mut self, key: u64, directions: Directions) {
        self.handed_over += 1;
        self.batch.handovers += 1;
        self.push(Event::Handover { key, directions });
    }

    /// A batch given back, emptied: its bytes are no longer out, and it may be filled again.
    fn reclaim(&mut self, mut batch: Batch) {
        self.in_flight -= batch.sent;
        // One that carried a large payload does not keep its memory.
        batch.bytes.shrink_to(BATCH_BYTES);
        self.spares.push(batch);
    }
}

/// How the printing thread keeps up, told to the reading thread, which hands it connections
/// while it is idle.
#[derive(Debug, Default)]
pub(crate) struct Pace {
    /// The printing thread waits for a batch, having replayed every one sent.
    waiting: AtomicBool,
    /// Connections handed over in the batches it has received.
    taken_over: AtomicUsize,
    /// Nanoseconds it has spent replaying batches.
    busy: AtomicU64,
}

impl Pace {
    /// A printing thread that is always waiting, for tests that replay batches as they are sent.
    #[cfg(test)]
    pub(crate) fn always_waiting() -> Self {
        Pace { waiting: AtomicBool::new(true), taken_over: AtomicUsize::new(0), busy: AtomicU64::new(0) }
    }

    /// The next batch on `full`, for the printing thread.
    pub(crate) fn receive(&self, full: &Receiver<Batch>) -> Result<Batch, RecvError> {
        let batch = full.try_recv().or_else(|_| {
            self.waiting.store(true, Ordering::Relaxed);
            let batch = full.recv();
            self.waiting.store(false, Ordering::Relaxed);
            batch
        })?;
        self.taken(&batch);
        Ok(batch)
    }

    /// Counts the connections handed over in `batch`, received.
    pub(crate) fn taken(&self, batch: &Batch) {
        self.taken_over.fetch_add(batch.handovers, Ordering::Relaxed);
    }

    /// The printing thread replayed a batch in `time`.
    pub(crate) fn worked(&self, time: Duration) {
        self.busy.fetch_add(u64::try_from(time.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The time the printing thread has spent replaying batches so far.
    fn busy(&self) -> Duration {
        Duration::from_nanos(self.busy.load(Ordering::Relaxed))
    }

    /// Whether the printing thread is idle: it waits for work (a batch already there would mean
    /// it is behind), having received every one of the `handed_over` connections (until then
    /// their load is not felt, and more would overshoot the balance, as they cannot be handed
    /// back).
    fn idle(&self, handed_over: usize) -> bool {
        self.waiting.load(Ordering::Relaxed) && self.taken_over.load(Ordering::Relaxed) == handed_over
    }
}

/// The message stage hands each finished frame to the batch.
impl Output for BatchSender {
    fn frame(&mut self, f: &Frame<'_>) {
        let message_len = f.message.map_or(0, |m| m.data.len());
        // A large frame or message goes in a batch of its own, so that no batch holds much
        // more than BATCH_BYTES beside it.
        if self.batch.bytes.len() + f.payload.len() + message_len > BATCH_BYTES {
            self.flush();
        }
        let batch = &mut self.batch;
        let payload = batch.keep(f.payload);
        let message = f.message.map(|m| {
            let start = batch.fragments.len();
            batch.fragments.extend_from_slice(m.fragments);
            // A message of one plain frame is that frame's payload: not copied twice.
            let data = (!std::ptr::eq(m.data, f.payload)).then(|| batch.keep(m.data));
            MessageEvent {
                opcode: m.opcode,
                compressed: m.compressed,
                fragments: start..batch.fragments.len(),
                wire_length: m.wire_length,
                length: m.length,
                data,
                complete: m.complete,
                inflate_failed: m.inflate_failed,
            }
        });
        let start = batch.experts.len();
        batch.experts.extend_from_slice(f.expert);
        batch.frames.push(FrameEvent {
            packet: f.packet,
            first_packet: f.first_packet,
            header: f.header,
            payload,
            payload_seen: f.payload_seen,
            cut: f.cut,
            message,
            expert: start..batch.experts.len(),
        });
        self.push(Event::Frame { key: f.connection.key(), from_client: f.from_client });
    }

    fn done(&self) -> bool {
        self.stopped
    }
}

/// The reading thread's sink: frames of the connections it inflates go through the message
/// stage there and are sent finished, the others are sent decoded; each connection's details go
/// before its frames.
pub(crate) struct Staged<'a> {
    stage: &'a mut MessageStage,
    pub(crate) sender: BatchSender,
    /// Compressed connections whose messages this thread inflates, with their assemblers.
    inflated_here: ByKey,
    /// Connections still to hand over to the other thread, at their next frame between messages.
    to_hand_over: usize,
}

impl<'a> Staged<'a> {
    pub(crate) fn new(stage: &'a mut MessageStage, sender: BatchSender) -> Self {
        Staged { stage, sender, inflated_here: ByKey::default(), to_hand_over: 0 }
    }

    /// Whether this thread inflates the connection's messages at first: every compressed
    /// connection does (when payloads are kept to inflate).
    fn starts_here(&self, info: &ConnectionInfo) -> bool {
        info.deflate.is_some() && self.stage.limits().max_message > 0
    }
}

impl FrameSink for Staged<'_> {
    fn connection(&mut self, info: &ConnectionInfo) {
        self.sender.push(Event::Connection(Some(Box::new(info.clone()))));
    }

    fn handshake(&mut self, info: &ConnectionInfo, packet: PacketMeta, expert: &[Expert]) {
        if self.starts_here(info) {
            self.inflated_here.insert(info.key(), Directions::default());
        }
        self.sender.push(Event::Handshake(Box::new((info.key(), packet, expert.to_vec()))));
    }

    fn frame(&mut self, info: &ConnectionInfo, from_client: bool, f: &DecodedFrame<'_, PacketMeta>) {
        if let Some(idle) = self.sender.other_side_idle.take() {
            self.to_hand_over = hand_over_share(self.inflated_here.len(), idle);
        }
        let key = info.key();
        // Only compressed connections pay for the look-up.
        if info.deflate.is_some()
            && let Some(directions) = self.inflated_here.get_mut(&key)
        {
            if self.to_hand_over == 0 || !directions.idle() {
                return self.stage.frame(directions, info, from_client, f, &mut self.sender);
            }
            self.to_hand_over -= 1;
            let directions = self.inflated_here.remove(&key).expect("found above");
            self.stage.hand_over(&directions);
            self.sender.hand_over(key, directions);
        }
        let sender = &mut self.sender;
        if sender.batch.bytes.len() + f.payload.len() > BATCH_BYTES {
            sender.flush();
        }
        let payload = sender.batch.keep(f.payload);
        sender.batch.decoded.push(DecodedEvent {
            header: f.header,
            payload,
            payload_seen: f.payload_seen,
            cut: f.cut,
            meta: f.meta,
            first_packet: f.first_packet,
            after_loss: f.after_loss,
        });
        sender.push(Event::Decoded { key, from_client });
    }

    /// The printing thread decodes the frames of connections this one does not start with
    /// (their messages are assembled there anyway).
    fn decodes(&self, info: &ConnectionInfo) -> bool {
        !self.starts_here(info)
    }

    fn hand_over_decoder(&mut self, info: &ConnectionInfo, from_client: bool, decoder: Box<FrameDecoder<PacketMeta>>) {
        self.sender.push(Event::Decoder { key: info.key(), from_client, decoder: Some(decoder) });
    }

    fn bytes(&mut self, info: &ConnectionInfo, from_client: bool, d: Delivery<'_, PacketMeta>) {
        let key = info.key();
        let sender = &mut self.sender;
        match d {
            Delivery::Data(bytes, meta) => {
                if sender.batch.bytes.len() + bytes.len() > BATCH_BYTES {
                    sender.flush();
                }
                let bytes = sender.batch.keep(bytes);
                sender.batch.pieces.push(Piece { bytes, meta });
                sender.push(Event::Bytes { key, from_client });
            }
            Delivery::Gap(len, _) => sender.push(Event::Gap { key, from_client, len }),
        }
    }

    fn stream_end(&mut self, info: &ConnectionInfo, from_client: bool) {
        self.sender.push(Event::StreamEnd { key: info.key(), from_client });
    }

    fn closed(&mut self, key: u64) {
        if let Some(directions) = self.inflated_here.remove(&key) {
            self.stage.closed(key, &directions);
        }
        self.sender.push(Event::Closed(key));
    }
}

/// How many of the `held` connections this thread inflates to hand over when the other thread
/// was `idle` that share of the time: enough to take half that idle time's worth of inflating
/// off this thread were inflating all it does. As it also reads, decodes and batches, that is
/// short of the balance, which is then neared batch by batch and not passed (a connection is
/// not handed back).
fn hand_over_share(held: usize, idle: f64) -> usize {
    (held as f64 * idle / 2.0).ceil() as usize
}

/// The printing thread's end: decodes the frames of its share of the connections and
/// assembles their messages, and replays batches into the output, with its own copy of each
/// connection's details.
#[derive(Debug)]
pub(crate) struct Replay {
    connections: HashMap<u64, Connection, foldhash::fast::RandomState>,
    pub(crate) stage: MessageStage,
}

/// A connection as the printing thread knows it.
#[derive(Debug)]
struct Connection {
    info: Box<ConnectionInfo>,
    /// (server's, client's) frame decoders, once handed over.
    decoders: [Option<Box<FrameDecoder<PacketMeta>>>; 2],
    /// Its message assemblers, unless the reading thread still has them.
    directions: Directions,
}

impl Replay {
    /// A replay whose message stage works as `stage` does (its limits, and whether it
    /// assembles messages).
    pub(crate) fn beside(stage: &MessageStage) -> Self {
        Replay { connections: HashMap::default(), stage: stage.twin() }
    }

    /// Replays `batch` and empties it; stops early once `out` is done.
    pub(crate) fn batch(&mut self, batch: &mut Batch, out: &mut impl Output) {
        // Frames' details and pieces are read in the order of their events.
        let (mut decoded, mut frames, mut pieces) = (batch.decoded.iter(), batch.frames.iter(), batch.pieces.iter());
        for event in &mut batch.events {
            if out.done() {
                break;
            }
            match event {
                Event::Start(first_ts) => out.capture_start(&Context { first_ts: *first_ts, ..Context::default() }),
                Event::Connection(info) => {
                    if let Some(info) = info.take() {
                        match self.connections.entry(info.key()) {
                            Entry::Occupied(mut known) => known.get_mut().info = info,
                            Entry::Vacant(new) => {
                                new.insert(Connection {
                                    info,
                                    decoders: [None, None],
                                    directions: Directions::default(),
                                });
                            }
                        }
                    }
                }
                Event::Handshake(handshake) => {
                    let (key, packet, expert) = &**handshake;
                    let Some(connection) = self.connection(*key) else { continue };
                    out.handshake(&HandshakeEvent { packet: *packet, connection, expert });
                }
                Event::Decoder { key, from_client, decoder } => {
                    if let Some(connection) = self.connections.get_mut(key) {
                        connection.decoders[usize::from(*from_client)] = decoder.take();
                    }
                }
                Event::Bytes { key, from_client } => {
                    let piece = pieces.next().expect("a piece for each event");
                    let bytes = &batch.bytes[piece.bytes.clone()];
                    self.decode(*key, *from_client, Step::Bytes(bytes, piece.meta), out);
                }
                Event::Gap { key, from_client, len } => self.decode(*key, *from_client, Step::Gap(*len), out),
                Event::StreamEnd { key, from_client } => self.decode(*key, *from_client, Step::End, out),
                Event::Decoded { key, from_client } => {
                    let f = decoded.next().expect("a decoded frame for each event");
                    let Some(Connection { info, directions, .. }) = self.connections.get_mut(key) else { continue };
                    let decoded = DecodedFrame {
                        header: f.header,
                        payload: &batch.bytes[f.payload.clone()],
                        payload_seen: f.payload_seen,
                        cut: f.cut,
                        meta: f.meta,
                        first_packet: f.first_packet,
                        after_loss: f.after_loss,
                    };
                    self.stage.frame(directions, info, *from_client, &decoded, out);
                }
                Event::Frame { key, from_client } => {
                    let f = frames.next().expect("a finished frame for each event");
                    let Some(connection) = self.connection(*key) else { continue };
                    let payload = &batch.bytes[f.payload.clone()];
                    let message = f.message.as_ref().map(|m| Message {
                        opcode: m.opcode,
                        compressed: m.compressed,
                        fragments: &batch.fragments[m.fragments.clone()],
                        wire_length: m.wire_length,
                        length: m.length,
                        data: m.data.clone().map_or(payload, |r| &batch.bytes[r]),
                        complete: m.complete,
                        inflate_failed: m.inflate_failed,
                    });
                    out.frame(&Frame {
                        packet: f.packet,
                        first_packet: f.first_packet,
                        connection,
                        from_client: *from_client,
                        header: f.header,
                        payload,
                        payload_seen: f.payload_seen,
                        cut: f.cut,
                        message,
                        expert: &batch.experts[f.expert.clone()],
                    });
                }
                Event::Handover { key, directions } => {
                    if let Some(connection) = self.connections.get_mut(key) {
                        connection.directions = std::mem::take(directions);
                    }
                }
                Event::Closed(key) => {
                    if let Some(connection) = self.connections.remove(key) {
                        self.stage.closed(*key, &connection.directions);
                    }
                }
            }
        }
        batch.events.clear();
        batch.decoded.clear();
        batch.frames.clear();
        batch.pieces.clear();
        batch.bytes.clear();
        batch.fragments.clear();
        batch.experts.clear();
        batch.handovers = 0;
    }

    /// The next step of a direction whose frames are decoded here; its frames go through the
    /// stage to `out`.
    fn decode(&mut self, key: u64, from_client: bool, step: Step<'_>, out: &mut impl Output) {
        let Some(Connection { info, decoders, directions }) = self.connections.get_mut(&key) else { return };
        let Some(decoder) = decoders[usize::from(from_client)].as_mut() else { return };
        let stage = &mut self.stage;
        let mut emit = |f: DecodedFrame<'_, PacketMeta>| stage.decoded_frame(directions, info, from_client, &f, out);
        match step {
            Step::Bytes(bytes, meta) => decoder.feed(bytes, meta, &mut emit),
            Step::Gap(len) => decoder.gap(len, &mut emit),
            Step::End => {
                decoder.finish(&mut emit);
                stage.resync_skipped(decoder.skipped_bytes);
            }
        }
    }

    /// The details of a connection, which the reading thread sends before anything else of it.
    fn connection(&self, key: u64) -> Option<&ConnectionInfo> {
        let info = self.connections.get(&key).map(|c| &*c.info);
        debug_assert!(info.is_some(), "connection {key:#x} reported before its details");
        info
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn the_printing_side_is_idle_only_while_it_waits_with_every_handover_received() {
        let pace = Pace::always_waiting();
        assert!(pace.idle(0));
        // One handed over and not received yet: its load is not felt.
        assert!(!pace.idle(1));
        pace.taken(&Batch { handovers: 1, ..Batch::default() });
        assert!(pace.idle(1));

        // Receiving: waiting only while nothing is there.
        let pace = Arc::new(Pace::default());
        let (full, batches) = mpsc::sync_channel::<Batch>(1);
        full.send(Batch::default()).unwrap();
        assert!(pace.receive(&batches).is_ok());
        assert!(!pace.idle(0), "a batch was there: no wait");
        let printing = std::thread::spawn({
            let pace = Arc::clone(&pace);
            move || pace.receive(&batches).map(|b| b.handovers)
        });
        let since = Instant::now();
        while !pace.idle(0) {
            assert!(since.elapsed() < Duration::from_secs(10), "never seen waiting");
            std::thread::yield_now();
        }
        full.send(Batch { handovers: 2, ..Batch::default() }).unwrap();
        assert_eq!(printing.join().unwrap().unwrap(), 2);
        assert!(!pace.idle(2), "no longer waiting");
        assert_eq!(pace.taken_over.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn connections_are_handed_over_by_the_share_of_time_the_printing_side_was_idle() {
        let pace = Arc::new(Pace::always_waiting());
        let (full, _batches) = mpsc::sync_channel::<Batch>(8);
        let (_empty, empty) = mpsc::channel::<Batch>();
        let mut sender = BatchSender::new(full, empty, Arc::clone(&pace));
        let send = |sender: &mut BatchSender| {
            sender.start(0);
            sender.flush();
            sender.other_side_idle.take()
        };
        // The first batch: there was nothing to work on.
        assert_eq!(send(&mut sender), Some(0.0));
        // Idle all the time since.
        assert_eq!(send(&mut sender), Some(1.0));
        // Busy for longer than the time since (as measured): not idle at all.
        pace.worked(Duration::from_secs(3600));
        assert_eq!(send(&mut sender), Some(0.0));
        // A connection handed over and not yet received: its load is not felt, so no share.
        sender.handed_over = 1;
        assert_eq!(send(&mut sender), Some(0.0));

        assert_eq!(hand_over_share(400, 0.0), 0);
        assert_eq!(hand_over_share(400, 1.0), 200);
        assert_eq!(hand_over_share(400, 0.3), 60);
        assert_eq!(hand_over_share(3, 0.01), 1, "any idle time hands one over");
    }
}
