//! WebSocket without its handshake: finding frames in a stream the capture joined late.
//!
//! A connection that began before the capture has no `101` to say it is WebSocket. Its bytes
//! still say so: from some offset on they read as a run of frames, each header where the previous
//! frame ends, that RFC 6455 allows in one direction (a defined opcode, no RSV bit but RSV1 on the
//! first frame of a data message, the same mask bit throughout, lengths in their shortest form,
//! short unfragmented control frames, continuations only inside a message, text that is UTF-8,
//! close codes that may be sent). A direction counts as WebSocket once such a run holds
//! [`MIN_FRAMES`] complete frames and accounts for every byte received after its start.
//!
//! Random bytes pass one header check in about sixty, and text protocols almost never (their bytes
//! set RSV2 or RSV3), so the run that is required is far beyond what other protocols produce by
//! chance; `tests/heuristics.rs` holds a corpus of them.

use super::expert::close_code_allowed;
use super::frame::{FrameHeader, Opcode, close_body, parse_header, unmask};

/// Complete frames a run needs before a direction is taken as WebSocket on its own.
pub const MIN_FRAMES: usize = 5;

/// Complete frames each direction needs when both directions agree (one masked, one not).
pub const MIN_FRAMES_BOTH: usize = 3;

/// Payload bytes of a text frame checked for UTF-8.
const UTF8_CHECKED: usize = 1024;

/// A run of frames found in a direction's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Where its first frame starts.
    pub offset: usize,
    /// Its frames are masked (the client's direction).
    pub masked: bool,
    /// Complete frames in it.
    pub frames: usize,
}

/// Scans one direction's bytes as they grow: each offset is looked at once, and the runs that
/// may still start there are followed on as bytes arrive, from where they had got to. An offset
/// where a run already followed has read a whole frame is not followed again: from there it would
/// read the same frames (once past its first data frame, in the same state), so the frames of a
/// long run are each read once, not once per offset inside it.
#[derive(Debug, Default)]
pub struct Scanner {
    /// Runs that nothing has contradicted yet, by offset.
    candidates: Vec<Walk>,
    /// Offsets below this have been looked at.
    scanned: usize,
    /// Where the runs have read whole frames, as positions in the stream (`dropped + offset`).
    boundaries: std::collections::HashSet<usize, foldhash::fast::RandomState>,
    /// Bytes the caller has dropped from the front.
    dropped: usize,
}

impl Scanner {
    /// Looks for runs in `buf`: the earliest that nothing received contradicts (`None` when no
    /// offset may start one), and the earliest holding at least `min_frames` frames. `limit` is
    /// the most bytes the caller will hold, so a frame ending beyond it cannot be confirmed and
    /// rules its run out.
    ///
    /// A run with its frames is preferred to an earlier one that has yet to show them: the
    /// earlier one is most often a header-like byte inside the payload the capture joined in,
    /// whose length runs on past the data.
    pub fn scan(&mut self, buf: &[u8], limit: usize, min_frames: usize) -> (Option<Run>, Option<Run>) {
        let Scanner { candidates, boundaries, dropped, .. } = self;
        let mut passed = |at: usize| {
            boundaries.insert(*dropped + at);
        };
        candidates.retain_mut(|w| w.advance(buf, limit, &mut passed));
        for p in self.scanned..buf.len() {
            // Most bytes cannot start a frame at all: that is checked first, on the byte alone.
            if !first_byte_fits(buf[p], None) || self.boundaries.contains(&(self.dropped + p)) {
                continue;
            }
            let mut walk = Walk::start(p);
            let (boundaries, dropped) = (&mut self.boundaries, self.dropped);
            if walk.advance(buf, limit, &mut |at| {
                boundaries.insert(dropped + at);
            }) {
                self.candidates.push(walk);
            }
        }
        self.scanned = self.scanned.max(buf.len());
        let earliest = self.candidates.first().map(Walk::run);
        let with_frames = self.candidates.iter().find(|w| w.frames >= min_frames).map(Walk::run);
        (earliest, with_frames)
    }

    /// Bytes at the start that start no run: the caller may drop them, then call
    /// [`Scanner::dropped`].
    pub fn ruled_out(&self) -> usize {
        self.candidates.first().map_or(self.scanned, |w| w.offset)
    }

    /// The caller dropped the first `n` bytes (at most [`Scanner::ruled_out`]).
    pub fn dropped(&mut self, n: usize) {
        for w in &mut self.candidates {
            w.offset -= n;
            w.next -= n;
        }
        self.scanned -= n;
        self.dropped += n;
        let start = self.dropped;
        self.boundaries.retain(|&at| at >= start);
    }

    /// Forgets the bytes scanned (after a hole in the stream, the search starts again).
    pub fn reset(&mut self) {
        *self = Scanner::default();
    }
}

/// A run being followed: where it starts, the frame boundary it has reached, and what the frames
/// so far fix.
#[derive(Debug, Clone, Copy)]
struct Walk {
    offset: usize,
    /// Where the next frame starts.
    next: usize,
    masked: Option<bool>,
    /// Whether a data message is open: unknown at the start (the capture may begin inside one).
    open: Option<bool>,
    frames: usize,
}

impl Walk {
    fn start(offset: usize) -> Walk {
        Walk { offset, next: offset, masked: None, open: None, frames: 0 }
    }

    fn run(&self) -> Run {
        Run { offset: self.offset, masked: self.masked.unwrap_or(false), frames: self.frames }
    }

    /// Follows the frames from `next` through `buf`, telling `passed` where each complete frame
    /// starts; false once a byte contradicts the run. A frame the data ends inside is
    /// checked as far as it goes and followed on next time.
    fn advance(&mut self, buf: &[u8], limit: usize, passed: &mut impl FnMut(usize)) -> bool {
        while self.next < buf.len() {
            let p = self.next;
            let Ok((_, h)) = parse_header(&buf[p..]) else {
                // A header cut by the end of the data: its first byte must still fit.
                return first_byte_fits(buf[p], self.open);
            };
            let (mut masked, mut open) = (self.masked, self.open);
            if *masked.get_or_insert(h.masked) != h.masked || !header_fits(&h, &mut open) {
                return false;
            }
            let start = p + usize::from(h.header_len);
            let end = (p as u64).saturating_add(h.frame_len());
            if end > (self.offset + limit) as u64 {
                return false;
            }
            let end = end as usize;
            if !payload_fits(&h, &buf[start..end.min(buf.len())], end <= buf.len()) {
                return false;
            }
            if end > buf.len() {
                return true;
            }
            (self.masked, self.open, self.next) = (masked, open, end);
            self.frames += 1;
            passed(p);
        }
        true
    }
}

/// The run of frames starting at `p`, if every byte after it reads as frames of one direction
/// (the last one possibly unfinished).
#[cfg(test)]
fn run_at(buf: &[u8], p: usize, limit: usize) -> Option<Run> {
    let mut walk = Walk::start(p);
    walk.advance(buf, limit, &mut |_| {}).then(|| walk.run())
}

/// What a header's first byte alone allows: a defined opcode, RSV1 only on a data frame,
/// control frames with FIN.
fn first_byte_fits(b0: u8, open: Option<bool>) -> bool {
    let (fin, rsv, opcode) = (b0 & 0x80 != 0, (b0 >> 4) & 0x7, Opcode(b0 & 0xf));
    let data_start = opcode == Opcode::TEXT || opcode == Opcode::BINARY;
    opcode.is_defined()
        && (rsv == 0 || (rsv == 4 && data_start))
        && (!opcode.is_control() || (fin && rsv == 0))
        && match opcode {
            Opcode::CONTINUATION => open != Some(false),
            o if o.is_control() => true,
            _ => open != Some(true),
        }
}

/// Whether a frame may follow the run so far, updating whether a message is open.
fn header_fits(h: &FrameHeader, open: &mut Option<bool>) -> bool {
    let b0 = (u8::from(h.fin) << 7) | (h.rsv << 4) | h.opcode.0;
    if !first_byte_fits(b0, *open) || !h.length_is_minimal() || (h.opcode.is_control() && h.payload_len > 125) {
        return false;
    }
    // An empty continuation that ends nothing sends nothing; runs of zero bytes read that way.
    if h.opcode == Opcode::CONTINUATION && h.payload_len == 0 && !h.fin {
        return false;
    }
    if !h.opcode.is_control() {
        *open = Some(!h.fin);
    }
    true
}

/// Whether a payload (`whole`, or its first bytes) is one its opcode allows: a close frame's
/// code and reason, the UTF-8 of an uncompressed text frame that starts a message.
fn payload_fits(h: &FrameHeader, payload: &[u8], whole: bool) -> bool {
    let checks_text = h.opcode == Opcode::TEXT && h.rsv == 0;
    if h.opcode != Opcode::CLOSE && !checks_text {
        return true;
    }
    let mut bytes = [0u8; UTF8_CHECKED];
    let n = payload.len().min(UTF8_CHECKED);
    bytes[..n].copy_from_slice(&payload[..n]);
    if let Some(key) = h.masking_key {
        unmask(&mut bytes[..n], key, 0);
    }
    let complete = whole && n == payload.len();
    if h.opcode == Opcode::CLOSE {
        if h.payload_len == 1 {
            return false;
        }
        let (code, reason) = close_body(&bytes[..n]);
        return code.is_none_or(close_code_allowed) && reason.is_none_or(|r| utf8_prefix(r, complete));
    }
    utf8_prefix(&bytes[..n], complete && h.fin)
}

/// Whether `bytes` is UTF-8, allowing a character cut at the end unless they are `complete`.
fn utf8_prefix(bytes: &[u8], complete: bool) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => !complete && e.error_len().is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::stream::tests::frame;

    fn frames(n: usize, key: Option<[u8; 4]>) -> Vec<u8> {
        (0..n).flat_map(|i| frame(0x81, format!("{{\"seq\": {i}}}").as_bytes(), key)).collect()
    }

    #[test]
    fn test_run_found_after_the_tail_of_a_frame() {
        let mut buf = b"ail of an earlier frame\"}".to_vec();
        let start = buf.len();
        buf.extend(frames(6, Some([1, 2, 3, 4])));
        buf.extend(&frame(0x82, &[0; 300], Some([5, 6, 7, 8]))[..40]);
        let run = Scanner::default().scan(&buf, 1 << 16, 0).0.unwrap();
        assert_eq!(run, Run { offset: start, masked: true, frames: 6 });
    }

    #[test]
    fn test_inside_a_message_and_with_control_frames() {
        let mut buf = frame(0x00, b"middle of a message", None);
        buf.extend(frame(0x89, b"", None));
        buf.extend(frame(0x80, b"end", None));
        buf.extend(frame(0xc1, &[0xf2, 0x48, 0xcd, 0xc9], None)); // compressed: no UTF-8 check
        buf.extend(frame(0x88, b"\x03\xe8bye", None));
        let run = Scanner::default().scan(&buf, 1 << 16, 0).0.unwrap();
        assert_eq!((run.offset, run.masked, run.frames), (0, false, 5));
    }

    #[test]
    fn test_what_rules_a_run_out() {
        let mut scanner = Scanner::default();
        let broken = [
            [frames(3, None), frame(0x81, b"x", Some([1, 1, 1, 1]))].concat(), // mask changes
            [frames(3, None), frame(0x81, b"\xff\xfe", None)].concat(),        // not UTF-8
            [frames(3, None), frame(0x80, b"x", None)].concat(),               // no message open
            [frames(3, None), frame(0x88, b"\x03\xed", None)].concat(),        // close code 1005
            [frames(3, None), frame(0x09, b"", None)].concat(),                // ping without FIN
            [frames(3, None), frame(0xa1, b"x", None)].concat(),               // RSV2
            [frames(3, None), frame(0xc0, b"x", None)].concat(),               // RSV1 continuation
        ];
        for buf in broken {
            let run = Scanner::default().scan(&buf, 1 << 16, 0).0;
            assert!(run.is_none_or(|r| r.offset > 0), "{buf:?}: {run:?}");
        }
        // Zero bytes are empty continuations that end nothing: only the last, cut, might start one.
        assert_eq!(scanner.scan(&[0u8; 4096], 1 << 16, 0).0.map(|r| (r.offset, r.frames)), Some((4095, 0)));
        assert_eq!(scanner.ruled_out(), 4095);
    }

    #[test]
    fn test_a_run_with_frames_wins_over_an_earlier_one_without() {
        // A binary header inside a payload, its 16-bit length running past the data.
        let mut buf = vec![0x82, 126, 0xff, 0x00, 1, 2, 3];
        buf.extend(frames(MIN_FRAMES, None));
        let (earliest, with_frames) = Scanner::default().scan(&buf, 1 << 20, MIN_FRAMES);
        assert_eq!(earliest.map(|r| (r.offset, r.frames)), Some((0, 0)));
        assert_eq!(with_frames.map(|r| (r.offset, r.frames)), Some((7, MIN_FRAMES)));
    }

    #[test]
    fn test_frame_beyond_the_limit_is_not_waited_for() {
        let buf = frame(0x82, &[0; 1000], None);
        assert_eq!(run_at(&buf[..100], 0, 500), None);
        assert_eq!(run_at(&buf[..100], 0, 2000).map(|r| r.frames), Some(0));
    }

    #[test]
    fn test_random_bytes_hold_no_run() {
        // xorshift: the same bytes on every run.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let buf: Vec<u8> = (0..1 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let most = (0..buf.len()).filter_map(|p| run_at(&buf, p, 1 << 18)).map(|r| r.frames).max();
        assert!(most.unwrap_or(0) < MIN_FRAMES_BOTH, "{most:?}");
    }
}
