//! The library's front door: open a capture (a path, any reader, or bytes), then iterate its
//! WebSocket frames or messages as owned, typed values, optionally through a display filter.
//!
//! ```
//! use wsdissect::Dissector;
//!
//! let texts: Vec<String> = Dissector::open("testdata/crafted/fragments.pcap")?
//!     .filter("websocket.message.opcode == 1")?
//!     .messages()
//!     .map(|m| m.map(|m| m.text().unwrap_or_default().to_string()))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(texts[0], "Hello fragmented world");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! For streaming without copies (what the command line does), give [`Dissector::run`] an
//! [`Output`]: it sees every [`Frame`] as the analyzer produces it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::Instant;

use crate::analyzer::batch::{Batch, BatchSender, Pace, Replay, Staged};
use crate::analyzer::{Analyzer, Config, Endpoint, Frame, HandshakeEvent, Output, PacketMeta};
use crate::capture::live::LiveCapture;
use crate::capture::set::CaptureSet;
use crate::capture::{Block, CaptureError, CaptureReader};
use crate::fields::Context;
use crate::filter::{Filter, FilterError};
use crate::ws::expert::Expert;
use crate::ws::frame::{FrameHeader, Opcode, close_body};
use crate::ws::stream::Cut;

/// A message, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedMessage {
    /// `tcp.stream` of its connection.
    pub stream: u32,
    /// `http2.streamid`: over HTTP/2 (RFC 8441), the stream carrying the WebSocket.
    pub http2_stream: Option<u32>,
    /// Sent by the client.
    pub from_client: bool,
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
    /// Capture time of the packet that completed it, nanoseconds since the epoch.
    pub ts_nanos: i64,
    /// The first frame's opcode.
    pub opcode: Opcode,
    /// Sent compressed (permessage-deflate).
    pub compressed: bool,
    /// Packet numbers of its frames.
    pub frames: Vec<u64>,
    /// Length after inflating.
    pub length: u64,
    /// Payload bytes on the wire.
    pub wire_length: u64,
    /// The payload, joined and inflated (a prefix when not `complete`).
    pub data: Vec<u8>,
    /// The whole payload was captured, kept and inflated.
    pub complete: bool,
    /// What is wrong with it or its last frame.
    pub expert: Vec<Expert>,
}

impl OwnedMessage {
    /// The text of a text message of valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        (self.opcode == Opcode::TEXT).then(|| std::str::from_utf8(&self.data).ok()).flatten()
    }

    /// A close message's status code.
    pub fn close_code(&self) -> Option<u16> {
        if self.opcode == Opcode::CLOSE { close_body(&self.data).0 } else { None }
    }
}

/// A frame, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFrame {
    /// The packet carrying its last byte.
    pub packet: PacketMeta,
    /// `tcp.stream`.
    pub stream: u32,
    /// `http2.streamid`: over HTTP/2 (RFC 8441), the stream carrying the WebSocket.
    pub http2_stream: Option<u32>,
    /// Sent by the client.
    pub from_client: bool,
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
    /// The header.
    pub header: FrameHeader,
    /// The payload, unmasked (up to the configured limit).
    pub payload: Vec<u8>,
    /// Set when the capture does not hold the frame whole.
    pub cut: Option<Cut>,
    /// The message the frame completes.
    pub message: Option<OwnedMessage>,
    /// What is wrong with the frame.
    pub expert: Vec<Expert>,
}

impl OwnedFrame {
    /// Copies a frame out of the analyzer.
    pub fn from_frame(f: &Frame<'_>) -> Self {
        let message = f.message.map(|m| OwnedMessage {
            stream: f.connection.stream,
            http2_stream: f.connection.http2_stream,
            from_client: f.from_client,
            src: f.src(),
            dst: f.dst(),
            ts_nanos: f.packet.ts_nanos,
            opcode: m.opcode,
            compressed: m.compressed,
            frames: m.fragments.iter().map(|x| x.packet).collect(),
            length: m.length,
            wire_length: m.wire_length,
            data: m.data.to_vec(),
            complete: m.complete,
            expert: f.expert.to_vec(),
        });
        OwnedFrame {
            packet: f.packet,
            stream: f.connection.stream,
            http2_stream: f.connection.http2_stream,
            from_client: f.from_client,
            src: f.src(),
            dst: f.dst(),
            header: f.header,
            payload: f.payload.to_vec(),
            cut: f.cut,
            message,
            expert: f.expert.to_vec(),
        }
    }
}

/// Errors opening a capture or compiling a filter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The capture could not be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The display filter is wrong.
    #[error("invalid filter: {0}")]
    Filter(#[from] FilterError),
}

/// Where records come from: one capture, or a set of files merged by time.
enum Source<R> {
    One(CaptureReader<R>),
    Set(CaptureSet),
    Live(LiveCapture),
}

impl<R: Read> Source<R> {
    fn next_block(&mut self) -> Result<Option<Block<'_>>, CaptureError> {
        match self {
            Source::One(reader) => reader.next_block(),
            Source::Set(set) => set.next_block(),
            Source::Live(live) => Ok(live.next_block()?),
        }
    }

    /// Reads a single capture ahead on a thread of `scope`, until
    /// [`stop_reading_ahead`](Self::stop_reading_ahead).
    fn read_ahead<'scope>(&mut self, scope: &'scope std::thread::Scope<'scope, '_>)
    where
        R: Send + 'scope,
    {
        if let Source::One(reader) = self {
            reader.read_ahead(scope);
        }
    }

    fn stop_reading_ahead(&mut self) {
        if let Source::One(reader) = self {
            reader.stop_reading_ahead();
        }
    }

    fn packets_read(&self) -> u64 {
        match self {
            Source::One(reader) => reader.packets_read(),
            Source::Set(set) => set.packets_read(),
            Source::Live(live) => live.packets_read(),
        }
    }

    fn is_pcapng(&self) -> bool {
        match self {
            Source::One(reader) => reader.is_pcapng(),
            Source::Set(set) => set.is_pcapng(),
            Source::Live(_) => false,
        }
    }
}

/// A capture being dissected.
pub struct Dissector<R> {
    reader: Source<R>,
    analyzer: Analyzer,
    ctx: Context,
    filter: Option<Filter>,
    queue: VecDeque<OwnedFrame>,
    finished: bool,
    /// A damaged record, reported once the frames before it are out.
    error: Option<CaptureError>,
    /// The printing thread's state after [`Dissector::run_parallel`]: its connections, kept
    /// as the analyzer keeps its own, until the dissector is dropped.
    printed: Option<Replay>,
}

impl Dissector<BufReader<File>> {
    /// Opens a capture file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| Error::Open { path: path.display().to_string(), source })?;
        Ok(Self::from_reader(BufReader::new(file))?)
    }
}

impl<R: Read> Dissector<R> {
    /// Dissects several capture files as one ([`CaptureSet`]): packets merged by time and
    /// numbered across the set, `frame.file` naming each one's file.
    pub fn from_set(set: CaptureSet) -> Self {
        let files = set.names().into();
        let mut dissector = Self::from_source(Source::Set(set));
        dissector.ctx.files = files;
        dissector
    }

    /// Dissects packets as they arrive on network interfaces ([`LiveCapture`]); [`run`]
    /// (one thread) reports each frame as soon as its last packet is read.
    ///
    /// [`run`]: Dissector::run
    pub fn from_live(live: LiveCapture) -> Self {
        Self::from_source(Source::Live(live))
    }

    fn from_source(reader: Source<R>) -> Self {
        Dissector {
            reader,
            analyzer: Analyzer::new(Config::default()),
            ctx: Context::default(),
            filter: None,
            queue: VecDeque::new(),
            finished: false,
            error: None,
            printed: None,
        }
    }

    /// The live capture, to save what it captured (`-w`).
    pub fn live_mut(&mut self) -> Option<&mut LiveCapture> {
        match &mut self.reader {
            Source::Live(live) => Some(live),
            _ => None,
        }
    }

    /// The set's files that were set aside (not a capture, damaged, cut short), and why.
    pub fn damaged_files(&self) -> &[(usize, CaptureError)] {
        match &self.reader {
            Source::Set(set) => set.damaged(),
            Source::One(_) | Source::Live(_) => &[],
        }
    }
}

impl Dissector<std::io::Empty> {
    /// Opens several capture files as one ([`Dissector::from_set`]).
    pub fn open_set(paths: &[impl AsRef<Path>]) -> Result<Self, Error> {
        let set = CaptureSet::open(paths).map_err(|(path, source)| Error::Open { path, source })?;
        Ok(Self::from_set(set))
    }
}

impl<'a> Dissector<&'a [u8]> {
    /// Dissects a capture held in memory.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, CaptureError> {
        Self::from_reader(bytes)
    }
}

impl<R: Read> Dissector<R> {
    /// Dissects a capture read from `reader` (a file, standard input, a socket...).
    pub fn from_reader(reader: R) -> Result<Self, CaptureError> {
        Ok(Self::from_source(Source::One(CaptureReader::new(reader)?)))
    }

    /// Sets the analyzer's limits (before anything is read).
    pub fn with_config(mut self, config: Config) -> Self {
        self.analyzer = Analyzer::new(config);
        self
    }

    /// Keeps only the frames a display filter selects.
    pub fn filter(mut self, expr: &str) -> Result<Self, FilterError> {
        self.filter = Some(Filter::compile(expr)?);
        Ok(self)
    }

    /// Names the capture's file, for `frame.file`.
    pub fn with_file_name(mut self, name: &str) -> Self {
        self.ctx.files = vec![name.to_string()].into();
        self
    }

    /// Context for fields that need the capture (e.g. `frame.time_relative`).
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Streams the capture to `out`, frame by frame and without copies (the filter, if any,
    /// applies), until its end or until `out` is [done](Output::done). Stops at the first
    /// damaged record, after what came before it.
    pub fn run(&mut self, out: &mut impl Output) -> Result<(), CaptureError> {
        let mut result = Ok(());
        while !out.done() {
            match self.step(out) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if out.done() {
            self.finished = true;
        } else {
            self.finish(out);
        }
        result
    }

    /// [`run`](Self::run) on two threads: another one reads the capture and decodes TCP and
    /// frames (a single capture read ahead of it by a third, `capture::ahead`), while this one
    /// joins, inflates and checks messages, runs the filter and `out`
    /// (the other thread also inflates compressed connections, and hands them over here one by
    /// one while this one waits for work). `out` sees exactly what `run` would show it, in the
    /// same order.
    pub fn run_parallel(&mut self, out: &mut impl Output) -> Result<(), CaptureError>
    where
        R: Send,
    {
        /// Batches in flight: enough to keep both threads busy, few enough to bound memory.
        const QUEUE: usize = 2;
        let Dissector { reader, analyzer, ctx, filter, .. } = self;
        let (transport, stage) = analyzer.halves();
        let mut replay = Replay::beside(stage);
        let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(QUEUE);
        let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
        let pace = Arc::new(Pace::default());
        let sender = BatchSender::new(full_tx, empty_rx, Arc::clone(&pace));
        let result = std::thread::scope(|scope| {
            reader.read_ahead(scope);
            let decoding = scope.spawn(move || {
                // However this thread ends, the one reading ahead for it stops too.
                let reader = StopReadingAhead(reader);
                let mut sink = Staged::new(stage, sender);
                let result = loop {
                    if sink.sender.stopped {
                        break Ok(());
                    }
                    match reader.0.next_block() {
                        Ok(Some(Block::Packet(record))) => {
                            if record.number == 1 {
                                sink.sender.start(record.ts_nanos);
                            }
                            transport.packet(&record, &mut sink);
                        }
                        Ok(Some(Block::Secrets(text))) => transport.add_secrets(text),
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                };
                if !sink.sender.stopped {
                    transport.finish(&mut sink);
                }
                sink.sender.flush();
                result
            });
            let mut sink = Filtered { filter: filter.as_ref(), ctx, out };
            while !sink.done()
                && let Ok(mut batch) = pace.receive(&full_rx)
            {
                let started = Instant::now();
                replay.batch(&mut batch, &mut sink);
                pace.worked(started.elapsed());
                // The decoding side may have finished: then the batch is not needed.
                let _ = empty_tx.send(batch);
            }
            // Unblocks the decoding side if the output stopped first.
            drop(full_rx);
            drop(empty_tx);
            decoding.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        analyzer.count_messages_of(&replay.stage);
        self.printed = Some(replay);
        self.finished = true;
        result
    }

    /// Reads one record and hands what it completes to `out`; false at the end of the capture.
    fn step(&mut self, out: &mut impl Output) -> Result<bool, CaptureError> {
        let Dissector { reader, analyzer, ctx, filter, .. } = self;
        let record = match reader.next_block()? {
            Some(Block::Packet(record)) => record,
            Some(Block::Secrets(text)) => {
                analyzer.add_secrets(text);
                return Ok(true);
            }
            None => return Ok(false),
        };
        let mut sink = Filtered { filter: filter.as_ref(), ctx, out };
        if record.number == 1 {
            sink.capture_start(&Context { first_ts: record.ts_nanos, ..Context::default() });
        }
        analyzer.packet(&record, &mut sink);
        Ok(true)
    }

    /// Ends the capture: hands `out` the frames still unfinished.
    fn finish(&mut self, out: &mut impl Output) {
        let Dissector { analyzer, ctx, filter, .. } = self;
        analyzer.finish(&mut Filtered { filter: filter.as_ref(), ctx, out });
        self.finished = true;
    }

    /// Records read so far.
    pub fn packets_read(&self) -> u64 {
        self.reader.packets_read()
    }

    /// Whether the capture is pcapng.
    pub fn is_pcapng(&self) -> bool {
        self.reader.is_pcapng()
    }

    /// The TLS secrets: those of the config, and those found in the capture so far.
    pub fn keylog(&self) -> &crate::tls::keylog::KeyLog {
        self.analyzer.keylog()
    }

    /// The analyzer's counters so far (packets skipped, gaps, frames...).
    pub fn stats(&self) -> crate::analyzer::Stats {
        self.analyzer.stats()
    }

    /// Every (selected) frame, in the order the analyzer completes them.
    pub fn frames(self) -> Frames<R> {
        Frames(self)
    }

    /// Every (selected) frame's message, for the frames that complete one.
    pub fn messages(self) -> impl Iterator<Item = Result<OwnedMessage, CaptureError>> {
        self.frames().filter_map(|f| f.map(|f| f.message).transpose())
    }
}

/// The capture of [`Dissector::run_parallel`]'s reading thread, which stops the thread reading
/// ahead for it when dropped (were it left blocked on a full queue, the run would never end).
struct StopReadingAhead<'a, R: Read>(&'a mut Source<R>);

impl<R: Read> Drop for StopReadingAhead<'_, R> {
    fn drop(&mut self) {
        self.0.stop_reading_ahead();
    }
}

/// An [`Output`] that passes on what a filter selects.
struct Filtered<'a, O> {
    filter: Option<&'a Filter>,
    ctx: &'a mut Context,
    out: &'a mut O,
}

impl<O: Output> Output for Filtered<'_, O> {
    fn done(&self) -> bool {
        self.out.done()
    }

    /// The first packet's time, with the file names the dissector knows.
    fn capture_start(&mut self, ctx: &Context) {
        self.ctx.first_ts = ctx.first_ts;
        self.out.capture_start(self.ctx);
    }

    fn frame(&mut self, frame: &Frame<'_>) {
        if self.filter.is_none_or(|f| f.matches(self.ctx, frame)) {
            self.out.frame(frame);
        }
    }

    fn handshake(&mut self, handshake: &HandshakeEvent<'_>) {
        if self.filter.is_none() {
            self.out.handshake(handshake);
        }
    }
}

/// The iterator of [`Dissector::frames`].
pub struct Frames<R>(Dissector<R>);

impl<R: Read> Iterator for Frames<R> {
    type Item = Result<OwnedFrame, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        let d = &mut self.0;
        while d.queue.is_empty() && !d.finished {
            let mut queue = std::mem::take(&mut d.queue);
            let mut push = |f: &Frame<'_>| queue.push_back(OwnedFrame::from_frame(f));
            match d.step(&mut push) {
                Ok(true) => {}
                Ok(false) => d.finish(&mut push),
                Err(e) => {
                    d.finish(&mut push);
                    d.error = Some(e);
                }
            }
            d.queue = queue;
        }
        // A damaged record ends the capture: the frames before it come first, then the error.
        match d.queue.pop_front() {
            Some(f) => Some(Ok(f)),
            None => d.error.take().map(Err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Profile, write_capture};

    /// Frames, messages and expert items, owned.
    fn collect(frames: &mut Vec<OwnedFrame>) -> impl Output + '_ {
        |f: &Frame<'_>| frames.push(OwnedFrame::from_frame(f))
    }

    /// What the two halves of the two-thread pipeline give on `pcap`, with the printing side
    /// replaying each batch as soon as it is sent and always waiting, never busy (so that the
    /// reading side hands half the connections it holds over at every batch after the first),
    /// and the connections and the decoders that were handed over.
    fn on_two_halves(pcap: &[u8], config: Config) -> (Vec<OwnedFrame>, usize, usize) {
        let mut two = Dissector::from_bytes(pcap).unwrap().with_config(config);
        let (transport, stage) = two.analyzer.halves();
        let mut replay = Replay::beside(stage);
        let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(1 << 12);
        let (_empty_tx, empty_rx) = mpsc::channel::<Batch>();
        let pace = Arc::new(Pace::always_waiting());
        let mut sink = Staged::new(stage, BatchSender::new(full_tx, empty_rx, Arc::clone(&pace)));
        let (mut frames, mut connections, mut decoders) = (Vec::new(), 0, 0);
        let mut out = collect(&mut frames);
        let mut replay_sent = |out: &mut _| {
            for mut batch in full_rx.try_iter() {
                pace.taken(&batch);
                connections += batch.handovers();
                decoders += batch.decoders_handed_over();
                replay.batch(&mut batch, out);
            }
        };
        while let Some(block) = two.reader.next_block().unwrap() {
            let Block::Packet(record) = block else { continue };
            if record.number == 1 {
                sink.sender.start(record.ts_nanos);
            }
            transport.packet(&record, &mut sink);
            replay_sent(&mut out);
        }
        transport.finish(&mut sink);
        sink.sender.flush();
        drop(sink);
        replay_sent(&mut out);
        drop(out);
        (frames, connections, decoders)
    }

    /// What one thread gives on `pcap`.
    fn on_one_thread(pcap: &[u8], config: Config) -> Vec<OwnedFrame> {
        let mut frames = Vec::new();
        Dissector::from_bytes(pcap).unwrap().with_config(config).run(&mut collect(&mut frames)).unwrap();
        frames
    }

    #[test]
    fn connections_handed_over_between_messages_give_what_one_thread_gives() {
        // Every connection compressed, with context takeover: the reading thread starts with all
        // of them, and hands some over (windows and all) in the middle of their streams.
        let mut pcap = Vec::new();
        let profile = Profile { connections: 40, ..Profile::deflate() };
        let written = write_capture(&mut pcap, &profile, 3 << 20, 7).unwrap();
        let one = on_one_thread(&pcap, Config::default());
        assert_eq!(one.len() as u64, written.frames);
        let (frames, handed_over, _) = on_two_halves(&pcap, Config::default());
        assert!((1..40).contains(&handed_over), "{handed_over} of 40 handed over");
        assert_eq!(frames, one);
        assert!(frames.iter().filter_map(|f| f.message.as_ref()).all(|m| m.complete));
    }

    #[test]
    fn decoders_handed_over_between_frames_give_what_one_thread_gives() {
        // Small messages, followed by shape only (no payload kept): the printing thread decodes
        // the frames of every direction once it has shown small pieces; large messages, and a
        // run that keeps the payloads of compressed connections, keep decoding here.
        let small = Profile { connections: 40, ..Profile::deflate() };
        let large = Profile { connections: 8, ..Profile::large() };
        let shape_only = Config { payload_cap: 0, ..Config::default() };
        for (profile, config, handed_over) in
            [(&small, shape_only.clone(), 80), (&large, shape_only, 0), (&small, Config::default(), 0)]
        {
            let mut pcap = Vec::new();
            let written = write_capture(&mut pcap, profile, 3 << 20, 7).unwrap();
            let one = on_one_thread(&pcap, config.clone());
            assert_eq!(one.len() as u64, written.frames);
            let (frames, _, decoders) = on_two_halves(&pcap, config);
            assert_eq!(decoders, handed_over);
            assert_eq!(frames, one);
        }
    }
}
