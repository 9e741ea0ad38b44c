//! The stages of the pipeline on their own: the frame header parser, unmasking, the TCP
//! reassembler (in order and shuffled), and the whole pipeline on synthetic captures in memory.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use wsdissect::Dissector;
use wsdissect::analyzer::{Config, Frame};
use wsdissect::flow::reassembler::{Delivery, Reassembler};
use wsdissect::synth::{Profile, key_log, write_capture};
use wsdissect::tls::keylog::KeyLog;
use wsdissect::ws::frame::{parse_header, unmask};

fn frame_parser(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame");
    let headers: [&[u8]; 3] =
        [&[0x81, 0x85, 1, 2, 3, 4], &[0x82, 0x7e, 0x10, 0x00], &[0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 9, 9, 9, 9]];
    g.throughput(Throughput::Elements(headers.len() as u64));
    g.bench_function("parse_header", |b| {
        b.iter(|| headers.iter().map(|h| parse_header(black_box(h)).unwrap().1.payload_len).sum::<u64>())
    });
    let mut data = vec![0x5au8; 64 * 1024];
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("unmask_64k", |b| b.iter(|| unmask(black_box(&mut data), [1, 2, 3, 4], 1)));
    g.finish();
}

fn reassembler(c: &mut Criterion) {
    let mut g = c.benchmark_group("reassembler");
    let segments: Vec<(u32, Vec<u8>)> = (0..1000u32).map(|i| (1 + i * 1460, vec![i as u8; 1460])).collect();
    g.throughput(Throughput::Bytes(1460 * 1000));
    for (name, shuffle) in [("in_order", false), ("out_of_order", true)] {
        let mut order: Vec<usize> = (0..segments.len()).collect();
        if shuffle {
            // Swap neighbours: every other segment arrives early.
            for pair in order.chunks_mut(2) {
                pair.reverse();
            }
        }
        g.bench_function(name, |b| {
            b.iter_batched(
                || Reassembler::<u32>::new(4 << 20),
                |mut r| {
                    r.syn(0);
                    let mut delivered = 0usize;
                    for &i in &order {
                        let (seq, data) = &segments[i];
                        r.segment(*seq, data, 0, &mut |d| {
                            if let Delivery::Data(bytes, _) = d {
                                delivered += bytes.len();
                            }
                        });
                    }
                    delivered
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn pipeline(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(20);
    for (name, profile, size) in [
        ("small_messages", Profile::small(), 8 << 20),
        ("large_messages", Profile::large(), 32 << 20),
        ("wss_large_messages", Profile::large_tls(), 32 << 20),
        ("h2_large_messages", Profile::large_h2(), 32 << 20),
        // Every connection compressed with context takeover: 400 open at once, 10,000 (their
        // handshakes alone take 10 MB), and a browser's 8 with 15-bit windows.
        ("compressed_400", Profile::deflate(), 8 << 20),
        ("compressed_10k", Profile::deflate_many(), 32 << 20),
        ("compressed_browser", Profile::deflate_browser(), 8 << 20),
    ] {
        let mut pcap = Vec::new();
        let written = write_capture(&mut pcap, &profile, size, 7).unwrap();
        // The wss capture's secrets (none for the others).
        let mut keylog = KeyLog::default();
        keylog.add_text(key_log(&profile, 7).as_bytes());
        g.throughput(Throughput::Bytes(pcap.len() as u64));
        // "payloads": messages joined, checked and inflated; "two_threads": the same with the
        // message stage on a second thread (`run_parallel`).
        let all = Config::default().payload_cap;
        for (mode, payload_cap, parallel) in
            [("headers", 0, false), ("payloads", all, false), ("payloads_two_threads", all, true)]
        {
            g.bench_function(format!("{name}/{mode}"), |b| {
                b.iter(|| {
                    let mut frames = 0u64;
                    let config = Config { payload_cap, keylog: keylog.clone(), ..Config::default() };
                    let mut d = Dissector::from_bytes(&pcap).unwrap().with_config(config);
                    let mut count = |_: &Frame<'_>| frames += 1;
                    if parallel { d.run_parallel(&mut count) } else { d.run(&mut count) }.unwrap();
                    // Every frame, decrypted or not: a broken build cannot bench an empty loop.
                    assert_eq!(frames, written.frames);
                    frames
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, frame_parser, reassembler, pipeline);
criterion_main!(benches);
