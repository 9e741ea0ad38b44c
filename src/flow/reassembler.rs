//! One direction of a TCP connection turned back into a byte stream.
//!
//! Sequence numbers are mapped to 64-bit stream offsets relative to the next expected byte with
//! wrapping arithmetic, so streams that cross 2^32 (or carry more than 4 GiB) work. Segments that
//! arrive in order are passed straight through without copying; later ones wait in an ordered
//! map until the hole before them is filled.
//!
//! Invariants of the waiting map: entries never overlap, every entry starts after `next`, and
//! `buffered` is the sum of their data lengths. Bytes already seen win over a later copy (a
//! retransmission that disagrees is counted as a conflict). A hole that is never filled is
//! given up with [`Delivery::Gap`] when the buffer limit is reached or the stream is flushed,
//! so one lost segment never silences the rest of a connection.
//!
//! ```
//! use wsdissect::flow::reassembler::{Delivery, Reassembler};
//! let mut r = Reassembler::new(1 << 20);
//! let mut out = Vec::new();
//! let mut sink = |d: Delivery<'_, u32>| if let Delivery::Data(b, _) = d { out.extend_from_slice(b) };
//! r.syn(u32::MAX - 1);                      // the stream will cross 2^32
//! r.segment(1, b"cd", 2, &mut sink);        // early: waits
//! r.segment(u32::MAX, b"ab", 1, &mut sink); // fills the hole: both delivered in order
//! assert_eq!(out, b"abcd");
//! ```

use std::collections::BTreeMap;

/// What the reassembler hands on, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery<'a, M> {
    /// Contiguous bytes, with the metadata of the packet that carried them.
    Data(&'a [u8], M),
    /// This many bytes will never be seen; the stream continues after them. The metadata is
    /// that of the packet from which the stream resumes.
    Gap(u64, M),
}

#[derive(Debug)]
enum Chunk {
    Data(Vec<u8>),
    /// Bytes the sender sent but the capture did not keep (cut by the snaplen).
    Missing(u64),
}

impl Chunk {
    fn len(&self) -> u64 {
        match self {
            Chunk::Data(d) => d.len() as u64,
            Chunk::Missing(n) => *n,
        }
    }
}

/// Counters a direction keeps about what it had to repair.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Segments that held only bytes already delivered or buffered.
    pub duplicates: u64,
    /// Overlaps whose bytes differed from the bytes seen first.
    pub conflicts: u64,
    /// Holes given up.
    pub gaps: u64,
    /// Bytes lost in those holes.
    pub gap_bytes: u64,
    /// Times the buffer limit forced a hole to be given up.
    pub limit_hits: u64,
}

impl std::ops::AddAssign for ReassemblyStats {
    fn add_assign(&mut self, other: Self) {
        self.duplicates += other.duplicates;
        self.conflicts += other.conflicts;
        self.gaps += other.gaps;
        self.gap_bytes += other.gap_bytes;
        self.limit_hits += other.limit_hits;
    }
}

/// Reassembles one direction of one connection.
#[derive(Debug)]
pub struct Reassembler<M> {
    /// Sequence number of the next byte to deliver, once known.
    next_seq: Option<u32>,
    /// Stream offset of that byte.
    next: u64,
    waiting: BTreeMap<u64, (Chunk, M)>,
    buffered: usize,
    limit: usize,
    stats: ReassemblyStats,
}

impl<M: Copy> Reassembler<M> {
    /// A reassembler that buffers at most `limit` bytes of out-of-order data.
    pub fn new(limit: usize) -> Self {
        Reassembler { next_seq: None, next: 0, waiting: BTreeMap::new(), buffered: 0, limit, stats: Default::default() }
    }

    /// Records the sender's SYN: data starts at `isn + 1`. Ignored once data has been placed.
    pub fn syn(&mut self, isn: u32) {
        if self.next == 0 && self.waiting.is_empty() {
            self.next_seq = Some(isn.wrapping_add(1));
        }
    }

    /// The sequence number expected next, if any segment has been seen.
    pub fn next_seq(&self) -> Option<u32> {
        self.next_seq
    }

    /// Bytes delivered (or skipped as gaps) so far.
    pub fn delivered(&self) -> u64 {
        self.next
    }

    /// Bytes waiting for a hole to be filled.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// What the reassembler has repaired so far.
    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// Stream offset of a sequence number, relative to the next expected byte.
    fn offset_of(&self, seq: u32, next_seq: u32) -> i64 {
        self.next as i64 + i64::from(seq.wrapping_sub(next_seq) as i32)
    }

    /// Adds a segment's payload. `missing` bytes announced by IP but not captured follow it.
    pub fn segment_with_missing(
        &mut self,
        seq: u32,
        data: &[u8],
        missing: u64,
        meta: M,
        sink: &mut impl FnMut(Delivery<'_, M>),
    ) {
        if data.is_empty() && missing == 0 {
            return;
        }
        let next_seq = *self.next_seq.get_or_insert(seq);
        let start = self.offset_of(seq, next_seq);
        let end = start + data.len() as i64 + missing as i64;
        if end <= self.next as i64 {
            self.stats.duplicates += 1;
            return;
        }
        // Trim what was already delivered.
        let skip = (self.next as i64 - start).max(0) as u64;
        let (data, missing, start) = if skip >= data.len() as u64 {
            (&data[data.len()..], missing - (skip - data.len() as u64), self.next)
        } else {
            (&data[skip as usize..], missing, (start + skip as i64) as u64)
        };
        if start == self.next && self.overlaps_waiting(start, data.len() as u64 + missing).is_none() {
            // In order and clear of anything waiting: straight through, no copy.
            self.advance(data.len() as u64 + missing);
            if !data.is_empty() {
                sink(Delivery::Data(data, meta));
            }
            if missing > 0 {
                self.stats.gaps += 1;
                self.stats.gap_bytes += missing;
                sink(Delivery::Gap(missing, meta));
            }
            self.drain(sink);
            return;
        }
        self.insert(start, data, meta);
        if missing > 0 {
            self.insert_missing(start + data.len() as u64, missing, meta);
        }
        self.drain(sink);
        while self.buffered > self.limit {
            self.stats.limit_hits += 1;
            self.skip_hole(sink);
        }
    }

    /// Adds a segment's payload.
    pub fn segment(&mut self, seq: u32, data: &[u8], meta: M, sink: &mut impl FnMut(Delivery<'_, M>)) {
        self.segment_with_missing(seq, data, 0, meta, sink);
    }

    /// Gives up every hole and delivers all that waits: the end of the stream or capture.
    pub fn flush(&mut self, sink: &mut impl FnMut(Delivery<'_, M>)) {
        while !self.waiting.is_empty() {
            self.skip_hole(sink);
        }
    }

    fn advance(&mut self, n: u64) {
        self.next += n;
        if let Some(s) = self.next_seq.as_mut() {
            *s = s.wrapping_add(n as u32);
        }
    }

    /// The first waiting entry that overlaps `[start, start + len)`, if any.
    fn overlaps_waiting(&self, start: u64, len: u64) -> Option<u64> {
        self.waiting.range(..start + len).next_back().filter(|(s, (c, _))| **s + c.len() > start).map(|(s, _)| *s)
    }

    /// Stores the parts of `[start, start + data.len())` no waiting entry already covers.
    fn insert(&mut self, start: u64, data: &[u8], meta: M) {
        let end = start + data.len() as u64;
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        let mut cursor = start;
        let first = self.waiting.range(..start).next_back().map_or(start, |(s, _)| *s);
        for (&s, (chunk, _)) in self.waiting.range(first..end) {
            let e = s + chunk.len();
            if e <= cursor {
                continue;
            }
            if s > cursor {
                pieces.push((cursor, s));
            }
            if let Chunk::Data(old) = chunk {
                let (lo, hi) = (s.max(start), e.min(end));
                if old[(lo - s) as usize..(hi - s) as usize] != data[(lo - start) as usize..(hi - start) as usize] {
                    self.stats.conflicts += 1;
                }
            }
            cursor = e;
        }
        if cursor < end {
            pieces.push((cursor, end));
        }
        if pieces.is_empty() {
            self.stats.duplicates += 1;
        }
        for (from, to) in pieces {
            let piece = &data[(from - start) as usize..(to - start) as usize];
            self.buffered += piece.len();
            self.waiting.insert(from, (Chunk::Data(piece.to_vec()), meta));
        }
    }

    fn insert_missing(&mut self, start: u64, len: u64, meta: M) {
        if self.overlaps_waiting(start, len).is_none() {
            self.waiting.insert(start, (Chunk::Missing(len), meta));
        }
    }

    /// Delivers waiting entries that are now in order.
    fn drain(&mut self, sink: &mut impl FnMut(Delivery<'_, M>)) {
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() != self.next {
                break;
            }
            let (chunk, meta) = entry.remove();
            self.advance(chunk.len());
            match chunk {
                Chunk::Data(d) => {
                    self.buffered -= d.len();
                    sink(Delivery::Data(&d, meta));
                }
                Chunk::Missing(n) => {
                    self.stats.gaps += 1;
                    self.stats.gap_bytes += n;
                    sink(Delivery::Gap(n, meta));
                }
            }
        }
    }

    /// Gives up the hole before the first waiting entry and delivers what follows it.
    fn skip_hole(&mut self, sink: &mut impl FnMut(Delivery<'_, M>)) {
        let Some((&start, (_, meta))) = self.waiting.first_key_value() else {
            return;
        };
        if start > self.next {
            let len = start - self.next;
            let meta = *meta;
            self.stats.gaps += 1;
            self.stats.gap_bytes += len;
            self.advance(len);
            sink(Delivery::Gap(len, meta));
        }
        self.drain(sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Collects deliveries as bytes, with gaps as runs of `?`.
    fn collect(out: &mut Vec<u8>) -> impl FnMut(Delivery<'_, u32>) + '_ {
        move |d| match d {
            Delivery::Data(b, _) => out.extend_from_slice(b),
            Delivery::Gap(n, _) => out.extend(std::iter::repeat_n(b'?', n as usize)),
        }
    }

    #[test]
    fn test_retransmission_delivered_once() {
        let mut r = Reassembler::new(1000);
        let mut out = Vec::new();
        r.syn(99);
        r.segment(100, b"hello", 1, &mut collect(&mut out));
        r.segment(100, b"hello", 2, &mut collect(&mut out));
        r.segment(103, b"lo wor", 3, &mut collect(&mut out));
        assert_eq!(out, b"hello wor");
        assert_eq!(r.stats().duplicates, 1);
    }

    #[test]
    fn test_conflicting_overlap_first_wins() {
        let mut r = Reassembler::new(1000);
        let mut out = Vec::new();
        r.syn(0);
        r.segment(5, b"XYZ", 1, &mut collect(&mut out));
        r.segment(5, b"xyz!", 2, &mut collect(&mut out));
        r.segment(1, b"abcd", 3, &mut collect(&mut out));
        assert_eq!(out, b"abcdXYZ!");
        assert_eq!(r.stats().conflicts, 1);
    }

    #[test]
    fn test_gap_skipped_at_limit() {
        let mut r = Reassembler::new(8);
        let mut out = Vec::new();
        r.syn(0);
        r.segment(1, b"ab", 1, &mut collect(&mut out));
        r.segment(5, b"efgh", 2, &mut collect(&mut out));
        r.segment(9, b"ijklm", 3, &mut collect(&mut out));
        assert_eq!(out, b"ab??efghijklm");
        assert_eq!(r.stats().gaps, 1);
        assert_eq!(r.stats().limit_hits, 1);
    }

    #[test]
    fn test_flush_gives_up_holes() {
        let mut r = Reassembler::new(1000);
        let mut out = Vec::new();
        r.segment(1000, b"ab", 1, &mut collect(&mut out)); // no SYN: picked up mid-stream
        r.segment(1004, b"ef", 2, &mut collect(&mut out));
        r.flush(&mut collect(&mut out));
        assert_eq!(out, b"ab??ef");
    }

    /// Found by the mutation test: a segment starting before the stream (negative offset).
    #[test]
    fn test_segment_before_stream_start() {
        let mut r = Reassembler::new(1000);
        let mut out = Vec::new();
        r.syn(1000);
        r.segment(995, b"0123456789", 1, &mut collect(&mut out));
        assert_eq!(out, b"6789");
    }

    #[test]
    fn test_missing_tail_is_a_gap() {
        let mut r = Reassembler::new(1000);
        let mut out = Vec::new();
        r.syn(0);
        r.segment_with_missing(1, b"abc", 2, 1, &mut collect(&mut out));
        r.segment(6, b"fg", 2, &mut collect(&mut out));
        assert_eq!(out, b"abc??fg");
    }

    proptest! {
        /// Random segmentation, order and duplication give back exactly the original stream.
        #[test]
        fn prop_matches_model(
            isn in any::<u32>(),
            stream in proptest::collection::vec(any::<u8>(), 1..400),
            cuts in proptest::collection::vec(1usize..40, 1..60),
            order in proptest::collection::vec(any::<u16>(), 0..120),
            dups in proptest::collection::vec(any::<u16>(), 0..30),
        ) {
            let mut segments = Vec::new();
            let mut at = 0;
            for c in cuts.iter().cycle() {
                if at >= stream.len() { break; }
                let end = (at + c).min(stream.len());
                segments.push((at, end));
                at = end;
            }
            for d in &dups {
                let (s, e) = segments[*d as usize % segments.len()];
                // A duplicate may also be a partial overlap.
                let s2 = s.saturating_sub(*d as usize % 3);
                segments.push((s2, e));
            }
            for (i, o) in order.iter().enumerate() {
                let n = segments.len();
                segments.swap(i % n, *o as usize % n);
            }
            let mut r = Reassembler::new(1 << 20);
            r.syn(isn);
            let mut out = Vec::new();
            for (s, e) in &segments {
                let seq = isn.wrapping_add(1).wrapping_add(*s as u32);
                r.segment(seq, &stream[*s..*e], 0, &mut collect(&mut out));
            }
            r.flush(&mut collect(&mut out));
            prop_assert_eq!(out, stream);
            prop_assert_eq!(r.buffered(), 0);
        }
    }
}
