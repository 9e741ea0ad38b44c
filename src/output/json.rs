//! `-T json` and `-T jsonl`: a frame as a JSON object nested by protocol, with the names of the
//! filter fields (`.websocket.opcode` in jq is `websocket.opcode` in a filter) and typed values.
//! The schema is `schema/frame.schema.json`.

use std::io::{self, Write};

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::analyzer::Frame;
use crate::fields::{Context, close_code, text_of};
use crate::ws::frame::{Opcode, close_body};

/// How byte strings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BytesAs {
    /// Lowercase hex, two digits a byte.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

impl BytesAs {
    /// Encodes bytes.
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            BytesAs::Hex => {
                let mut s = String::with_capacity(bytes.len() * 2);
                for b in bytes {
                    s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
                    s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
                }
                s
            }
            BytesAs::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

/// An absolute time as RFC 3339 in UTC, with microseconds (or nanoseconds when they matter).
pub fn rfc3339(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days to civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (day_secs / 3600, day_secs / 60 % 60, day_secs % 60);
    let frac = if frac % 1000 == 0 { format!("{:06}", frac / 1000) } else { format!("{frac:09}") };
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{frac}Z")
}

fn seconds(nanos: i64) -> Value {
    // Exact decimal seconds, as a JSON number.
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.unsigned_abs();
    let text = format!("{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000);
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn expert_list(f: &Frame<'_>) -> Value {
    Value::Array(
        f.expert
            .iter()
            .map(|e| {
                json!({
                    "severity": e.kind.severity().name(),
                    "group": e.kind.group().name(),
                    "field": e.kind.field(),
                    "message": e.to_string(),
                })
            })
            .collect(),
    )
}

/// The frame as a JSON object.
pub fn frame_value(ctx: &Context, f: &Frame<'_>, bytes: BytesAs) -> Value {
    let p = &f.packet;
    let (src, dst) = (f.src(), f.dst());
    let mut root = Map::new();
    root.insert(
        "frame".into(),
        json!({
            "number": p.number,
            "time": rfc3339(p.ts_nanos),
            "time_epoch": seconds(p.ts_nanos),
            "time_relative": seconds(p.ts_nanos - ctx.first_ts),
            "len": p.len,
            "cap_len": p.caplen,
        }),
    );
    let ip = json!({ "src": src.ip.to_string(), "dst": dst.ip.to_string() });
    root.insert(if src.ip.is_ipv4() { "ip" } else { "ipv6" }.into(), ip);
    root.insert(
        "tcp".into(),
        json!({
            "srcport": src.port,
            "dstport": dst.port,
            "stream": f.connection.stream,
            "seq": f.relative_seq(),
            "ack": f.relative_ack(),
            "len": p.tcp_len,
        }),
    );
    root.insert("websocket".into(), Value::Object(websocket(f, bytes)));
    if let Some(http) = http(f) {
        root.insert("http".into(), http);
    }
    if !f.expert.is_empty() {
        root.insert("expert".into(), expert_list(f));
    }
    Value::Object(root)
}

fn websocket(f: &Frame<'_>, bytes: BytesAs) -> Map<String, Value> {
    let h = &f.header;
    let mut ws = Map::new();
    ws.insert("fin".into(), h.fin.into());
    ws.insert("rsv".into(), h.rsv.into());
    if f.connection.deflate.is_some() {
        ws.insert("pmc".into(), h.rsv1().into());
    }
    ws.insert("opcode".into(), h.opcode.0.into());
    ws.insert("opcode_name".into(), h.opcode.name().unwrap_or("Unknown").into());
    ws.insert("mask".into(), h.masked.into());
    ws.insert("payload_length".into(), h.len7.into());
    if let Some(n) = h.ext_16() {
        ws.insert("payload_length_ext_16".into(), n.into());
    }
    if let Some(n) = h.ext_64() {
        ws.insert("payload_length_ext_64".into(), n.into());
    }
    if let Some(key) = h.masking_key {
        ws.insert("masking_key".into(), BytesAs::Hex.encode(&key).into());
    }
    let mut payload = Map::new();
    if h.payload_len > 0 {
        payload.insert("data".into(), bytes.encode(f.payload).into());
    }
    match h.opcode {
        Opcode::CLOSE if h.payload_len > 0 => {
            let mut close = Map::new();
            if let Some(code) = close_code(f) {
                close.insert("status_code".into(), code.into());
            }
            if let (_, Some(reason)) = close_body(f.payload) {
                close.insert("reason".into(), String::from_utf8_lossy(reason).into());
            }
            payload.insert("close".into(), Value::Object(close));
        }
        Opcode::PING if h.payload_len > 0 => {
            payload.insert("ping".into(), bytes.encode(f.payload).into());
        }
        Opcode::PONG if h.payload_len > 0 => {
            payload.insert("pong".into(), bytes.encode(f.payload).into());
        }
        _ => {}
    }
    if let Some(text) = text_of(f) {
        payload.insert("text".into(), text.into_owned().into());
    }
    if !payload.is_empty() {
        ws.insert("payload".into(), Value::Object(payload));
    }
    ws.insert("payload_captured".into(), f.payload_seen.into());
    ws.insert("cut".into(), f.cut.is_some().into());
    if let Some(m) = f.message {
        let mut msg = Map::new();
        msg.insert("opcode".into(), m.opcode.0.into());
        msg.insert("opcode_name".into(), m.opcode.name().unwrap_or("Unknown").into());
        msg.insert("length".into(), m.length.into());
        msg.insert("wire_length".into(), m.wire_length.into());
        msg.insert("frames".into(), m.fragments.len().into());
        msg.insert("fragment".into(), m.fragments.iter().map(|x| x.packet).collect::<Vec<_>>().into());
        msg.insert("compressed".into(), m.compressed.into());
        msg.insert("complete".into(), m.complete.into());
        if m.compressed || m.fragments.len() > 1 {
            msg.insert("data".into(), bytes.encode(m.data).into());
        }
        ws.insert("message".into(), Value::Object(msg));
    }
    ws
}

fn http(f: &Frame<'_>) -> Option<Value> {
    let hs = f.connection.handshake.as_ref()?;
    let mut http = Map::new();
    let mut put = |name: &str, value: &Option<String>| {
        if let Some(v) = value {
            http.insert(name.into(), v.clone().into());
        }
    };
    let resp = &hs.response.headers;
    if let Some(req) = &hs.request {
        let r = &req.headers;
        put("host", &r.host);
        put("user_agent", &r.user_agent);
        put("origin", &r.origin);
        put("sec_websocket_key", &r.sec_websocket_key);
        put("sec_websocket_version", &r.sec_websocket_version);
    }
    put("sec_websocket_accept", &resp.sec_websocket_accept);
    let both = |get: fn(&crate::http::Headers) -> &Option<String>| -> Vec<String> {
        let request = hs.request.as_ref().and_then(|r| get(&r.headers).clone());
        request.into_iter().chain(get(resp).clone()).collect()
    };
    for (name, values) in [
        ("upgrade", both(|h| &h.upgrade)),
        ("sec_websocket_protocol", both(|h| &h.sec_websocket_protocol)),
        ("sec_websocket_extensions", both(|h| &h.sec_websocket_extensions)),
    ] {
        if !values.is_empty() {
            http.insert(name.into(), values.into());
        }
    }
    if let Some(req) = &hs.request {
        http.insert("request".into(), json!({ "method": req.method, "uri": req.uri }));
    }
    http.insert("response".into(), json!({ "code": hs.response.code }));
    if let Some(ok) = hs.accept_valid {
        http.insert("accept_valid".into(), ok.into());
    }
    Some(Value::Object(http))
}

/// Writes JSON records one per line (`-T jsonl`) or as the elements of one array (`-T json`),
/// pretty-printed or compact.
#[derive(Debug)]
pub struct JsonWriter {
    array: bool,
    pretty: bool,
    written: u64,
}

impl JsonWriter {
    /// A writer for `-T json` (`array`) or `-T jsonl`.
    pub fn new(array: bool, pretty: bool) -> Self {
        JsonWriter { array, pretty: pretty && array, written: 0 }
    }

    /// Writes one record.
    pub fn write(&mut self, w: &mut impl Write, value: &impl serde::Serialize) -> io::Result<()> {
        if self.array {
            w.write_all(if self.written == 0 { b"[\n" } else { b",\n" })?;
        }
        if self.pretty {
            serde_json::to_writer_pretty(&mut *w, value)?;
        } else {
            serde_json::to_writer(&mut *w, value)?;
        }
        self.written += 1;
        if !self.array {
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Closes the array (an empty one if nothing was written).
    pub fn finish(&mut self, w: &mut impl Write) -> io::Result<()> {
        if self.array {
            w.write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_rfc3339() {
        assert_eq!(rfc3339(1_475_222_152_123_456_000), "2016-09-30T07:55:52.123456Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(951_782_400_000_000_001), "2000-02-29T00:00:00.000000001Z");
        assert_eq!(rfc3339(-1_000_000_000), "1969-12-31T23:59:59.000000Z");
    }

    #[test]
    fn test_bytes() {
        assert_eq!(BytesAs::Hex.encode(&[0xe1, 0x07]), "e107");
        assert_eq!(BytesAs::Base64.encode(b"hi"), "aGk=");
    }
}
