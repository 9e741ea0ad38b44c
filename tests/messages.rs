//! What the recording scripts sent (`CAPTURE.truth.jsonl`, written by the peers themselves)
//! against what `wsdissect --messages -T jsonl` shows: every data message, joined and inflated,
//! in order per connection and direction, and every control message the peers sent. Over
//! HTTP/2 (RFC 8441) each WebSocket stream is a connection of its own.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{keylog_args, run, testdata};
use serde_json::Value;

/// (direction, opcode, payload as text or hex) of one message.
type Msg = (String, u64, String);

fn payload(v: &Value) -> String {
    match (v.get("text"), v.get("hex"), v.get("data")) {
        (Some(Value::String(t)), _, _) => t.clone(),
        (_, Some(Value::String(h)), _) | (_, _, Some(Value::String(h))) => h.clone(),
        _ => String::new(),
    }
}

/// Our messages per WebSocket (tcp.stream, and the HTTP/2 stream over HTTP/2); a close
/// message's payload is its code and reason, as hex.
fn ours(capture: &Path) -> BTreeMap<u64, Vec<Msg>> {
    let mut args = vec!["--messages".to_string(), "-T".into(), "jsonl".into(), capture.display().to_string()];
    args.extend(keylog_args(capture));
    let out = run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut by_stream: BTreeMap<u64, Vec<Msg>> = BTreeMap::new();
    for line in out.stdout.lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        let opcode = m["opcode"].as_u64().unwrap();
        let body = if opcode == 8 {
            let code = m["close_code"].as_u64().map_or(String::new(), |c| format!("{c:04x}"));
            let reason: String = m["close_reason"].as_str().unwrap_or("").bytes().map(|b| format!("{b:02x}")).collect();
            code + &reason
        } else {
            payload(&m)
        };
        assert!(m["complete"].as_bool().unwrap(), "{}: incomplete message {line}", capture.display());
        assert!(m.get("expert").is_none(), "{}: unexpected expert item {line}", capture.display());
        let websocket = (m["stream"].as_u64().unwrap() << 32) | m["http2_stream"].as_u64().unwrap_or(0);
        by_stream.entry(websocket).or_default().push((m["direction"].as_str().unwrap().to_string(), opcode, body));
    }
    by_stream
}

fn truth(path: &Path) -> BTreeMap<u64, Vec<Msg>> {
    let mut by_conn: BTreeMap<u64, Vec<Msg>> = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let t: Value = serde_json::from_str(line).unwrap();
        // Cut short by RST_STREAM: the receiver never saw it whole, nor do we.
        if t["unfinished"].as_bool() == Some(true) {
            continue;
        }
        by_conn.entry(t["conn"].as_u64().unwrap()).or_default().push((
            t["direction"].as_str().unwrap().to_string(),
            t["opcode"].as_u64().unwrap(),
            payload(&t),
        ));
    }
    by_conn
}

fn is_data(m: &Msg) -> bool {
    m.1 == 1 || m.1 == 2
}

#[test]
fn every_message_equals_what_the_peer_sent() {
    let mut checked = 0;
    for entry in std::fs::read_dir(testdata().join("real")).unwrap() {
        let truth_path = entry.unwrap().path();
        let Some(capture) = truth_path.to_str().and_then(|p| p.strip_suffix(".truth.jsonl")) else { continue };
        let capture = PathBuf::from(capture);
        let ours = ours(&capture);
        let truth = truth(&truth_path);
        assert_eq!(ours.len(), truth.len(), "{}: connections", capture.display());
        // Connections are matched by their data messages (streams and client numbers need not
        // be in the same order).
        let mut ours_data: Vec<(Vec<Msg>, &Vec<Msg>)> =
            ours.values().map(|msgs| (msgs.iter().filter(|m| is_data(m)).cloned().collect(), msgs)).collect();
        ours_data.sort();
        let mut truth_data: Vec<(Vec<Msg>, &Vec<Msg>)> =
            truth.values().map(|msgs| (msgs.iter().filter(|m| is_data(m)).cloned().collect(), msgs)).collect();
        truth_data.sort();
        for ((our_data, our_all), (want_data, want_all)) in ours_data.iter().zip(&truth_data) {
            // Per direction, data messages in the order they were sent.
            for dir in ["client-to-server", "server-to-client"] {
                let pick = |v: &Vec<Msg>| v.iter().filter(|m| m.0 == dir).cloned().collect::<Vec<_>>();
                let (o, w) = (pick(our_data), pick(want_data));
                assert_eq!(o.len(), w.len(), "{}: {dir} message count", capture.display());
                for (i, (o, w)) in o.iter().zip(&w).enumerate() {
                    assert_eq!(o, w, "{}: {dir} message {i}", capture.display());
                }
            }
            for control in want_all.iter().filter(|m| !is_data(m)) {
                assert!(our_all.contains(control), "{}: control message {control:?} missing", capture.display());
            }
        }
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} truth files");
}

/// Captures damaged by `testdata/scripts/tcp_damage.py` (segments dropped, repeated, swapped)
/// lose frames, and compressed messages lose the window bytes that later ones refer to. What
/// wsdissect shows as a whole message (complete, no expert item) must still be one that was
/// sent in that direction: a message that refers to lost bytes fails to inflate, and is
/// reported, rather than inflating to something else.
#[test]
fn after_losses_every_message_shown_whole_is_one_that_was_sent() {
    let mut checked = 0;
    for entry in std::fs::read_dir(testdata().join("tcp-analysis")).unwrap() {
        let capture = entry.unwrap().path();
        let name = capture.file_name().unwrap().to_string_lossy().to_string();
        let Some((source, _seed)) = name.strip_suffix(".pcap").and_then(|n| n.rsplit_once("-damaged-")) else {
            continue;
        };
        let truth_path = testdata().join(format!("real/{source}.pcap.truth.jsonl"));
        let sent: Vec<Msg> = truth(&truth_path).into_values().flatten().collect();
        let args = ["--messages", "-T", "jsonl", capture.to_str().unwrap()];
        let out = run(&args);
        assert!(out.code <= 1, "{name}: {}", out.stderr);
        for line in out.stdout.lines() {
            let m: Value = serde_json::from_str(line).unwrap();
            let opcode = m["opcode"].as_u64().unwrap();
            if !(opcode == 1 || opcode == 2) || m["complete"].as_bool() != Some(true) || m.get("expert").is_some() {
                continue;
            }
            let shown = (m["direction"].as_str().unwrap().to_string(), opcode, payload(&m));
            assert!(sent.contains(&shown), "{name}: shown whole, never sent: {line}");
        }
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} damaged captures");
}
