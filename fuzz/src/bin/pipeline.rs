//! The whole pipeline on any capture bytes, with every printer run on every frame: no panic,
//! no hang, bounded memory (the limits are small here so that they are reached). The key log
//! of the wss seed is given, so that TLS is decrypted on the way.
use wsdissect::Dissector;
use wsdissect::analyzer::{Config, Frame, HandshakeEvent, Output};
use wsdissect::fields::{self, Context};
use wsdissect::output::{self, json::BytesAs, tree::TextAs};
use wsdissect::tls::keylog::KeyLog;

struct PrintAll {
    sink: Vec<u8>,
    ctx: Context,
    fields: Vec<&'static fields::Field>,
}

impl Output for PrintAll {
    fn frame(&mut self, f: &Frame<'_>) {
        let _ = output::write_summary_line(&mut self.sink, &self.ctx, f);
        let _ = output::tree::write_frame_tree(&mut self.sink, f, TextAs::Json);
        let _ = output::write_fields_line(&mut self.sink, &self.ctx, &Default::default(), &self.fields, f);
        let _ = serde_json::to_writer(&mut self.sink, &output::json::frame_record(&self.ctx, f, BytesAs::Hex));
        self.sink.clear();
    }

    fn handshake(&mut self, h: &HandshakeEvent<'_>) {
        let _ = output::tree::write_handshake_tree(&mut self.sink, h);
        let _ = output::write_handshake_line(&mut self.sink, &self.ctx, h);
        self.sink.clear();
    }

    fn capture_start(&mut self, ctx: &Context) {
        self.ctx = ctx.clone();
    }
}

/// The secrets of the wss seed (seeds/pipeline/wss-deflate.pcap), so that its records decrypt.
const KEYS: &[u8] = include_bytes!("../../../testdata/real/wss-python-tls13-deflate.pcap.keys");

fn main() {
    let mut keylog = KeyLog::default();
    keylog.add_text(KEYS);
    afl::fuzz!(|data: &[u8]| {
        let config = Config {
            reassembly_limit: 1 << 14,
            payload_cap: 1 << 14,
            inflate_cap: 1 << 16,
            keylog: keylog.clone(),
            ..Config::default()
        };
        if let Ok(d) = Dissector::from_bytes(data) {
            let mut d = d.with_config(config);
            let mut out = PrintAll { sink: Vec::new(), ctx: Context::default(), fields: fields::all().collect() };
            let _ = d.run(&mut out);
        }
    });
}
