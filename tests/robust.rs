//! No input makes the pipeline panic: testdata captures with bytes flipped, cut short or
//! spliced are read, analysed and printed in every format without a panic.

use proptest::prelude::*;
use wsdissect::analyzer::{Analyzer, Config};
use wsdissect::capture::CaptureReader;
use wsdissect::fields::{self, Context};
use wsdissect::output;

const SEEDS: [&str; 5] = [
    "testdata/real/python-small.pcapng",
    "testdata/real/python-any-sll2.pcap",
    "testdata/crafted/gap.pcap",
    "testdata/crafted/two-interfaces.pcapng",
    "testdata/crafted/many-segments.pcap",
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
        serde_json::to_writer(&mut sink, &output::json::frame_value(&ctx, f, output::json::BytesAs::Hex)).unwrap();
        serde_json::to_writer(&mut sink, &output::messages::MessageRecord::of(f, output::json::BytesAs::Base64))
            .unwrap();
        output::write_fields_line(&mut sink, &ctx, &all, f).unwrap();
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
