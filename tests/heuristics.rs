//! Connections the capture joined after they began (`ws::detect`, on by default):
//! - every real-peer capture, cut before every one of its packets (before the 101, just after
//!   it, inside frames), gives the frames that follow the cut as the whole capture does, once a
//!   connection shows enough of them, and never a frame the whole capture does not have; its
//!   messages are those the whole capture has, or are marked as not knowable; so does every
//!   TLS 1.3 capture with its key log, whose secrets are found without the handshake (TLS 1.2
//!   keys need both hellos: a TLS 1.2 capture cut after them gives nothing, and invents nothing);
//! - captures of other TCP protocols from real software (`testdata/other`, recorded by
//!   `testdata/scripts/record_other.sh`), cut the same way, give no WebSocket frame.

mod common;

use common::{Packet, packets, pcapng};
use wsdissect::analyzer::{Config, Frame};
use wsdissect::tls::keylog::KeyLog;
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
    "h2c-python.pcap",
];

/// Every real-peer capture of WebSockets over TLS (HTTP/1.1 or HTTP/2), each with its key log.
const WSS: &[&str] = &[
    "h2-chromium.pcap",
    "h2-node-tls.pcap",
    "h2-python-tls.pcap",
    "wss-chromium.pcap",
    "wss-node-tls13-chacha.pcap",
    "wss-openssl-keyupdate.pcap",
    "wss-openssl-resume-tls13.pcap",
    "wss-python-concurrent.pcap",
    "wss-python-tls13-aes128.pcap",
    "wss-python-tls13-deflate.pcap",
    "wss-python-tls13-hello-retry.pcap",
    "wss-openssl-resume-tls12.pcap",
    "wss-python-tls12-cbc-sha256-etm.pcap",
    "wss-python-tls12-chacha.pcap",
    "wss-python-tls12-ecdhe-aes128gcm.pcap",
];

const OTHER: &[&str] =
    &["http.pcap", "tls.pcap", "ssh.pcap", "redis.pcap", "mqtt.pcap", "postgres.pcap", "smb.pcap", "random.pcap"];

/// The frames, each with the first packet it spans.
fn frames(bytes: &[u8], heuristics: bool, keys: &KeyLog) -> Vec<(OwnedFrame, u64)> {
    let mut frames = Vec::new();
    let config = Config { heuristics, keylog: keys.clone(), ..Config::default() };
    let mut d = Dissector::from_bytes(bytes).unwrap().with_config(config);
    let _ = d.run(&mut |f: &Frame<'_>| frames.push((OwnedFrame::from_frame(f), f.first_packet)));
    frames
}

/// The TCP source port of each packet that carries TCP payload.
fn tcp_senders(all: &[Packet]) -> Vec<Option<u16>> {
    all.iter()
        .map(|p| {
            assert_eq!(p.link, 1, "Ethernet");
            let sliced = etherparse::SlicedPacket::from_ethernet(&p.data).ok()?;
            match sliced.transport? {
                etherparse::TransportSlice::Tcp(tcp) if !tcp.payload().is_empty() => Some(tcp.source_port()),
                _ => None,
            }
        })
        .collect()
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

/// The connection of a frame, by its ports and HTTP/2 stream (numbering differs between the
/// cut and the whole).
fn ports(f: &OwnedFrame) -> (u16, u16, Option<u32>) {
    (f.src.port.min(f.dst.port), f.src.port.max(f.dst.port), f.http2_stream)
}

#[test]
fn frames_after_any_cut_are_those_of_the_whole_capture() {
    for name in WEBSOCKET {
        frames_after_any_cut(name, &KeyLog::default());
    }
}

#[test]
fn wss_frames_after_any_cut_are_those_of_the_whole_capture() {
    for name in WSS {
        let mut keys = KeyLog::default();
        keys.add_file(format!("testdata/real/{name}.keys")).unwrap();
        frames_after_any_cut(name, &keys);
    }
}

fn frames_after_any_cut(name: &str, keys: &KeyLog) {
    let tls12 = name.contains("tls12");
    let path = format!("testdata/real/{name}");
    let all = packets(&path);
    let whole = frames(&std::fs::read(&path).unwrap(), true, keys);
    assert!(whole.iter().all(|(f, _)| f.expert.iter().all(|e| e.kind != ExpertKind::Heuristic)), "{name}");
    // Plaintext is tagged with the packet that ends its record: a frame is surely there to be
    // found when the sender's packet before that one is kept too.
    let sent = if keys.is_empty() { Vec::new() } else { tcp_senders(&all) };
    let surely_after = |f: &OwnedFrame, first: u64| match keys.is_empty() {
        true => first,
        false => (1..first).rev().find(|&n| sent[n as usize - 1] == Some(f.src.port)).unwrap_or(1),
    };
    let mut found_late = 0;
    for cut in 1..all.len() {
        let kept: Vec<&Packet> = all[cut..].iter().collect();
        let shift = cut as u64;
        let got: Vec<OwnedFrame> = frames(&pcapng(&kept), true, keys).into_iter().map(|(f, _)| f).collect();
        let mut connections: Vec<_> = whole.iter().map(|(f, _)| ports(f)).collect();
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
            // A frame sent before the cut may come again after it, in a retransmission.
            let unnumbered = |mut k: Key| {
                k.0 = 0;
                k
            };
            let before: Vec<Key> = whole
                .iter()
                .filter(|(f, _)| ports(f) == conn && f.packet.number <= shift)
                .map(|(f, _)| unnumbered(key(f, 0)))
                .collect();
            for k in &keys {
                let resent = before.contains(&unnumbered(*k));
                assert!(
                    expected.contains(k) || resent,
                    "{name} cut before packet {}: {conn:?} invented {k:?}",
                    cut + 1
                );
            }
            // Enough frames after the cut to be found: every one must be.
            let sure: Vec<&OwnedFrame> = whole
                .iter()
                .filter(|(f, first)| ports(f) == conn && surely_after(f, *first) > shift)
                .map(|(f, _)| f)
                .collect();
            let count = |client: bool| sure.iter().filter(|f| f.from_client == client && f.cut.is_none()).count();
            let (client, server) = (count(true), count(false));
            let enough = (client.max(server) > MIN_FRAMES || client.min(server) > MIN_FRAMES_BOTH) && !tls12;
            if enough {
                for f in &sure {
                    let k = key(f, shift);
                    assert!(keys.contains(&k), "{name} cut before packet {}: {conn:?} missed {k:?}", cut + 1);
                }
            }
            check_messages(name, cut, &after, &mine);
        }
    }
    assert_eq!(found_late > 0, !tls12, "{name}: a cut left a connection to find from its frames");
}

/// A message found after a cut is the whole capture's, inflated alike; a compressed one may
/// instead be marked as referring to what came before the capture.
fn check_messages(name: &str, cut: usize, whole: &[&OwnedFrame], got: &[&OwnedFrame]) {
    // Frames alike in one packet are paired in the order they come.
    let alike = |a: &OwnedFrame, b: &OwnedFrame, shift: u64| {
        a.packet.number == b.packet.number + shift && a.header == b.header && ports(a) == ports(b)
    };
    for (i, f) in got.iter().enumerate() {
        let Some(m) = &f.message else { continue };
        let earlier = got[..i].iter().filter(|g| alike(g, f, 0)).count();
        let Some(original) = whole.iter().filter(|w| alike(w, f, cut as u64)).nth(earlier) else {
            continue;
        };
        let o = original.message.as_ref().expect("the same frame completes a message");
        let unknown = f.expert.iter().any(|e| e.kind == ExpertKind::HistoryBeforeCapture);
        assert!(!f.expert.iter().any(|e| e.kind == ExpertKind::DecompressionFailed), "{name} cut {cut}: {f:?}");
        if unknown {
            assert!(m.compressed && !m.complete && o.compressed, "{name} cut {cut}: {f:?}");
            assert!(!name.contains("no-context"), "{name}: messages without context takeover all inflate");
        } else if m.frames.len() == o.frames.len() {
            assert_eq!((m.complete, &m.data), (o.complete, &o.data), "{name} cut {cut}: packet {}", f.packet.number);
        }
    }
}

/// With every key log of `testdata/real` given, so that each cut is also tried as TLS joined
/// late against all their secrets.
#[test]
fn other_protocols_cut_anywhere_give_no_websocket_frame() {
    let mut keys = KeyLog::default();
    for name in WSS {
        keys.add_file(format!("testdata/real/{name}.keys")).unwrap();
    }
    for name in OTHER {
        let path = format!("testdata/other/{name}");
        let all = packets(&path);
        assert!(all.len() > 20, "{name}");
        for cut in 0..all.len() {
            let kept: Vec<&Packet> = all[cut..].iter().collect();
            let got = frames(&pcapng(&kept), true, &keys);
            assert!(got.is_empty(), "{name} cut before packet {}: {:?}", cut + 1, got.first());
        }
    }
}

#[test]
fn no_heuristics_finds_nothing_without_a_handshake() {
    let all = packets("testdata/real/python-deflate-context.pcap");
    let kept: Vec<&Packet> = all[8..].iter().collect();
    let bytes = pcapng(&kept);
    assert!(!frames(&bytes, true, &KeyLog::default()).is_empty());
    assert!(frames(&bytes, false, &KeyLog::default()).is_empty());
}
