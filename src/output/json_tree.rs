//! `--text-as json`: a JSON text payload as the "JavaScript Object Notation" tree tshark prints
//! with `-o websocket.text_type:"As json"` (members and values in order, numbers as written).

use std::io::{self, Write};

use serde_json::Value;

use super::text::{format_text, label};

/// Writes the tree if `text` is JSON; returns false (and writes nothing) otherwise.
pub fn write(w: &mut impl Write, text: &str) -> io::Result<bool> {
    let Ok(value) = serde_json::from_str::<Value>(text) else { return Ok(false) };
    writeln!(w, "JavaScript Object Notation")?;
    write_value(w, 1, &value, None, "")?;
    Ok(true)
}

fn pad(depth: usize) -> String {
    " ".repeat(4 * depth)
}

/// The literal a scalar shows in `[Path with value: ...]`.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// One value at `depth`; `key` is its member name (`[]` inside arrays) and `path` its path.
fn write_value(w: &mut impl Write, depth: usize, v: &Value, key: Option<&str>, path: &str) -> io::Result<()> {
    let p = pad(depth);
    if let (Some(key), Some(text)) = (key, scalar_text(v)) {
        writeln!(w, "{p}{}", format_text(&format!("[Path with value: {path}:{text}]")))?;
        writeln!(w, "{p}{}", format_text(&format!("[Member with value: {key}:{text}]")))?;
    }
    match v {
        Value::String(s) => writeln!(w, "{p}{}", label("String value", &format_text(s))),
        Value::Number(n) => writeln!(w, "{p}Number value: {n}"),
        Value::Bool(true) => writeln!(w, "{p}True value"),
        Value::Bool(false) => writeln!(w, "{p}False value"),
        Value::Null => writeln!(w, "{p}Null value"),
        Value::Array(items) => {
            writeln!(w, "{p}Array")?;
            let inner = format!("{path}/[]");
            for item in items {
                write_value(w, depth + 1, item, Some("[]"), &inner)?;
            }
            Ok(())
        }
        Value::Object(members) => {
            writeln!(w, "{p}Object")?;
            let q = pad(depth + 1);
            for (name, member) in members {
                let member_path = format!("{path}/{name}");
                writeln!(w, "{q}{}", label("Member", &format_text(name)))?;
                write_value(w, depth + 2, member, Some(name), &member_path)?;
                writeln!(w, "{q}    {}", label("Key", &format_text(name)))?;
                writeln!(w, "{q}    {}", format_text(&format!("[Path: {member_path}]")))?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn test_tree_like_tshark() {
        let mut out = Vec::new();
        assert!(super::write(&mut out, r#"{"type":"ack","n":[1.50,true]}"#).unwrap());
        let expected = "JavaScript Object Notation
    Object
        Member: type
            [Path with value: /type:ack]
            [Member with value: type:ack]
            String value: ack
            Key: type
            [Path: /type]
        Member: n
            Array
                [Path with value: /n/[]:1.50]
                [Member with value: []:1.50]
                Number value: 1.50
                [Path with value: /n/[]:true]
                [Member with value: []:true]
                True value
            Key: n
            [Path: /n]
";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert!(!super::write(&mut Vec::new(), "not json").unwrap());
    }
}
