//! Writes a synthetic WebSocket capture for benchmarks (see `wsdissect::synth`).
//!
//! ```sh
//! cargo run --release --example gen_capture -- large 500000000 /tmp/large.pcap
//! cargo run --release --example gen_capture -- small 300000000 /tmp/small.pcap
//! cargo run --release --example gen_capture -- large-tls 500000000 /tmp/wss.pcap   # and /tmp/wss.pcap.keys
//! cargo run --release --example gen_capture -- large-h2 500000000 /tmp/h2.pcap      # RFC 8441, h2c
//! cargo run --release --example gen_capture -- deflate-10k 116000000 /tmp/deflate.pcap
//! ```

use std::io::BufWriter;
use std::process::ExitCode;

use wsdissect::synth::{Profile, key_log, write_capture};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (profile, size, path, seed) = match args.as_slice() {
        [p, size, path, rest @ ..] => (p, size, path, rest.first().and_then(|s| s.parse().ok()).unwrap_or(1)),
        _ => {
            eprintln!(
                "usage: gen_capture large|small|large-tls|large-h2|deflate|deflate-10k|deflate-browser BYTES OUT.pcap [SEED]"
            );
            return ExitCode::from(2);
        }
    };
    let profile = match profile.as_str() {
        "large" => Profile::large(),
        "small" => Profile::small(),
        "large-tls" => Profile::large_tls(),
        "large-h2" => Profile::large_h2(),
        "deflate" => Profile::deflate(),
        "deflate-10k" => Profile::deflate_many(),
        "deflate-browser" => Profile::deflate_browser(),
        other => {
            eprintln!(
                "gen_capture: unknown profile {other:?} (large, small, large-tls, large-h2, deflate, deflate-10k or deflate-browser)"
            );
            return ExitCode::from(2);
        }
    };
    let Ok(size) = size.parse::<u64>() else {
        eprintln!("gen_capture: {size:?} is not a size in bytes");
        return ExitCode::from(2);
    };
    let file = match std::fs::File::create(path) {
        Ok(f) => BufWriter::with_capacity(1 << 20, f),
        Err(e) => {
            eprintln!("gen_capture: cannot create {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let keys = key_log(&profile, seed);
    if !keys.is_empty() {
        let keys_path = format!("{path}.keys");
        if let Err(e) = std::fs::write(&keys_path, keys) {
            eprintln!("gen_capture: cannot write {keys_path}: {e}");
            return ExitCode::from(1);
        }
    }
    match write_capture(file, &profile, size, seed) {
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
