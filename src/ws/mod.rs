//! WebSocket (RFC 6455): the frame header, masking, frames out of a byte stream, messages out of
//! frames (with permessage-deflate, RFC 7692), and the expert items that report what breaks them.

pub mod detect;
pub mod expert;
pub mod extensions;
pub mod frame;
pub mod message;
pub mod stream;
