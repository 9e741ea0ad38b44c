//! TCP byte streams: sequence-number arithmetic and per-direction reassembly.

pub mod reassembler;
