//! TCP byte streams: sequence-number arithmetic and per-direction reassembly.

pub mod analysis;
pub mod reassembler;
