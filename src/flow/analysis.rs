//! TCP sequence analysis as tshark does it (`tcp.analysis.*`): for each packet of a connection,
//! whether it retransmits, arrives out of order, follows a segment the capture lacks, repeats
//! an ACK, and the like. Each verdict depends only on the packets before it, in capture order,
//! so it is made as each packet is read, from a few numbers kept per direction.

use crate::net::tcp_flag::{ACK, FIN, RST, SYN};

/// The verdicts for one packet: a set of `tcp.analysis.*` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AnalysisFlags(u16);

impl AnalysisFlags {
    /// `tcp.analysis.retransmission` (also set with the fast and spurious kinds, as tshark does).
    pub const RETRANSMISSION: u16 = 1 << 0;
    /// `tcp.analysis.fast_retransmission`: resent after two or more duplicate ACKs asked for it.
    pub const FAST_RETRANSMISSION: u16 = 1 << 1;
    /// `tcp.analysis.spurious_retransmission`: resent data the receiver had already ACKed.
    pub const SPURIOUS_RETRANSMISSION: u16 = 1 << 2;
    /// `tcp.analysis.out_of_order`: earlier data, soon after later data.
    pub const OUT_OF_ORDER: u16 = 1 << 3;
    /// `tcp.analysis.lost_segment`: starts beyond the highest byte seen so far.
    pub const LOST_SEGMENT: u16 = 1 << 4;
    /// `tcp.analysis.ack_lost_segment`: ACKs bytes the capture never saw sent.
    pub const ACK_LOST_SEGMENT: u16 = 1 << 5;
    /// `tcp.analysis.duplicate_ack`: an empty segment repeating the last ACK and window.
    pub const DUPLICATE_ACK: u16 = 1 << 6;
    /// `tcp.analysis.keep_alive`: 0 or 1 byte, one before the next expected byte.
    pub const KEEP_ALIVE: u16 = 1 << 7;
    /// `tcp.analysis.keep_alive_ack`: the duplicate ACK answering a keep-alive.
    pub const KEEP_ALIVE_ACK: u16 = 1 << 8;
    /// `tcp.analysis.window_update`: an empty segment changing only the window.
    pub const WINDOW_UPDATE: u16 = 1 << 9;
    /// `tcp.analysis.window_full`: fills the window the receiver last offered.
    pub const WINDOW_FULL: u16 = 1 << 10;
    /// `tcp.analysis.zero_window`: offers a window of 0.
    pub const ZERO_WINDOW: u16 = 1 << 11;
    /// `tcp.analysis.zero_window_probe`: one byte sent into a zero window.
    pub const ZERO_WINDOW_PROBE: u16 = 1 << 12;
    /// `tcp.analysis.zero_window_probe_ack`: the ACK answering a zero window probe.
    pub const ZERO_WINDOW_PROBE_ACK: u16 = 1 << 13;
    /// `tcp.analysis.reused_ports`: a SYN with a new sequence number on the same addresses and
    /// ports starts a new connection.
    pub const REUSED_PORTS: u16 = 1 << 14;

    /// Whether any of `bits` is set.
    pub fn has(self, bits: u16) -> bool {
        self.0 & bits != 0
    }

    /// Whether no flag is set (`tcp.analysis.flags` is absent).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn set(&mut self, bits: u16) {
        self.0 |= bits;
    }
}

/// One packet's TCP header values the analysis reads.
#[derive(Debug, Clone, Copy)]
pub struct SegmentFacts {
    /// Raw sequence number.
    pub seq: u32,
    /// Raw acknowledgement number.
    pub ack: u32,
    /// Payload bytes, as the IP header gives them (captured or not).
    pub len: u32,
    /// `tcp.flags`.
    pub flags: u16,
    /// `tcp.window_size_value`, unscaled.
    pub window: u16,
    /// Capture time, nanoseconds.
    pub ts_nanos: i64,
}

/// What is kept of one direction.
#[derive(Debug, Clone, Copy, Default)]
struct Direction {
    /// The sequence number after the highest byte sent (0: none yet, as tshark has it).
    next_seq: u32,
    next_seq_time: i64,
    /// The highest contiguous sequence number the other side is expected to ACK (0: none).
    max_seq_to_be_acked: u32,
    last_ack: u32,
    last_ack_time: i64,
    /// The last window offered, unscaled (`None` before the first packet).
    window: Option<u16>,
    /// Duplicate ACKs in a row (`u32::MAX` after an ACK of bytes it was not seen sending).
    dup_acks: u32,
    /// The flags of this direction's last packet.
    last_flags: AnalysisFlags,
    /// The window scale option of this direction's SYN: `None` before it, `Some(None)` without
    /// the option.
    syn_wscale: Option<Option<u8>>,
    /// The sequence number before its first byte: its SYN's, or one before the first seen.
    base_seq: Option<u32>,
}

/// The shift a window scale option asks for, as a receiver uses it: RFC 7323 2.3 caps it at
/// 14 (a larger one "MUST use 14 instead"), as Wireshark does. A crafted 255 would otherwise
/// shift a window out of its integer.
pub fn window_shift(option: u8) -> u8 {
    option.min(14)
}

/// The shift of the window a side offers, as tshark applies it: its own SYN's option, or none
/// when either SYN went without one (RFC 7323 scales only when both sent it); unknown while its
/// own SYN is unseen, whether or not the other side's was seen. Each SYN is given as `None`
/// (unseen) or `Some(option)`.
pub fn window_scale(own: Option<Option<u8>>, other: Option<Option<u8>>) -> Option<u8> {
    match (own?, other) {
        (Some(option), None | Some(Some(_))) => Some(window_shift(option)),
        _ => Some(0),
    }
}

/// `a` is before `b` in sequence space.
fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Without a measured round trip, a segment within this many nanoseconds of the highest one
/// is taken as out of order rather than retransmitted (tshark's 3 ms).
const DEFAULT_OUT_OF_ORDER_NANOS: i64 = 3_000_000;
/// A resend this soon after two duplicate ACKs asking for it is a fast retransmission.
const FAST_RETRANSMISSION_NANOS: i64 = 20_000_000;

/// One connection's analysis state: both directions and the handshake's round trip.
#[derive(Debug, Clone, Default)]
pub struct TcpAnalysis {
    dirs: [Direction; 2],
    /// Time of the latest pure SYN.
    syn_time: Option<i64>,
    /// SYN to the first pure ACK after it: the out-of-order threshold, once known.
    first_rtt: Option<i64>,
}

impl TcpAnalysis {
    /// Analyses the next packet of the connection, sent from side `dir` (0 or 1); `wscale` is
    /// the window scale option it carries, if any (read on SYNs).
    pub fn segment(&mut self, dir: usize, s: &SegmentFacts, wscale: Option<u8>) -> AnalysisFlags {
        let mut flags = AnalysisFlags::default();
        if s.flags & (SYN | ACK) == SYN && self.dirs[dir].base_seq.is_some_and(|base| base != s.seq) {
            *self = TcpAnalysis::default();
            flags.set(AnalysisFlags::REUSED_PORTS);
        }
        let (fwd, rev) = {
            let [a, b] = &mut self.dirs;
            if dir == 0 { (a, b) } else { (b, a) }
        };
        if s.flags & SYN != 0 {
            fwd.syn_wscale = Some(wscale);
        }
        fwd.base_seq.get_or_insert(if s.flags & SYN != 0 { s.seq } else { s.seq.wrapping_sub(1) });
        if s.flags & ACK != 0 {
            rev.base_seq.get_or_insert(s.ack.wrapping_sub(1));
        }
        let control = s.flags & (SYN | FIN | RST) != 0;
        let same_ack_and_window =
            s.len == 0 && s.seq == fwd.next_seq && s.ack == fwd.last_ack && fwd.window == Some(s.window) && !control;
        'forward: {
            if s.len == 1 && s.seq == fwd.next_seq && rev.window == Some(0) {
                flags.set(AnalysisFlags::ZERO_WINDOW_PROBE);
                break 'forward;
            }
            if s.window == 0 && !control {
                flags.set(AnalysisFlags::ZERO_WINDOW);
            }
            if fwd.next_seq != 0 && seq_before(fwd.next_seq, s.seq) && s.flags & RST == 0 {
                flags.set(AnalysisFlags::LOST_SEGMENT);
            }
            if s.len <= 1 && s.seq == fwd.next_seq.wrapping_sub(1) && !control {
                flags.set(AnalysisFlags::KEEP_ALIVE);
            }
            if s.len == 0
                && s.window != 0
                && fwd.window != Some(s.window)
                && s.seq == fwd.next_seq
                && s.ack == fwd.last_ack
                && !control
            {
                flags.set(AnalysisFlags::WINDOW_UPDATE);
            }
            if let (true, Some(shift), Some(window)) =
                (s.len > 0 && !control, window_scale(rev.syn_wscale, fwd.syn_wscale), rev.window)
            {
                let edge = rev.last_ack.wrapping_add(u32::from(window) << shift);
                if s.seq.wrapping_add(s.len) == edge {
                    flags.set(AnalysisFlags::WINDOW_FULL);
                }
            }
            if same_ack_and_window && s.window != 0 && rev.last_flags.has(AnalysisFlags::KEEP_ALIVE) {
                flags.set(AnalysisFlags::KEEP_ALIVE_ACK);
                break 'forward;
            }
            if same_ack_and_window && s.window == 0 && rev.last_flags.has(AnalysisFlags::ZERO_WINDOW_PROBE) {
                flags.set(AnalysisFlags::ZERO_WINDOW_PROBE_ACK);
                break 'forward;
            }
            if same_ack_and_window && s.window != 0 {
                fwd.dup_acks = fwd.dup_acks.wrapping_add(1);
                flags.set(AnalysisFlags::DUPLICATE_ACK);
            }
        }
        if s.ack != fwd.last_ack {
            fwd.dup_acks = 0;
        }
        // An ACK beyond what the other side was seen sending. Past a hole in what it sent, once,
        // the mark moving to its highest byte. Past its highest byte (it has sent pure ACKs since,
        // or its segments were not captured), once until that side's ACK changes: its duplicate
        // ACK count is set to tshark's guint32 -1, which a changed ACK resets and a duplicate
        // ACK wraps round to 0. The plain `<` is tshark's too.
        if rev.max_seq_to_be_acked != 0 && seq_before(rev.max_seq_to_be_acked, s.ack) && s.flags & ACK != 0 {
            if rev.max_seq_to_be_acked < rev.next_seq {
                flags.set(AnalysisFlags::ACK_LOST_SEGMENT);
                rev.max_seq_to_be_acked = rev.next_seq;
            } else {
                if rev.dup_acks == 0 {
                    flags.set(AnalysisFlags::ACK_LOST_SEGMENT);
                }
                rev.dup_acks = u32::MAX;
            }
        }
        let syn_or_fin = u32::from(s.flags & (SYN | FIN) != 0);
        let next_seq = s.seq.wrapping_add(s.len).wrapping_add(syn_or_fin);
        if (s.len > 0 || syn_or_fin == 1) && !flags.has(AnalysisFlags::KEEP_ALIVE) {
            flags.set(retransmission_kind(fwd, rev, s, next_seq, self.first_rtt));
        }
        let probe = flags.has(AnalysisFlags::ZERO_WINDOW_PROBE);
        if (seq_before(fwd.next_seq, next_seq) || fwd.next_seq == 0) && !probe {
            fwd.next_seq = next_seq;
            fwd.next_seq_time = s.ts_nanos;
        }
        if (s.seq == fwd.max_seq_to_be_acked || fwd.max_seq_to_be_acked == 0) && !probe {
            fwd.max_seq_to_be_acked = fwd.next_seq;
        }
        fwd.window = Some(s.window);
        fwd.last_ack = s.ack;
        fwd.last_ack_time = s.ts_nanos;
        fwd.last_flags = flags;
        // The handshake's round trip: from the latest SYN to the first pure ACK after it.
        if s.flags & (SYN | ACK) == SYN {
            self.syn_time = Some(s.ts_nanos);
        } else if s.flags & (SYN | ACK) == ACK
            && self.first_rtt.is_none()
            && let Some(syn) = self.syn_time
        {
            self.first_rtt = Some(s.ts_nanos.saturating_sub(syn)).filter(|&rtt| rtt != 0);
        }
        flags
    }
}

/// Whether a segment that takes sequence space (ending before `next_seq`) is resent or late:
/// spurious, fast, out-of-order or plain retransmission (asked in that order), or none of them (0).
fn retransmission_kind(
    fwd: &Direction,
    rev: &Direction,
    s: &SegmentFacts,
    next_seq: u32,
    first_rtt: Option<i64>,
) -> u16 {
    // More than a byte starting one before the highest seen follows a zero window probe: new data.
    let probe_continued = s.len > 1 && s.seq == fwd.next_seq.wrapping_sub(1);
    let not_advanced = fwd.next_seq != 0 && seq_before(s.seq, fwd.next_seq) && !probe_continued;
    // Bytes the receiver has already acknowledged, whatever else would fit (tshark asks first).
    if s.len > 0 && rev.last_ack != 0 && !seq_before(rev.last_ack, s.seq.wrapping_add(s.len)) {
        return AnalysisFlags::SPURIOUS_RETRANSMISSION | AnalysisFlags::RETRANSMISSION;
    }
    let since_ack = s.ts_nanos.saturating_sub(rev.last_ack_time);
    if not_advanced && rev.dup_acks >= 2 && rev.last_ack == s.seq && since_ack < FAST_RETRANSMISSION_NANOS {
        return AnalysisFlags::FAST_RETRANSMISSION | AnalysisFlags::RETRANSMISSION;
    }
    let since_highest = s.ts_nanos.saturating_sub(fwd.next_seq_time);
    let threshold = first_rtt.unwrap_or(DEFAULT_OUT_OF_ORDER_NANOS);
    if not_advanced && since_highest < threshold && fwd.next_seq != next_seq {
        return AnalysisFlags::OUT_OF_ORDER;
    }
    if not_advanced { AnalysisFlags::RETRANSMISSION } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_scaled_by_its_own_syns_option_unless_either_syn_had_none() {
        // Both SYNs with the option: each side by its own.
        assert_eq!(window_scale(Some(Some(7)), Some(Some(10))), Some(7));
        assert_eq!(window_scale(Some(Some(7)), Some(Some(0))), Some(7));
        // The other SYN not captured: its own still applies, as tshark has it.
        assert_eq!(window_scale(Some(Some(7)), None), Some(7));
        // Either without the option: no scaling (RFC 7323).
        assert_eq!(window_scale(Some(Some(7)), Some(None)), Some(0));
        assert_eq!(window_scale(Some(None), Some(Some(7))), Some(0));
        assert_eq!(window_scale(Some(None), None), Some(0));
        // Its own SYN not captured: unknown (shown unscaled), whatever the other's said.
        assert_eq!(window_scale(None, Some(Some(7))), None);
    }

    #[test]
    fn a_window_scale_past_14_is_used_as_14() {
        let mut analysis = TcpAnalysis::default();
        let facts = |seq, ack, len, flags| SegmentFacts { seq, ack, len, flags, window: 0xffff, ts_nanos: 0 };
        analysis.segment(0, &facts(100, 0, 0, SYN), Some(255));
        analysis.segment(1, &facts(500, 101, 0, SYN | ACK), Some(255));
        analysis.segment(0, &facts(101, 501, 0, ACK), None);
        // The server's window ends at the client's ack 501 + 0xffff << 14: half of it is not
        // full, the other half fills it.
        let half = 0xffff << 13;
        let flags = analysis.segment(1, &facts(501, 101, half, ACK), None);
        assert!(!flags.has(AnalysisFlags::WINDOW_FULL));
        let flags = analysis.segment(1, &facts(501 + half, 101, half, ACK), None);
        assert!(flags.has(AnalysisFlags::WINDOW_FULL));
    }
}
