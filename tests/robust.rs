//! No input makes the pipeline panic: testdata captures with bytes flipped, cut short or
//! spliced are read, analysed and printed in every format without a panic.

use proptest::prelude::*;
use wsdissect::analyzer::{Analyzer, Config};
use wsdissect::capture::CaptureReader;
use wsdissect::fields::{self, Context};
use wsdissect::output;

const SEEDS: [&str; 8] = [
    "testdata/real/python-small.pcapng",
    // permessage-deflate with context takeover: 15-bit windows, and narrower ones.
    "testdata/real/python-deflate-context.pcap",
    "testdata/real/python-deflate-windows.pcapng",
    "testdata/real/python-any-sll2.pcap",
    "testdata/crafted/gap.pcap",
    "testdata/crafted/two-interfaces.pcapng",
    "testdata/crafted/many-segments.pcap",
    "testdata/real/h2c-python.pcap",
];

/// Reads, analyses and prints everything; returns the number of frames.
fn analyse(bytes: &[u8]) -> usize {
    let Ok(mut reader) = CaptureReader::new(bytes) else { return 0 };
    let mut analyzer = Analyzer::new(Config { reassembly_limit: 4096, ..Config::default() });
    let ctx = Context::default();
    let all: Vec<_> = fields::all().collect();
    let mut sink = Vec::new();
    let mut frames = 0;
    let mut print = |f: &wsdissect::analyzer::Frame<'_>| {
        frames += 1;
        output::write_summary_line(&mut sink, &ctx, f).unwrap();
        output::tree::write_frame_tree(&mut sink, f, output::tree::TextAs::Json).unwrap();
        output::messages::write_message_line(&mut sink, &ctx, f).unwrap();
        serde_json::to_writer(&mut sink, &output::json::frame_record(&ctx, f, output::json::BytesAs::Hex)).unwrap();
        serde_json::to_writer(&mut sink, &output::messages::MessageRecord::of(f, output::json::BytesAs::Base64))
            .unwrap();
        output::write_fields_line(&mut sink, &ctx, &Default::default(), &all, f).unwrap();
        sink.clear();
    };
    while let Ok(Some(record)) = reader.next_record() {
        analyzer.packet(&record, &mut print);
    }
    analyzer.finish(&mut print);
    frames
}

#[test]
fn seeds_are_analysed() {
    for seed in SEEDS {
        assert!(analyse(&std::fs::read(seed).unwrap()) > 0, "{seed}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn mutated_captures_never_panic(
        which in 0..SEEDS.len(),
        flips in proptest::collection::vec((any::<u32>(), any::<u8>()), 0..40),
        cut in any::<u32>(),
        splice in proptest::option::of((any::<u32>(), any::<u32>(), 1u32..200)),
    ) {
        let mut bytes = std::fs::read(SEEDS[which]).unwrap();
        for (at, value) in flips {
            let i = at as usize % bytes.len();
            bytes[i] ^= value;
        }
        if let Some((from, to, len)) = splice {
            let from = from as usize % bytes.len();
            let len = (len as usize).min(bytes.len() - from);
            let piece = bytes[from..from + len].to_vec();
            let to = to as usize % bytes.len();
            bytes.splice(to..to, piece);
        }
        let keep = (cut as usize % (bytes.len() + 1)).max(bytes.len() / 2);
        bytes.truncate(keep);
        analyse(&bytes);
    }
}

/// A little-endian raw-IP pcap of `n` SYNs from different clients to one server.
fn syn_flood(n: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [0xa1b2c3d4u32, 0x0004_0002, 0, 0, 65535, 101] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for i in 0..n {
        let mut ip = vec![0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        ip.extend_from_slice(&[127, 0, 0, 2]);
        ip.extend_from_slice(&(1024 + (i % 60000) as u16).to_be_bytes());
        ip.extend_from_slice(&80u16.to_be_bytes());
        ip.extend_from_slice(&i.wrapping_mul(7919).to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        for v in [1_700_000_000 + i / 1000, i % 1000 * 1000, 40, 40] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&ip);
    }
    out
}

#[test]
fn a_syn_flood_is_held_to_the_connection_limit() {
    let bytes = syn_flood(20_000);
    let config = Config { max_connections: 1000, ..Config::default() };
    let mut d = wsdissect::Dissector::from_bytes(&bytes).unwrap().with_config(config);
    d.run(&mut |_: &wsdissect::analyzer::Frame<'_>| {}).unwrap();
    let stats = d.stats();
    assert_eq!(stats.connections, 20_000);
    assert!(stats.evicted >= 19_000 && stats.evicted <= 19_000 + 125, "{}", stats.evicted);
    // And WebSocket connections still come through whole under a small limit.
    let real = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/real/python-concurrent.pcap")).unwrap();
    let frames = |max_connections| {
        let mut n = 0;
        let mut d = wsdissect::Dissector::from_bytes(&real)
            .unwrap()
            .with_config(Config { max_connections, ..Config::default() });
        d.run(&mut |_: &wsdissect::analyzer::Frame<'_>| n += 1).unwrap();
        n
    };
    assert_eq!(frames(4), frames(100_000));
}
