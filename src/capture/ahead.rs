//! Reading a capture ahead on a thread of its own: the kernel's copy of the file into memory
//! is a large share of the work of reading a capture (with 10,000 small connections, an eighth
//! of the thread that decodes them; with large messages, most of it), and it needs nothing from
//! the records. Chunks are read into buffers that the reader then takes whole, so that no byte
//! is copied twice.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::Scope;

/// Bytes read into a chunk at a time...
const CHUNK: usize = 256 * 1024;
/// ...after this much room, kept free in front of them for the end of the chunk before (the
/// start of a record that runs on into this one).
pub(super) const HEADROOM: usize = 64 * 1024;
/// Chunks read and not yet taken: enough that the reading thread is rarely what the reader
/// waits for, few enough that all the buffers take 1.3 MB, about one core's L2 here (1 MB
/// chunks were no faster).
const QUEUE: usize = 2;
/// Buffers in all: those queued, the one being filled and the one being read. They go round
/// (a buffer made afresh costs a page fault every 4 KB).
const BUFFERS: usize = QUEUE + 2;

/// A chunk of the input: its bytes are `buf[HEADROOM..len]`.
pub(super) struct Chunk {
    pub(super) buf: Vec<u8>,
    pub(super) len: usize,
}

/// The reader's end: chunks come in order, and emptied buffers go back to be filled again.
pub(super) struct Ahead {
    full: Receiver<io::Result<Chunk>>,
    empty: Sender<Vec<u8>>,
}

impl Ahead {
    /// Starts a thread of `scope` that reads `src` to its end (or until the reader's end is
    /// dropped).
    pub(super) fn start<'scope, R: Read + Send + 'scope>(scope: &'scope Scope<'scope, '_>, src: R) -> Self {
        let (full_tx, full) = mpsc::sync_channel(QUEUE);
        let (empty, empty_rx) = mpsc::channel();
        scope.spawn(move || read_chunks(src, &full_tx, &empty_rx));
        Ahead { full, empty }
    }

    /// The next chunk; `None` at the end of the input.
    pub(super) fn next(&self) -> io::Result<Option<Chunk>> {
        self.full.recv().ok().transpose()
    }

    /// Gives a buffer back for another chunk.
    pub(super) fn recycle(&self, buf: Vec<u8>) {
        // The reading thread may have ended (the input did): then the buffer is freed.
        let _ = self.empty.send(buf);
    }
}

/// Reads `src` in chunks until its end, an error, or the reader has gone.
fn read_chunks(mut src: impl Read, full: &SyncSender<io::Result<Chunk>>, empty: &Receiver<Vec<u8>>) {
    for made in 0.. {
        let mut buf = if made < BUFFERS {
            Vec::new()
        } else {
            match empty.recv() {
                Ok(buf) => buf,
                // The reader has gone.
                Err(_) => return,
            }
        };
        // A buffer given back keeps its size (and is not cleared again); a new one is zeroed
        // once. One that grew for a record longer than a chunk is given up.
        buf.resize(HEADROOM + CHUNK, 0);
        buf.shrink_to(HEADROOM + CHUNK);
        let mut len = HEADROOM;
        let outcome = loop {
            match src.read(&mut buf[len..]) {
                Ok(0) => break Ok(true),
                Ok(n) => {
                    len += n;
                    if len == buf.len() {
                        break Ok(false);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        match outcome {
            Err(e) => {
                // The reader reports it; this thread is done either way.
                let _ = full.send(Err(e));
                return;
            }
            Ok(at_end) => {
                // A chunk with nothing read is not sent: the channel's end tells the input ended.
                let gone = len > HEADROOM && full.send(Ok(Chunk { buf, len })).is_err();
                if at_end || gone {
                    return;
                }
            }
        }
    }
}
