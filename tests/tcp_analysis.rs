//! tshark's TCP sequence analysis (`tcp.analysis.*`), packet by packet: every packet of every
//! capture in `testdata/` (real peers, crafted damage, and real captures damaged by dropping,
//! repeating and moving packets) is analysed by `wsdissect::flow::analysis` and compared with
//! tshark 4.0.17's flags (`testdata/tcp-analysis/`, from `testdata/scripts/tcp_analysis_refs.py`).
//! The per-frame fields are then checked through the command line on the same captures.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use wsdissect::capture::CaptureReader;
use wsdissect::flow::analysis::{AnalysisFlags, SegmentFacts, TcpAnalysis};
use wsdissect::net;

/// The flags, in the order of the reference files' names.
const FLAGS: [(&str, u16); 16] = [
    ("retransmission", AnalysisFlags::RETRANSMISSION),
    ("fast_retransmission", AnalysisFlags::FAST_RETRANSMISSION),
    ("spurious_retransmission", AnalysisFlags::SPURIOUS_RETRANSMISSION),
    ("out_of_order", AnalysisFlags::OUT_OF_ORDER),
    ("lost_segment", AnalysisFlags::LOST_SEGMENT),
    ("ack_lost_segment", AnalysisFlags::ACK_LOST_SEGMENT),
    ("duplicate_ack", AnalysisFlags::DUPLICATE_ACK),
    ("keep_alive", AnalysisFlags::KEEP_ALIVE),
    ("keep_alive_ack", AnalysisFlags::KEEP_ALIVE_ACK),
    ("window_update", AnalysisFlags::WINDOW_UPDATE),
    ("window_full", AnalysisFlags::WINDOW_FULL),
    ("zero_window", AnalysisFlags::ZERO_WINDOW),
    ("zero_window_probe", AnalysisFlags::ZERO_WINDOW_PROBE),
    ("zero_window_probe_ack", AnalysisFlags::ZERO_WINDOW_PROBE_ACK),
    ("reused_ports", AnalysisFlags::REUSED_PORTS),
    ("flags", u16::MAX),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every capture the references cover, with its reference file.
fn captures() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for dir in ["crafted", "real", "other", "regressions", "tcp-analysis"] {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(root().join("testdata").join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
            .collect();
        entries.sort();
        for capture in entries {
            let name = format!("{dir}-{}.tsv", capture.file_name().unwrap().to_string_lossy());
            out.push((capture, root().join("testdata/tcp-analysis").join(name)));
        }
    }
    out
}

/// The analysis of every packet: "NUMBER\tflag,flag" for those with flags, connections told
/// apart by their endpoints (the analysis itself starts afresh when they are reused).
fn analyse(path: &Path) -> String {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = CaptureReader::new(std::io::BufReader::new(file)).unwrap();
    let mut connections: HashMap<_, TcpAnalysis> = HashMap::new();
    let mut out = String::new();
    while let Ok(Some(record)) = reader.next_record() {
        let Ok(seg) = net::decode_with_headers(record.link_type, record.data) else { continue };
        let (a, b) = ((seg.src, seg.src_port), (seg.dst, seg.dst_port));
        let (key, dir) = if a <= b { ((a, b), 0) } else { ((b, a), 1) };
        let analysis = connections.entry(key).or_default();
        let facts = SegmentFacts {
            seq: seg.seq,
            ack: seg.ack,
            len: u32::try_from(seg.payload.len()).unwrap() + seg.missing,
            flags: seg.headers.tcp_flags,
            window: seg.headers.window,
            ts_nanos: record.ts_nanos,
        };
        let flags = analysis.segment(dir, &facts, seg.headers.wscale);
        if !flags.is_empty() {
            let names: Vec<&str> = FLAGS.iter().filter(|(_, bits)| flags.has(*bits)).map(|(name, _)| *name).collect();
            out.push_str(&format!("{}\t{}\n", record.number, names.join(",")));
        }
    }
    out
}

#[test]
fn test_every_packet_is_flagged_as_tshark_flags_it() {
    let mut failures = Vec::new();
    let mut flagged = 0;
    for (capture, reference) in captures() {
        let expected = std::fs::read_to_string(&reference)
            .unwrap_or_else(|e| panic!("{}: {e} (run testdata/scripts/tcp_analysis_refs.py)", reference.display()));
        flagged += expected.lines().count();
        let got = analyse(&capture);
        if got != expected {
            failures.push(format!("{}:\n  tshark:    {expected:?}\n  wsdissect: {got:?}", capture.display()));
        }
    }
    assert!(failures.is_empty(), "{} captures differ:\n{}", failures.len(), failures.join("\n"));
    // Every kind the damage produces is among them.
    assert!(flagged > 150, "the references flag only {flagged} packets");
}

/// Through the command line, the fields on each frame are those of the packet that ends it,
/// and filters select on them, as tshark's do on the same packets.
#[test]
fn test_fields_and_filters_on_frames() {
    let bin = env!("CARGO_BIN_EXE_wsdissect");
    let capture = root().join("testdata/crafted/reorder.pcap");
    let run = |args: &[&str]| {
        let out = Command::new(bin).arg("-r").arg(&capture).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let fields = run(&[
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "tcp.analysis.out_of_order",
        "-e",
        "tcp.analysis.lost_segment",
        "-e",
        "tcp.analysis.flags",
        "-E",
        "header=y",
    ]);
    // tshark: packet 6 starts beyond a hole (lost segment), 7 fills it (out of order), 8
    // repeats bytes (retransmission); their frames are reported in stream order.
    let reference = std::fs::read_to_string(root().join("testdata/tcp-analysis/crafted-reorder.pcap.tsv")).unwrap();
    assert_eq!(reference, "6\tlost_segment,flags\n7\tout_of_order,flags\n8\tretransmission,flags\n");
    assert_eq!(
        fields,
        "frame.number\ttcp.analysis.out_of_order\ttcp.analysis.lost_segment\ttcp.analysis.flags\n8\t\t\t1\n7\t1\t\t1\n6\t\t1\t1\n9\t\t\t\n"
    );
    assert_eq!(run(&["-Y", "tcp.analysis.out_of_order", "-T", "fields", "-e", "frame.number"]), "7\n");
    assert_eq!(run(&["-Y", "!tcp.analysis.flags", "-T", "fields", "-e", "frame.number"]), "9\n");
}

/// Without the handshake whole, relative numbers and windows are tshark's guesses: the side
/// whose SYN was captured has its window scaled by its own option (tshark assumes the other
/// side agreed), the side whose SYN was not has it unscaled, and a side seen only through the
/// other's ACKs starts at the first byte acknowledged.
#[test]
fn test_numbers_and_windows_without_the_handshake_are_tsharks() {
    let basic = common::packets(root().join("testdata/real/python-basic.pcap").to_str().unwrap());
    // Both SYNs carry window scale 10; the client is port 38358.
    for (lost, scaled_port) in [(0, "18001"), (1, "38358")] {
        let kept: Vec<_> = basic.iter().enumerate().filter(|(i, _)| *i != lost).map(|(_, p)| p).collect();
        let path = std::env::temp_dir().join(format!("wsdissect-handshake-{}-{lost}.pcapng", std::process::id()));
        std::fs::write(&path, common::pcapng(&kept)).unwrap();
        let fields = ["-e", "tcp.srcport", "-e", "tcp.window_size_value", "-e", "tcp.window_size"];
        let out = common::run(&[&["-r", path.to_str().unwrap(), "-T", "fields"][..], &fields].concat());
        std::fs::remove_file(&path).unwrap();
        assert_eq!(out.code, 0, "{}", out.stderr);
        for port in ["18001", "38358"] {
            assert!(out.stdout.lines().any(|l| l.starts_with(port)), "no frame from {port}: {}", out.stdout);
        }
        for line in out.stdout.lines() {
            let [port, value, window] = line.split('\t').collect::<Vec<_>>()[..] else { panic!("{line}") };
            let value: u64 = value.parse().unwrap();
            let shift = if port == scaled_port { 10 } else { 0 };
            assert_eq!(window, (value << shift).to_string(), "SYN {lost} lost: {line}");
        }
    }
    // Picked up mid-stream, with one side only sending: tshark's relative ACK is 1 throughout.
    let capture = root().join("testdata/crafted/violation-heuristic.pcap");
    let out = common::run(&["-r", capture.to_str().unwrap(), "-T", "fields", "-e", "tcp.ack"]);
    assert!(!out.stdout.is_empty() && out.stdout.lines().all(|ack| ack == "1"), "{}", out.stdout);
}
