//! HTTP/2 framing on any byte streams: the input is a list of deliveries, each a byte (bit 0:
//! the direction, bit 7: a gap of that length instead of bytes, bit 6 with it: of unknown
//! length), a 16-bit length and the bytes. Direction 0 is
//! the client's (it starts with the preface). Seeds are the TCP payloads of the real h2c
//! capture and of the crafted RFC 8441 violations.
use wsdissect::http2::{Http2, Up};
use wsdissect_fuzz::deliveries;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let mut h2 = Http2::<u64>::new(0);
        let mut handed_on = 0usize;
        for (n, (control, bytes)) in (1u64..).zip(deliveries(data)) {
            let dir = usize::from(control & 1);
            let mut on_up = |up: Up<'_, u64>| match up {
                Up::Data { stream, bytes, .. } => {
                    // WebSocket bytes come from DATA frames of a stream other than 0.
                    assert_ne!(stream, 0);
                    handed_on += bytes.len();
                }
                Up::Opened(o) | Up::Refused(o) => assert_ne!(o.stream, 0),
                _ => {}
            };
            if control & 0x80 != 0 {
                let lost = if control & 0x40 != 0 { u64::MAX } else { bytes.len() as u64 };
                h2.gap(dir, lost, n, &mut on_up);
            } else {
                h2.data(dir, bytes, n, &mut on_up);
            }
        }
        assert!(handed_on <= data.len());
    });
}
