//! The command line as a user meets it: errors, exit statuses, pipes, -c, -V, --list-fields.

mod common;

use common::{run, run_with_stdin, testdata, tree_blocks};

fn capture(rel: &str) -> String {
    testdata().join(rel).display().to_string()
}

#[test]
fn missing_file_is_one_line_naming_it_exit_2() {
    let out = run(&["-r", "/no/such/file.pcap"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("/no/such/file.pcap"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn empty_and_non_capture_files_exit_2() {
    let dir = std::env::temp_dir().join(format!("wsdissect-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.join("notes.pcap");
    std::fs::write(&text, b"this is not a capture\n").unwrap();
    for (path, why) in [(&empty, "empty"), (&text, "not a pcap")] {
        let out = run(&[path.as_os_str()]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1);
        assert!(out.stderr.contains(&*path.to_string_lossy()) && out.stderr.contains(why), "{}", out.stderr);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncated_capture_reports_what_came_before_then_warns() {
    let out = run(&[capture("crafted/truncated.pcap")]);
    assert_eq!(out.code, 1);
    let frames: Vec<&str> = out.stdout.lines().filter(|l| !l.contains(" HTTP 101 ")).collect();
    assert_eq!(frames.len(), 1, "{}", out.stdout);
    assert!(frames[0].contains("before the cut"));
    assert!(out.stderr.contains("cut short in packet 7"), "{}", out.stderr);
}

#[test]
fn stdin_stream_gives_the_same_frames_as_the_file() {
    for rel in ["real/python-basic.pcap", "real/python-small.pcapng"] {
        let path = capture(rel);
        let from_file = run(&["-r", &path]);
        let bytes = std::fs::read(&path).unwrap();
        let from_pipe = run_with_stdin(&["-r", "-"], Some(&bytes));
        assert_eq!(from_pipe.code, 0, "{}", from_pipe.stderr);
        assert_eq!(from_pipe.stdout, from_file.stdout, "{rel}");
        assert!(!from_file.stdout.is_empty());
    }
}

#[test]
fn unknown_field_names_the_closest_exit_2() {
    let out = run(&["-r", &capture("real/python-small.pcapng"), "-T", "fields", "-e", "websocket.opcod"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("websocket.opcode"), "{}", out.stderr);
}

#[test]
fn count_stops_after_n_frames() {
    let out = run(&["-c", "3", &capture("real/python-concurrent.pcap")]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout.lines().filter(|l| l.contains(" WebSocket ")).count(), 3, "{}", out.stdout);
    let messages = run(&["-c", "2", "--messages", "-T", "jsonl", &capture("real/python-concurrent.pcap")]);
    assert_eq!(messages.stdout.lines().count(), 2, "{}", messages.stdout);
}

#[test]
fn summary_line_has_number_time_endpoints_info_and_preview() {
    let out = run(&[capture("real/python-basic.pcap")]);
    let first_close = out.stdout.lines().find(|l| l.contains("Connection Close")).unwrap();
    assert!(first_close.contains("WebSocket Connection Close [FIN] [MASKED]"), "{first_close}");
    assert!(first_close.contains("code=4000") && first_close.contains("\"bye now\""), "{first_close}");
    let mut lines = out.stdout.lines();
    let handshake = lines.next().unwrap();
    assert!(handshake.contains(" HTTP 101 Switching Protocols (GET /"), "{handshake}");
    let first = lines.next().unwrap();
    assert!(first.trim_start().starts_with("8 ") && first.contains("127.0.0.1:"), "{first}");
}

#[test]
fn list_fields_covers_the_required_fields() {
    let out = run(&["--list-fields"]);
    assert_eq!(out.code, 0);
    for name in [
        "frame.number",
        "frame.time_epoch",
        "frame.time_relative",
        "frame.len",
        "ip.src",
        "ip.dst",
        "ipv6.src",
        "ipv6.dst",
        "tcp.srcport",
        "tcp.dstport",
        "tcp.stream",
        "websocket.fin",
        "websocket.rsv",
        "websocket.pmc",
        "websocket.opcode",
        "websocket.mask",
        "websocket.payload_length",
        "websocket.payload_length_ext_16",
        "websocket.payload_length_ext_64",
        "websocket.masking_key",
        "websocket.payload.text",
        "websocket.payload.close.status_code",
        "websocket.payload.close.reason",
        "websocket.payload.ping",
        "websocket.payload.pong",
    ] {
        assert!(out.stdout.lines().any(|l| l.split('\t').next() == Some(name)), "{name} missing");
    }
}

#[test]
fn fields_are_formatted_as_tshark_does() {
    let out = run(&[
        "-r",
        &capture("real/python-ipv6.pcap"),
        "-T",
        "fields",
        "-e",
        "frame.time_epoch",
        "-e",
        "frame.time_relative",
        "-e",
        "ipv6.src",
        "-e",
        "ip.src",
        "-e",
        "websocket.rsv",
        "-e",
        "websocket.mask",
    ]);
    let first: Vec<&str> = out.stdout.lines().next().unwrap().split('\t').collect();
    assert!(first[0].split('.').nth(1).unwrap().len() == 9, "{first:?}");
    assert_eq!(first[2], "::1");
    assert_eq!(first[3], "");
    assert_eq!(first[4], "0x00");
    assert_eq!(first[5], "1");
}

#[test]
fn tree_matches_tshark_verbose_layout() {
    for (rel, reference, text_as) in [
        ("real/python-small.pcapng", "tshark-V.txt", ["--text-as", "lines"]),
        ("crafted/big-endian-nanos.pcap", "tshark-V.txt", ["--text-as", "lines"]),
        // Fragments joined with a ping between them, and JSON text both ways.
        ("crafted/fragments.pcap", "tshark-V.txt", ["--text-as", "lines"]),
        ("crafted/fragments.pcap", "tshark-V-json.txt", ["--text-as", "json"]),
        // tshark's own spellings of the same.
        ("crafted/fragments.pcap", "tshark-V.txt", ["-o", "websocket.text_type:No subdissection"]),
        ("crafted/fragments.pcap", "tshark-V-json.txt", ["-o", "websocket.text_type:As json"]),
    ] {
        let out = run(&["-V", text_as[0], text_as[1], &capture(rel)]);
        let want = std::fs::read_to_string(testdata().join(format!("{rel}.{reference}"))).unwrap();
        let ours = tree_blocks(&out.stdout);
        if ours != want {
            let first = ours.lines().zip(want.lines()).position(|(a, b)| a != b);
            panic!("{rel}: tree differs at line {first:?}\nours:\n{ours}\nwant:\n{want}");
        }
    }
}

#[test]
fn tree_has_frame_link_ip_tcp_lines() {
    let out = run(&["-V", "-c", "1", &capture("real/python-small.pcapng")]);
    let lines: Vec<&str> = out.stdout.lines().skip_while(|l| !l.starts_with("Frame 8: ")).collect();
    assert!(lines[0].contains("bytes on wire"), "{}", lines[0]);
    // tshark's link lines (without the manufacturer names it looks up).
    assert_eq!(
        lines[1..5],
        [
            "Ethernet II, Src: 00:00:00:00:00:00, Dst: 00:00:00:00:00:00",
            "    Destination: 00:00:00:00:00:00",
            "    Source: 00:00:00:00:00:00",
            "    Type: IPv4 (0x0800)"
        ]
    );
    assert!(lines[5].starts_with("Internet Protocol Version 4, Src: 127.0.0.1, Dst: 127.0.0.1"));
    // The same relative numbers tshark shows for this packet.
    assert_eq!(
        lines[6],
        "Transmission Control Protocol, Src Port: 45298, Dst Port: 18005, Seq: 200, Ack: 204, Len: 28"
    );
    let cooked = run(&["-V", "-c", "1", &capture("real/python-any-sll2.pcap")]);
    assert!(cooked.stdout.lines().any(|l| l == "Linux cooked capture v2"), "{}", cooked.stdout);
}

#[test]
fn decode_as_without_handshake() {
    let path = capture("crafted/midstream.pcap");
    assert_eq!(run(&[&path]).stdout, "", "no handshake: no WebSocket");
    let out = run(&["-d", "tcp.port==9000,websocket", &path]);
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    let bad = run(&["-d", "udp.port==9000,websocket", &path]);
    assert_eq!(bad.code, 2);
}

/// A little-endian pcap of the given link type holding `records`.
fn pcap(link_type: u32, records: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0];
    out.extend_from_slice(&link_type.to_le_bytes());
    for r in records {
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(r);
    }
    out
}

#[test]
fn skipped_packets_are_summarised_on_stderr_not_errors() {
    let udp: &[u8] =
        &[0x45, 0, 0, 29, 0, 1, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2, 0, 53, 0, 53, 0, 9, 0, 0, b'x'];
    let unsupported = run_with_stdin(&["-r", "-"], Some(&pcap(147, &[b"abcd", b"efgh"])));
    assert_eq!(unsupported.code, 0);
    assert!(unsupported.stderr.contains("2 of unsupported link type 147"), "{}", unsupported.stderr);
    let not_tcp = run_with_stdin(&["-r", "-"], Some(&pcap(101, &[udp, &[0x45, 0]])));
    assert_eq!(not_tcp.code, 0);
    assert!(not_tcp.stderr.contains("1 not TCP"), "{}", not_tcp.stderr);
    assert!(not_tcp.stderr.contains("1 malformed (first: packet 2)"), "{}", not_tcp.stderr);
}

#[test]
fn messages_view_in_every_format() {
    let path = capture("crafted/fragments.pcap");
    let fields = run(&[
        "--messages",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "websocket.message.opcode",
        "-e",
        "websocket.fragment",
        "-e",
        "websocket.payload.text",
        &path,
    ]);
    let rows: Vec<&str> = fields.stdout.lines().collect();
    assert_eq!(rows[..2], ["8\t9\t\t", "9\t1\t6,7,9\tHello fragmented world"], "{}", fields.stdout);
    assert_eq!(rows.len(), 5, "ping, text, pong, binary, text: {}", fields.stdout);

    // Header fields alone assemble no messages; a message's shape, --messages or a filter on
    // them still do.
    let shape = run(&["-T", "fields", "-e", "frame.number", "-e", "websocket.fragment", &path]).stdout;
    assert_eq!(shape.lines().filter(|l| !l.ends_with('\t')).collect::<Vec<_>>(), ["9\t6,7,9", "12\t11,12"]);
    let ends = run(&["--messages", "-T", "fields", "-e", "frame.number", &path]).stdout;
    assert_eq!(ends.lines().collect::<Vec<_>>(), ["8", "9", "10", "12", "13"]);
    let filtered = run(&["-T", "fields", "-e", "frame.number", "-Y", "websocket.reassembled.length > 0", &path]).stdout;
    assert_eq!(filtered.lines().collect::<Vec<_>>(), ["9", "12"]);

    let lines = run(&["--messages", &path]).stdout;
    let text = lines.lines().find(|l| l.contains(" Text ")).unwrap();
    assert!(text.contains("frames=3 len=22 \"Hello fragmented world\""), "{text}");

    let tree = run(&["--messages", "-V", &path]).stdout;
    let frames: Vec<&str> = tree.lines().filter(|l| l.starts_with("Frame ")).collect();
    assert_eq!(frames.len(), 6, "the handshake and 5 messages: {tree}");
    assert!(!tree.contains("Frame 7:"), "a frame that completes no message is not shown");

    let json = run(&["--messages", "-T", "jsonl", &path]).stdout;
    let binary: serde_json::Value =
        serde_json::from_str(json.lines().find(|l| l.contains("\"opcode\":2")).unwrap()).unwrap();
    assert_eq!(binary["frames"], serde_json::json!([11, 12]));
    assert_eq!(binary["data"].as_str().unwrap().len(), 140);
    assert_eq!(binary["direction"], "server-to-client");
}

/// Records of a little-endian pcap: (header, records).
fn split_pcap(bytes: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut records = Vec::new();
    let mut off = 24;
    while off < bytes.len() {
        let len = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
        records.push(bytes[off..off + 16 + len].to_vec());
        off += 16 + len;
    }
    (bytes[..24].to_vec(), records)
}

#[test]
fn damaged_files_are_analysed_up_to_the_damage_with_one_warning() {
    let src = std::fs::read(capture("crafted/fragments.pcap")).unwrap();
    let (header, records) = split_pcap(&src);
    let record_header = |len: u32| [1u32, 0, len, len].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    let dir = std::env::temp_dir().join(format!("wsdissect-damaged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: Vec<(&str, Vec<u8>, i32, usize, &str)> = vec![
        ("header-only", header.clone(), 0, 0, ""),
        (
            "zero-length-record",
            [header.clone(), records[..3].concat(), record_header(0), records[3..].concat()].concat(),
            0,
            8,
            "1 malformed (first: packet 4)",
        ),
        (
            "garbage-after",
            [src.clone(), b"garbage!garbage!garbage!".to_vec()].concat(),
            1,
            8,
            "damaged record after packet 15",
        ),
        (
            "absurd-length",
            [header.clone(), records[..5].concat(), record_header(0x7fff_ffff), vec![0; 100]].concat(),
            1,
            0,
            "exceeds the 16777216-byte limit",
        ),
        (
            "longer-than-file",
            [header.clone(), records[..6].concat(), record_header(5000), vec![0; 100]].concat(),
            1,
            1,
            "cut short in packet 7",
        ),
    ];
    for (name, bytes, code, frames, warning) in cases {
        let path = dir.join(format!("{name}.pcap"));
        std::fs::write(&path, bytes).unwrap();
        let out = run(&[path.as_os_str()]);
        assert_eq!(out.code, code, "{name}: {}", out.stderr);
        assert_eq!(out.stdout.lines().filter(|l| l.contains(" WebSocket ")).count(), frames, "{name}: {}", out.stdout);
        assert!(out.stderr.contains(warning), "{name}: {}", out.stderr);
        assert!(out.stderr.lines().count() <= 1, "{name}: one line: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"));
    }
    // A pcapng block whose length is not a multiple of 4.
    let mut ng = std::fs::read(capture("real/python-small.pcapng")).unwrap();
    let mut off = 0;
    for _ in 0..7 {
        off += u32::from_le_bytes(ng[off + 4..off + 8].try_into().unwrap()) as usize;
    }
    ng[off + 4..off + 8].copy_from_slice(&7u32.to_le_bytes());
    let path = dir.join("bad-block.pcapng");
    std::fs::write(&path, ng).unwrap();
    let out = run(&[path.as_os_str()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("damaged record after packet 5") && out.stderr.contains(&*path.to_string_lossy()),
        "{}",
        out.stderr
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reaching_a_limit_is_summed_up_on_stderr() {
    let ratio = run(&[capture("crafted/violation-inflate_ratio.pcap")]);
    assert!(ratio.stderr.contains("limits reached: 1 messages over --inflate-ratio"), "{}", ratio.stderr);
    let size = run(&["--inflate-limit", "65536", &capture("crafted/violation-inflate_limit.pcap")]);
    assert!(size.stderr.contains("1 messages over --inflate-limit"), "{}", size.stderr);
    let payload = run(&["--payload-limit", "100", &capture("real/python-basic.pcap")]);
    assert!(payload.stderr.contains("frames over --payload-limit"), "{}", payload.stderr);
    assert!(payload.stdout.contains("Message incomplete"), "and the messages say so");
    assert_eq!(payload.code, 0);
}
