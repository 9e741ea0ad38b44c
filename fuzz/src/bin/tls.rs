//! The TLS record layer on any byte streams: the input is a list of deliveries, each a byte
//! (bit 0: the direction, bit 7: a gap instead of bytes), a 16-bit length and the bytes. The
//! key log holds the secrets of the seeds' captures, so that decryption, KeyUpdate and gap
//! searches are reached and then driven off course by the mutations.
use wsdissect::flow::reassembler::Delivery;
use wsdissect::tls::keylog::KeyLog;
use wsdissect::tls::{TlsContext, TlsSession, Upward};
use wsdissect_fuzz::deliveries;

const KEYS: &[&[u8]] = &[
    include_bytes!("../../../testdata/real/wss-python-tls13-aes128.pcap.keys"),
    include_bytes!("../../../testdata/real/wss-python-tls12-cbc-sha384-mte.pcap.keys"),
    include_bytes!("../../../testdata/real/wss-openssl-keyupdate.pcap.keys"),
];

fn main() {
    let mut keys = KeyLog::default();
    KEYS.iter().for_each(|k| {
        keys.add_text(k);
    });
    let mut ctx = TlsContext::new(keys);
    afl::fuzz!(|data: &[u8]| {
        let mut session = TlsSession::<u64>::new();
        let mut handed_on = 0usize;
        for (n, (control, bytes)) in (1u64..).zip(deliveries(data)) {
            let dir = usize::from(control & 1);
            let delivery =
                if control & 0x80 != 0 { Delivery::Gap(bytes.len() as u64, n) } else { Delivery::Data(bytes, n) };
            session.feed(dir, delivery, &mut ctx, &mut |up| {
                if let Upward::Data(_, plain, _, record) = up {
                    // What is handed on came out of a record no longer than TLS allows.
                    assert!(plain.len() <= usize::from(record.length));
                    handed_on += plain.len();
                }
            });
        }
        assert!(handed_on <= data.len());
    });
}
