//! HPACK through the HTTP/2 layer: the input is a list of header blocks, each a 16-bit length
//! and the bytes, sent as one client HEADERS frame each (streams 1, 3, 5, ...) after the
//! preface, so that the dynamic table carries over from block to block as on a connection.
//! Seeds are the header blocks of the real h2c capture's requests.
use wsdissect::http2::{Http2, PREFACE, Up};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let mut h2 = Http2::<u64>::new(0);
        // The server allows extended CONNECT, so that decoded CONNECTs go on to be followed.
        h2.data(1, b"\0\0\x06\x04\0\0\0\0\0\0\x08\0\0\0\x01", 0, &mut |_| {});
        h2.data(0, PREFACE, 0, &mut |_| {});
        let mut rest = data;
        let mut stream = 1u32;
        while let [hi, lo, tail @ ..] = rest {
            let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len()).min(16_384);
            let (block, after) = tail.split_at(len);
            rest = after;
            let mut frame = (len as u32).to_be_bytes()[1..].to_vec();
            frame.extend_from_slice(&[1, 4]);
            frame.extend_from_slice(&stream.to_be_bytes());
            frame.extend_from_slice(block);
            h2.data(0, &frame, u64::from(stream), &mut |up| {
                if let Up::Problem { stream: s, .. } = up {
                    assert!(s <= stream);
                }
            });
            stream = stream.wrapping_add(2) & 0x7fff_ffff;
        }
    });
}
