//! The two-thread pipeline against the one-thread one on any capture bytes: the same lines, the
//! same error, the same counters; no panic, no hang, no deadlock between the threads.
use wsdissect::Dissector;
use wsdissect::analyzer::{Config, Frame, HandshakeEvent, Output};
use wsdissect::fields::{self, Context};
use wsdissect::output;

struct Lines {
    out: Vec<u8>,
    ctx: Context,
    fields: Vec<&'static fields::Field>,
}

impl Output for Lines {
    fn frame(&mut self, f: &Frame<'_>) {
        let _ = output::write_summary_line(&mut self.out, &self.ctx, f);
        let _ = output::write_fields_line(&mut self.out, &self.ctx, &Default::default(), &self.fields, f);
    }

    fn handshake(&mut self, h: &HandshakeEvent<'_>) {
        let _ = output::write_handshake_line(&mut self.out, &self.ctx, h);
    }

    fn capture_start(&mut self, ctx: &Context) {
        self.ctx = ctx.clone();
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        // Small limits, so that they are reached, and a payload limit under the batch size.
        let config = Config { reassembly_limit: 1 << 14, payload_cap: 1 << 14, inflate_cap: 1 << 16, ..Config::default() };
        let run = |parallel: bool| {
            let mut d = Dissector::from_bytes(data).ok()?.with_config(config.clone());
            let mut out = Lines { out: Vec::new(), ctx: Context::default(), fields: fields::all().collect() };
            let result = if parallel { d.run_parallel(&mut out) } else { d.run(&mut out) };
            Some((out.out, result.map_err(|e| e.to_string()), format!("{:?}", d.stats())))
        };
        assert_eq!(run(false), run(true));
    });
}
