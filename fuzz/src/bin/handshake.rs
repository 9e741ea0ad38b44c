//! The HTTP head parser, the head finder and the extension parser: any bytes, no panic.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = wsdissect::http::find_head_start(data);
        if let Ok(Some((_, head))) = wsdissect::http::parse_head(data) {
            std::hint::black_box(&head);
        }
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = wsdissect::ws::extensions::DeflateParams::from_response(text);
            let _ = wsdissect::ws::extensions::parse(text);
            let _ = wsdissect::http::accept_key(text);
        }
    });
}
