//! Carries what the first half of the pipeline reports to the thread running the second half,
//! in batches: a few thousand reports and their payload bytes per channel message, so that the
//! cost of crossing threads is paid per batch, not per frame. Batches go back empty for reuse.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender};

use super::stage::{FrameSink, MessageStage};
use super::{ConnectionInfo, HandshakeEvent, Output, PacketMeta};
use crate::fields::Context;
use crate::ws::expert::Expert;
use crate::ws::frame::FrameHeader;
use crate::ws::stream::{Cut, DecodedFrame};

/// A batch is sent once it holds this many reports...
const BATCH_EVENTS: usize = 4096;
/// ...or this many payload bytes.
const BATCH_BYTES: usize = 1 << 20;
/// Payload bytes sent and not yet given back, beyond which the sender waits (unless nothing is
/// out: a frame larger than this still goes, alone).
const IN_FLIGHT_BYTES: usize = 8 << 20;

/// One report of the first half, owned.
#[derive(Debug)]
enum Event {
    /// The first record's time (the capture's [`Context`]).
    Start(i64),
    Connection(Box<ConnectionInfo>),
    Handshake {
        stream: u32,
        packet: PacketMeta,
        expert: Vec<Expert>,
    },
    Frame {
        stream: u32,
        from_client: bool,
        frame: FrameEvent,
    },
    Closed(u32),
}

/// A [`DecodedFrame`] whose payload is a range of its batch's bytes.
#[derive(Debug)]
struct FrameEvent {
    header: FrameHeader,
    payload: Range<usize>,
    payload_seen: u64,
    cut: Option<Cut>,
    meta: PacketMeta,
    first: PacketMeta,
}

/// Reports and the payload bytes they refer to.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    events: Vec<Event>,
    bytes: Vec<u8>,
    /// Payload bytes it carried when sent.
    sent: usize,
}

/// The first half's sink on its own thread: fills batches and sends them.
pub(crate) struct BatchSender {
    batch: Batch,
    full: SyncSender<Batch>,
    empty: Receiver<Batch>,
    /// An emptied batch to fill next.
    spare: Option<Batch>,
    /// Payload bytes in batches sent and not yet given back.
    in_flight: usize,
    /// The other side has stopped taking batches (its output is done).
    pub(crate) stopped: bool,
}

impl BatchSender {
    /// Sends full batches on `full`, takes emptied ones back from `empty`.
    pub(crate) fn new(full: SyncSender<Batch>, empty: Receiver<Batch>) -> Self {
        BatchSender { batch: Batch::default(), full, empty, spare: None, in_flight: 0, stopped: false }
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
        while self.in_flight > 0 && self.in_flight + size > IN_FLIGHT_BYTES {
            match self.empty.recv() {
                Ok(batch) => self.reclaim(batch),
                Err(_) => {
                    self.stopped = true;
                    return;
                }
            }
        }
        let next = self.spare.take().unwrap_or_default();
        let mut batch = std::mem::replace(&mut self.batch, next);
        batch.sent = size;
        self.in_flight += size;
        self.stopped = self.full.send(batch).is_err();
    }

    /// A batch given back, emptied: its bytes are no longer out, and it may be filled again.
    fn reclaim(&mut self, mut batch: Batch) {
        self.in_flight -= batch.sent;
        if self.spare.is_none() {
            // One that carried a large payload does not keep its memory.
            batch.bytes.shrink_to(BATCH_BYTES);
            self.spare = Some(batch);
        }
    }
}

impl FrameSink for BatchSender {
    fn connection(&mut self, info: &ConnectionInfo) {
        self.push(Event::Connection(Box::new(info.clone())));
    }

    fn handshake(&mut self, info: &ConnectionInfo, packet: PacketMeta, expert: &[Expert]) {
        self.push(Event::Handshake { stream: info.stream, packet, expert: expert.to_vec() });
    }

    fn frame(&mut self, info: &ConnectionInfo, from_client: bool, f: &DecodedFrame<'_, PacketMeta>) {
        // A large payload goes in a batch of its own, so that no batch holds much more than
        // BATCH_BYTES beside it.
        if self.batch.bytes.len() + f.payload.len() > BATCH_BYTES {
            self.flush();
        }
        let start = self.batch.bytes.len();
        self.batch.bytes.extend_from_slice(f.payload);
        let frame = FrameEvent {
            header: f.header,
            payload: start..self.batch.bytes.len(),
            payload_seen: f.payload_seen,
            cut: f.cut,
            meta: f.meta,
            first: f.first,
        };
        self.push(Event::Frame { stream: info.stream, from_client, frame });
    }

    fn closed(&mut self, stream: u32) {
        self.push(Event::Closed(stream));
    }
}

/// The second half's end: replays batches into the message stage and the output, with its own
/// copy of each connection's details.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    connections: HashMap<u32, Box<ConnectionInfo>, foldhash::fast::RandomState>,
}

impl Replay {
    /// Replays `batch` and empties it; stops early once `out` is done.
    pub(crate) fn batch(&mut self, batch: &mut Batch, stage: &mut MessageStage, out: &mut impl Output) {
        for event in batch.events.drain(..) {
            if out.done() {
                break;
            }
            match event {
                Event::Start(first_ts) => out.capture_start(&Context { first_ts }),
                Event::Connection(info) => {
                    self.connections.insert(info.stream, info);
                }
                Event::Handshake { stream, packet, expert } => {
                    let Some(connection) = self.connection(stream) else { continue };
                    out.handshake(&HandshakeEvent { packet, connection, expert: &expert });
                }
                Event::Frame { stream, from_client, frame: f } => {
                    let Some(connection) = self.connection(stream) else { continue };
                    let decoded = DecodedFrame {
                        header: f.header,
                        payload: &batch.bytes[f.payload],
                        payload_seen: f.payload_seen,
                        cut: f.cut,
                        meta: f.meta,
                        first: f.first,
                    };
                    stage.frame(connection, from_client, &decoded, out);
                }
                Event::Closed(stream) => {
                    self.connections.remove(&stream);
                    stage.closed(stream);
                }
            }
        }
        batch.bytes.clear();
    }

    /// The details of a connection, which the transport sends before anything else of it.
    fn connection(&self, stream: u32) -> Option<&ConnectionInfo> {
        let info = self.connections.get(&stream).map(|c| &**c);
        debug_assert!(info.is_some(), "tcp.stream {stream} reported before its details");
        info
    }
}
