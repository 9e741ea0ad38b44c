//! WebSockets over HTTP/2 (RFC 8441) in the real captures of Python `h2` + `wsproto` peers
//! (`testdata/scripts/h2_peer.py`): h2c with prior knowledge, and TLS 1.3 with ALPN h2. Every
//! message is checked against the peers' truth in `tests/messages.rs`; here, what the user sees
//! of the streams.

mod common;

use common::{keylog_args, run, testdata};

fn capture(name: &str) -> Vec<String> {
    let path = testdata().join("real").join(name);
    let mut args = vec![path.display().to_string()];
    args.extend(keylog_args(&path));
    args
}

fn with(capture: &[String], more: &[&str]) -> Vec<String> {
    capture.iter().cloned().chain(more.iter().map(|s| s.to_string())).collect()
}

#[test]
fn each_websocket_stream_is_a_connection_of_its_own() {
    for name in ["h2c-python.pcap", "h2-python-tls.pcap"] {
        let cap = capture(name);
        let table = run(&with(&cap, &["--connections"]));
        assert_eq!(table.code, 0, "{}", table.stderr);
        let rows: Vec<Vec<String>> =
            table.stdout.lines().skip(1).map(|l| l.split('\t').map(str::to_string).collect()).collect();
        let header: Vec<&str> = table.stdout.lines().next().unwrap().split('\t').collect();
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let summary: Vec<(&str, &str, &str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r[col("transport")].as_str(),
                    r[col("h2_stream")].as_str(),
                    r[col("uri")].as_str(),
                    r[col("server_extensions")].as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("h2", "1", "/deflate", "permessage-deflate; server_max_window_bits=11"),
                ("h2", "3", "/plain", "-"),
                ("h2", "9", "/reset", "-"),
            ],
            "{name}"
        );
        // All three on one TCP connection, closed as the peers closed them.
        assert!(rows.iter().all(|r| r[col("stream")] == "0"));
        assert_eq!(rows[0][col("c2s_close")], "4001 custom reason");
        assert_eq!(rows[1][col("s2c_close")], "1000 bye");
        // RST_STREAM cut the last message on stream 9; the summary says so.
        assert!(
            table.stderr.contains("1 messages begun and never ended") && table.stderr.contains("HTTP/2 stream 9)"),
            "{}",
            table.stderr
        );
        // The refused CONNECT is not a WebSocket; the summary names it.
        assert!(
            table.stderr.contains("WebSocket refused: tcp.stream 0, stream 7, CONNECT /refuse: 403"),
            "{}",
            table.stderr
        );
    }
}

#[test]
fn http2_fields_filter_and_show() {
    let cap = capture("h2c-python.pcap");
    let out = run(&with(
        &cap,
        &[
            "-Y",
            "http2.streamid == 3 && websocket.opcode == 9",
            "-T",
            "fields",
            "-e",
            "http2.streamid",
            "-e",
            "http.request.method",
            "-e",
            "http.request.uri",
            "-e",
            "http.host",
            "-e",
            "http.upgrade",
            "-e",
            "http.response.code",
            "-e",
            "websocket.payload",
        ],
    ));
    assert_eq!(out.stdout, "3\tCONNECT\t/plain\t127.0.0.1:18201\twebsocket\t200\t68322070696e67\n");
    // The CONNECT's fields as sent, pseudo-headers included.
    let fields =
        run(&with(&cap, &["-c", "20", "-Y", "http2.streamid == 1", "-T", "fields", "-e", "http2.header.name"]));
    let first = fields.stdout.lines().next().unwrap();
    assert!(first.starts_with(":method,:protocol,:scheme,:path,:authority,"), "{first}");
    assert!(first.ends_with(",:status,sec-websocket-extensions"), "{first}");
    // JSON carries the stream.
    let json = run(&with(&cap, &["-c", "20", "-Y", "http2.streamid == 9", "-T", "jsonl"]));
    let frame: serde_json::Value = serde_json::from_str(json.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(frame["http2"]["streamid"], 9);
    let messages = run(&with(&cap, &["--messages", "-T", "jsonl", "-Y", "http2.streamid == 9"]));
    let message: serde_json::Value = serde_json::from_str(messages.stdout.lines().next().unwrap()).unwrap();
    assert_eq!((message["http2_stream"].as_u64(), message["text"].as_str()), (Some(9), Some("before the reset")));
}

#[test]
fn summary_tree_and_follow_name_the_stream() {
    let cap = capture("h2c-python.pcap");
    let summary = run(&cap).stdout;
    assert!(summary.contains(" [h2 stream 3] WebSocket Ping [FIN] [MASKED] len=7 68322070696e67\n"), "{summary}");
    assert!(summary.contains(" [h2 stream 9] HTTP 200 OK (CONNECT /reset)\n"), "{summary}");
    let tree = run(&with(&cap, &["-V", "-Y", "http2.streamid == 3 && websocket.opcode == 9"])).stdout;
    assert!(tree.contains("HyperText Transfer Protocol 2\n    Stream: DATA, Stream ID: 3, Length 13\n"), "{tree}");
    let follow = run(&with(&cap, &["--follow", "0:9"])).stdout;
    assert!(follow.contains("Follow: websocket stream 0, HTTP/2 stream 9\n"), "{follow}");
    assert!(follow.contains("Request: CONNECT /reset\n"), "{follow}");
    assert_eq!(follow.matches("Text (16 bytes)").count(), 2, "{follow}");
    assert!(!follow.contains("h2 stream 3"), "{follow}");
}

#[test]
fn two_threads_give_what_one_gives() {
    for name in ["h2c-python.pcap", "h2-python-tls.pcap"] {
        let cap = capture(name);
        let one = run(&with(&cap, &["--threads", "1"]));
        let two = run(&with(&cap, &["--threads", "2"]));
        assert_eq!(one.stdout, two.stdout, "{name}");
        assert!(one.stdout.lines().count() > 40, "{name}");
    }
}

/// Found by the `parallel` fuzz target: a packet of the client's direction diverted to another
/// flow leaves a hole that takes an HTTP/2 frame header, and every WebSocket stream of that
/// direction then reports its cut frame. They do so in stream order, so one thread and two
/// print the same (they once iterated a hash map, whose order differs from map to map).
#[test]
fn after_a_hole_the_streams_report_in_the_same_order_on_one_thread_and_two() {
    let path = testdata().join("regressions/parallel-h2-hole-order.pcapng").display().to_string();
    let run_with = |threads: &str| run(&[&path, "--threads", threads, "--payload-limit", "16384"]);
    let (one, two) = (run_with("1"), run_with("2"));
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(one.stderr, two.stderr);
    assert!(one.stdout.contains("[h2 stream 1] WebSocket Binary"), "{}", one.stdout);
}
