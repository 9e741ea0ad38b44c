//! wsdissect: WebSocket traffic out of packet captures.
//!
//! Open a capture and iterate its frames or messages ([`Dissector`]), optionally through a
//! Wireshark display filter:
//!
//! ```
//! use wsdissect::Dissector;
//!
//! for message in Dissector::open("testdata/real/python-basic.pcap")?.filter("websocket.message.opcode == 8")?.messages() {
//!     let m = message?;
//!     println!("stream {} close {:?} from the {}", m.stream, m.close_code(), if m.from_client { "client" } else { "server" });
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Underneath, records come out of a pcap or pcapng file ([`capture`]), are decoded down to TCP
//! ([`net`]), put back into byte streams per connection and direction ([`flow`]), decrypted
//! when they are TLS and the key log has their secrets ([`tls`]), followed through the HTTP
//! upgrade ([`http`]), cut into RFC 6455 frames and joined (and inflated) into
//! messages ([`ws`]). [`analyzer`] ties these together and reports each [`analyzer::Frame`] to an
//! [`analyzer::Output`] without copying; [`fields`] names every value the way Wireshark does,
//! [`filter`] selects frames with Wireshark's display-filter language, and [`output`] prints
//! them. The `wsdissect` command line is built on this API alone.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use dissector::{Dissector, OwnedFrame, OwnedMessage};

pub mod analyzer;
pub mod capture;
pub mod dissector;
pub mod fields;
pub mod filter;
pub mod flow;
pub mod http;
pub mod http2;
pub mod net;
pub mod output;
pub mod synth;
pub mod tls;
pub mod ws;
