//! `-T json`, `-T jsonl` and `--messages` JSON: the output parses, follows the schemas in
//! `schema/`, and says what `-T fields` says for the same frames.

mod common;

use common::{keylog_args, run, testdata};
use serde_json::Value;

const CAPTURES: &[&str] = &[
    "real/python-basic.pcap",
    "real/python-ipv6.pcap",
    "real/python-deflate-windows.pcapng",
    "real/node-deflate.pcap",
    "crafted/fragments.pcap",
    "crafted/gap.pcap",
    "crafted/violation-invalid_close_code.pcap",
    "crafted/violation-length_top_bit.pcap",
    "real/wss-python-tls13-aes128.pcap",
    "real/wss-python-tls12-cbc-sha384-mte.pcap",
    "real/wss-chromium.pcap",
];

/// `args`, then the capture and its key log, if it has one.
fn with_capture(args: &[&str], capture: &str) -> Vec<String> {
    let path = testdata().join(capture);
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.push(path.display().to_string());
    all.extend(keylog_args(&path));
    all
}

fn schema(name: &str) -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema").join(name)).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn lines(args: &[String]) -> Vec<Value> {
    let out = run(args);
    assert!(out.code <= 1, "{args:?}: {}", out.stderr);
    out.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// A JSON value as `-T fields` prints it.
fn as_field(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::Bool(b)) => u8::from(*b).to_string(),
        Some(Value::String(s)) => {
            s.replace('\\', "\\\\").replace('\n', "\\n").replace('\t', "\\t").replace('\r', "\\r")
        }
        Some(other) => other.to_string(),
    }
}

#[test]
fn frames_follow_the_schema_and_agree_with_fields() {
    let validator = schema("frame.schema.json");
    let columns: &[(&str, &[&str])] = &[
        ("frame.number", &["frame", "number"]),
        ("tcp.stream", &["tcp", "stream"]),
        ("tcp.srcport", &["tcp", "srcport"]),
        ("websocket.fin", &["websocket", "fin"]),
        ("websocket.opcode", &["websocket", "opcode"]),
        ("websocket.mask", &["websocket", "mask"]),
        ("websocket.payload_length", &["websocket", "payload_length"]),
        ("websocket.payload_length_ext_16", &["websocket", "payload_length_ext_16"]),
        ("websocket.payload_length_ext_64", &["websocket", "payload_length_ext_64"]),
        ("websocket.masking_key", &["websocket", "masking_key"]),
        ("websocket.payload.text", &["websocket", "payload", "text"]),
        ("websocket.payload.close.status_code", &["websocket", "payload", "close", "status_code"]),
        ("websocket.payload.close.reason", &["websocket", "payload", "close", "reason"]),
        ("websocket.payload.ping", &["websocket", "payload", "ping"]),
        ("websocket.message.length", &["websocket", "message", "length"]),
        ("http.host", &["http", "host"]),
        ("tls.record.content_type", &["tls", "record", "content_type"]),
        ("tls.record.length", &["tls", "record", "length"]),
        ("tls.decrypted", &["tls", "decrypted"]),
        ("tls.handshake.extensions_server_name", &["tls", "handshake", "extensions_server_name"]),
    ];
    for capture in CAPTURES {
        let frames = lines(&with_capture(&["-T", "jsonl"], capture));
        assert!(!frames.is_empty(), "{capture}");
        for f in &frames {
            if let Err(e) = validator.validate(f) {
                panic!("{capture}: {e} in {f}");
            }
        }
        let mut args = vec!["-T", "fields"];
        for (name, _) in columns {
            args.extend(["-e", name]);
        }
        let fields = run(&with_capture(&args, capture)).stdout;
        let rows: Vec<Vec<&str>> = fields.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), frames.len(), "{capture}");
        for (row, f) in rows.iter().zip(&frames) {
            for ((name, path), cell) in columns.iter().zip(row) {
                let v = path.iter().try_fold(f, |v, k| v.get(k));
                assert_eq!(as_field(v), *cell, "{capture} frame {}: {name}", f["frame"]["number"]);
            }
        }
        // The array form holds the same records.
        let array: Value = serde_json::from_str(&run(&with_capture(&["-T", "json"], capture)).stdout).unwrap();
        assert_eq!(array.as_array().unwrap(), &frames, "{capture}");
    }
}

#[test]
fn messages_follow_their_schema() {
    let validator = schema("message.schema.json");
    for capture in CAPTURES {
        let messages = lines(&with_capture(&["--messages", "-T", "jsonl"], capture));
        for m in &messages {
            if let Err(e) = validator.validate(m) {
                panic!("{capture}: {e} in {m}");
            }
        }
        let array: Value =
            serde_json::from_str(&run(&with_capture(&["--messages", "-T", "json", "--pretty"], capture)).stdout)
                .unwrap();
        assert_eq!(array.as_array().unwrap(), &messages, "{capture}");
    }
}

#[test]
fn bytes_as_base64_are_the_same_bytes() {
    use base64::Engine as _;
    let path = testdata().join("crafted/fragments.pcap").display().to_string();
    let hex = lines(&with_capture(&["-T", "jsonl"], "crafted/fragments.pcap"));
    let b64 = lines(&with_capture(&["-T", "jsonl", "--bytes", "base64"], "crafted/fragments.pcap"));
    let mut compared = 0;
    for (h, b) in hex.iter().zip(&b64) {
        if let (Some(Value::String(h)), Some(Value::String(b))) =
            (h.pointer("/websocket/payload/data"), b.pointer("/websocket/payload/data"))
        {
            let from_hex: Vec<u8> =
                (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
            assert_eq!(base64::engine::general_purpose::STANDARD.decode(b).unwrap(), from_hex);
            compared += 1;
        }
    }
    assert!(compared >= 5);
    assert_eq!(run(&["-T", "json", "-Y", "websocket.opcode == 99", &path]).stdout, "[]\n");
}
