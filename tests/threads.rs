//! The two-thread pipeline (`--threads 2`, the default for files on two cores) shows exactly
//! what one thread shows: every capture in testdata and in the shared public captures, every
//! view, the same bytes on stdout and stderr and the same exit status.

mod common;

use std::path::{Path, PathBuf};

use common::{keylog_args, run, testdata};

/// Every capture under `dir`.
fn captures(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            captures(&path, found);
        } else if path.extension().is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap") {
            found.push(path);
        }
    }
}

const VIEWS: &[&[&str]] = &[
    &[],
    &["-V"],
    &["-V", "--text-as", "json"],
    &["-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "websocket.payload.text", "-e", "_ws.expert"],
    // Header fields only: no payload kept, and the frames of every connection decoded on the
    // printing thread once its pieces show small.
    &["-T", "fields", "-e", "frame.number", "-e", "websocket.opcode", "-e", "websocket.payload_length"],
    &["--messages"],
    &["--messages", "-T", "jsonl"],
    &["-T", "json"],
    &["-Y", "websocket.opcode == 1 || websocket.message.compressed"],
    &["-c", "3"],
    &["--stats"],
    &["--connections"],
    &["--follow", "0"],
    &["-d", "tcp.port==8080,websocket"],
];

#[test]
fn two_threads_show_what_one_shows() {
    let mut files = Vec::new();
    captures(&testdata(), &mut files);
    captures(&testdata().join("../../shared/captures"), &mut files);
    assert!(files.len() >= 40, "{} captures", files.len());
    let mut compared = 0;
    for file in &files {
        for view in VIEWS {
            let keys = keylog_args(file);
            let args = |threads: &'static str| {
                let mut args = vec!["--threads", threads];
                args.extend_from_slice(view);
                args.push(file.to_str().unwrap());
                args.extend(keys.iter().map(String::as_str));
                args
            };
            let (one, two) = (run(&args("1")), run(&args("2")));
            assert_eq!(one.stdout, two.stdout, "{} {view:?}", file.display());
            assert_eq!(one.stderr, two.stderr, "{} {view:?}", file.display());
            assert_eq!(one.code, two.code, "{} {view:?}", file.display());
            compared += 1;
        }
    }
    eprintln!("{compared} runs compared");
}

#[test]
fn threads_are_one_or_two() {
    for bad in ["0", "3", "x"] {
        let out = run(&["--threads", bad, "testdata/crafted/fragments.pcap"]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
    }
}
