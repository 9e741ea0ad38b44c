//! wsdissect: WebSocket traffic out of packet captures.
//!
//! Records come out of a pcap or pcapng file ([`capture`]), are decoded down to TCP ([`net`]),
//! put back into byte streams per connection and direction ([`flow`]), followed through the HTTP
//! upgrade ([`http`]), cut into RFC 6455 frames and joined (and inflated) into messages ([`ws`]). [`analyzer`] ties these together;
//! [`fields`] names every value the way Wireshark does, [`filter`] selects frames with
//! Wireshark's display-filter language, and [`output`] prints them.
//!
//! ```
//! use wsdissect::analyzer::{Analyzer, Config, Frame};
//! use wsdissect::capture::CaptureReader;
//!
//! let file = std::fs::File::open("testdata/crafted/reorder.pcap").unwrap();
//! let mut reader = CaptureReader::new(std::io::BufReader::new(file)).unwrap();
//! let mut analyzer = Analyzer::new(Config::default());
//! let mut opcodes = Vec::new();
//! while let Some(record) = reader.next_record().unwrap() {
//!     analyzer.packet(&record, &mut |frame: &Frame<'_>| opcodes.push(frame.header.opcode.0));
//! }
//! analyzer.finish(&mut |frame: &Frame<'_>| opcodes.push(frame.header.opcode.0));
//! assert!(opcodes.contains(&1));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analyzer;
pub mod capture;
pub mod fields;
pub mod filter;
pub mod flow;
pub mod http;
pub mod net;
pub mod output;
pub mod ws;
