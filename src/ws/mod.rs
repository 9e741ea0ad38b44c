//! WebSocket (RFC 6455): the frame header, masking, and frames out of a byte stream.

pub mod frame;
pub mod stream;
