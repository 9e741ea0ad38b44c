//! Prints every message of a capture that a display filter selects, one per line: stream,
//! direction, opcode and the text (or the size of binary data).
//!
//! ```sh
//! cargo run --example grep_messages -- testdata/real/python-basic.pcap 'websocket.payload.text contains "world"'
//! ```

use std::process::ExitCode;

use wsdissect::Dissector;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, rest @ ..] = args.as_slice() else {
        eprintln!("usage: grep_messages CAPTURE [FILTER]");
        return ExitCode::from(2);
    };
    let filter = rest.first().map_or("websocket", String::as_str);
    let dissector = match Dissector::open(path).map(|d| d.filter(filter)) {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            eprintln!("grep_messages: {}", e.render(filter));
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("grep_messages: {e}");
            return ExitCode::from(2);
        }
    };
    for message in dissector.messages() {
        let m = match message {
            Ok(m) => m,
            Err(e) => {
                eprintln!("grep_messages: {path}: {e}");
                return ExitCode::from(1);
            }
        };
        let arrow = if m.from_client { "→" } else { "←" };
        let opcode = m.opcode.name().unwrap_or("Unknown");
        match m.text() {
            Some(text) => println!("{} {arrow} {opcode}: {text}", m.stream),
            None => println!("{} {arrow} {opcode}: {} bytes", m.stream, m.length),
        }
    }
    ExitCode::SUCCESS
}
