//! Runs the real `wsdissect` binary over every capture in `testdata/` and compares its frames
//! with the committed references: `CAPTURE.expected.tsv` (crafted captures, from the model in
//! `testdata/scripts/craft.py`) or `CAPTURE.tshark.tsv` (real peers, from tshark 4.0.17).
//! WebSockets over HTTP/2 are the exception: tshark 4.0.17 does not decode them, so their
//! captures ([`TRUTH_ONLY`]) are checked against what the peers sent (`tests/messages.rs`).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{keylog_args, run, testdata};

/// The reference columns (see `testdata/scripts/tshark_tsv.py`).
const COLUMNS: [&str; 15] = [
    "frame.number",
    "websocket.fin",
    "websocket.rsv",
    "websocket.opcode",
    "websocket.mask",
    "websocket.payload_length",
    "websocket.payload_length_ext_16",
    "websocket.payload_length_ext_64",
    "websocket.masking_key",
    "websocket.payload.close.status_code",
    "websocket.payload.close.reason",
    "tcp.stream",
    "websocket.payload.text",
    "websocket.payload.ping",
    "websocket.payload.pong",
];
const TEXT: usize = 12;

/// Captures with no frame-level reference: tshark 4.0.17 does not decode WebSockets over
/// HTTP/2 (RFC 8441). `tests/messages.rs` compares their messages with the peers' truth files.
const TRUTH_ONLY: [&str; 4] = ["h2c-python.pcap", "h2-python-tls.pcap", "h2-node-tls.pcap", "h2-chromium.pcap"];

fn captures() -> Vec<PathBuf> {
    let mut all = Vec::new();
    for dir in ["real", "crafted"] {
        for entry in std::fs::read_dir(testdata().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                all.push(path);
            }
        }
    }
    all.sort();
    all
}

fn reference_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Our frames with the reference columns (and `websocket.cut` when `with_cut`).
fn our_rows(capture: &Path, with_cut: bool) -> Vec<Vec<String>> {
    let mut args = vec!["-r".to_string(), capture.display().to_string(), "-T".into(), "fields".into()];
    for c in COLUMNS {
        args.extend(["-e".to_string(), c.to_string()]);
    }
    if with_cut {
        args.extend(["-e".to_string(), "websocket.cut".to_string()]);
    }
    args.extend(keylog_args(capture));
    let decode_as = PathBuf::from(format!("{}.decode-as", capture.display()));
    if decode_as.exists() {
        args.extend(["-d".to_string(), std::fs::read_to_string(&decode_as).unwrap().trim().to_string()]);
    }
    let out = run(&args);
    assert!(out.code <= 1, "{}: exit {} {}", capture.display(), out.code, out.stderr);
    out.stdout.lines().map(|l| l.split('\t').map(str::to_string).collect()).collect()
}

/// Rows keyed by packet number, so a mismatch reads as a packet-by-packet diff.
fn by_packet(rows: Vec<Vec<String>>) -> BTreeMap<u64, Vec<Vec<String>>> {
    let mut map: BTreeMap<u64, Vec<Vec<String>>> = BTreeMap::new();
    for row in rows {
        map.entry(row[0].parse().unwrap()).or_default().push(row);
    }
    for rows in map.values_mut() {
        rows.sort();
    }
    map
}

fn assert_same(capture: &Path, ours: Vec<Vec<String>>, want: Vec<Vec<String>>) {
    let (ours, want) = (by_packet(ours), by_packet(want));
    if ours != want {
        let mut diff = String::new();
        for n in ours.keys().chain(want.keys()).collect::<std::collections::BTreeSet<_>>() {
            if ours.get(n) != want.get(n) {
                diff += &format!("  packet {n}:\n    ours: {:?}\n    want: {:?}\n", ours.get(n), want.get(n));
            }
        }
        panic!("{}: frames differ\n{diff}", capture.display());
    }
}

/// `CAPTURE.tshark-wrong.tsv` lists cells (packet, column, why) where tshark 4.0.17 is wrong;
/// `tests/messages.rs` checks our values there against what the peers sent. Each listed cell
/// must really differ from tshark's; then it is left out of the comparison.
fn apply_known_tshark_faults(capture: &Path, ours: &mut [Vec<String>], want: &mut [Vec<String>]) {
    let faults = PathBuf::from(format!("{}.tshark-wrong.tsv", capture.display()));
    let Ok(list) = std::fs::read_to_string(&faults) else { return };
    for line in list.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let mut cols = line.split('\t');
        let (packet, column, why) = (cols.next().unwrap(), cols.next().unwrap(), cols.next().unwrap_or(""));
        assert!(!why.is_empty(), "{}: no reason given for {line}", faults.display());
        let col = COLUMNS.iter().position(|c| *c == column).unwrap_or_else(|| panic!("unknown column {column}"));
        let cell = |rows: &mut [Vec<String>]| {
            let row = rows.iter_mut().find(|r| r[0] == packet).unwrap_or_else(|| panic!("no frame in packet {packet}"));
            std::mem::take(&mut row[col])
        };
        let (o, w) = (cell(ours), cell(want));
        assert_ne!(o, w, "{}: packet {packet} {column} no longer differs from tshark", capture.display());
    }
}

#[test]
fn every_capture_matches_its_reference() {
    let mut checked = 0;
    for capture in captures() {
        if TRUTH_ONLY.iter().any(|name| capture.ends_with(name)) {
            assert!(PathBuf::from(format!("{}.truth.jsonl", capture.display())).exists());
            continue;
        }
        let expected = PathBuf::from(format!("{}.expected.tsv", capture.display()));
        if expected.exists() {
            assert_same(&capture, our_rows(&capture, true), reference_rows(&expected));
        } else {
            let tshark = PathBuf::from(format!("{}.tshark.tsv", capture.display()));
            let mut want = reference_rows(&tshark);
            let mut ours = our_rows(&capture, false);
            // tshark shows the reassembled text of a fragmented message on its last frame;
            // frame-level text is compared on whole text frames only.
            for row in want.iter_mut().chain(ours.iter_mut()) {
                row.resize(COLUMNS.len(), String::new());
                if row[3] != "1" {
                    row[TEXT].clear();
                }
            }
            apply_known_tshark_faults(&capture, &mut ours, &mut want);
            assert_same(&capture, ours, want);
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} captures found");
}
