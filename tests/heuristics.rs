//! Connections the capture joined after they began (`ws::detect`, on by default):
//! - every real-peer capture, cut before every one of its packets (before the 101, just after
//!   it, inside frames), gives the frames that follow the cut as the whole capture does, once a
//!   connection shows enough of them, and never a frame the whole capture does not have; its
//!   messages are those the whole capture has, or are marked as not knowable;
//! - captures of other TCP protocols from real software (`testdata/other`, recorded by
//!   `testdata/scripts/record_other.sh`), cut the same way, give no WebSocket frame.

mod common;

use common::{Packet, packets, pcapng};
use wsdissect::analyzer::{Config, Frame};
use wsdissect::ws::detect::{MIN_FRAMES, MIN_FRAMES_BOTH};
use wsdissect::ws::expert::ExpertKind;
use wsdissect::{Dissector, OwnedFrame};

/// Every plain (not TLS, not HTTP/2) real-peer capture.
const WEBSOCKET: &[&str] = &[
    "python-basic.pcap",
    "python-concurrent.pcap",
    "python-ipv6.pcap",
    "python-any-sll2.pcap",
    "python-small.pcapng",
    "python-deflate-context.pcap",
    "python-deflate-no-context.pcap",
    "python-deflate-windows.pcapng",
    "python-deflate-asymmetric.pcap",
    "node-deflate.pcap",
];

const OTHER: &[&str] =
    &["http.pcap", "tls.pcap", "ssh.pcap", "redis.pcap", "mqtt.pcap", "postgres.pcap", "random.pcap"];

/// The frames, each with the first packet it spans.
fn frames(bytes: &[u8], heuristics: bool) -> Vec<(OwnedFrame, u64)> {
    let mut frames = Vec::new();
    let config = Config { heuristics, ..Config::default() };
    let mut d = Dissector::from_bytes(bytes).unwrap().with_config(config);
    let _ = d.run(&mut |f: &Frame<'_>| frames.push((OwnedFrame::from_frame(f), f.first_packet)));
    frames
}

/// What the cut capture must agree on: the frame's packet (renumbered), its ends, its header
/// and a hash of its payload.
type Key = (u64, u16, u16, u8, bool, u8, bool, u64, u64);

fn key(f: &OwnedFrame, shift: u64) -> Key {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let h = &f.header;
    let number = f.packet.number - shift;
    let mut payload = DefaultHasher::new();
    f.payload.hash(&mut payload);
    (number, f.src.port, f.dst.port, h.opcode.0, h.fin, h.rsv, h.masked, h.payload_len, payload.finish())
}

/// The connection of a frame, by its ports (numbering differs between the cut and the whole).
fn ports(f: &OwnedFrame) -> (u16, u16) {
    (f.src.port.min(f.dst.port), f.src.port.max(f.dst.port))
}

#[test]
fn frames_after_any_cut_are_those_of_the_whole_capture() {
    for name in WEBSOCKET {
        let path = format!("testdata/real/{name}");
        let all = packets(&path);
        let whole = frames(&std::fs::read(&path).unwrap(), true);
        assert!(whole.iter().all(|(f, _)| f.expert.iter().all(|e| e.kind != ExpertKind::Heuristic)), "{name}");
        let mut found_late = 0;
        for cut in 1..all.len() {
            let kept: Vec<&Packet> = all[cut..].iter().collect();
            let shift = cut as u64;
            let got: Vec<OwnedFrame> = frames(&pcapng(&kept), true).into_iter().map(|(f, _)| f).collect();
            let mut connections: Vec<(u16, u16)> = whole.iter().map(|(f, _)| ports(f)).collect();
            connections.sort();
            connections.dedup();
            for conn in connections {
                let after: Vec<&OwnedFrame> =
                    whole.iter().filter(|(f, first)| ports(f) == conn && *first > shift).map(|(f, _)| f).collect();
                // Frames found on resynchronising may come after the other direction's.
                let mut expected: Vec<Key> = after.iter().map(|f| key(f, shift)).collect();
                expected.sort();
                let mine: Vec<&OwnedFrame> = got.iter().filter(|f| ports(f) == conn).collect();
                let mut keys: Vec<Key> = mine.iter().map(|f| key(f, 0)).collect();
                keys.sort();
                let late = mine.iter().any(|f| f.expert.iter().any(|e| e.kind == ExpertKind::Heuristic));
                found_late += usize::from(late);
                for k in &keys {
                    assert!(expected.contains(k), "{name} cut before packet {}: {conn:?} invented {k:?}", cut + 1);
                }
                // Enough frames after the cut to be found: every one must be.
                let sent = |client: bool| after.iter().filter(|f| f.from_client == client && f.cut.is_none()).count();
                let (client, server) = (sent(true), sent(false));
                let enough = client.max(server) > MIN_FRAMES || client.min(server) > MIN_FRAMES_BOTH;
                if enough {
                    assert_eq!(keys, expected, "{name} cut before packet {}: {conn:?}", cut + 1);
                }
                check_messages(name, cut, &after, &mine);
            }
        }
        assert!(found_late > 0, "{name}: no cut left a connection to find from its frames");
    }
}

/// A message found after a cut is the whole capture's, inflated alike; a compressed one may
/// instead be marked as referring to what came before the capture.
fn check_messages(name: &str, cut: usize, whole: &[&OwnedFrame], got: &[&OwnedFrame]) {
    for f in got {
        let Some(m) = &f.message else { continue };
        let Some(original) =
            whole.iter().find(|w| w.packet.number == f.packet.number + cut as u64 && w.header == f.header)
        else {
            continue;
        };
        let o = original.message.as_ref().expect("the same frame completes a message");
        let unknown = f.expert.iter().any(|e| e.kind == ExpertKind::HistoryBeforeCapture);
        assert!(!f.expert.iter().any(|e| e.kind == ExpertKind::DecompressionFailed), "{name} cut {cut}: {f:?}");
        if unknown {
            assert!(m.compressed && !m.complete && name.contains("deflate"), "{name} cut {cut}: {f:?}");
            assert!(!name.contains("no-context"), "{name}: messages without context takeover all inflate");
        } else if m.frames.len() == o.frames.len() {
            assert_eq!((m.complete, &m.data), (o.complete, &o.data), "{name} cut {cut}: packet {}", f.packet.number);
        }
    }
}

#[test]
fn other_protocols_cut_anywhere_give_no_websocket_frame() {
    for name in OTHER {
        let path = format!("testdata/other/{name}");
        let all = packets(&path);
        assert!(all.len() > 20, "{name}");
        for cut in 0..all.len() {
            let kept: Vec<&Packet> = all[cut..].iter().collect();
            let got = frames(&pcapng(&kept), true);
            assert!(got.is_empty(), "{name} cut before packet {}: {:?}", cut + 1, got.first());
        }
    }
}

#[test]
fn no_heuristics_finds_nothing_without_a_handshake() {
    let all = packets("testdata/real/python-deflate-context.pcap");
    let kept: Vec<&Packet> = all[8..].iter().collect();
    let bytes = pcapng(&kept);
    assert!(!frames(&bytes, true).is_empty());
    assert!(frames(&bytes, false).is_empty());
}
