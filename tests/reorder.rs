//! Reordered and duplicated TCP segments give exactly the frames of the original capture.

mod common;

use common::{run, testdata};
use wsdissect::capture::CaptureReader;

/// A tiny deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Writes records as a little-endian microsecond pcap.
fn write_pcap(link_type: u32, records: &[(i64, u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&262144u32.to_le_bytes());
    out.extend_from_slice(&link_type.to_le_bytes());
    for (ts, orig, data) in records {
        out.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((ts % 1_000_000_000 / 1000) as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&orig.to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

/// Frames as (stream, direction, header and payload) without packet numbers, sorted.
fn frames_without_numbers(path: &std::path::Path) -> Vec<String> {
    let fields = [
        "tcp.stream",
        "tcp.srcport",
        "websocket.fin",
        "websocket.opcode",
        "websocket.payload_length",
        "websocket.payload_length_ext_64",
        "websocket.masking_key",
        "websocket.payload",
        "websocket.cut",
    ];
    let mut args = vec!["-r".to_string(), path.display().to_string(), "-T".into(), "fields".into()];
    for f in fields {
        args.extend(["-e".into(), f.into()]);
    }
    let out = run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut lines: Vec<String> = out.stdout.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn shuffled_and_duplicated_segments_give_the_original_frames() {
    for (rel, seed) in
        [("real/python-basic.pcap", 7), ("real/python-concurrent.pcap", 11), ("crafted/seq-wrap.pcap", 3)]
    {
        let original = testdata().join(rel);
        let bytes = std::fs::read(&original).unwrap();
        let mut reader = CaptureReader::new(&bytes[..]).unwrap();
        let mut records = Vec::new();
        let mut link = 0;
        while let Some(r) = reader.next_record().unwrap() {
            link = r.link_type;
            records.push((r.ts_nanos, r.orig_len, r.data.to_vec()));
        }
        // Keep the handshakes in place (the first packets of each connection); shuffle the rest
        // within windows of 8 packets and duplicate about one packet in five.
        let keep = records.len().min(8);
        let mut rng = Rng(seed);
        let mut tail: Vec<_> = records.split_off(keep);
        for window in tail.chunks_mut(8) {
            for i in (1..window.len()).rev() {
                let j = (rng.next() % (i as u64 + 1)) as usize;
                window.swap(i, j);
            }
        }
        for r in tail {
            if rng.next().is_multiple_of(5) {
                records.push(r.clone());
            }
            records.push(r);
        }
        let shuffled = std::env::temp_dir().join(format!("wsdissect-shuffled-{}-{seed}.pcap", std::process::id()));
        std::fs::write(&shuffled, write_pcap(link, &records)).unwrap();
        let want = frames_without_numbers(&original);
        let got = frames_without_numbers(&shuffled);
        std::fs::remove_file(&shuffled).unwrap();
        assert!(want.len() >= 2, "{rel}: too few frames to mean anything");
        assert_eq!(got, want, "{rel}: shuffled capture gives different frames");
    }
}
