//! Frame headers, the streaming frame decoder (with gaps) and the message assembler (with
//! permessage-deflate): the first input byte picks the direction, the deflate parameters and
//! where to cut the rest into pieces and holes.
use wsdissect::ws::extensions::DeflateParams;
use wsdissect::ws::frame::parse_header;
use wsdissect::ws::message::{Limits, MessageAssembler};
use wsdissect::ws::stream::FrameDecoder;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&control, rest)) = data.split_first() else { return };
        let _ = parse_header(rest);
        let client = control & 1 != 0;
        let deflate = match control >> 1 & 3 {
            0 => None,
            1 => DeflateParams::from_response("permessage-deflate"),
            2 => DeflateParams::from_response("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
            _ => DeflateParams::from_response("permessage-deflate; server_max_window_bits=9; client_max_window_bits=9"),
        };
        let limits = Limits { max_message: 1 << 16, max_inflated: 1 << 16, max_ratio: 100 };
        let mut decoder = FrameDecoder::new(client, 0x4, 1 << 16);
        let mut messages = MessageAssembler::new(client, deflate, 0x4, limits);
        let mut expert = Vec::new();
        let piece = usize::from(control >> 3).max(1);
        for (i, chunk) in rest.chunks(piece).enumerate() {
            let mut out = |f: wsdissect::ws::stream::DecodedFrame<'_, u64>| {
                expert.clear();
                let _ = messages.frame(&f.header, f.payload, f.cut, f.meta, &mut expert);
            };
            if i % 7 == 6 {
                decoder.gap(chunk.len() as u64, &mut out);
            } else {
                decoder.feed(chunk, i as u64, &mut out);
            }
        }
        decoder.finish(&mut |f| {
            let _ = messages.frame(&f.header, f.payload, f.cut, f.meta, &mut expert);
        });
    });
}
