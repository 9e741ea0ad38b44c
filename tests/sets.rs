//! Several files read as one capture (`-r` repeated, a directory, a pattern): every real-peer
//! capture split into 2 to 5 files at various packets, read as a set in any argument order,
//! gives exactly the frames and messages of the whole; a damaged file in the middle is reported
//! and the rest still read.

mod common;

use std::path::{Path, PathBuf};

use common::{Packet, packets, pcapng, run};
use wsdissect::analyzer::{Config, Frame};
use wsdissect::capture::scan_secrets;
use wsdissect::tls::keylog::KeyLog;
use wsdissect::{Dissector, OwnedFrame};

/// Every real-peer capture (with its key log when it has one), and a reordered crafted one.
fn captures() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(common::testdata().join("real"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    found.sort();
    found.push(common::testdata().join("crafted/reorder.pcap"));
    found
}

/// The configuration for a capture: its key log, if it has one beside it, and the secrets it
/// holds itself (the parts written here do not carry them; the command line gathers every file's
/// before reading a set).
fn config(capture: &Path) -> Config {
    let mut keylog = KeyLog::default();
    let keys = PathBuf::from(format!("{}.keys", capture.display()));
    if keys.exists() {
        keylog.add_file(&keys).unwrap();
    }
    for secrets in scan_secrets(std::fs::File::open(capture).unwrap()).unwrap() {
        keylog.add_text(&secrets);
    }
    Config { keylog, ..Config::default() }
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsdissect-sets-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `all` as files of consecutive packets, cut before each index of `cuts`.
fn split(all: &[Packet], cuts: &[usize], dir: &Path) -> Vec<PathBuf> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(all.len());
    bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let path = dir.join(format!("part{i}.pcapng"));
            let part: Vec<&Packet> = all[w[0]..w[1]].iter().collect();
            std::fs::write(&path, pcapng(&part)).unwrap();
            path
        })
        .collect()
}

fn frames(mut d: Dissector<impl std::io::Read>) -> Vec<OwnedFrame> {
    let mut out = Vec::new();
    d.run(&mut |f: &Frame<'_>| out.push(OwnedFrame::from_frame(f))).unwrap();
    out
}

#[test]
fn a_split_capture_read_as_a_set_is_the_whole_in_any_order() {
    let mut checked = 0;
    for path in captures() {
        let name = path.file_name().unwrap().to_str().unwrap();
        let all = packets(path.to_str().unwrap());
        let mut whole = frames(Dissector::open(&path).unwrap().with_config(config(&path)));
        // The parts are written as pcapng, whose packets name their interface (0).
        whole.iter_mut().for_each(|f| f.packet.interface_id = Some(0));
        if whole.is_empty() {
            // tls-node-h2.pcap: HTTP/2 without a WebSocket.
            continue;
        }
        checked += 1;
        let dir = scratch(name);
        for files in 2..=5 {
            for shift in [0, 1, 3] {
                let cuts: Vec<usize> = (1..files).map(|i| (i * all.len() / files + shift).min(all.len() - 1)).collect();
                let parts = split(&all, &cuts, &dir);
                let mut orders = vec![parts.clone(), parts.iter().rev().cloned().collect()];
                orders.push([&parts[1..], &parts[..1]].concat());
                for order in orders {
                    let dissector = Dissector::open_set(&order).unwrap().with_config(config(&path));
                    assert!(dissector.damaged_files().is_empty());
                    // Which file a packet came from is checked below.
                    let mut got = frames(dissector);
                    got.iter_mut().for_each(|f| f.packet.file = 0);
                    assert_eq!(got, whole, "{name} in {files} files cut at {cuts:?}, read as {order:?}");
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(checked >= 30, "{checked} captures");
}

#[test]
fn the_command_line_takes_repeated_r_a_directory_and_a_pattern() {
    let path = common::testdata().join("real/python-concurrent.pcap");
    let all = packets(path.to_str().unwrap());
    let dir = scratch("cli");
    let parts = split(&all, &[all.len() / 3, 2 * all.len() / 3], &dir);
    let fields = ["-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "websocket.payload_length"];
    let whole = run(&[&["-r", path.to_str().unwrap()][..], &fields].concat());
    let mut repeated: Vec<&str> = Vec::new();
    for p in parts.iter().rev() {
        repeated.extend(["-r", p.to_str().unwrap()]);
    }
    let pattern = dir.join("part*").display().to_string();
    for args in [repeated, vec![dir.to_str().unwrap()], vec![pattern.as_str()]] {
        let got = run(&[&args[..], &fields].concat());
        assert_eq!((got.code, &got.stdout), (0, &whole.stdout), "{args:?}: {}", got.stderr);
    }
    // frame.file names each frame's file.
    let got = run(&[dir.to_str().unwrap(), "-T", "fields", "-e", "frame.number", "-e", "frame.file"]);
    for line in got.stdout.lines() {
        let (number, file) = line.split_once('\t').unwrap();
        let number: usize = number.parse().unwrap();
        let part = if number <= all.len() / 3 {
            0
        } else if number <= 2 * all.len() / 3 {
            1
        } else {
            2
        };
        assert_eq!(file, parts[part].display().to_string(), "{line}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_damaged_file_in_the_middle_is_reported_and_the_rest_read() {
    let path = common::testdata().join("real/python-concurrent.pcap");
    let all = packets(path.to_str().unwrap());
    let dir = scratch("damaged");
    let (a, b) = (all.len() / 3, 2 * all.len() / 3);
    let parts = split(&all, &[a, b], &dir);
    // The middle file cut inside its fifth record; a file that is no capture beside them.
    let bytes = std::fs::read(&parts[1]).unwrap();
    let fifth = pcapng(&all[a..a + 5].iter().collect::<Vec<_>>()).len();
    std::fs::write(&parts[1], &bytes[..fifth - 10]).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a capture\n").unwrap();
    let got = run(&[dir.to_str().unwrap(), "-T", "fields", "-e", "frame.number", "-e", "frame.file"]);
    assert_eq!(got.code, 1, "{}", got.stderr);
    let middle = parts[1].display().to_string();
    assert!(got.stderr.contains(&format!("{middle}: capture cut short")), "{}", got.stderr);
    assert!(got.stderr.contains("notes.txt: not a pcap or pcapng capture"), "{}", got.stderr);
    // Frames from the first and the last file are there.
    for part in [&parts[0], &parts[2]] {
        let name = part.display().to_string();
        assert!(got.stdout.lines().any(|l| l.ends_with(&name)), "no frame from {name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
