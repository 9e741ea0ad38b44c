//! The display-filter parser and type checker: any text, no panic.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = wsdissect::filter::Filter::compile(text);
        }
    });
}
