//! `-T ek`: tshark's newline-delimited Elasticsearch bulk format. Each frame (each message's
//! last frame, with `--messages`) is an `index` line, then a document with the capture time in
//! milliseconds and its `layers`:
//! - with `-e`, each field named with `_` for `.` (`websocket_opcode`), holding an array of its
//!   values written as `-T fields` writes them;
//! - without, every field the frame has, grouped by protocol, each key the protocol then the
//!   field (`websocket_websocket_opcode`), one value as a string (a boolean as `true`/`false`,
//!   bytes as `a0:46:2a:53`), several as an array.
//!
//! [`template`] is the index template that makes Elasticsearch and OpenSearch store the numbers,
//! booleans, addresses and times as such (`schema/ek-template.json`).

use std::io::{self, Write};

use serde_json::{Map, Value as Json, json};

use super::{Civil, write_value};
use crate::analyzer::Frame;
use crate::fields::{self, Context, Field, FieldType};

/// A field's values, each as `-T fields` writes it (strings unescaped: JSON escapes them).
fn texts(ctx: &Context, field: &Field, frame: &Frame<'_>) -> Vec<String> {
    let mut out = Vec::new();
    (field.get)(ctx, frame, &mut |value| {
        let mut text = Vec::new();
        write_value(&mut text, field, &value, false).expect("writing to a Vec");
        out.push(String::from_utf8_lossy(&text).into_owned());
    });
    out
}

/// One value as the full document holds it: labels as null, booleans as JSON booleans, bytes as
/// colon-separated hex (as tshark's full document has them), the rest as strings.
fn full_value(field: &Field, text: String) -> Json {
    match field.ty {
        FieldType::None => Json::Null,
        FieldType::Bool => Json::Bool(text == "1"),
        FieldType::Bytes => {
            let pairs: Vec<&str> = (0..text.len()).step_by(2).filter_map(|i| text.get(i..i + 2)).collect();
            Json::String(pairs.join(":"))
        }
        _ => Json::String(text),
    }
}

/// The key of a field in `-e` mode (`websocket.opcode` → `websocket_opcode`).
pub fn key(name: &str) -> String {
    name.replace('.', "_")
}

/// The protocol a field belongs to: its name up to the first dot.
fn protocol(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Writes the two lines of a frame.
pub fn write_frame(w: &mut impl Write, ctx: &Context, only: &[&'static Field], frame: &Frame<'_>) -> io::Result<()> {
    let t = Civil::of(frame.packet.ts_nanos);
    writeln!(w, r#"{{"index":{{"_index":"packets-{:04}-{:02}-{:02}","_type":"doc"}}}}"#, t.year, t.month, t.day)?;
    let mut layers = Map::new();
    if only.is_empty() {
        for field in fields::all().filter(|f| f.ty != FieldType::None || f.name.contains('.')) {
            let values = texts(ctx, field, frame);
            if values.is_empty() {
                continue;
            }
            let mut values: Vec<Json> = values.into_iter().map(|v| full_value(field, v)).collect();
            let value = if values.len() == 1 { values.remove(0) } else { Json::Array(values) };
            let group = layers.entry(protocol(field.name)).or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(group) = group {
                group.insert(format!("{}_{}", protocol(field.name), key(field.name)), value);
            }
        }
    } else {
        for field in only {
            let values = texts(ctx, field, frame);
            if !values.is_empty() {
                layers.insert(key(field.name), json!(values));
            }
        }
    }
    // Seconds, then three digits of milliseconds, as tshark writes it ("0000" at the epoch).
    let ts = frame.packet.ts_nanos;
    let timestamp = format!("{}{:03}", ts.div_euclid(1_000_000_000), ts.rem_euclid(1_000_000_000) / 1_000_000);
    let doc = json!({ "timestamp": timestamp, "layers": layers });
    serde_json::to_writer(&mut *w, &doc)?;
    w.write_all(b"\n")
}

/// How Elasticsearch stores a field: `flat` for its `-e` key (every value a string, booleans
/// `"1"`/`"0"`), else for the full document's (booleans `true`/`false`). Integers shown in hex,
/// bytes, strings and addresses of Ethernet are keywords (long ones kept, not indexed).
fn property(field: &Field, flat: bool) -> Option<Json> {
    let ty = match field.ty {
        // A protocol is its group in the full document.
        FieldType::None if !field.name.contains('.') => return None,
        FieldType::Bool if flat => "long",
        FieldType::Bool => "boolean",
        FieldType::UInt8
        | FieldType::UInt16
        | FieldType::UInt24
        | FieldType::UInt32
        | FieldType::UInt64
        | FieldType::FrameNum
        | FieldType::Int32
            if field.hex_digits.is_none() =>
        {
            "long"
        }
        FieldType::Ipv4 | FieldType::Ipv6 => "ip",
        FieldType::AbsTime | FieldType::RelTime => "double",
        _ => return Some(json!({ "type": "keyword", "ignore_above": 8191 })),
    };
    Some(json!({ "type": ty }))
}

/// The index template for `packets-*`: the type of every field, under both of its keys (`-e`
/// and the full document's).
pub fn template() -> Json {
    let mut properties = Map::new();
    let mut groups: std::collections::BTreeMap<&str, Map<String, Json>> = Default::default();
    for field in fields::all() {
        let (Some(flat), Some(grouped)) = (property(field, true), property(field, false)) else { continue };
        properties.insert(key(field.name), flat);
        let group = groups.entry(protocol(field.name)).or_default();
        group.insert(format!("{}_{}", protocol(field.name), key(field.name)), grouped);
    }
    for (name, group) in groups {
        properties.insert(name.to_string(), json!({ "properties": group }));
    }
    json!({
        "index_patterns": ["packets-*"],
        "template": {
            "settings": { "index.mapping.total_fields.limit": 10000 },
            "mappings": {
                "dynamic": true,
                "properties": {
                    "timestamp": { "type": "date", "format": "epoch_millis" },
                    "layers": { "properties": properties }
                }
            }
        }
    })
}
