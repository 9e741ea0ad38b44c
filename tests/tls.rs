//! wss://: where the keys come from (`--keylog`, `-o tls.keylog_file:`, secrets inside a
//! pcapng), what the user sees of a decrypted connection (fields, `-V`, `--connections`), and
//! how each way of failing is reported: no key, wrong keys, a bad key log, a capture that starts
//! after the handshake, an altered record, a gap.

mod common;

use std::path::PathBuf;

use common::{Output, run, testdata};

fn real(name: &str) -> String {
    testdata().join("real").join(name).display().to_string()
}

fn crafted(name: &str) -> String {
    testdata().join("crafted").join(name).display().to_string()
}

/// A file in the system's temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> TempFile {
        let path = std::env::temp_dir().join(format!("wsdissect-tls-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn frames(out: &Output) -> usize {
    out.stdout.lines().count()
}

const CAPTURE: &str = "wss-python-tls13-aes128.pcap";

#[test]
fn keys_from_keylog_preference_or_the_capture_itself() {
    let keys = format!("{}.keys", real(CAPTURE));
    let with_flag = run(&[&real(CAPTURE), "--keylog", &keys]);
    let with_pref = run(&[&real(CAPTURE), "-o", &format!("tls.keylog_file:{keys}")]);
    assert_eq!(with_flag.code, 0, "{}", with_flag.stderr);
    assert_eq!(frames(&with_flag), 24 + 1, "24 frames and the handshake");
    assert_eq!(with_flag.stdout, with_pref.stdout);
    // The same capture with its secrets injected by editcap: no flag needed, same frames.
    let injected = run(&[&real("wss-secrets-injected.pcapng"), "-T", "fields", "-e", "websocket.payload_length"]);
    let flagged = run(&[&real(CAPTURE), "--keylog", &keys, "-T", "fields", "-e", "websocket.payload_length"]);
    assert_eq!(injected.code, 0, "{}", injected.stderr);
    assert_eq!(injected.stdout, flagged.stdout);
    assert!(injected.stderr.is_empty(), "{}", injected.stderr);
    // An unknown preference is refused.
    let unknown = run(&[&real(CAPTURE), "-o", "tls.desegment_ssl_records:TRUE"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("tls.desegment_ssl_records"), "{}", unknown.stderr);
}

#[test]
fn without_keys_nothing_is_invented_and_the_summary_says_why() {
    let out = run(&[&real(CAPTURE)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    for said in ["1 of 1 connections", "no key for its client random", "stream 0", "SNI wss.wsdissect.test", "--keylog"]
    {
        assert!(out.stderr.contains(said), "{said}: {}", out.stderr);
    }
}

#[test]
fn wrong_keys_are_counted_failures_and_damage() {
    // Every secret of the key log with its last digit changed.
    let keys = std::fs::read_to_string(format!("{}.keys", real(CAPTURE))).unwrap();
    let wrong: String = keys
        .lines()
        .map(|l| match l.rsplit_once(' ') {
            Some((head, secret)) if !l.starts_with('#') => {
                let last = if secret.ends_with('0') { '1' } else { '0' };
                format!("{head} {}{last}\n", &secret[..secret.len() - 1])
            }
            _ => format!("{l}\n"),
        })
        .collect();
    let file = TempFile::new("wrong.keys", wrong.as_bytes());
    let out = run(&[&real(CAPTURE), "--keylog", &file.path()]);
    assert_eq!(out.code, 1, "damage: {}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("failed their integrity check"), "{}", out.stderr);
    assert!(out.stderr.contains("(wrong keys?)"), "{}", out.stderr);
}

#[test]
fn bad_key_logs() {
    let missing = run(&[&real(CAPTURE), "--keylog", "/nonexistent/keys.txt"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("/nonexistent/keys.txt"), "{}", missing.stderr);
    assert_eq!(missing.stderr.lines().count(), 1, "{}", missing.stderr);

    let garbage = TempFile::new("garbage.keys", b"this is not a key log\n\x00\x01\x02\n");
    let out = run(&[&real(CAPTURE), "--keylog", &garbage.path()]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains(&garbage.path()) && out.stderr.contains("no TLS secret"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);

    // Bad lines in a good file: counted, the first named, the rest used.
    let keys = std::fs::read_to_string(format!("{}.keys", real(CAPTURE))).unwrap();
    let mixed = TempFile::new("mixed.keys", format!("CLIENT_RANDOM zz\n{keys}junk line here\n").as_bytes());
    let out = run(&[&real(CAPTURE), "--keylog", &mixed.path()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(frames(&out), 25);
    assert!(out.stderr.contains("2 lines not understood (first: line 1"), "{}", out.stderr);
}

/// TLS 1.3 joined after its handshake: each direction's traffic secret in the key log opens its
/// records; without the heuristics (or in TLS 1.2,
/// whose keys need both hellos) nothing can be read.
#[test]
fn capture_started_after_the_handshake() {
    let capture = crafted("wss-after-handshake.pcap");
    let keys = format!("{capture}.keys");
    let out = run(&[&capture, "--keylog", &keys, "-T", "fields", "-e", "frame.number", "-e", "websocket.heuristic"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(frames(&out), 24);
    assert!(out.stdout.lines().all(|l| l.ends_with("\t1")), "{}", out.stdout);
    assert!(out.stderr.contains("1 connections found from their frames"), "{}", out.stderr);
    let rows = run(&[&capture, "--keylog", &keys, "--connections", "-T", "jsonl"]);
    let row: serde_json::Value = serde_json::from_str(rows.stdout.lines().next().unwrap()).unwrap();
    assert_eq!((&row["tls"]["version"], &row["tls"]["decrypted"]), (&"TLSv1.3".into(), &true.into()), "{row}");

    let out = run(&[&capture, "--keylog", &keys, "--no-heuristics"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    assert!(out.stderr.contains("the capture started after its TLS handshake"), "{}", out.stderr);

    let tls12 = real("wss-python-tls12-ecdhe-aes128gcm.pcap");
    let cut =
        TempFile::new("tls12-late.pcapng", &common::pcapng(&common::packets(&tls12)[19..].iter().collect::<Vec<_>>()));
    let out = run(&[&cut.path(), "--keylog", &format!("{tls12}.keys")]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    assert!(out.stderr.contains("the capture started after its TLS handshake"), "{}", out.stderr);
}

#[test]
fn an_altered_record_is_a_failure_and_the_rest_is_read() {
    let capture = crafted("violation-tls_records_lost.pcap");
    let keys = format!("{capture}.keys");
    let out = run(&[&capture, "--keylog", &keys, "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("1 records failed their integrity check"), "{}", out.stderr);
    // Nothing from packet 17's record; the frame after it says records were lost.
    assert!(!out.stdout.lines().any(|l| l.starts_with("17\t")), "{}", out.stdout);
    assert!(out.stdout.contains("19\tTLS records before this one were lost"), "{}", out.stdout);
    assert_eq!(frames(&out), 23);
    // The connection row counts the failure.
    let rows = run(&[&capture, "--keylog", &keys, "--connections", "-T", "jsonl"]);
    let row: serde_json::Value = serde_json::from_str(rows.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(row["tls"]["failed_records"], 1);
}

#[test]
fn a_gap_in_the_tls_stream_does_not_silence_the_connection() {
    // Packet 25 (the server's 125-byte echo, one record) is missing: every later server frame is
    // still found, each record decrypted under the sequence number the gap skipped to.
    let capture = crafted("wss-gap.pcap");
    let out = run(&[&capture, "--keylog", &format!("{capture}.keys"), "-T", "fields", "-e", "frame.number"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got: Vec<u64> = out.stdout.lines().map(|l| l.parse().unwrap()).collect();
    for later in [26, 28, 35, 39, 42] {
        assert!(got.contains(&later), "no frame in packet {later}: {got:?}");
    }
    assert_eq!(got.len(), 23);
}

#[test]
fn what_a_decrypted_frame_shows() {
    let capture = real("wss-python-tls12-cbc-sha384-mte.pcap");
    let keys = format!("{capture}.keys");
    let fields = run(&[
        &capture,
        "--keylog",
        &keys,
        "-c",
        "1",
        "-T",
        "fields",
        "-e",
        "tls.record.version",
        "-e",
        "tls.record.content_type",
        "-e",
        "tls.handshake.ciphersuite",
        "-e",
        "tls.handshake.extensions_server_name",
        "-e",
        "tls.handshake.extensions_alpn_str",
        "-e",
        "tls.decrypted",
    ]);
    assert_eq!(fields.stdout, "0x0303\t23\t0xc028\twss.wsdissect.test\thttp/1.1,http/1.1\t1\n");
    let tree = run(&[&capture, "--keylog", &keys, "-V", "-Y", "frame.number == 12"]).stdout;
    assert!(
        tree.contains(
            "Transport Layer Security\n    TLSv1.2 Record Layer: Application Data Protocol: Hypertext Transfer Protocol\n        \
             Content Type: Application Data (23)\n        Version: TLS 1.2 (0x0303)\n"
        ),
        "{tree}"
    );
    let table = run(&[&capture, "--keylog", &keys, "--connections"]).stdout;
    assert!(
        table.contains(
            "\tTLSv1.2\tTLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384\twss.wsdissect.test\thttp/1.1\tyes\thttp/1.1\t-\n"
        ),
        "{table}"
    );
    // Filters reach the TLS fields.
    let filtered =
        run(&[&capture, "--keylog", &keys, "-Y", "tls.handshake.version == \"TLS 1.2\" && websocket.opcode == 9"]);
    assert_eq!(frames(&filtered), 1, "{}", filtered.stdout);
    // KeyUpdates are counted.
    let updates = run(&[
        &real("wss-openssl-keyupdate.pcap"),
        "--keylog",
        &format!("{}.keys", real("wss-openssl-keyupdate.pcap")),
        "--connections",
        "-T",
        "jsonl",
    ]);
    let row: serde_json::Value = serde_json::from_str(updates.stdout.lines().next().unwrap()).unwrap();
    // k (the client's), K (the client's, and the server's it asks for), K again.
    assert_eq!(row["tls"]["key_updates"], 5, "{row}");
}

#[test]
fn written_tls_connections_can_be_read_again() {
    // -w keeps each selected frame's connection from its first packet (the handshake and every
    // record before the frame are needed) and, in a pcapng, the connection's secrets.
    let out_path = std::env::temp_dir().join(format!("wsdissect-tls-{}-written.pcapng", std::process::id()));
    let out_path = out_path.display().to_string();
    let source = real("wss-secrets-injected.pcapng");
    let select = "websocket.payload_length_ext_16 >= 16384";
    let wrote = run(&[&source, "-Y", select, "-w", &out_path]);
    assert_eq!(wrote.code, 0, "{}", wrote.stderr);
    let fields = ["-T", "fields", "-e", "frame.number", "-e", "websocket.payload.text"];
    let again = run(&[&[out_path.as_str(), "-Y", select][..], &fields].concat());
    let _ = std::fs::remove_file(&out_path);
    let want = run(&[&[source.as_str(), "-Y", select][..], &fields].concat());
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout.lines().count(), 4, "{}", again.stdout);
    // The same frames and texts (the packet numbers are the written file's own).
    let texts = |s: &str| s.lines().map(|l| l.split_once('\t').unwrap().1.to_string()).collect::<Vec<_>>();
    assert_eq!(texts(&again.stdout), texts(&want.stdout));
}

#[test]
fn alpn_h2_is_decrypted_and_read_as_http_2() {
    // node's http2 over TLS: two GETs, no WebSocket. The connection is decrypted, then ALPN h2
    // hands it to HTTP/2, which steps over the two requests; the summary says so.
    let capture = real("tls-node-h2.pcap");
    let out = run(&[&capture, "--keylog", &format!("{capture}.keys")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("HTTP/2: 1 connections, 0 WebSockets (RFC 8441), 2 other streams stepped over"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("not decrypted"), "{}", out.stderr);
}
