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

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::OnceLock;

use serde_json::{Map, Value as Json, json};

use super::{Civil, write_value};
use crate::analyzer::Frame;
use crate::fields::{self, Context, Field, FieldType};

/// A field's values in one frame, each as `-T fields` writes it (strings unescaped: JSON
/// escapes them), one after another in one buffer kept from field to field.
#[derive(Default)]
struct Values {
    text: Vec<u8>,
    /// Where each value ends in `text`.
    ends: Vec<usize>,
}

impl Values {
    fn read(&mut self, ctx: &Context, field: &Field, frame: &Frame<'_>) {
        let Values { text, ends } = self;
        text.clear();
        ends.clear();
        (field.get)(ctx, frame, &mut |value| {
            write_value(text, field, &value, false).expect("writing to a Vec");
            ends.push(text.len());
        });
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn iter(&self) -> impl Iterator<Item = Cow<'_, str>> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| String::from_utf8_lossy(&self.text[start..end]))
    }
}

/// `text` as a JSON string.
fn write_str(w: &mut impl Write, text: &str) -> io::Result<()> {
    Ok(serde_json::to_writer(w, text)?)
}

/// One value as the full document holds it: labels as null, booleans as JSON booleans, bytes as
/// colon-separated hex (as tshark's full document has them), the rest as strings.
fn write_full_value(w: &mut impl Write, field: &Field, text: &str) -> io::Result<()> {
    match field.ty {
        FieldType::None => w.write_all(b"null"),
        FieldType::Bool => w.write_all(if text == "1" { b"true" } else { b"false" }),
        FieldType::Bytes => {
            let pairs: Vec<&str> = (0..text.len()).step_by(2).filter_map(|i| text.get(i..i + 2)).collect();
            write_str(w, &pairs.join(":"))
        }
        _ => write_str(w, text),
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

/// A protocol's object in the full document: its fields, in the order of [`fields::all`].
struct Group {
    /// `"websocket":{`
    opening: String,
    /// Each field with its member's name, quoted and followed by a colon
    /// (`"websocket_websocket_opcode":`).
    members: Vec<(&'static Field, String)>,
}

/// The full document's objects, in the order their protocols' first fields come in
/// [`fields::all`]; worked out once, so that a frame is written with nothing built per field.
fn groups() -> &'static [Group] {
    static GROUPS: OnceLock<Vec<Group>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        let quoted = |name: &str| serde_json::to_string(name).expect("a string is JSON");
        let mut groups: Vec<(&str, Group)> = Vec::new();
        for field in fields::all().filter(|f| f.ty != FieldType::None || f.name.contains('.')) {
            let name = protocol(field.name);
            let member = quoted(&format!("{name}_{}", key(field.name))) + ":";
            match groups.iter_mut().find(|(n, _)| *n == name) {
                Some((_, group)) => group.members.push((field, member)),
                None => groups.push((name, Group { opening: quoted(name) + ":{", members: vec![(field, member)] })),
            }
        }
        groups.into_iter().map(|(_, group)| group).collect()
    })
}

/// Writes the two lines of a frame, straight to `w`.
pub fn write_frame(w: &mut impl Write, ctx: &Context, only: &[&'static Field], frame: &Frame<'_>) -> io::Result<()> {
    let ts = frame.packet.ts_nanos;
    let t = Civil::of(ts);
    writeln!(w, r#"{{"index":{{"_index":"packets-{:04}-{:02}-{:02}","_type":"doc"}}}}"#, t.year, t.month, t.day)?;
    // Seconds, then three digits of milliseconds, as tshark writes it ("0000" at the epoch).
    let (seconds, millis) = (ts.div_euclid(1_000_000_000), ts.rem_euclid(1_000_000_000) / 1_000_000);
    write!(w, r#"{{"timestamp":"{seconds}{millis:03}","layers":{{"#)?;
    let mut values = Values::default();
    let mut separator: &[u8] = b"";
    if only.is_empty() {
        for group in groups() {
            let mut opened = false;
            for (field, member) in &group.members {
                values.read(ctx, field, frame);
                if values.len() == 0 {
                    continue;
                }
                if opened {
                    w.write_all(b",")?;
                } else {
                    w.write_all(separator)?;
                    w.write_all(group.opening.as_bytes())?;
                    (opened, separator) = (true, b",");
                }
                w.write_all(member.as_bytes())?;
                if values.len() == 1 {
                    write_full_value(w, field, &values.iter().next().expect("one value"))?;
                } else {
                    write_array(w, values.iter(), |w, v| write_full_value(w, field, &v))?;
                }
            }
            if opened {
                w.write_all(b"}")?;
            }
        }
    } else {
        for (i, field) in only.iter().enumerate() {
            // A field asked for twice is one member, where it was first asked for.
            if only[..i].iter().any(|earlier| earlier.name == field.name) {
                continue;
            }
            values.read(ctx, field, frame);
            if values.len() == 0 {
                continue;
            }
            w.write_all(separator)?;
            separator = b",";
            write_str(w, &key(field.name))?;
            w.write_all(b":")?;
            write_array(w, values.iter(), |w, v| write_str(w, &v))?;
        }
    }
    w.write_all(b"}}\n")
}

/// `items` as a JSON array, each written by `write_item`.
fn write_array<W: Write, T>(
    w: &mut W,
    items: impl Iterator<Item = T>,
    mut write_item: impl FnMut(&mut W, T) -> io::Result<()>,
) -> io::Result<()> {
    w.write_all(b"[")?;
    for (i, item) in items.enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write_item(w, item)?;
    }
    w.write_all(b"]")
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Frames are written member by member, with nothing to merge two fields of one name: every
    /// member of the full document, and every `-e` key, must be one field's.
    #[test]
    fn test_members_and_keys_are_unique() {
        let mut members = HashSet::new();
        for group in groups() {
            for (field, member) in &group.members {
                assert!(members.insert(member.as_str()), "{member} for {} too", field.name);
            }
        }
        let mut keys = HashSet::new();
        for field in fields::all() {
            assert!(keys.insert(key(field.name)), "{} has another field's -e key", field.name);
        }
        let protocols: HashSet<&str> = groups().iter().map(|g| g.opening.as_str()).collect();
        assert_eq!(protocols.len(), groups().len());
    }
}
