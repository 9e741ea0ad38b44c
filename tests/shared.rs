//! Checks against the public captures in `../shared/captures` and their projects' own
//! expectations (Zeek event logs, suricata-verify checks, the INDEX). The directory is not part
//! of the repository: without it these tests say so and pass, unless `WSDISSECT_REQUIRE_SHARED`
//! is set (as `.ci/run` does), in which case its absence is a failure.

mod common;

use std::path::{Path, PathBuf};

use common::{run, testdata, tree_blocks};
use serde_json::Value;

/// Zeek's baselines ending in `suffix`: the capture's name (the file name without it) and the
/// baseline's text.
fn zeek_baselines(dir: &Path, suffix: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir.join("zeek")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(capture) = name.strip_suffix(suffix) {
            found.push((capture.to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    found
}

fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/captures");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var_os("WSDISSECT_REQUIRE_SHARED").is_none(), "{} is missing", dir.display());
    eprintln!("skipped: {} not found", dir.display());
    None
}

fn messages(capture: &Path) -> Vec<Value> {
    let out = run(&["--messages", "-T", "jsonl", &capture.display().to_string()]);
    assert!(out.code == 0, "{}: {}", capture.display(), out.stderr);
    out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn text(m: &Value) -> &str {
    m["text"].as_str().unwrap_or("")
}

fn expert_fields(m: &Value) -> Vec<String> {
    m["expert"].as_array().map_or(Vec::new(), |a| a.iter().map(|e| e["field"].as_str().unwrap().to_string()).collect())
}

#[test]
fn suricata_compressed_tenth_server_message_needs_the_kept_window() {
    let Some(dir) = shared() else { return };
    let ms = messages(&dir.join("suricata-verify/websocket-compressed--example_websocket.pcap"));
    let server: Vec<&Value> = ms.iter().filter(|m| m["direction"] == "server-to-client").collect();
    assert_eq!(server.len(), 10);
    assert!(server.iter().all(|m| m["compressed"] == true && m["complete"] == true));
    assert!(text(server[9]).contains("TOGGLE=5659131662f54334"), "{}", server[9]);
}

#[test]
fn control_frames_between_fragments_leave_the_message_whole() {
    let Some(dir) = shared() else { return };
    let ms = messages(&dir.join("suricata-verify/websocket-control-frag--input.pcap"));
    let ping = ms.iter().position(|m| m["opcode"] == 9).unwrap();
    let text_at = ms.iter().position(|m| text(m).contains("MALWARE_DOWNLOAD cmd.exe /c powershell")).unwrap();
    assert!(ping < text_at, "the ping completes before the message it interrupts");
    assert_eq!(ms[text_at]["frames"].as_array().unwrap().len(), 2);

    let ms = messages(&dir.join("arkime/arkime_synthetic.pcap"));
    let joined = ms.iter().find(|m| text(m) == "FragHeadPartFragTailPart").expect("joined message");
    let ping = ms.iter().find(|m| m["opcode"] == 9 && m["stream"] == joined["stream"]).unwrap();
    assert_eq!(ping["frames"][0], joined["frames"][0], "the ping shares the first fragment's segment");
    let close = ms.iter().find(|m| m["close_reason"] == "bye-split").unwrap();
    assert_eq!(close["close_code"], 1000);
}

#[test]
fn evsetool_ocpp_messages_all_inflate_to_json() {
    let Some(dir) = shared() else { return };
    let ms = messages(&dir.join("evsetool/cap.pcapng"));
    let data: Vec<&Value> = ms.iter().filter(|m| m["opcode"] == 1).collect();
    assert!(data.len() >= 8);
    for m in data {
        assert_eq!((m["compressed"].as_bool(), m["complete"].as_bool()), (Some(true), Some(true)), "{m}");
        let ocpp: Value = serde_json::from_str(text(m)).unwrap_or_else(|e| panic!("{e}: {m}"));
        assert!(ocpp.is_array(), "OCPP messages are JSON arrays: {m}");
    }
}

#[test]
fn zeek_compressed_inflates_to_the_sent_strings() {
    let Some(dir) = shared() else { return };
    let ms = messages(&dir.join("zeek/websocket_compressed.pcap"));
    let texts: Vec<(&str, &str)> =
        ms.iter().filter(|m| m["opcode"] == 1).map(|m| (m["direction"].as_str().unwrap(), text(m))).collect();
    assert_eq!(
        texts,
        [
            ("client-to-server", "Hello_Zeek_Analyzer_".repeat(50).as_str()),
            ("server-to-client", "Zeek_WebSocket_Test_String_".repeat(50).as_str())
        ]
    );
}

#[test]
fn violations_in_public_captures_are_reported() {
    let Some(dir) = shared() else { return };
    // Zeek: websocket_wrong_accept_header, expected=N8ntNYkX6Qerw4tK3s/CYzpSZNc=.
    let out = run(&[dir.join("zeek/wrong-accept-header.pcap")]);
    let handshake = out.stdout.lines().find(|l| l.contains(" HTTP 101 ")).unwrap();
    assert!(handshake.contains("Sec-WebSocket-Accept does not match"), "{handshake}");
    let tree = run(&["-V".as_ref(), dir.join("zeek/wrong-accept-header.pcap").as_os_str()]).stdout;
    assert!(tree.contains("[Expected: N8ntNYkX6Qerw4tK3s/CYzpSZNc=]"), "{tree}");
    let valid = run(&[
        "-T".as_ref(),
        "fields".as_ref(),
        "-e".as_ref(),
        "websocket.handshake.accept_valid".as_ref(),
        dir.join("zeek/wrong-accept-header.pcap").as_os_str(),
    ]);
    assert!(valid.stdout.lines().all(|l| l == "0") && !valid.stdout.is_empty());

    // wstunnel sends its client frames unmasked.
    let ms = messages(&dir.join("zeek/wstunnel-http.pcap"));
    for m in &ms {
        let unmasked = expert_fields(m).contains(&"websocket.expert.unmasked_client_frame".to_string());
        assert_eq!(unmasked, m["direction"] == "client-to-server", "{m}");
    }

    // Zeek: websocket_control_frame_size_exceeded 258 > 125 (and the 64-bit length is not minimal).
    let ms = messages(&dir.join("zeek/oversized-close-frame.pcapng"));
    let close = ms.iter().find(|m| m["opcode"] == 8).unwrap();
    assert_eq!(
        expert_fields(close),
        ["websocket.expert.control_too_long", "websocket.expert.non_minimal_length"],
        "{close}"
    );
    assert!(close["expert"][0]["message"].as_str().unwrap().contains("258"));
}

/// Zeek's `websocket_message` and `websocket_close` events, in order, against our messages.
#[test]
fn zeek_messages_and_close_codes_match_their_event_logs() {
    let Some(dir) = shared() else { return };
    let mut checked = 0;
    for (capture, events) in zeek_baselines(&dir, ".expected.events.out") {
        let mut want_messages = Vec::new();
        let mut want_closes = Vec::new();
        for line in events.lines() {
            let f: Vec<&str> = line.split(", ").collect();
            let dir = if f.get(2) == Some(&"T") { "client-to-server" } else { "server-to-client" };
            match f[0] {
                "websocket_message" => want_messages.push((dir.to_string(), f[4].to_string())),
                // status 0 is Zeek's "no status code"; the reason is the rest of the line.
                "websocket_close" => {
                    let reason = line.split_once(", reason, ").map_or("", |x| x.1).to_string();
                    want_closes.push((dir.to_string(), f[4].parse::<u64>().unwrap(), reason));
                }
                _ => {}
            }
        }
        let ms = messages(&dir.join("zeek").join(&capture));
        let name_of = |op: u64| match op {
            0 => "continuation",
            1 => "text",
            2 => "binary",
            8 => "close",
            9 => "ping",
            10 => "pong",
            _ => "unknown",
        };
        let ours: Vec<(String, String)> = ms
            .iter()
            .map(|m| (m["direction"].as_str().unwrap().to_string(), name_of(m["opcode"].as_u64().unwrap()).to_string()))
            .collect();
        assert_eq!(ours, want_messages, "{capture}");
        let closes: Vec<(String, u64, String)> = ms
            .iter()
            .filter(|m| m["opcode"] == 8)
            .map(|m| {
                (
                    m["direction"].as_str().unwrap().to_string(),
                    m["close_code"].as_u64().unwrap_or(0),
                    m["close_reason"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(closes, want_closes, "{capture}");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} event logs");
}

/// Inflated and joined messages in the tree, where tshark 4.0.17 is right: the same lines.
#[test]
fn trees_of_compressed_and_fragmented_messages_match_tshark() {
    let Some(dir) = shared() else { return };
    let mut checked = 0;
    for entry in std::fs::read_dir(testdata().join("shared-tshark-V")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let rel = name.strip_suffix(".txt").unwrap().replace("__", "/");
        let ours = tree_blocks(&run(&["-V".as_ref(), dir.join(&rel).as_os_str()]).stdout);
        let want = std::fs::read_to_string(&path).unwrap();
        if ours != want {
            let first = ours.lines().zip(want.lines()).position(|(a, b)| a != b);
            panic!("{rel}: tree differs at line {first:?}\nours:\n{ours}\nwant:\n{want}");
        }
        checked += 1;
    }
    assert!(checked >= 5);
}

/// `--connections` against Zeek's websocket.log: host, URI, User-Agent, subprotocol, offered
/// protocols and both sides' extensions, connection by connection (matched by client port).
#[test]
fn connections_agree_with_zeek_websocket_logs() {
    let Some(dir) = shared() else { return };
    let mut checked = 0;
    for (capture, log) in zeek_baselines(&dir, ".expected.websocket.log") {
        // The header is "ts ..." in btest baselines and "#fields ts ..." in full Zeek logs.
        let mut lines = log.lines().skip_while(|l| !l.starts_with("ts\t") && !l.starts_with("#fields\t"));
        let header: Vec<&str> = lines.next().unwrap().trim_start_matches("#fields\t").split('\t').collect();
        let col = |row: &[&str], name: &str| row[header.iter().position(|h| *h == name).unwrap()].to_string();
        let out = run(&[
            "--connections".as_ref(),
            "-T".as_ref(),
            "jsonl".as_ref(),
            dir.join("zeek").join(&capture).as_os_str(),
        ]);
        let ours: Vec<Value> = out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        // Zeek writes lists split at commas and "-" for nothing.
        let list = |v: &Value| match v.as_str() {
            None => "-".to_string(),
            Some(s) => s.split(',').map(str::trim).collect::<Vec<_>>().join(","),
        };
        let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
        for row in lines.filter(|l| !l.starts_with('#')) {
            let row: Vec<&str> = row.split('\t').collect();
            let port = col(&row, "id.orig_p");
            let conn = ours
                .iter()
                .find(|c| c["client"].as_str().unwrap().ends_with(&format!(":{port}")))
                .unwrap_or_else(|| panic!("{capture}: no connection from port {port}: {}", out.stdout));
            assert_eq!(text(&conn["host"]), col(&row, "host"), "{capture}");
            assert_eq!(text(&conn["uri"]), col(&row, "uri"), "{capture}");
            assert_eq!(text(&conn["user_agent"]), col(&row, "user_agent"), "{capture}");
            assert_eq!(text(&conn["subprotocol"]), col(&row, "subprotocol"), "{capture}");
            assert_eq!(list(&conn["client_protocols"]), col(&row, "client_protocols"), "{capture}");
            assert_eq!(list(&conn["server_extensions"]), col(&row, "server_extensions"), "{capture}");
            assert_eq!(list(&conn["client_extensions"]), col(&row, "client_extensions"), "{capture}");
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} rows");
}
