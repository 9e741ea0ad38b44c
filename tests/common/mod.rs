//! Helpers shared by the integration tests: run the binary, find testdata.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What a run of the binary printed and returned.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// `--keylog CAPTURE.keys` when a key log sits beside the capture (the wss captures), as
/// `../shared/tools/ws-conformance` passes it.
pub fn keylog_args(capture: &std::path::Path) -> Vec<String> {
    let keys = PathBuf::from(format!("{}.keys", capture.display()));
    if keys.exists() { vec!["--keylog".into(), keys.display().to_string()] } else { Vec::new() }
}

/// Runs `wsdissect` with `args`.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    run_with_stdin(args, None)
}

/// Runs `wsdissect` with `args`, feeding `stdin` when given.
pub fn run_with_stdin<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wsdissect");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let out = child.wait_with_output().expect("wait for wsdissect");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// The WebSocket part of a `-V` tree, as `testdata/scripts/tree_blocks.py` keeps it from
/// tshark's: each `WebSocket` subtree and the payload items after it (not our handshake block).
pub fn tree_blocks(tree: &str) -> String {
    let mut keeping = false;
    let mut out = String::new();
    for line in tree.lines() {
        let is_dump = line.len() > 6 && line[..4].chars().all(|c| c.is_ascii_hexdigit()) && &line[4..6] == "  ";
        if !line.is_empty() && !line.starts_with(' ') && !is_dump {
            let fragments = line.starts_with('[') && line.contains(" Reassembled websocket Fragments ");
            keeping = fragments
                || ["WebSocket", "Line-based text data", "Data (", "Continue:", "JavaScript Object Notation"]
                    .iter()
                    .any(|k| line.starts_with(k))
                    && line != "WebSocket Handshake";
        }
        if keeping && !line.trim().is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A record of a capture, to write into another.
pub struct Packet {
    pub ts: i64,
    pub orig: u32,
    pub link: u32,
    pub data: Vec<u8>,
}

/// Every record of the capture at `path`.
pub fn packets(path: &str) -> Vec<Packet> {
    let bytes = std::fs::read(path).unwrap();
    let mut reader = wsdissect::capture::CaptureReader::new(&bytes[..]).unwrap();
    let mut out = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        out.push(Packet { ts: r.ts_nanos, orig: r.orig_len, link: r.link_type, data: r.data.to_vec() });
    }
    out
}

/// A pcapng (one interface per link type) holding `packets`.
pub fn pcapng(packets: &[&Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = wsdissect::capture::write::CaptureWriter::new(&mut out, true);
    for (i, p) in packets.iter().enumerate() {
        let record = wsdissect::capture::Record {
            number: i as u64 + 1,
            ts_nanos: p.ts,
            orig_len: p.orig,
            link_type: p.link,
            data: &p.data,
            file: 0,
            interface_id: None,
        };
        writer.write(&record).unwrap();
    }
    writer.finish(1).unwrap();
    out
}
