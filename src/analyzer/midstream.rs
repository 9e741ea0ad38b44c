//! Connections the capture joined after they began: each direction's bytes are held and
//! scanned for WebSocket frames ([`crate::ws::detect`]) until the connection shows enough of
//! them, or shows that it is something else. A TCP connection is also scanned for HTTP/2
//! frames ([`crate::http2::find_frames`]); the streams of an HTTP/2 connection joined late are
//! each scanned for WebSocket frames as a TCP connection is.

use std::ops::Range;

use crate::http2;
use crate::ws::detect::{MIN_FRAMES, MIN_FRAMES_BOTH, Run, Scanner};

use super::PacketMeta;

/// HTTP/2 frames one after the other that make a connection joined late HTTP/2.
const HTTP2_FRAMES: usize = 4;
/// Bytes per direction scanned for HTTP/2 frames: four frames of the default largest size.
/// Past it, the connection is not taken for HTTP/2.
const HTTP2_PROBE_LIMIT: usize = 4 * (9 + 16_384);

/// Bytes held per direction while looking, from the first that may start a frame (the bytes
/// before it are dropped); a direction that reaches it undecided is given up.
const HOLD_LIMIT: usize = 1 << 20;

/// The held bytes of both directions.
#[derive(Debug, Default)]
pub(super) struct MidStream {
    dirs: [Held; 2],
    /// A TCP connection's bytes, as they came, while they may still show HTTP/2 frames (not
    /// for an HTTP/2 stream's).
    http2: Option<Box<[Http2Probe; 2]>>,
}

/// One direction's first bytes, scanned for HTTP/2 frames: those from where a run of frames
/// may still start (the bytes before it are dropped).
#[derive(Debug, Default)]
pub(super) struct Http2Probe {
    pub(super) bytes: Vec<u8>,
    /// Where each packet's bytes end in `bytes`, and the packet.
    pub(super) pieces: Vec<(usize, PacketMeta)>,
    /// Bytes received, dropped ones included.
    received: usize,
}

/// One direction's bytes since the capture joined (or since its last hole).
#[derive(Debug, Default)]
pub(super) struct Held {
    pub(super) bytes: Vec<u8>,
    /// Where each packet's bytes end in `bytes`, and the packet.
    pub(super) pieces: Vec<(usize, PacketMeta)>,
    scanner: Scanner,
    /// Bytes were received (some may have been dropped as starting no frame).
    received: bool,
    /// Held to the limit without a run of frames: not WebSocket, and no longer held.
    given_up: bool,
}

impl Held {
    /// Drops the bytes no frame can start at: a stream that is not WebSocket holds only the
    /// few last bytes that still might.
    /// Returns how many were dropped.
    fn drop_ruled_out(&mut self) -> usize {
        let n = self.scanner.ruled_out();
        if n == 0 {
            return 0;
        }
        self.bytes.drain(..n);
        self.pieces.retain_mut(|(end, _)| {
            *end = end.saturating_sub(n);
            *end > 0
        });
        self.scanner.dropped(n);
        n
    }
}

/// What the bytes so far say.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Not enough yet.
    Undecided,
    /// WebSocket: the run of frames of each direction that has one.
    WebSocket([Option<Run>; 2]),
    /// Neither direction holds frames.
    NotWebSocket,
    /// HTTP/2: direction `dir` holds frames from `offset` on.
    Http2 { dir: usize, offset: usize },
}

impl MidStream {
    /// Looks at a TCP connection: for WebSocket frames, and for HTTP/2's.
    pub(super) fn connection() -> Self {
        MidStream { http2: Some(Box::default()), ..MidStream::default() }
    }

    /// Takes bytes of direction `dir`, and says what the connection looks like now.
    pub(super) fn data(&mut self, dir: usize, bytes: &[u8], meta: PacketMeta) -> Verdict {
        if let Some(probes) = self.http2.as_deref_mut() {
            let probe = &mut probes[dir];
            if probe.received < HTTP2_PROBE_LIMIT {
                probe.received += bytes.len();
                probe.bytes.extend_from_slice(bytes);
                probe.pieces.push((probe.bytes.len(), meta));
                match http2::find_frames(&probe.bytes, HTTP2_FRAMES) {
                    Ok(offset) => return Verdict::Http2 { dir, offset },
                    Err(ruled_out) => {
                        probe.bytes.drain(..ruled_out);
                        probe.pieces.retain_mut(|(end, _)| {
                            *end = end.saturating_sub(ruled_out);
                            *end > 0
                        });
                    }
                }
            }
            if probes.iter().all(|p| p.received >= HTTP2_PROBE_LIMIT) {
                self.http2 = None;
            }
        }
        let held = &mut self.dirs[dir];
        held.received = true;
        if !held.given_up {
            held.bytes.extend_from_slice(bytes);
            held.pieces.push((held.bytes.len(), meta));
        }
        self.verdict()
    }

    /// A hole in direction `dir`: frames cannot be followed across it, so its bytes are dropped.
    pub(super) fn gap(&mut self, dir: usize) {
        if let Some(probes) = self.http2.as_deref_mut() {
            probes[dir] = Http2Probe::default();
        }
        let held = &mut self.dirs[dir];
        held.bytes = Vec::new();
        held.pieces = Vec::new();
        held.scanner.reset();
    }

    /// The bytes held, to be replayed once the connection is taken as WebSocket.
    pub(super) fn into_held(self) -> [Held; 2] {
        self.dirs
    }

    /// The bytes as they came, to be replayed once the connection is taken as HTTP/2.
    pub(super) fn into_http2(self) -> Option<Box<[Http2Probe; 2]>> {
        self.http2
    }

    /// A direction alone with [`MIN_FRAMES`] frames, or both with [`MIN_FRAMES_BOTH`], one
    /// masked and one not, make the connection WebSocket, unless a direction's bytes cannot be
    /// frames at all (it may have joined inside a long frame: more bytes will tell).
    fn verdict(&mut self) -> Verdict {
        let scans = self.dirs.each_mut().map(|held| {
            let (earliest, with_frames) = held.scanner.scan(&held.bytes, HOLD_LIMIT, MIN_FRAMES_BOTH);
            let dropped = held.drop_ruled_out();
            let rebase = |r: Run| Run { offset: r.offset - dropped, ..r };
            (earliest.map(rebase), with_frames.map(rebase))
        });
        let contradicted = self
            .dirs
            .iter()
            .zip(&scans)
            .any(|(held, (earliest, _))| held.given_up || (earliest.is_none() && held.received));
        let runs = scans.map(|(_, with_frames)| with_frames);
        let alone = runs.iter().flatten().any(|r| r.frames >= MIN_FRAMES);
        let both = matches!(runs, [Some(a), Some(b)]
            if a.masked != b.masked && a.frames.min(b.frames) >= MIN_FRAMES_BOTH);
        if (alone || both) && !contradicted {
            return Verdict::WebSocket(runs);
        }
        for held in &mut self.dirs {
            if held.bytes.len() >= HOLD_LIMIT {
                *held = Held { given_up: true, received: true, ..Held::default() };
            }
        }
        if self.dirs.iter().all(|held| held.given_up) { Verdict::NotWebSocket } else { Verdict::Undecided }
    }
}

/// The client's direction, from the runs of frames found: the masked one's, or the other of an
/// unmasked one.
pub(super) fn client_of(runs: &[Option<Run>; 2]) -> usize {
    match runs {
        [Some(r), _] if r.masked => 0,
        [_, Some(r)] if r.masked => 1,
        [Some(r), _] if r.frames > 0 => 1,
        _ => 0,
    }
}

/// Where each direction's frames start in its held bytes: at its run, if it has one its side
/// sends (masked from the client); `None` where the first frame is still to be found.
pub(super) fn frame_starts(runs: &[Option<Run>; 2], client: usize) -> [Option<usize>; 2] {
    [0, 1].map(|dir| runs[dir].filter(|r| r.frames > 0 && r.masked == (dir == client)).map(|r| r.offset))
}

/// The pieces of both directions' held bytes from their starts, in packet order: (direction,
/// range in its bytes, packet).
pub(super) fn in_packet_order(held: [(&[(usize, PacketMeta)], usize); 2]) -> Vec<(usize, Range<usize>, PacketMeta)> {
    let mut pieces = Vec::new();
    for (dir, (ends, start)) in held.into_iter().enumerate() {
        let mut from = 0;
        for &(end, meta) in ends {
            let begin = from.max(start);
            if end > begin {
                pieces.push((dir, begin..end, meta));
            }
            from = end;
        }
    }
    pieces.sort_by_key(|(dir, _, meta)| (meta.number, *dir));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(number: u64) -> PacketMeta {
        PacketMeta { number, ..PacketMeta::default() }
    }

    /// `n` unmasked text frames `"ok"`.
    fn server_frames(n: usize) -> Vec<u8> {
        [0x81, 2, b'o', b'k'].repeat(n)
    }

    #[test]
    fn test_one_direction_alone_needs_min_frames() {
        let mut m = MidStream::default();
        assert_eq!(m.data(1, &server_frames(MIN_FRAMES - 1), meta(1)), Verdict::Undecided);
        let Verdict::WebSocket([None, Some(run)]) = m.data(1, &server_frames(1), meta(2)) else { panic!() };
        assert_eq!((run.offset, run.masked, run.frames), (0, false, MIN_FRAMES));
    }

    #[test]
    fn test_other_direction_with_no_frame_start_holds_the_verdict() {
        let mut m = MidStream::default();
        m.data(0, b"{\"middle of a long text frame\": 1}", meta(1));
        assert_eq!(m.data(1, &server_frames(MIN_FRAMES), meta(2)), Verdict::Undecided);
        // The client's next frame arrives: a masked, empty ping.
        assert!(matches!(m.data(0, &[0x89, 0x80, 1, 2, 3, 4], meta(3)), Verdict::WebSocket([None, Some(_)])));
    }

    #[test]
    fn test_text_is_not_held_and_vetoes() {
        let mut m = MidStream::default();
        let text = b"GET / HTTP/1.1\r\n".repeat(1000);
        assert_eq!(m.data(0, &text, meta(1)), Verdict::Undecided);
        assert!(m.dirs[0].bytes.is_empty());
        assert_eq!(m.data(1, &server_frames(2 * MIN_FRAMES), meta(2)), Verdict::Undecided);
    }

    #[test]
    fn test_http2_frames_found_and_other_bytes_not_kept() {
        let mut m = MidStream::connection();
        m.data(0, &b"GET / HTTP/1.1\r\n".repeat(1000), meta(1));
        assert!(m.http2.as_ref().unwrap()[0].bytes.len() < 9);
        let ping = [0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        let data = [0, 0, 2, 0, 0, 0, 0, 0, 3, b'h', b'i'];
        let frames = [&b"tail"[..], &data, &ping, &data, &data].concat();
        assert_eq!(m.data(1, &frames[..30], meta(2)), Verdict::Undecided);
        // The bytes before the first frame were dropped while the run was not whole yet.
        assert_eq!(m.data(1, &frames[30..], meta(3)), Verdict::Http2 { dir: 1, offset: 0 });
        assert_eq!(m.into_http2().unwrap()[1].bytes, frames[4..]);
    }

    #[test]
    fn test_frames_contradicted_are_given_up_at_the_limit() {
        let mut m = MidStream::default();
        m.data(0, b"+OK\r\n", meta(1));
        let frames = server_frames(HOLD_LIMIT / 4);
        assert_eq!(m.data(1, &frames[..HOLD_LIMIT / 2], meta(2)), Verdict::Undecided);
        assert!(!m.dirs[1].given_up);
        assert_eq!(m.data(1, &frames[HOLD_LIMIT / 2..], meta(3)), Verdict::Undecided);
        assert!(m.dirs[1].given_up && m.dirs[1].bytes.capacity() == 0);
    }
}
