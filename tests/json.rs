//! `-T json`, `-T jsonl` and `--messages` JSON: the output parses, follows the schemas in
//! `schema/`, and says what `-T fields` says for the same frames.

mod common;

use common::{run, testdata};
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
];

fn schema(name: &str) -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema").join(name)).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn lines(args: &[&str]) -> Vec<Value> {
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
    ];
    for capture in CAPTURES {
        let path = testdata().join(capture).display().to_string();
        let frames = lines(&["-T", "jsonl", &path]);
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
        args.push(&path);
        let fields = run(&args).stdout;
        let rows: Vec<Vec<&str>> = fields.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), frames.len(), "{capture}");
        for (row, f) in rows.iter().zip(&frames) {
            for ((name, path), cell) in columns.iter().zip(row) {
                let v = path.iter().try_fold(f, |v, k| v.get(k));
                assert_eq!(as_field(v), *cell, "{capture} frame {}: {name}", f["frame"]["number"]);
            }
        }
        // The array form holds the same records.
        let array: Value = serde_json::from_str(&run(&["-T", "json", &path]).stdout).unwrap();
        assert_eq!(array.as_array().unwrap(), &frames, "{capture}");
    }
}

#[test]
fn messages_follow_their_schema() {
    let validator = schema("message.schema.json");
    for capture in CAPTURES {
        let path = testdata().join(capture).display().to_string();
        let messages = lines(&["--messages", "-T", "jsonl", &path]);
        for m in &messages {
            if let Err(e) = validator.validate(m) {
                panic!("{capture}: {e} in {m}");
            }
        }
        let array: Value = serde_json::from_str(&run(&["--messages", "-T", "json", "--pretty", &path]).stdout).unwrap();
        assert_eq!(array.as_array().unwrap(), &messages, "{capture}");
    }
}

#[test]
fn bytes_as_base64_are_the_same_bytes() {
    use base64::Engine as _;
    let path = testdata().join("crafted/fragments.pcap").display().to_string();
    let hex = lines(&["-T", "jsonl", &path]);
    let b64 = lines(&["-T", "jsonl", "--bytes", "base64", &path]);
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
