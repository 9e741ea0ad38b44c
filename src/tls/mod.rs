//! TLS (`wss://`): the record layer over a connection's two reassembled byte streams,
//! decrypted with the secrets of a key log, handing on each direction's plaintext.
//!
//! [`TlsSession`] takes what TCP reassembly delivers, in each direction: bytes tagged with the
//! packet that carried them, or gaps. It cuts records (split across segments or several in one),
//! reads the ClientHello and ServerHello ([`hello`]), derives each direction's keys from the key
//! log ([`keylog`], [`cipher`]) as the handshake goes (TLS 1.2's ChangeCipherSpec, TLS 1.3's
//! handshake and application secrets, KeyUpdate), checks and decrypts every record, and hands
//! the application data on as a byte stream of the same shape, each piece tagged with the packet
//! that carried the last byte of its record and with the record's header ([`RecordMeta`]). What
//! runs above (HTTP, WebSocket) does not know it was encrypted.
//!
//! A record that fails its check is counted and becomes a gap in the plaintext: nothing decoded
//! from it is passed on. Without keys nothing is passed on at all, and [`TlsSession::problem`]
//! says why.
//!
//! A connection the capture joined after its handshake ([`TlsSession::joined_late`]) has no
//! client random to look its secrets up by. In TLS 1.3 each direction's records are sealed with
//! a traffic secret alone, so its records are matched against every handshake and application
//! traffic secret in the key log (and those a few KeyUpdates would make); AES-GCM records give their
//! sequence number away ([`cipher::gcm_sequence_number`]), ChaCha20-Poly1305 records are tried
//! under the first numbers. TLS 1.2 keys depend on both hellos' randoms: a TLS 1.2 connection
//! joined late cannot be decrypted.

pub mod cipher;
pub mod hello;
pub mod keylog;

use cipher::{Bulk, RecordCipher, RecordError, Suite, gcm_sequence_number, next_traffic_secret};
use hello::{ClientHello, ServerHello};
use keylog::{KeyLog, Secret};

use crate::flow::reassembler::Delivery;

/// Record content types (RFC 8446 section 5.1).
pub mod content_type {
    /// change_cipher_spec.
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert.
    pub const ALERT: u8 = 21;
    /// handshake.
    pub const HANDSHAKE: u8 = 22;
    /// application_data.
    pub const APPLICATION_DATA: u8 = 23;
}
use content_type::*;

/// Handshake message types used here.
mod handshake_type {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const END_OF_EARLY_DATA: u8 = 5;
    pub const ENCRYPTED_EXTENSIONS: u8 = 8;
    pub const FINISHED: u8 = 20;
    pub const KEY_UPDATE: u8 = 24;
}

/// The largest record body TLS allows (2^14 plus 2048 of expansion, RFC 5246 section 6.2.3).
pub const MAX_RECORD_BODY: usize = (1 << 14) + 2048;
/// Handshake messages longer than this are stepped over, not buffered (only hellos, Finished,
/// KeyUpdate and EndOfEarlyData are read, and they are short).
const MAX_HANDSHAKE_MESSAGE: usize = 64 * 1024;
/// Encrypted bytes a direction may hold while the other direction's ServerHello is still
/// missing (a hole being filled), before they are given up.
const MAX_HELD: usize = 256 * 1024;

/// Whether `bytes` start like a TLS record (a plausible type, version 3.x and length).
pub fn looks_like_record(bytes: &[u8]) -> bool {
    matches!(bytes, [20..=23, 3, 0..=4, hi, lo, ..] if usize::from(u16::from_be_bytes([*hi, *lo])) <= MAX_RECORD_BODY)
}

/// The whole length (header included) of the record `bytes` start with, if they start like one.
fn record_len(bytes: &[u8]) -> Option<usize> {
    looks_like_record(bytes).then(|| 5 + usize::from(u16::from_be_bytes([bytes[3], bytes[4]])))
}

/// The record that carried a piece of plaintext (its header's version, and TLS 1.3's outer
/// type, are the connection's: [`TlsInfo::record_version`]). Small, as it rides along with
/// every packet's details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMeta {
    /// The length in the record header (protected bytes).
    pub length: u16,
    /// The real content type, after decryption.
    pub content_type: u8,
    /// Records of this direction before this one were lost to a gap or failed their check.
    pub after_loss: bool,
}

/// What is known of a TLS connection, for fields, `--connections` and the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// The negotiated version (0x0303 TLS 1.2, 0x0304 TLS 1.3), once the ServerHello is seen.
    pub version: Option<u16>,
    /// The ServerHello's own version field (0x0303 for TLS 1.3 too; `tls.handshake.version`).
    pub server_hello_version: Option<u16>,
    /// The version in the headers of the protected records (`tls.record.version`).
    pub record_version: Option<u16>,
    /// The negotiated cipher suite.
    pub cipher_suite: Option<u16>,
    /// The ClientHello's random: the key log's index for the connection.
    pub client_random: Option<[u8; 32]>,
    /// SNI from the ClientHello.
    pub server_name: Option<String>,
    /// ALPN protocols the client offered.
    pub alpn_offered: Vec<String>,
    /// The ALPN protocol the server chose.
    pub alpn: Option<String>,
    /// RFC 7366 encrypt-then-MAC was negotiated.
    pub encrypt_then_mac: bool,
    /// RFC 7627 extended master secret was negotiated.
    pub extended_master_secret: bool,
    /// At least one record was decrypted.
    pub decrypted: bool,
    /// Records that failed their check (tag, MAC or padding).
    pub failed_records: u64,
    /// TLS 1.3 KeyUpdates seen (both directions).
    pub key_updates: u32,
}

impl TlsInfo {
    /// The version's name as Wireshark writes it: `TLSv1.2`, `TLSv1.3`.
    pub fn version_name(version: u16) -> &'static str {
        match version {
            0x0300 => "SSLv3",
            0x0301 => "TLSv1",
            0x0302 => "TLSv1.1",
            0x0303 => "TLSv1.2",
            0x0304 => "TLSv1.3",
            _ => "TLS",
        }
    }
}

/// Why a TLS connection's application data was not (all) decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The key log has no secret for the connection's client random.
    NoKey,
    /// The capture has no ClientHello for it: it started after the handshake.
    NoHandshake,
    /// A version other than TLS 1.2 and 1.3.
    UnsupportedVersion(u16),
    /// A cipher suite wsdissect cannot decrypt.
    UnsupportedSuite(u16),
    /// Records failed their check: wrong keys, or damaged records.
    BadRecordMac,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::NoKey => f.write_str("no key for its client random"),
            Problem::NoHandshake => f.write_str("the capture started after its TLS handshake"),
            Problem::UnsupportedVersion(v) => write!(f, "{} ({v:#06x}) is not decrypted", TlsInfo::version_name(*v)),
            Problem::UnsupportedSuite(s) => match Suite::name(*s) {
                Some(name) => write!(f, "cipher suite {name} is not decrypted"),
                None => write!(f, "cipher suite {s:#06x} is not decrypted"),
            },
            Problem::BadRecordMac => f.write_str("records failed their integrity check (wrong keys?)"),
        }
    }
}

/// What the session hands on.
#[derive(Debug)]
pub enum Upward<'a, M> {
    /// Plaintext of direction `dir` (0 or 1, as fed), from one record.
    Data(usize, &'a [u8], M, RecordMeta),
    /// Plaintext of direction `dir` was lost (a TCP gap, or a record that failed its check); how
    /// much is not known.
    Gap(usize, M),
    /// What is known of the connection changed; with the direction (as fed) the client sends
    /// in, once known.
    Info(&'a TlsInfo, Option<usize>),
}

/// Where a TLS 1.3 direction is in its key schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Early,
    Handshake,
    Application,
}

/// One direction of the connection.
struct Direction<M> {
    /// The start of a record not yet complete.
    partial: Vec<u8>,
    /// The start of a handshake message not yet complete.
    handshake: Vec<u8>,
    /// Handshake bytes still to step over (a long message that is not read).
    skip_handshake: usize,
    /// Records are protected from here on (TLS 1.2: after ChangeCipherSpec).
    protected: bool,
    cipher: Option<RecordCipher>,
    /// Sequence number of the next protected record.
    seq: u64,
    /// TLS 1.3: the stage of `cipher`, and its traffic secret (for KeyUpdate).
    stage: Stage,
    secret: Vec<u8>,
    /// Bytes to step over before the next record: the rest of a record cut by a gap.
    skip: u64,
    /// Looking for a record boundary after a gap.
    search: Option<Search<M>>,
    /// Record boundaries were lost where they cannot be found again (before any key):
    /// nothing more is read in this direction.
    lost: bool,
    /// Protected records read, and their bytes (for the average size a search assumes).
    records_read: u64,
    bytes_read: u64,
    /// A record failed or was lost since the last plaintext handed on.
    after_loss: bool,
    /// Joined late: records tried against the key log without finding their secret.
    late_tries: u32,
    /// Whole records waiting for the ServerHello, with the packet of their last byte.
    held: Vec<(Vec<u8>, M)>,
    held_bytes: usize,
}

impl<M> Default for Direction<M> {
    fn default() -> Self {
        Direction {
            partial: Vec::new(),
            handshake: Vec::new(),
            skip_handshake: 0,
            protected: false,
            cipher: None,
            seq: 0,
            stage: Stage::Early,
            secret: Vec::new(),
            skip: 0,
            search: None,
            lost: false,
            records_read: 0,
            bytes_read: 0,
            after_loss: false,
            late_tries: 0,
            held: Vec::new(),
            held_bytes: 0,
        }
    }
}

/// After a gap: the bytes received since, until a record in them passes its check (which also
/// tells how many records the gap took, from their sequence numbers).
struct Search<M> {
    bytes: Vec<u8>,
    /// Where each delivery ends in `bytes`, with its packet.
    ends: Vec<(usize, M)>,
    /// Bytes lost since the last record read (the gap, and what was thrown away).
    lost_bytes: u64,
}

impl<M> Search<M> {
    fn after(lost_bytes: u64) -> Self {
        Search { bytes: Vec::new(), ends: Vec::new(), lost_bytes }
    }
}

/// Bytes a search holds; beyond, the oldest half is thrown away.
const SEARCH_LIMIT: usize = 4 * (5 + MAX_RECORD_BODY);
/// Sequence numbers a search tries for one candidate record.
const SEARCH_TRIES: u64 = 2048;
/// Joined late: KeyUpdates a direction may have made before the capture began.
const LATE_KEY_UPDATES: usize = 4;
/// Joined late: records of a direction matched against the key log before it is given up.
const LATE_RECORDS: u32 = 3;
/// Joined late, ChaCha20-Poly1305: how many times one record may be opened, shared among the
/// secrets that may be ChaCha20's, each trying sequence numbers from 0 (they cannot be read from
/// the tag as AES-GCM's can).
const LATE_CHACHA_TRIES: u64 = 2048;

/// The TLS 1.3 suites a traffic secret of this length may be used with.
fn tls13_suites(secret_len: usize) -> &'static [u16] {
    match secret_len {
        32 => &[0x1301, 0x1303],
        _ => &[0x1302],
    }
}

/// Joined late: the secret a direction's record was found to be sealed with.
struct LateKey {
    client_random: [u8; 32],
    from_client: bool,
    stage: Stage,
    suite: Suite,
    secret: Vec<u8>,
    cipher: RecordCipher,
    seq: u64,
}

/// What all the TLS sessions of a capture share: the secrets, and the buffer whole records are
/// decrypted in (one for all, so that a session that is not decrypting holds no record).
#[derive(Debug, Default)]
pub struct TlsContext {
    /// Secrets by client random.
    pub keys: KeyLog,
    scratch: Vec<u8>,
}

impl TlsContext {
    /// A context with these secrets.
    pub fn new(keys: KeyLog) -> Self {
        TlsContext { keys, scratch: Vec::new() }
    }
}

/// A TLS connection: both directions' record layers and the handshake state they share.
pub struct TlsSession<M> {
    dirs: [Direction<M>; 2],
    info: TlsInfo,
    /// The direction that sent the ClientHello.
    client_dir: Option<usize>,
    /// The capture joined the connection after its handshake.
    late: bool,
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
    suite: Option<Suite>,
    problem: Option<Problem>,
    /// Protected records decrypted (application data, handshake and alerts).
    pub records_decrypted: u64,
    /// Protected records that could not be decrypted (no key, unsupported, failed).
    pub records_undecrypted: u64,
}

impl<M> std::fmt::Debug for TlsSession<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession").field("info", &self.info).field("problem", &self.problem).finish_non_exhaustive()
    }
}

impl<M: Copy> Default for TlsSession<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Copy> TlsSession<M> {
    /// A session that has seen nothing yet.
    pub fn new() -> Self {
        TlsSession {
            dirs: [Direction::default(), Direction::default()],
            info: TlsInfo::default(),
            client_dir: None,
            late: false,
            client_hello: None,
            server_hello: None,
            suite: None,
            problem: None,
            records_decrypted: 0,
            records_undecrypted: 0,
        }
    }

    /// A session the capture joined after its handshake (no SYN seen): each direction looks
    /// for a record some TLS 1.3 application traffic secret of the key log opens.
    pub fn joined_late() -> Self {
        let mut session = Self::new();
        session.late = true;
        for d in &mut session.dirs {
            d.search = Some(Search::after(0));
        }
        session
    }

    /// Joined late, and neither direction has found its secret yet (nor been given up).
    pub fn looking_for_keys(&self) -> bool {
        self.late && self.dirs.iter().all(|d| d.cipher.is_none()) && self.dirs.iter().any(|d| !d.lost)
    }

    /// Joined late, and both directions were given up without a record found: it is not TLS.
    pub fn late_not_tls(&self) -> bool {
        self.late && self.dirs.iter().all(|d| d.lost && d.late_tries == 0)
    }

    /// What is known of the connection.
    pub fn info(&self) -> &TlsInfo {
        &self.info
    }

    /// Why application data was not (all) decrypted, if it was not.
    pub fn problem(&self) -> Option<Problem> {
        self.problem
    }

    /// The direction (as fed) that sent the ClientHello.
    pub fn client_dir(&self) -> Option<usize> {
        self.client_dir
    }

    /// Takes what TCP delivered in direction `dir` (0 or 1).
    pub fn feed(
        &mut self,
        dir: usize,
        delivery: Delivery<'_, M>,
        ctx: &mut TlsContext,
        out: &mut impl FnMut(Upward<'_, M>),
    ) {
        let TlsContext { keys, scratch } = ctx;
        self.take(dir, delivery, keys, scratch, out);
    }

    fn take(
        &mut self,
        dir: usize,
        delivery: Delivery<'_, M>,
        keys: &KeyLog,
        scratch: &mut Vec<u8>,
        out: &mut impl FnMut(Upward<'_, M>),
    ) {
        match delivery {
            Delivery::Gap(len, meta) => {
                let d = &mut self.dirs[dir];
                d.handshake.clear();
                d.skip_handshake = 0;
                if !d.after_loss {
                    d.after_loss = true;
                    out(Upward::Gap(dir, meta));
                }
                self.step_over_gap(dir, len);
            }
            Delivery::Data(mut bytes, meta) => {
                while !bytes.is_empty() && !self.dirs[dir].lost {
                    let d = &mut self.dirs[dir];
                    if d.skip > 0 {
                        let n = d.skip.min(bytes.len() as u64);
                        d.skip -= n;
                        bytes = &bytes[n as usize..];
                        continue;
                    }
                    if let Some(search) = d.search.as_mut() {
                        search.bytes.extend_from_slice(bytes);
                        search.ends.push((search.bytes.len(), meta));
                        self.search(dir, keys, scratch, out);
                        return;
                    }
                    let partial = &mut d.partial;
                    if partial.is_empty() && bytes.len() >= 5 {
                        let Some(len) = record_len(bytes) else {
                            // What follows goes to the search, if there is one.
                            self.lose_framing(dir, meta, out);
                            continue;
                        };
                        if bytes.len() >= len {
                            // A whole record in the delivered bytes: decrypted in the shared
                            // buffer, the only copy.
                            scratch.clear();
                            scratch.extend_from_slice(&bytes[..len]);
                            self.record(dir, scratch, meta, keys, out);
                            bytes = &bytes[len..];
                            continue;
                        }
                    }
                    // The start of a record: its header first, then as much body as it says.
                    let need = if partial.len() < 5 { 5 } else { record_len(partial).unwrap_or(5) };
                    let take = (need - partial.len()).min(bytes.len());
                    partial.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if partial.len() < 5 {
                        continue;
                    }
                    let Some(len) = record_len(partial) else {
                        self.lose_framing(dir, meta, out);
                        continue;
                    };
                    partial.reserve_exact(len - partial.len());
                    if partial.len() == len {
                        // Not kept for the next record: an idle connection holds no buffer.
                        let mut record = std::mem::take(partial);
                        self.record(dir, &mut record, meta, keys, out);
                    }
                }
            }
        }
    }

    /// The bytes of direction `dir` do not start a record where one should start: look for the
    /// next one from here, or give up on the direction if its records cannot be decrypted anyway.
    fn lose_framing(&mut self, dir: usize, meta: M, out: &mut impl FnMut(Upward<'_, M>)) {
        let searchable = self.can_search(dir);
        let d = &mut self.dirs[dir];
        let held = std::mem::take(&mut d.partial).len() as u64;
        if !d.after_loss {
            d.after_loss = true;
            out(Upward::Gap(dir, meta));
        }
        if searchable {
            d.search = Some(Search::after(held));
        } else {
            d.lost = true;
        }
    }

    /// Whether a direction's record boundaries, once lost, can be found again: only by
    /// decrypting, so only where records are protected and the keys known.
    fn can_search(&self, dir: usize) -> bool {
        let d = &self.dirs[dir];
        self.late || d.cipher.is_some() && (d.protected || self.info.version == Some(0x0304))
    }

    /// `len` bytes of direction `dir` are lost: the record they cut is stepped over when its
    /// length is known and the gap ends inside it; otherwise a search for the next record starts.
    fn step_over_gap(&mut self, dir: usize, len: u64) {
        let searchable = self.can_search(dir);
        let d = &mut self.dirs[dir];
        if d.lost {
            return;
        }
        if let Some(search) = d.search.as_mut() {
            // What was held cannot run on across the gap.
            search.lost_bytes += search.bytes.len() as u64 + len;
            search.bytes.clear();
            search.ends.clear();
            return;
        }
        // Bytes from the gap's start to the next record boundary, when known.
        let to_boundary = if d.skip > 0 {
            Some(d.skip)
        } else if d.partial.is_empty() {
            Some(0)
        } else {
            record_len(&d.partial).map(|n| (n - d.partial.len()) as u64)
        };
        let cut_record = !d.partial.is_empty() || d.skip > 0;
        let held = d.partial.len() as u64;
        d.partial.clear();
        d.skip = 0;
        if !searchable {
            d.lost = true;
            return;
        }
        if cut_record {
            // The record the gap cut counts in the sequence even though it is not read.
            d.seq += 1;
            self.records_undecrypted += 1;
        }
        match to_boundary {
            Some(n) if len < n => self.dirs[dir].skip = n - len,
            Some(n) if len == n => {}
            Some(n) => self.dirs[dir].search = Some(Search::after(len - n)),
            None => self.dirs[dir].search = Some(Search::after(len + held)),
        }
    }

    /// Looks for a record in the bytes held since a gap: a plausible header whose record passes
    /// its check under one of the sequence numbers the lost bytes allow. From there on the
    /// direction is read as before.
    fn search(&mut self, dir: usize, keys: &KeyLog, scratch: &mut Vec<u8>, out: &mut impl FnMut(Upward<'_, M>)) {
        let Some(search) = self.dirs[dir].search.as_ref() else { return };
        let bytes = &search.bytes;
        let mut found = None;
        let mut late_key = None;
        let mut at = 0;
        let mut late_tries = self.dirs[dir].late_tries;
        while at + 5 <= bytes.len() {
            if bytes[at] == APPLICATION_DATA && bytes[at + 1] == 3 && looks_like_record(&bytes[at..]) {
                let end = at + record_len(&bytes[at..]).unwrap_or(5);
                if end > bytes.len() {
                    // Not whole yet: wait for more bytes before looking further.
                    break;
                }
                let record = &bytes[at..end];
                if self.dirs[dir].cipher.is_some() {
                    if let Some(seq) = self.try_sequence_numbers(dir, record, search.lost_bytes + at as u64) {
                        found = Some((at, seq));
                        break;
                    }
                } else if late_tries < LATE_RECORDS {
                    late_tries += 1;
                    if let Some(key) = self.late_key(dir, record, keys) {
                        found = Some((at, key.seq));
                        late_key = Some(key);
                        break;
                    }
                }
            }
            at += 1;
        }
        let failed = late_tries - self.dirs[dir].late_tries - u32::from(late_key.is_some());
        self.records_undecrypted += u64::from(failed);
        if let Some(key) = late_key {
            self.take_late_key(dir, key, out);
        } else if failed > 0 && self.dirs.iter().all(|d| d.cipher.is_none()) {
            // TLS records, and no secret of the key log opens them (yet).
            self.problem.get_or_insert(Problem::NoHandshake);
        }
        let d = &mut self.dirs[dir];
        d.late_tries = late_tries;
        if d.cipher.is_none() && late_tries >= LATE_RECORDS {
            // No secret of the key log opens this direction's records.
            d.search = None;
            d.lost = true;
            return;
        }
        let Some((at, seq)) = found else {
            let search = d.search.as_mut().expect("searching");
            // No record starts before `at`: those bytes are lost.
            search.bytes.drain(..at);
            search.ends.retain_mut(|(end, _)| {
                *end = end.saturating_sub(at);
                *end > 0
            });
            search.lost_bytes += at as u64;
            if d.cipher.is_none() && d.late_tries == 0 && search.lost_bytes > SEARCH_LIMIT as u64 {
                // Joined late, and no record header in more bytes than four records take: not TLS.
                d.search = None;
                d.lost = true;
                return;
            }
            if search.bytes.len() > SEARCH_LIMIT {
                let drop = search.bytes.len() - SEARCH_LIMIT / 2;
                search.bytes.drain(..drop);
                search.ends.retain_mut(|(end, _)| {
                    *end = end.saturating_sub(drop);
                    *end > 0
                });
                search.lost_bytes += drop as u64;
            }
            return;
        };
        let search = d.search.take().expect("searching");
        d.seq = seq;
        // Read on from the record found, delivery by delivery.
        let mut start = at;
        for (end, meta) in search.ends {
            if end > start {
                self.take(dir, Delivery::Data(&search.bytes[start..end], meta), keys, scratch, out);
                start = end;
            }
        }
    }

    /// The sequence number under which `record` passes its check, trying first the number the
    /// lost bytes suggest (at the average record size so far), then outwards from it.
    fn try_sequence_numbers(&self, dir: usize, record: &[u8], lost_bytes: u64) -> Option<u64> {
        let d = &self.dirs[dir];
        let cipher = d.cipher.as_ref()?;
        let header: [u8; 5] = record[..5].try_into().ok()?;
        let average = (d.bytes_read / d.records_read.max(1)).max(22);
        let guess = lost_bytes / average;
        // Each lost record took at least 22 bytes (TLS 1.3: header, tag and type).
        let most = lost_bytes / 22 + 1;
        let mut body = Vec::with_capacity(record.len() - 5);
        let mut tries = 0;
        for distance in 0..=most {
            for skipped in [guess.checked_add(distance), guess.checked_sub(distance).filter(|_| distance > 0)] {
                let Some(skipped) = skipped.filter(|k| *k <= most) else { continue };
                tries += 1;
                if tries > SEARCH_TRIES {
                    return None;
                }
                body.clear();
                body.extend_from_slice(&record[5..]);
                if cipher.open(d.seq + skipped, header, &mut body).is_ok() {
                    return Some(d.seq + skipped);
                }
            }
        }
        None
    }

    /// Joined late: the traffic secret of the key log (a handshake or an application secret, or
    /// one a few KeyUpdates made of the latter) that opens `record`, with the record's sequence
    /// number. Once one direction's is found, the other's is of the same connection.
    fn late_key(&self, dir: usize, record: &[u8], keys: &KeyLog) -> Option<LateKey> {
        let header: [u8; 5] = record[..5].try_into().ok()?;
        let body = &record[5..];
        let side = self.client_dir.map(|client| client == dir);
        let mut scratch = Vec::with_capacity(body.len());
        let mut opens = |cipher: &RecordCipher, seq: u64| {
            scratch.clear();
            scratch.extend_from_slice(body);
            cipher.open(seq, header, &mut scratch).is_ok()
        };
        let candidates: Vec<_> = keys
            .traffic_secrets()
            .map(|(random, kind, secret)| {
                let from_client = matches!(kind, Secret::ClientHandshake | Secret::ClientApplication);
                let stage = match kind {
                    Secret::ClientHandshake | Secret::ServerHandshake => Stage::Handshake,
                    _ => Stage::Application,
                };
                (random, from_client, stage, secret)
            })
            .filter(|(random, from_client, ..)| {
                self.info.client_random.is_none_or(|r| r == **random) && side.is_none_or(|s| s == *from_client)
            })
            .collect();
        let chacha_secrets = candidates.iter().filter(|(.., secret)| secret.len() == 32).count() as u64;
        let chacha_tries = LATE_CHACHA_TRIES / chacha_secrets.max(1);
        for (random, from_client, stage, secret) in candidates {
            for &id in tls13_suites(secret.len()) {
                let suite = Suite::from_id(id)?;
                let mut secret = secret.to_vec();
                // Only application secrets are updated.
                let updates = if stage == Stage::Application { LATE_KEY_UPDATES } else { 0 };
                for generation in 0..=updates {
                    if generation > 0 {
                        secret = next_traffic_secret(suite.prf, &secret);
                    }
                    let Some(cipher) = RecordCipher::tls13(suite, &secret) else { break };
                    let seq = match suite.bulk {
                        Bulk::ChaCha20Poly1305 if generation == 0 => (0..chacha_tries).find(|&seq| opens(&cipher, seq)),
                        Bulk::ChaCha20Poly1305 => None,
                        _ => gcm_sequence_number(suite, &secret, &header, body).filter(|&seq| opens(&cipher, seq)),
                    };
                    if let Some(seq) = seq {
                        return Some(LateKey {
                            client_random: *random,
                            from_client,
                            stage,
                            suite,
                            secret,
                            cipher,
                            seq,
                        });
                    }
                }
            }
        }
        None
    }

    /// Joined late: direction `dir` decrypts with `key` from here on; the connection is TLS 1.3
    /// with the key's suite, and the key tells which side is the client.
    fn take_late_key(&mut self, dir: usize, key: LateKey, out: &mut impl FnMut(Upward<'_, M>)) {
        let d = &mut self.dirs[dir];
        d.cipher = Some(key.cipher);
        d.secret = key.secret;
        d.stage = key.stage;
        self.suite = Some(key.suite);
        self.client_dir = Some(if key.from_client { dir } else { 1 - dir });
        self.info.version = Some(0x0304);
        self.info.cipher_suite = Some(key.suite.id);
        self.info.client_random = Some(key.client_random);
        if self.problem == Some(Problem::NoHandshake) {
            self.problem = None;
        }
        out(Upward::Info(&self.info, self.client_dir));
    }

    /// One whole record (header and body) of direction `dir`.
    fn record(&mut self, dir: usize, record: &mut [u8], meta: M, keys: &KeyLog, out: &mut impl FnMut(Upward<'_, M>)) {
        let header: [u8; 5] = record[..5].try_into().expect("a record has a header");
        let opaque_type = header[0];
        let tls13 = self.info.version == Some(0x0304);
        if opaque_type == CHANGE_CIPHER_SPEC {
            // TLS 1.3 sends one only for middleboxes; TLS 1.2 protects what follows.
            if !tls13 && self.server_hello.is_some() {
                self.start_tls12_protection(dir, keys);
            }
            return;
        }
        if self.server_hello.is_none() && !self.late {
            match opaque_type {
                HANDSHAKE => self.handshake_bytes(dir, &record[5..], keys, out),
                APPLICATION_DATA if self.client_hello.is_none() => {
                    self.problem.get_or_insert(Problem::NoHandshake);
                    self.records_undecrypted += 1;
                }
                APPLICATION_DATA if self.client_dir == Some(dir) => {
                    // 0-RTT data, or records sent after a ServerHello not read yet (a hole in
                    // the other direction): kept until the ServerHello names the suite.
                    let d = &mut self.dirs[dir];
                    if d.held_bytes + record.len() <= MAX_HELD {
                        d.held_bytes += record.len();
                        d.held.push((record.to_vec(), meta));
                    }
                }
                _ => {}
            }
            return;
        }
        let protected = if tls13 { opaque_type == APPLICATION_DATA } else { self.dirs[dir].protected };
        if !protected {
            if opaque_type == HANDSHAKE {
                self.handshake_bytes(dir, &record[5..], keys, out);
            }
            return;
        }
        if self.problem_blocks() {
            self.records_undecrypted += 1;
            return;
        }
        if tls13 {
            self.ensure_tls13_cipher(dir, keys);
        }
        let body = &mut record[5..];
        match self.open(dir, header, body, keys) {
            Ok((plain, content_type)) => {
                self.records_decrypted += 1;
                let d = &mut self.dirs[dir];
                d.records_read += 1;
                d.bytes_read += 5 + body.len() as u64;
                if !self.info.decrypted {
                    self.info.decrypted = true;
                    self.info.record_version = Some(u16::from_be_bytes([header[1], header[2]]));
                    out(Upward::Info(&self.info, self.client_dir));
                }
                let plain = &body[plain];
                match content_type {
                    APPLICATION_DATA => {
                        let d = &mut self.dirs[dir];
                        let rec = RecordMeta {
                            length: u16::from_be_bytes([header[3], header[4]]),
                            content_type,
                            after_loss: std::mem::take(&mut d.after_loss),
                        };
                        out(Upward::Data(dir, plain, meta, rec));
                    }
                    HANDSHAKE => {
                        let plain = plain.to_vec();
                        self.handshake_bytes(dir, &plain, keys, out);
                    }
                    // Alerts and heartbeats are not handed on.
                    _ => {}
                }
            }
            Err(error) => {
                self.records_undecrypted += 1;
                if error == RecordError::NoKey {
                    self.problem.get_or_insert(Problem::NoKey);
                } else {
                    self.info.failed_records += 1;
                    if !self.info.decrypted {
                        self.problem.get_or_insert(Problem::BadRecordMac);
                    }
                    out(Upward::Info(&self.info, self.client_dir));
                }
                let d = &mut self.dirs[dir];
                if !d.after_loss {
                    d.after_loss = true;
                    out(Upward::Gap(dir, meta));
                }
            }
        }
    }

    /// Whether a problem found so far means protected records cannot be read at all.
    fn problem_blocks(&self) -> bool {
        matches!(
            self.problem,
            Some(Problem::NoHandshake | Problem::UnsupportedVersion(_) | Problem::UnsupportedSuite(_))
        )
    }

    /// Decrypts one record with the direction's cipher; in TLS 1.3, a record that fails is
    /// tried with the next stage's keys (0-RTT data the server refused, or a key log without
    /// handshake secrets), and that stage is taken if it works.
    fn open(
        &mut self,
        dir: usize,
        header: [u8; 5],
        body: &mut [u8],
        keys: &KeyLog,
    ) -> Result<(std::ops::Range<usize>, u8), RecordError> {
        let d = &mut self.dirs[dir];
        let tls13 = self.info.version == Some(0x0304);
        let original = (tls13 && d.stage != Stage::Application).then(|| body.to_vec());
        let result = d.cipher.as_ref().map_or(Err(RecordError::NoKey), |c| c.open(d.seq, header, body));
        d.seq += 1;
        if result.is_ok() || !tls13 {
            return result;
        }
        let Some(original) = original else { return result };
        let from_client = self.client_dir == Some(dir);
        let mut stage = self.dirs[dir].stage;
        while stage < Stage::Application {
            stage = if stage == Stage::Early { Stage::Handshake } else { Stage::Application };
            let Some((cipher, secret)) = self.tls13_cipher(from_client, stage, keys) else { continue };
            body.copy_from_slice(&original);
            if let Ok(opened) = cipher.open(0, header, body) {
                let d = &mut self.dirs[dir];
                d.cipher = Some(cipher);
                d.secret = secret;
                d.stage = stage;
                d.seq = 1;
                return Ok(opened);
            }
        }
        result
    }

    /// Reads handshake bytes (in the clear or decrypted): hellos, Finished, KeyUpdate. A
    /// message split over records waits in a buffer, released once empty.
    fn handshake_bytes(&mut self, dir: usize, bytes: &[u8], keys: &KeyLog, out: &mut impl FnMut(Upward<'_, M>)) {
        self.read_handshake(dir, bytes, keys, out);
        let d = &mut self.dirs[dir];
        if d.handshake.is_empty() {
            d.handshake = Vec::new();
        }
    }

    fn read_handshake(&mut self, dir: usize, mut bytes: &[u8], keys: &KeyLog, out: &mut impl FnMut(Upward<'_, M>)) {
        loop {
            let d = &mut self.dirs[dir];
            let skip = d.skip_handshake.min(bytes.len());
            d.skip_handshake -= skip;
            bytes = &bytes[skip..];
            if bytes.is_empty() {
                return;
            }
            // A whole message without copying when the buffer is empty.
            let buffered = !d.handshake.is_empty();
            if buffered {
                d.handshake.extend_from_slice(bytes);
                bytes = &[];
            }
            let msg_bytes: &[u8] = if buffered { &d.handshake } else { bytes };
            if msg_bytes.len() < 4 {
                if !buffered {
                    d.handshake.extend_from_slice(bytes);
                }
                return;
            }
            let len = usize::from(msg_bytes[1]) << 16 | usize::from(msg_bytes[2]) << 8 | usize::from(msg_bytes[3]);
            if len > MAX_HANDSHAKE_MESSAGE {
                // Step over a long message (certificates) without keeping it.
                let have = msg_bytes.len() - 4;
                d.skip_handshake = len.saturating_sub(have);
                let used = (4 + len).min(msg_bytes.len());
                if buffered {
                    d.handshake.drain(..used);
                    bytes = &[];
                    if d.handshake.is_empty() {
                        return;
                    }
                    continue;
                }
                bytes = &bytes[used..];
                continue;
            }
            if msg_bytes.len() < 4 + len {
                if !buffered {
                    d.handshake.extend_from_slice(bytes);
                }
                return;
            }
            let message = msg_bytes[..4 + len].to_vec();
            if buffered {
                d.handshake.drain(..4 + len);
            } else {
                bytes = &bytes[4 + len..];
            }
            self.handshake_message(dir, message[0], &message[4..], keys, out);
            if buffered && self.dirs[dir].handshake.is_empty() {
                return;
            }
        }
    }

    fn handshake_message(
        &mut self,
        dir: usize,
        kind: u8,
        body: &[u8],
        keys: &KeyLog,
        out: &mut impl FnMut(Upward<'_, M>),
    ) {
        use handshake_type::*;
        match kind {
            CLIENT_HELLO if self.server_hello.is_none() => {
                let Some(hello) = hello::client_hello(body) else { return };
                self.client_dir = Some(dir);
                self.info.client_random = Some(hello.random);
                self.info.server_name.clone_from(&hello.server_name);
                self.info.alpn_offered.clone_from(&hello.alpn);
                self.client_hello = Some(hello);
                out(Upward::Info(&self.info, self.client_dir));
            }
            SERVER_HELLO if self.client_dir.is_some_and(|c| c != dir) => {
                let Some(hello) = hello::server_hello(body) else { return };
                if hello.hello_retry {
                    // Another ClientHello (same random) and ServerHello follow.
                    return;
                }
                self.info.version = Some(hello.version);
                self.info.server_hello_version = Some(hello.legacy_version);
                self.info.cipher_suite = Some(hello.cipher_suite);
                self.info.alpn.clone_from(&hello.alpn);
                self.info.encrypt_then_mac = hello.encrypt_then_mac;
                self.info.extended_master_secret = hello.extended_master_secret;
                self.suite = Suite::from_id(hello.cipher_suite);
                if !matches!(hello.version, 0x0303 | 0x0304) {
                    self.problem = Some(Problem::UnsupportedVersion(hello.version));
                } else if self.suite.is_none() {
                    self.problem = Some(Problem::UnsupportedSuite(hello.cipher_suite));
                }
                self.server_hello = Some(hello);
                out(Upward::Info(&self.info, self.client_dir));
                let client = self.client_dir.unwrap_or(0);
                if self.info.version == Some(0x0304) {
                    // 0-RTT data goes on with its own keys until EndOfEarlyData.
                    let early = self.client_hello.as_ref().is_some_and(|c| c.early_data);
                    self.dirs[client].stage = if early { Stage::Early } else { Stage::Handshake };
                    self.dirs[1 - client].stage = Stage::Handshake;
                }
                // Records the client sent before this ServerHello was read, held until now.
                let held = std::mem::take(&mut self.dirs[client].held);
                self.dirs[client].held_bytes = 0;
                for (mut record, meta) in held {
                    self.record(client, &mut record, meta, keys, out);
                }
            }
            ENCRYPTED_EXTENSIONS if self.client_dir.is_some_and(|c| c != dir) => {
                // TLS 1.3 answers ALPN here, encrypted.
                if let Some(alpn) = hello::encrypted_extensions_alpn(body) {
                    self.info.alpn = Some(alpn);
                    out(Upward::Info(&self.info, self.client_dir));
                }
            }
            END_OF_EARLY_DATA if self.client_dir == Some(dir) => self.next_stage(dir, Stage::Handshake, keys),
            FINISHED if self.info.version == Some(0x0304) && self.dirs[dir].stage < Stage::Application => {
                self.next_stage(dir, Stage::Application, keys)
            }
            KEY_UPDATE if self.info.version == Some(0x0304) => {
                let Some(suite) = self.suite else { return };
                let d = &mut self.dirs[dir];
                if d.stage == Stage::Application && !d.secret.is_empty() {
                    d.secret = next_traffic_secret(suite.prf, &d.secret);
                    d.cipher = RecordCipher::tls13(suite, &d.secret);
                    d.seq = 0;
                    self.info.key_updates += 1;
                    out(Upward::Info(&self.info, self.client_dir));
                }
            }
            _ => {}
        }
    }

    /// TLS 1.3: direction `dir` moves to `stage`'s keys.
    fn next_stage(&mut self, dir: usize, stage: Stage, keys: &KeyLog) {
        let from_client = self.client_dir == Some(dir);
        let d = &mut self.dirs[dir];
        d.stage = stage;
        d.seq = 0;
        d.cipher = None;
        d.secret.clear();
        if let Some((cipher, secret)) = self.tls13_cipher(from_client, stage, keys) {
            let d = &mut self.dirs[dir];
            d.cipher = Some(cipher);
            d.secret = secret;
        }
    }

    /// TLS 1.3: makes the direction's cipher for its stage if it has none yet (the key log may
    /// have gained the secret since: a Decryption Secrets Block later in the capture).
    fn ensure_tls13_cipher(&mut self, dir: usize, keys: &KeyLog) {
        if self.dirs[dir].cipher.is_some() {
            return;
        }
        let from_client = self.client_dir == Some(dir);
        let stage = self.dirs[dir].stage;
        if let Some((cipher, secret)) = self.tls13_cipher(from_client, stage, keys) {
            let d = &mut self.dirs[dir];
            d.cipher = Some(cipher);
            d.secret = secret;
        }
    }

    /// The TLS 1.3 cipher (and its secret) of one side at one stage, from the key log.
    fn tls13_cipher(&self, from_client: bool, stage: Stage, keys: &KeyLog) -> Option<(RecordCipher, Vec<u8>)> {
        // Joined late, the client random is the one whose secret opened a record.
        let random = self.info.client_random?;
        let suite = self.suite?;
        let kind = match (stage, from_client) {
            (Stage::Early, true) => Secret::ClientEarly,
            (Stage::Early, false) => return None,
            (Stage::Handshake, true) => Secret::ClientHandshake,
            (Stage::Handshake, false) => Secret::ServerHandshake,
            (Stage::Application, true) => Secret::ClientApplication,
            (Stage::Application, false) => Secret::ServerApplication,
        };
        let secret = keys.get(&random, kind)?;
        Some((RecordCipher::tls13(suite, secret)?, secret.to_vec()))
    }

    /// TLS 1.2: direction `dir` sent ChangeCipherSpec; what follows is protected.
    fn start_tls12_protection(&mut self, dir: usize, keys: &KeyLog) {
        let d = &mut self.dirs[dir];
        d.protected = true;
        d.seq = 0;
        d.cipher = None;
        let (Some(suite), Some(client), Some(server)) = (self.suite, &self.client_hello, &self.server_hello) else {
            return;
        };
        let Some(master) = keys.get(&client.random, Secret::Master) else {
            self.problem.get_or_insert(Problem::NoKey);
            return;
        };
        let Some([client_cipher, server_cipher]) =
            RecordCipher::tls12_pair(suite, master, &client.random, &server.random, server.encrypt_then_mac)
        else {
            return;
        };
        let from_client = self.client_dir == Some(dir);
        self.dirs[dir].cipher = Some(if from_client { client_cipher } else { server_cipher });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUITE: u16 = 0x1301;

    fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
        let len = (body.len() as u32).to_be_bytes();
        [&[kind, len[1], len[2], len[3]][..], body].concat()
    }

    fn plain(content_type: u8, body: &[u8]) -> Vec<u8> {
        [&[content_type, 3, 3][..], &(body.len() as u16).to_be_bytes(), body].concat()
    }

    fn sealed(secret: &[u8; 32], seq: u64, content_type: u8, content: &[u8]) -> Vec<u8> {
        let cipher = RecordCipher::tls13(Suite::from_id(SUITE).unwrap(), secret).unwrap();
        let mut out = Vec::new();
        cipher.seal_tls13(seq, content_type, content, &mut out).unwrap();
        out
    }

    /// Feeds (direction, bytes) in order; returns each direction's plaintext, record by record.
    fn run(session: &mut TlsSession<u64>, keys: &KeyLog, flights: &[(usize, Vec<u8>)]) -> [Vec<Vec<u8>>; 2] {
        let mut got: [Vec<Vec<u8>>; 2] = Default::default();
        let mut ctx = TlsContext::new(keys.clone());
        for (n, (dir, bytes)) in flights.iter().enumerate() {
            session.feed(*dir, Delivery::Data(bytes, n as u64), &mut ctx, &mut |up| {
                if let Upward::Data(d, plain, _, _) = up {
                    got[d].push(plain.to_vec());
                }
            });
        }
        got
    }

    fn client_hello(random: [u8; 32], early_data: bool) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend(random);
        body.extend([0, 0, 2, (SUITE >> 8) as u8, SUITE as u8, 1, 0]);
        let mut ext = vec![0, 43, 0, 3, 2, 3, 4];
        if early_data {
            ext.extend([0, 42, 0, 0]);
        }
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(ext);
        plain(HANDSHAKE, &handshake(1, &body))
    }

    fn server_hello() -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend([9; 32]);
        body.extend([0, (SUITE >> 8) as u8, SUITE as u8, 0, 0, 6, 0, 43, 0, 2, 3, 4]);
        plain(HANDSHAKE, &handshake(2, &body))
    }

    fn keys(random: [u8; 32], secrets: &[(Secret, [u8; 32])]) -> KeyLog {
        let text: String = secrets.iter().map(|(kind, s)| kind.line(&random, s)).collect();
        let mut log = KeyLog::default();
        log.add_text(text.as_bytes());
        log
    }

    /// 0-RTT data under the early secret (held until the ServerHello names the suite), then
    /// EndOfEarlyData, both Finished messages, application data, and a server KeyUpdate.
    #[test]
    fn test_early_data_handshake_application_and_key_update() {
        let random = [1; 32];
        let (early, chs, shs, cap, sap) = ([2; 32], [3; 32], [4; 32], [5; 32], [6; 32]);
        let log = keys(
            random,
            &[
                (Secret::ClientEarly, early),
                (Secret::ClientHandshake, chs),
                (Secret::ServerHandshake, shs),
                (Secret::ClientApplication, cap),
                (Secret::ServerApplication, sap),
            ],
        );
        let next = next_traffic_secret(cipher::Hash::Sha256, &sap);
        let next: [u8; 32] = next.try_into().unwrap();
        let flights = [
            (0, [client_hello(random, true), sealed(&early, 0, APPLICATION_DATA, b"GET /early")].concat()),
            (0, sealed(&early, 1, HANDSHAKE, &handshake(5, &[]))),
            (
                1,
                [
                    server_hello(),
                    sealed(&shs, 0, HANDSHAKE, &[handshake(8, &[0, 0]), handshake(20, &[7; 32])].concat()),
                ]
                .concat(),
            ),
            (0, sealed(&chs, 0, HANDSHAKE, &handshake(20, &[8; 32]))),
            (0, sealed(&cap, 0, APPLICATION_DATA, b"after the handshake")),
            (1, sealed(&sap, 0, APPLICATION_DATA, b"server says")),
            (1, sealed(&sap, 1, HANDSHAKE, &handshake(24, &[0]))),
            (1, sealed(&next, 0, APPLICATION_DATA, b"after a key update")),
        ];
        let mut session = TlsSession::new();
        let got = run(&mut session, &log, &flights);
        assert_eq!(got[0], [&b"GET /early"[..], b"after the handshake"]);
        assert_eq!(got[1], [&b"server says"[..], b"after a key update"]);
        assert_eq!((session.info().key_updates, session.info().failed_records, session.problem()), (1, 0, None));
    }

    /// A key log with only the application secrets: the handshake records cannot be read, and
    /// the application records are still found by trying the next stage's keys.
    #[test]
    fn test_application_secrets_only() {
        let random = [1; 32];
        let (chs, shs, cap, sap) = ([3; 32], [4; 32], [5; 32], [6; 32]);
        let log = keys(random, &[(Secret::ClientApplication, cap), (Secret::ServerApplication, sap)]);
        let flights = [
            (0, client_hello(random, false)),
            (1, [server_hello(), sealed(&shs, 0, HANDSHAKE, &handshake(20, &[7; 32]))].concat()),
            (0, sealed(&chs, 0, HANDSHAKE, &handshake(20, &[8; 32]))),
            (0, sealed(&cap, 0, APPLICATION_DATA, b"hello")),
            (1, sealed(&sap, 0, APPLICATION_DATA, b"world")),
            (1, sealed(&sap, 1, APPLICATION_DATA, b"again")),
        ];
        let got = run(&mut TlsSession::new(), &log, &flights);
        assert_eq!(got[0], [b"hello"]);
        assert_eq!(got[1], [&b"world"[..], b"again"]);
    }

    /// A server's side with its secrets: ServerHello, Finished, then the records "one" and
    /// "two" with `between` between them.
    fn server_side(random: [u8; 32], between: &[u8]) -> (KeyLog, Vec<u8>) {
        let (shs, sap) = ([4; 32], [6; 32]);
        let log = keys(random, &[(Secret::ServerHandshake, shs), (Secret::ServerApplication, sap)]);
        let server = [
            server_hello(),
            sealed(&shs, 0, HANDSHAKE, &handshake(20, &[7; 32])),
            sealed(&sap, 0, APPLICATION_DATA, b"one"),
            between.to_vec(),
            sealed(&sap, 1, APPLICATION_DATA, b"two"),
        ]
        .concat();
        (log, server)
    }

    /// Records split at every byte, several in one delivery, and a handshake message split over
    /// records, read the same.
    #[test]
    fn test_records_split_and_joined() {
        let random = [1; 32];
        let (log, server) = server_side(random, &[]);
        // The ClientHello's message split over two records.
        let hello = client_hello(random, false);
        let (first, second) = hello[5..].split_at(20);
        let mut flights = vec![(0, [plain(HANDSHAKE, first), plain(HANDSHAKE, second)].concat())];
        flights.extend(server.iter().map(|b| (1, vec![*b])));
        let got = run(&mut TlsSession::new(), &log, &flights);
        assert_eq!(got[1], [b"one", b"two"]);
        let whole = run(&mut TlsSession::new(), &log, &[(0, client_hello(random, false)), (1, server)]);
        assert_eq!(whole[1], [b"one", b"two"]);
    }

    /// Bytes that are not a record where one should start: the next record is found again by
    /// its check.
    #[test]
    fn test_garbage_between_records() {
        let random = [1; 32];
        let (log, server) = server_side(random, b"garbage");
        let mut session = TlsSession::new();
        let got = run(&mut session, &log, &[(0, client_hello(random, false)), (1, server)]);
        assert_eq!(got[1], [b"one", b"two"]);
    }

    /// Joined late: among several connections' secrets, each direction finds its own (the
    /// server's two KeyUpdates on), from a record's tag, and reads on from the sequence number
    /// it gives; the secret's side names the client.
    #[test]
    fn test_joined_late_finds_each_directions_secret() {
        let mut text = String::new();
        for n in 0..20u8 {
            text += &Secret::ClientApplication.line(&[n; 32], &[n; 32]);
            text += &Secret::ServerApplication.line(&[n; 32], &[n + 100; 32]);
        }
        let mut log = KeyLog::default();
        log.add_text(text.as_bytes());
        let suite = Suite::from_id(SUITE).unwrap();
        let server_secret = next_traffic_secret(suite.prf, &next_traffic_secret(suite.prf, &[107; 32]));
        let server_secret: [u8; 32] = server_secret.try_into().unwrap();
        // The client's stream joined inside a record; the server's at one.
        let mut client = sealed(&[7; 32], 41_000, APPLICATION_DATA, b"cut")[9..].to_vec();
        client.extend(sealed(&[7; 32], 41_001, APPLICATION_DATA, b"hello"));
        let server =
            [sealed(&server_secret, 5, APPLICATION_DATA, b"one"), sealed(&server_secret, 6, APPLICATION_DATA, b"two")];
        let mut session = TlsSession::joined_late();
        let got = run(&mut session, &log, &[(1, server.concat()), (0, client)]);
        assert_eq!(got, [vec![b"hello".to_vec()], vec![b"one".to_vec(), b"two".to_vec()]]);
        assert_eq!((session.client_dir(), session.info().client_random), (Some(0), Some([7; 32])));
        assert_eq!((session.info().version, session.problem()), (Some(0x0304), None));
    }

    /// Joined late on records no secret opens: TLS, not decrypted; on bytes with no record: not
    /// TLS, once more bytes than four records have come.
    #[test]
    fn test_joined_late_without_the_secret() {
        let log = keys([1; 32], &[(Secret::ClientApplication, [1; 32])]);
        let records: Vec<u8> = (0..LATE_RECORDS as u64).flat_map(|seq| sealed(&[2; 32], seq, 23, b"x")).collect();
        let mut session = TlsSession::joined_late();
        assert_eq!(run(&mut session, &log, &[(0, records)]), [Vec::<Vec<u8>>::new(), vec![]]);
        assert_eq!((session.problem(), session.records_undecrypted), (Some(Problem::NoHandshake), LATE_RECORDS as u64));
        assert!(!session.late_not_tls());

        let mut session = TlsSession::joined_late();
        let text = b"GET / HTTP/1.1\r\n".repeat(SEARCH_LIMIT / 8);
        run(&mut session, &log, &[(0, text.clone()), (1, text)]);
        assert!(session.late_not_tls() && !session.looking_for_keys());
    }
}
