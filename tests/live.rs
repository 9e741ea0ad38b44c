//! Live capture (`-i`): with the privilege (CI runs as root), a real WebSocket peer (Python
//! `websockets`, `testdata/scripts/python_peer.py`) talks over loopback while `wsdissect -i lo
//! -f 'tcp port N' -w FILE` runs, and every message the peer sent must be printed; Ctrl-C
//! (SIGINT) ends the capture with its summary, and FILE read back gives the same frames.
//! Without CAP_NET_RAW, the one-line error says what is missing.
//!
//! Where the capture cannot run (not root, or no Python `websockets`) the test says so and checks
//! only the error, unless WSDISSECT_REQUIRE_LIVE is set (as `.ci/run` sets it as root): then that
//! is a failure.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wsdissect");

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn has_python_websockets() -> bool {
    Command::new("python3").args(["-c", "import websockets"]).status().is_ok_and(|s| s.success())
}

/// The command, without CAP_NET_RAW: dropped from the bounding set when run as root.
fn unprivileged(args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--bounding-set", "-net_raw", "--inh-caps", "-net_raw", BIN]).args(args);
        c
    } else {
        let mut c = Command::new(BIN);
        c.args(args);
        c
    }
}

#[test]
fn without_the_privilege_a_one_line_error_says_what_is_missing() {
    let out = unprivileged(&["-i", "lo", "-a", "duration:1"]).output().expect("run wsdissect");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot capture on lo: permission denied") && stderr.contains("CAP_NET_RAW"), "{stderr}");
}

#[test]
fn every_message_a_real_peer_sends_is_printed_live() {
    let required = std::env::var_os("WSDISSECT_REQUIRE_LIVE").is_some();
    if !is_root() || !has_python_websockets() {
        assert!(!required, "WSDISSECT_REQUIRE_LIVE is set, but not root or no Python websockets");
        eprintln!("live capture not tested here: needs root and Python websockets");
        return;
    }
    // A port nobody uses now.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let filter = format!("tcp port {port}");
    let fields = ["-T", "fields", "-e", "websocket.mask", "-e", "websocket.opcode", "-e", "websocket.payload.text"];
    let dir = std::env::temp_dir().join(format!("wsdissect-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let saved = dir.join("saved.pcapng");
    let mut capture = Command::new(BIN)
        .args(["-i", "lo", "-f", &filter, "-a", "duration:60", "-w"])
        .arg(&saved)
        .args(fields)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wsdissect");
    // Wait for "capturing on 'lo'".
    let mut stderr = BufReader::new(capture.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("capturing on 'lo'"), "{line}");
    let truth = dir.join("truth.jsonl");
    let peer = Command::new("python3")
        .arg(common::testdata().join("scripts/python_peer.py"))
        .args(["small", "127.0.0.1", &port.to_string()])
        .arg(&truth)
        .status()
        .expect("run the Python peer");
    assert!(peer.success());
    // Ctrl-C ends the capture, which prints the rest and its summary.
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    Command::new("kill").args(["-INT", &capture.id().to_string()]).status().unwrap();
    let out = capture.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "SIGINT did not end the capture promptly");
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8(out.stdout).unwrap();
    // -w saved what was captured: read back, it gives what was printed.
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(rest.contains("packets to"), "{rest}");
    let back = common::run(&[&["-r", saved.to_str().unwrap()][..], &fields].concat());
    assert_eq!((back.code, &back.stdout), (0, &printed));
    let mut got: Vec<(bool, String)> = printed
        .lines()
        .filter_map(|l| match l.split('\t').collect::<Vec<_>>()[..] {
            [mask, "1", text] => Some((mask == "1", text.to_string())),
            _ => None,
        })
        .collect();
    let mut sent: Vec<(bool, String)> = std::fs::read_to_string(&truth)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|m| m["opcode"] == 1)
        .map(|m| (m["direction"] == "client-to-server", m["text"].as_str().unwrap().to_string()))
        .collect();
    got.sort();
    sent.sort();
    assert!(sent.len() >= 8, "the peer sent {} messages", sent.len());
    assert_eq!(got, sent);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn capture_filter_and_autostop_need_a_live_capture() {
    let capture = common::testdata().join("real/python-basic.pcap");
    for flag in [["-f", "port 1"], ["-a", "duration:1"]] {
        let out = common::run(&[&["-r", capture.to_str().unwrap()][..], &flag].concat());
        assert_eq!(out.code, 2, "{flag:?}");
        assert!(out.stderr.contains("apply to a live capture (-i IFACE)"), "{}", out.stderr);
    }
    let out = common::run(&["-i", "lo", "-f", "tcp[13] & 2 != 0"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("wsdissect: -f: ") && out.stderr.contains("understood:"), "{}", out.stderr);
}
