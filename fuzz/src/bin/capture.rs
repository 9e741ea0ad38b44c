//! The capture reader: any bytes as a pcap or pcapng file, every record read until the end or
//! an error; no panic, no hang.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(mut reader) = wsdissect::capture::CaptureReader::new(data) {
            while let Ok(Some(record)) = reader.next_record() {
                std::hint::black_box(record.data.len());
            }
        }
    });
}
