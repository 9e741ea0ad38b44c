//! Mutations of real captures, checked with invariants rather than references:
//! - a dropped data segment (after the handshake) loses only the frames it carried bytes of
//!   (they are missing or cut); over HTTP/2 a hole that takes a frame header may cost any
//!   WebSocket stream of that direction the frames until its next frame boundary is found
//!   (which stream lost bytes is not known), so there no frame may be invented or altered;
//! - a file cut short gives a prefix of the original frames, then only frames marked cut.
//!   (Reordering and duplication: tests/reorder.rs; flipped bytes and splices: tests/robust.rs.)

mod common;

use common::{Packet, packets, pcapng};
use wsdissect::analyzer::Frame;
use wsdissect::net;
use wsdissect::{Dissector, OwnedFrame};

const CAPTURES: &[&str] = &[
    "testdata/real/python-small.pcapng",
    "testdata/real/python-basic.pcap",
    "testdata/real/node-deflate.pcap",
    "testdata/crafted/fragments.pcap",
    "testdata/crafted/many-segments.pcap",
    "testdata/real/h2c-python.pcap",
];

/// What identifies a frame apart from packet numbers.
fn key(f: &OwnedFrame) -> (u32, u16, u8, u64, Vec<u8>, bool) {
    (f.stream, f.src.port, f.header.opcode.0, f.header.payload_len, f.payload.clone(), f.cut.is_some())
}

fn frames(bytes: &[u8]) -> (Vec<OwnedFrame>, Vec<(u64, u64)>) {
    let mut frames = Vec::new();
    let mut spans = Vec::new();
    let mut d = Dissector::from_bytes(bytes).unwrap();
    let _ = d.run(&mut |f: &Frame<'_>| {
        spans.push((f.first_packet, f.packet.number));
        frames.push(OwnedFrame::from_frame(f));
    });
    (frames, spans)
}

#[test]
fn a_dropped_segment_loses_only_the_frames_it_touched() {
    for path in CAPTURES {
        let all = packets(path);
        let refs: Vec<&Packet> = all.iter().collect();
        let (original, spans) = frames(&pcapng(&refs));
        let mut dropped_any = 0;
        for drop in 0..all.len() {
            let Ok(seg) = net::decode(all[drop].link, &all[drop].data) else { continue };
            if seg.payload.is_empty() || seg.flags.syn || seg.flags.fin {
                continue;
            }
            let number = drop as u64 + 1;
            // The handshake makes the whole connection WebSocket: only data after it is dropped.
            let first_frame = original
                .iter()
                .zip(&spans)
                .filter(|(f, _)| {
                    [f.src.port, f.dst.port].contains(&seg.src_port) && [f.src.port, f.dst.port].contains(&seg.dst_port)
                })
                .map(|(_, s)| s.0)
                .min();
            if first_frame.is_none_or(|first| number < first) {
                continue;
            }
            // Frames of the dropped packet's direction whose bytes span it.
            let touched = |f: &OwnedFrame, span: &(u64, u64)| {
                f.src.port == seg.src_port && f.dst.port == seg.dst_port && (span.0..=span.1).contains(&number)
            };
            let kept: Vec<&Packet> = all.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, p)| p).collect();
            let (mutated, _) = frames(&pcapng(&kept));
            let mut expected: Vec<_> =
                original.iter().zip(&spans).filter(|(f, s)| !touched(f, s)).map(|(f, _)| key(f)).collect();
            let mut got: Vec<_> = mutated.iter().map(key).collect();
            // Frames the hole cut are extra, and marked so.
            let touched_count = original.iter().zip(&spans).filter(|(f, s)| touched(f, s)).count();
            let cut: Vec<_> = got.iter().filter(|k| k.5).cloned().collect();
            got.retain(|k| !k.5);
            expected.retain(|k| !k.5);
            expected.sort();
            got.sort();
            if path.contains("/h2") {
                for frame in &got {
                    let at = expected.iter().position(|e| e == frame);
                    let at = at.unwrap_or_else(|| panic!("{path}: dropping packet {number} invented {frame:?}"));
                    expected.remove(at);
                }
            } else {
                assert_eq!(got, expected, "{path}: dropping packet {number} changed frames it did not carry");
            }
            assert!(cut.len() <= touched_count, "{path}: dropping packet {number} cut {} frames", cut.len());
            dropped_any += 1;
        }
        assert!(dropped_any >= 3, "{path}");
    }
}

#[test]
fn a_cut_file_gives_a_prefix_of_the_frames() {
    for path in CAPTURES {
        let bytes = std::fs::read(path).unwrap();
        let (original, _) = frames(&bytes);
        let all = packets(path);
        let refs: Vec<&Packet> = all.iter().collect();
        let whole = pcapng(&refs);
        let (rewritten, _) = frames(&whole);
        // Rewritten as pcapng, a pcap file's packets gain an interface (`frame.interface_id`).
        let unnamed = |frames: &[wsdissect::OwnedFrame]| {
            let mut frames = frames.to_vec();
            frames.iter_mut().for_each(|f| f.packet.interface_id = None);
            frames
        };
        assert_eq!(unnamed(&rewritten), unnamed(&original), "{path}: rewriting the capture changed it");
        // The cuts below are of the pcapng form.
        let original = rewritten;
        // Cut at every record boundary, and 7 bytes into every record.
        let mut boundaries = Vec::new();
        for k in 0..=all.len() {
            let len = pcapng(&refs[..k]).len();
            boundaries.push((k as u64, len));
            if k < all.len() {
                boundaries.push((k as u64, len + 7));
            }
        }
        for (complete_packets, cut_at) in boundaries {
            let (got, _) = frames(&whole[..cut_at.min(whole.len())]);
            let whole_frames: Vec<_> = got.iter().filter(|f| f.cut.is_none()).collect();
            let prefix: Vec<_> =
                original.iter().filter(|f| f.packet.number <= complete_packets && f.cut.is_none()).collect();
            assert_eq!(whole_frames, prefix, "{path} cut at byte {cut_at}");
            assert!(got.len() - whole_frames.len() <= 2 * all.len(), "{path}");
        }
    }
}
