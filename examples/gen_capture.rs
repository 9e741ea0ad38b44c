//! Writes a synthetic WebSocket capture for benchmarks (see `wsdissect::synth`): a profile,
//! whose parameters the options change.
//!
//! ```sh
//! cargo run --release --example gen_capture -- large 500000000 /tmp/large.pcap
//! cargo run --release --example gen_capture -- small 300000000 /tmp/small.pcap
//! cargo run --release --example gen_capture -- large-tls 500000000 /tmp/wss.pcap   # and /tmp/wss.pcap.keys
//! cargo run --release --example gen_capture -- large-h2 500000000 /tmp/h2.pcap      # RFC 8441, h2c
//! cargo run --release --example gen_capture -- deflate-10k 116000000 /tmp/deflate.pcap
//! # 400 connections, every one compressed with 15-bit windows
//! cargo run --release --example gen_capture -- deflate 116000000 /tmp/server.pcap --window-bits 15
//! # 2,000 connections, one in four compressed
//! cargo run --release --example gen_capture -- deflate 116000000 /tmp/mixed.pcap --connections 2000 --deflate-every 4
//! ```

use std::io::BufWriter;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use wsdissect::synth::{Profile, key_log, write_capture};

#[derive(Parser)]
#[command(about = "Writes a synthetic WebSocket capture for benchmarks")]
struct Args {
    /// The traffic's shape, changed by the options below.
    profile: Preset,
    /// Size of the capture to write, in bytes.
    bytes: u64,
    /// Where to write it (TLS profiles write their key log beside it, as OUT.keys).
    out: String,
    /// Seed of the generator.
    #[arg(default_value_t = 1)]
    seed: u64,
    /// Connections open at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    connections: Option<u32>,
    /// One connection in N negotiates permessage-deflate (0: none, 1: all).
    #[arg(long, value_name = "N")]
    deflate_every: Option<u32>,
    /// The windows compressed connections negotiate, in bits.
    #[arg(long, value_name = "BITS", value_parser = clap::value_parser!(u8).range(9..=15))]
    window_bits: Option<u8>,
    /// Compressed messages stand alone (no context takeover).
    #[arg(long)]
    no_context_takeover: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    Large,
    Small,
    LargeTls,
    LargeH2,
    Deflate,
    #[value(name = "deflate-10k")]
    Deflate10k,
    DeflateBrowser,
}

impl Args {
    fn profile(&self) -> Profile {
        let mut profile = match self.profile {
            Preset::Large => Profile::large(),
            Preset::Small => Profile::small(),
            Preset::LargeTls => Profile::large_tls(),
            Preset::LargeH2 => Profile::large_h2(),
            Preset::Deflate => Profile::deflate(),
            Preset::Deflate10k => Profile::deflate_many(),
            Preset::DeflateBrowser => Profile::deflate_browser(),
        };
        profile.connections = self.connections.unwrap_or(profile.connections);
        profile.deflate_every = self.deflate_every.unwrap_or(profile.deflate_every);
        profile.window_bits = self.window_bits.unwrap_or(profile.window_bits);
        profile.context_takeover &= !self.no_context_takeover;
        profile
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (profile, path) = (args.profile(), &args.out);
    let file = match std::fs::File::create(path) {
        Ok(f) => BufWriter::with_capacity(1 << 20, f),
        Err(e) => {
            eprintln!("gen_capture: cannot create {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let keys = key_log(&profile, args.seed);
    if !keys.is_empty() {
        let keys_path = format!("{path}.keys");
        if let Err(e) = std::fs::write(&keys_path, keys) {
            eprintln!("gen_capture: cannot write {keys_path}: {e}");
            return ExitCode::from(1);
        }
    }
    match write_capture(file, &profile, args.bytes, args.seed) {
        Ok(s) => {
            println!("{path}: {} bytes, {} packets, {} frames", s.bytes, s.packets, s.frames);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen_capture: {path}: {e}");
            ExitCode::from(1)
        }
    }
}
