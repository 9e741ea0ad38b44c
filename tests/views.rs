//! The overview outputs: `--connections`, `--stats` and `--follow`.

mod common;

use common::{run, testdata};
use serde_json::Value;

fn capture(rel: &str) -> String {
    testdata().join(rel).display().to_string()
}

#[test]
fn connections_count_frames_messages_bytes_and_closes() {
    let out = run(&["--connections", "-T", "json", &capture("crafted/fragments.pcap")]);
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    let row = &rows[0];
    assert_eq!(row["client"], "127.0.0.1:40000");
    assert_eq!(row["uri"], "/chat");
    assert_eq!(row["accept_valid"], true);
    // Client: 3 text fragments and a ping = 4 frames, 2 messages, 6+11+7+5 payload bytes.
    assert_eq!(row["client_to_server"]["frames"], 4);
    assert_eq!(row["client_to_server"]["messages"], 2);
    assert_eq!(row["client_to_server"]["wire_bytes"], 29);
    // Server: pong, binary in two, JSON text.
    assert_eq!(row["server_to_client"]["messages"], 3);
    assert_eq!(row["closed_first"], Value::Null);

    let basic = run(&["--connections", &capture("real/python-basic.pcap")]).stdout;
    let lines: Vec<&str> = basic.lines().collect();
    assert!(lines[0].starts_with("stream\tclient\tserver\t"));
    let cols: Vec<&str> = lines[1].split('\t').collect();
    let header: Vec<&str> = lines[0].split('\t').collect();
    let col = |name: &str| cols[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!((col("c2s_close"), col("s2c_close"), col("closed_first")), ("4000 bye now", "4000 bye now", "client"));
    assert_eq!(col("accept"), "ok");

    let wrong = run(&["--connections", "-T", "jsonl", &capture("crafted/violation-wrong_accept.pcap")]).stdout;
    let row: Value = serde_json::from_str(wrong.lines().next().unwrap()).unwrap();
    assert_eq!((row["accept_valid"].clone(), row["violations"].clone()), (Value::Bool(false), Value::from(1)));
}

#[test]
fn stats_count_opcodes_sizes_and_rate() {
    let out = run(&["--stats", "-T", "json", &capture("crafted/fragments.pcap")]);
    let stats: Value = serde_json::from_str(&out.stdout).unwrap();
    let report = &stats[0];
    assert_eq!(report["frames_by_opcode"]["Continuation"], 3);
    assert_eq!(report["frames_by_opcode"]["Ping"], 1);
    assert_eq!(report["client_to_server"]["count"], 1);
    assert_eq!(report["client_to_server"]["max"], 22);
    assert_eq!(report["server_to_client"]["count"], 2);
    assert_eq!(
        (report["server_to_client"]["min"].clone(), report["server_to_client"]["max"].clone()),
        (58.into(), 70.into())
    );
    assert_eq!(report["messages_per_second"], serde_json::json!([5]));
    let text = run(&["--stats", &capture("real/python-basic.pcap")]).stdout;
    assert!(text.contains("client-to-server           13          0        126     200000     200000"), "{text}");
}

#[test]
fn follow_shows_one_connection_as_messages() {
    let out = run(&["--follow", "0", &capture("crafted/fragments.pcap")]).stdout;
    assert!(out.contains("Follow: websocket stream 0\nClient: 127.0.0.1:40000\nServer: 127.0.0.2:8080\n"), "{out}");
    assert!(out.contains("[0.008000] client → server Text (22 bytes, 3 frames)\nHello fragmented world\n"), "{out}");
    assert!(out.contains("    [0.011000] server → client Binary (70 bytes, 2 frames)\n    0000  00 01 02"), "{out}");
    let others = run(&["--follow", "1", &capture("real/python-concurrent.pcap")]).stdout;
    assert!(others.contains("Follow: websocket stream 1"));
    assert!(others.contains("connection") && !others.contains("stream 0"), "{others}");
    assert_eq!(run(&["--follow", "9", &capture("crafted/fragments.pcap")]).stdout, "");
}

#[test]
fn write_selected_packets_reads_back_the_same_frames() {
    let dir = std::env::temp_dir().join(format!("wsdissect-w-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (input, name, magic) in [
        ("real/python-concurrent.pcap", "out.pcap", [0x4d, 0x3c, 0xb2, 0xa1]),
        ("real/python-small.pcapng", "out.pcapng", [0x0a, 0x0d, 0x0d, 0x0a]),
        ("real/python-deflate-windows.pcapng", "deflate.pcapng", [0x0a, 0x0d, 0x0d, 0x0a]),
    ] {
        let out_path = dir.join(name).display().to_string();
        let filter = "websocket.opcode == 1 || websocket.opcode == 8";
        let fields = ["-T", "fields", "-e", "tcp.stream", "-e", "websocket.opcode", "-e", "websocket.payload.text"];
        let wrote = run(&["-Y", filter, "-w", &out_path, "--with-handshake", &capture(input)]);
        assert_eq!(wrote.code, 0, "{}", wrote.stderr);
        assert!(wrote.stdout.is_empty());
        assert_eq!(std::fs::read(&out_path).unwrap()[..4], magic, "{input}");
        let original = run(&[&["-Y", filter][..], &fields, &[&capture(input)]].concat()).stdout;
        let again = run(&[&["-Y", filter][..], &fields, &[out_path.as_str()]].concat()).stdout;
        assert!(!original.is_empty());
        assert!(again == original, "{input}: the frames read back differ");
    }
    // Close frames of a compressed connection (context takeover): the handshake and the close
    // frames' packets only, which wsdissect and tshark both read back.
    let input = capture("real/python-deflate-context.pcap");
    let out_path = dir.join("closes.pcap").display().to_string();
    let filter = "websocket.opcode == 8";
    let wrote = run(&["-Y", filter, "-w", &out_path, "--with-handshake", &input]);
    assert_eq!(wrote.code, 0, "{}", wrote.stderr);
    let fields = ["-T", "fields", "-e", "frame.number", "-e", "websocket.opcode", "-e", "http.request.uri"];
    let again = run(&[&fields[..], &[out_path.as_str()]].concat()).stdout;
    let closes: Vec<&str> = again.lines().collect();
    assert_eq!(closes.len(), 2, "{again}");
    assert!(closes.iter().all(|l| l.split('\t').nth(1) == Some("8")), "{again}");
    let packets =
        std::process::Command::new("tshark").args(["-r", &out_path, "-T", "fields", "-e", "websocket.opcode"]).output();
    // tshark, where it is installed, reads them back too.
    if let Ok(tshark) = packets
        && tshark.status.success()
    {
        let opcodes: Vec<String> =
            String::from_utf8_lossy(&tshark.stdout).lines().filter(|l| !l.is_empty()).map(String::from).collect();
        assert_eq!(opcodes, ["8", "8"], "tshark reads the two close frames back");
    }
    let whole = run(&["-T", "fields", "-e", "frame.number", &input]).stdout.lines().count();
    let kept = pcap_records(&out_path);
    assert!(kept < whole, "{kept} packets kept of a connection with {whole} frames");
    std::fs::remove_dir_all(&dir).unwrap();
    let piped = common::run_with_stdin(&["-w", "x.pcap", "-r", "-"], Some(b""));
    assert_eq!(piped.code, 2);
}

/// Packets in a pcap file (16-byte record headers after the 24-byte file header).
fn pcap_records(path: &str) -> usize {
    let data = std::fs::read(path).unwrap();
    let mut at = 24;
    let mut n = 0;
    while at + 16 <= data.len() {
        let incl = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + incl;
        n += 1;
    }
    n
}
