//! `-T ek` (tshark's Elasticsearch bulk format): the `-e` documents are compared with tshark's
//! own in `tests/layout.rs`; here the full documents' `websocket` objects against tshark's
//! (`testdata/layout/ek_full_*.websocket.jsonl`, recorded by `testdata/scripts/tshark_layout.sh`),
//! and every document of the real captures against the index template (`schema/ek-template.json`),
//! as Elasticsearch or OpenSearch would map it: no key without a type, no value its type rejects.

mod common;

use common::{keylog_args, run, testdata};
use serde_json::Value;

fn documents(args: &[&str]) -> Vec<Value> {
    let out = run(args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines.len().is_multiple_of(2) && !lines.is_empty());
    lines
        .chunks(2)
        .map(|pair| {
            let index: Value = serde_json::from_str(pair[0]).unwrap();
            assert!(index["index"]["_index"].as_str().unwrap().starts_with("packets-"), "{}", pair[0]);
            serde_json::from_str(pair[1]).unwrap()
        })
        .collect()
}

#[test]
fn full_websocket_objects_are_tsharks() {
    for (capture, reference) in [
        ("real/python-small.pcapng", "ek_full_python-small.websocket.jsonl"),
        ("crafted/big-endian-nanos.pcap", "ek_full_big-endian-nanos.websocket.jsonl"),
    ] {
        let path = testdata().join(capture).display().to_string();
        let ours = documents(&["-r", &path, "-T", "ek"]);
        let theirs = std::fs::read_to_string(testdata().join("layout").join(reference)).unwrap();
        let theirs: Vec<Value> = theirs.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(ours.len(), theirs.len(), "{capture}");
        let mut compared = 0;
        for (doc, want) in ours.iter().zip(&theirs) {
            let got = &doc["layers"]["websocket"];
            // tshark's labels (null) are subtrees wsdissect may give values (websocket.payload).
            for (key, value) in want.as_object().unwrap().iter().filter(|(_, v)| !v.is_null()) {
                if let Some(mine) = got.get(key) {
                    assert_eq!(mine, value, "{capture}: {key}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 5 * ours.len(), "{capture}: {compared} values compared");
    }
}

#[test]
fn a_field_asked_for_twice_is_one_member() {
    let path = testdata().join("real/python-basic.pcap").display().to_string();
    let out = run(&["-r", &path, "-T", "ek", "-e", "frame.number", "-e", "websocket.opcode", "-e", "frame.number"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let documents: Vec<&str> = out.stdout.lines().skip(1).step_by(2).collect();
    assert!(!documents.is_empty());
    for line in documents {
        assert_eq!(line.matches(r#""frame_number":"#).count(), 1, "{line}");
        let doc: Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&String> = doc["layers"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["frame_number", "websocket_opcode"], "{line}");
    }
}

/// Whether Elasticsearch would take `value` for a field of `ty`.
fn fits(ty: &str, value: &Value) -> bool {
    match (ty, value) {
        (_, Value::Array(items)) => items.iter().all(|v| fits(ty, v)),
        ("long", Value::String(s)) => s.parse::<i64>().is_ok(),
        ("double", Value::String(s)) => s.parse::<f64>().is_ok(),
        ("ip", Value::String(s)) => s.parse::<std::net::IpAddr>().is_ok(),
        ("boolean", Value::Bool(_)) | ("keyword", Value::String(_)) | (_, Value::Null) => true,
        _ => false,
    }
}

#[test]
fn documents_fit_the_index_template() {
    let template: Value =
        serde_json::from_str(&std::fs::read_to_string(testdata().join("../schema/ek-template.json")).unwrap()).unwrap();
    let printed: Value = serde_json::from_str(&run(&["--ek-template"]).stdout).unwrap();
    assert_eq!(printed, template, "schema/ek-template.json is wsdissect --ek-template's output");
    let layers = &template["template"]["mappings"]["properties"]["layers"]["properties"];
    let mut checked = 0;
    for capture in [
        "real/python-basic.pcap",
        "real/python-ipv6.pcap",
        "real/node-deflate.pcap",
        "real/wss-python-tls13-aes128.pcap",
        "real/h2-python-tls.pcap",
    ] {
        let path = testdata().join(capture);
        let mut args = vec!["-r".to_string(), path.display().to_string(), "-T".into(), "ek".into()];
        args.extend(keylog_args(&path));
        let full: Vec<&str> = args.iter().map(String::as_str).collect();
        let with_fields =
            [&full[..], &["-e", "frame.number", "-e", "websocket.fin", "-e", "ip.src", "-e", "frame.time"]].concat();
        for doc in documents(&full).iter().chain(&documents(&with_fields)) {
            assert!(doc["timestamp"].as_str().unwrap().parse::<i64>().is_ok());
            for (key, value) in doc["layers"].as_object().unwrap() {
                let mapping = &layers[key];
                match value {
                    Value::Object(group) => {
                        for (inner, v) in group {
                            let ty = mapping["properties"][inner]["type"].as_str();
                            assert!(ty.is_some_and(|t| fits(t, v)), "{capture}: {key}.{inner} = {v} ({ty:?})");
                            checked += 1;
                        }
                    }
                    v => {
                        let ty = mapping["type"].as_str();
                        assert!(ty.is_some_and(|t| fits(t, v)), "{capture}: {key} = {v} ({ty:?})");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}
