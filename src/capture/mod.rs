//! Capture files (see [`mod@write`] for writing them): pcap (both byte orders, micro- and nanosecond) and pcapng (any number of
//! interfaces with their own link types, enhanced, simple and obsolete packet blocks).
//!
//! The format is detected from the first bytes, never from the file name. Records are read
//! through one growable buffer that works the same on a file and on a pipe, and each record's
//! data borrows that buffer, so reading allocates nothing per packet. The two-thread run has
//! the file read ahead on a third thread, into buffers that then take turns as that buffer.
//!
//! ```
//! use wsdissect::capture::CaptureReader;
//! let bytes = std::fs::read("testdata/crafted/reorder.pcap").unwrap();
//! let mut reader = CaptureReader::new(&bytes[..]).unwrap();
//! while let Some(record) = reader.next_record().unwrap() {
//!     assert!(record.number >= 1);
//! }
//! ```

mod ahead;
pub mod filter;
pub mod live;
pub mod set;
pub mod write;
use std::io::Read;
use std::thread::Scope;

use ahead::{Ahead, Chunk, HEADROOM};

use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::PcapNgParser;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::{Endianness, PcapError, TsResolution};

/// Records larger than this are treated as damage, not data (Wireshark's own limit for
/// ordinary link types is 256 KiB; 16 MiB leaves room for jumbo and USB captures).
pub const MAX_RECORD_LEN: usize = 16 * 1024 * 1024;

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_EPB: u32 = 6;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_OBSOLETE_PB: u32 = 2;
/// Decryption Secrets Block, and its type for TLS key log text ("TLSK").
pub(crate) const PCAPNG_DSB: u32 = 0x0A;
pub(crate) const SECRETS_TLS_KEY_LOG: u32 = 0x544c_534b;
const READ_CHUNK: usize = 256 * 1024;

/// What can stop a capture from being read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The input could not be read.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    /// The input holds no bytes at all.
    #[error("file is empty")]
    Empty,
    /// The first bytes are neither a pcap nor a pcapng header.
    #[error("not a pcap or pcapng capture (magic {0:02x?})")]
    NotACapture(Vec<u8>),
    /// The file ends inside a record; every record before it was read.
    #[error("capture cut short in packet {packet} ({have} of {need} bytes present)")]
    Truncated {
        /// 1-based number the cut packet would have had.
        packet: u64,
        /// Bytes of the record present.
        have: usize,
        /// Bytes the record header promises.
        need: usize,
    },
    /// A record header is impossible (length beyond any snaplen, bad block length).
    #[error("damaged record after packet {after}: {what}")]
    Damaged {
        /// Number of the last packet read before the damage.
        after: u64,
        /// What is wrong.
        what: String,
    },
}

/// One captured packet as stored in the file.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// 1-based index of the packet in the file (`frame.number`).
    pub number: u64,
    /// Capture time in nanoseconds since the Unix epoch. Simple packet blocks have none and
    /// take the time of the packet before them.
    pub ts_nanos: i64,
    /// Length of the packet on the wire (`frame.len`).
    pub orig_len: u32,
    /// Link-layer header type (LINKTYPE_* value).
    pub link_type: u32,
    /// The captured bytes, starting at the link-layer header.
    pub data: &'a [u8],
    /// The file it came from, in a [`set::CaptureSet`] (0 when reading one capture).
    pub file: u16,
    /// The pcapng interface that captured it (`frame.interface_id`); `None` in a pcap file.
    pub interface_id: Option<u32>,
}

/// A pcapng interface: its link type and how to turn its timestamps into nanoseconds.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u32,
    snaplen: u32,
    /// Timestamp units per second (`if_tsresol`, 10^6 when absent).
    units_per_sec: u64,
    /// `if_tsoffset`, seconds added to every timestamp.
    offset_secs: i64,
}

enum Format {
    Pcap { parser: PcapParser, link_type: u32, nanos: bool, big_endian: bool },
    PcapNg { parser: PcapNgParser, interfaces: Vec<Interface> },
}

/// The buffered byte source: one growable window over the input, refilled as records need.
struct Input<R> {
    feed: Feed<R>,
    /// The input's bytes from `start` to `end`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

/// Where [`Input`] gets its bytes.
enum Feed<R> {
    /// Read here, into the buffer.
    Direct(R),
    /// Read on another thread, in chunks that become the buffer ([`ahead`]).
    Ahead(Ahead),
    /// Nothing more: reading ahead was stopped (and the reader with it).
    Stopped,
}

impl<R: Read> Input<R> {
    fn available(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Makes at least `want` bytes available from `start`, unless the source ends first.
    fn fill(&mut self, want: usize) -> Result<(), CaptureError> {
        while self.end - self.start < want && !self.eof {
            let Input { feed, buf, start, end, eof } = self;
            match feed {
                Feed::Direct(src) => {
                    if *start > 0 && *end + READ_CHUNK > buf.len() {
                        buf.copy_within(*start..*end, 0);
                        *end -= *start;
                        *start = 0;
                    }
                    let size = *start + want.max(READ_CHUNK);
                    if buf.len() < size {
                        buf.resize(size, 0);
                    }
                    let n = match src.read(&mut buf[*end..]) {
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e.into()),
                    };
                    *eof = n == 0;
                    *end += n;
                }
                Feed::Ahead(ahead) => match ahead.next()? {
                    Some(chunk) => ahead.recycle(go_on_in(buf, start, end, chunk)),
                    None => *eof = true,
                },
                Feed::Stopped => *eof = true,
            }
        }
        Ok(())
    }
}

/// Goes on from the bytes `buf[start..end]` into `chunk`, and returns the buffer done with.
/// They are moved into the chunk's headroom (at most the start of one record), and the chunk
/// becomes `buf`; unless they do not fit: then the chunk's bytes are added to them.
fn go_on_in(buf: &mut Vec<u8>, start: &mut usize, end: &mut usize, chunk: Chunk) -> Vec<u8> {
    let Chunk { buf: mut next, len } = chunk;
    let left = *end - *start;
    if left <= HEADROOM {
        next[HEADROOM - left..HEADROOM].copy_from_slice(&buf[*start..*end]);
        (*start, *end) = (HEADROOM - left, len);
        std::mem::replace(buf, next)
    } else {
        buf.copy_within(*start..*end, 0);
        buf.truncate(left);
        buf.extend_from_slice(&next[HEADROOM..len]);
        (*start, *end) = (0, buf.len());
        next
    }
}

/// Reads records from any byte source, one at a time.
pub struct CaptureReader<R> {
    input: Input<R>,
    format: Format,
    packets: u64,
    last_ts: i64,
}

impl<R: Read> CaptureReader<R> {
    /// Detects the format from the first bytes and reads the file header.
    pub fn new(src: R) -> Result<Self, CaptureError> {
        let mut input = Input { feed: Feed::Direct(src), buf: vec![0; READ_CHUNK], start: 0, end: 0, eof: false };
        input.fill(4)?;
        let magic = &input.available()[..input.available().len().min(4)];
        if magic.is_empty() {
            return Err(CaptureError::Empty);
        }
        let is_pcap = matches!(
            magic,
            [0xd4, 0xc3, 0xb2, 0xa1] | [0xa1, 0xb2, 0xc3, 0xd4] | [0x4d, 0x3c, 0xb2, 0xa1] | [0xa1, 0xb2, 0x3c, 0x4d]
        );
        if !is_pcap && magic != [0x0a, 0x0d, 0x0d, 0x0a] {
            return Err(CaptureError::NotACapture(magic.to_vec()));
        }
        loop {
            let bytes = input.available();
            let parsed = if is_pcap {
                PcapParser::new(bytes).map(|(rest, parser)| {
                    let header = parser.header();
                    let format = Format::Pcap {
                        link_type: u32::from(header.datalink),
                        nanos: header.ts_resolution == TsResolution::NanoSecond,
                        big_endian: header.endianness == Endianness::Big,
                        parser,
                    };
                    (bytes.len() - rest.len(), format)
                })
            } else {
                PcapNgParser::new(bytes)
                    .map(|(rest, parser)| (bytes.len() - rest.len(), Format::PcapNg { parser, interfaces: Vec::new() }))
            };
            match parsed {
                Ok((used, format)) => {
                    input.start += used;
                    return Ok(CaptureReader { input, format, packets: 0, last_ts: 0 });
                }
                Err(PcapError::IncompleteBuffer) if !input.eof => {
                    let want = input.available().len() + 1;
                    input.fill(want)?;
                }
                Err(PcapError::IncompleteBuffer) => {
                    return Err(CaptureError::Damaged { after: 0, what: "file header is cut short".into() });
                }
                Err(e) => {
                    return Err(CaptureError::Damaged { after: 0, what: e.to_string() });
                }
            }
        }
    }

    /// Reads the rest of the input ahead, on a thread of `scope` ([`ahead`]), until
    /// [`stop_reading_ahead`](Self::stop_reading_ahead).
    pub(crate) fn read_ahead<'scope>(&mut self, scope: &'scope Scope<'scope, '_>)
    where
        R: Send + 'scope,
    {
        self.input.feed = match std::mem::replace(&mut self.input.feed, Feed::Stopped) {
            Feed::Direct(src) => Feed::Ahead(Ahead::start(scope, src)),
            feed => feed,
        };
    }

    /// Ends the thread reading ahead, and with it the reader: nothing more is read.
    pub(crate) fn stop_reading_ahead(&mut self) {
        if let Feed::Ahead(_) = self.input.feed {
            self.input.feed = Feed::Stopped;
            self.input.start = self.input.end;
            self.input.eof = true;
        }
    }

    /// Number of packets returned so far.
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// Whether the capture is pcapng (rather than pcap).
    pub fn is_pcapng(&self) -> bool {
        matches!(self.format, Format::PcapNg { .. })
    }

    /// Returns the next packet, `None` at a clean end of the file.
    ///
    /// After an error the reader is finished: the caller reports it and stops.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, CaptureError> {
        match self.advance(false)? {
            Some((start, Item::Packet(loc))) => Ok(Some(self.record_at(start, &loc))),
            _ => Ok(None),
        }
    }

    /// Returns the next packet or TLS key log text (a pcapng Decryption Secrets Block, as
    /// `editcap --inject-secrets` writes), `None` at a clean end of the file.
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, CaptureError> {
        Ok(match self.advance(true)? {
            Some((start, Item::Packet(loc))) => Some(Block::Packet(self.record_at(start, &loc))),
            Some((start, Item::Secrets(at, len))) => {
                Some(Block::Secrets(&self.input.buf[start + at..start + at + len]))
            }
            _ => None,
        })
    }

    /// Steps to the next packet (or secrets, if wanted): where its block starts and what it is.
    fn advance(&mut self, secrets: bool) -> Result<Option<(usize, Item)>, CaptureError> {
        loop {
            let Some((used, item)) = self.locate_next()? else { return Ok(None) };
            let start = self.input.start;
            self.input.start += used;
            match item {
                Item::Packet(ref loc) => {
                    self.packets += 1;
                    self.last_ts = loc.ts_nanos.unwrap_or(self.last_ts);
                    return Ok(Some((start, item)));
                }
                Item::Secrets(..) if secrets => return Ok(Some((start, item))),
                _ => {}
            }
        }
    }

    fn record_at(&self, start: usize, loc: &Located) -> Record<'_> {
        Record {
            number: self.packets,
            ts_nanos: self.last_ts,
            orig_len: loc.orig_len,
            link_type: loc.link_type,
            data: &self.input.buf[start + loc.data_at..start + loc.data_at + loc.data_len],
            file: 0,
            interface_id: loc.interface_id,
        }
    }

    /// Finds the next block or record: the bytes it uses and what it holds.
    fn locate_next(&mut self) -> Result<Option<(usize, Item)>, CaptureError> {
        loop {
            let input = self.input.available();
            if input.is_empty() && self.input.eof {
                return Ok(None);
            }
            let need = match &mut self.format {
                Format::Pcap { parser, link_type, nanos, big_endian } => {
                    locate_pcap(parser, input, *link_type, *nanos, *big_endian, self.packets)?
                }
                Format::PcapNg { parser, interfaces } => locate_pcapng(parser, interfaces, input, self.packets)?,
            };
            match need {
                Step::Found(used, located) => return Ok(Some((used, located))),
                Step::NeedBytes(total) if self.input.eof || total > MAX_RECORD_LEN + 64 => {
                    let have = self.input.available().len();
                    if total > MAX_RECORD_LEN + 64 {
                        return Err(CaptureError::Damaged {
                            after: self.packets,
                            what: format!("record of {total} bytes exceeds the {MAX_RECORD_LEN}-byte limit"),
                        });
                    }
                    return Err(CaptureError::Truncated { packet: self.packets + 1, have, need: total });
                }
                Step::NeedBytes(total) => self.input.fill(total)?,
            }
        }
    }
}

/// The TLS key log text of every Decryption Secrets Block in a pcapng file, found by stepping
/// from block header to block header (packets are not read). Secrets may sit anywhere in a file,
/// after the records they decrypt too, so a file's are gathered before it is analysed. Not a
/// pcapng, or damaged: what was found before (the reader reports the damage itself).
pub fn scan_secrets(file: impl Read + std::io::Seek) -> std::io::Result<Vec<Vec<u8>>> {
    let mut input = std::io::BufReader::with_capacity(64 * 1024, file);
    let mut secrets = Vec::new();
    let mut header = [0u8; 12];
    let mut big_endian = false;
    let mut first = true;
    loop {
        match input.read_exact(&mut header[..8]) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(secrets),
            Err(e) => return Err(e),
        }
        let section = read_u32(&header, false) == PCAPNG_SHB;
        if first && !section {
            return Ok(secrets);
        }
        first = false;
        let mut read = 8;
        if section {
            // The section's own byte-order magic says how to read its blocks.
            input.read_exact(&mut header[8..12])?;
            read = 12;
            big_endian = header[8..12] == [0x1a, 0x2b, 0x3c, 0x4d];
        }
        let len = read_u32(&header[4..], big_endian) as usize;
        if len < 12 || !len.is_multiple_of(4) || len > MAX_RECORD_LEN + 64 {
            return Ok(secrets);
        }
        if read_u32(&header, big_endian) == PCAPNG_DSB {
            let mut body = vec![0; len - 8];
            input.read_exact(&mut body)?;
            if body.len() >= 12 && read_u32(&body, big_endian) == SECRETS_TLS_KEY_LOG {
                let n = (read_u32(&body[4..], big_endian) as usize).min(body.len() - 12);
                secrets.push(body[8..8 + n].to_vec());
            }
        } else {
            input.seek_relative((len - read) as i64)?;
        }
    }
}

/// What [`CaptureReader::next_block`] returns.
#[derive(Debug)]
pub enum Block<'a> {
    /// A packet.
    Packet(Record<'a>),
    /// TLS key log text from a Decryption Secrets Block.
    Secrets(&'a [u8]),
}

/// What a block or record holds, placed inside the bytes `locate_*` looked at.
enum Item {
    Packet(Located),
    /// TLS key log text: where it starts and how long it is.
    Secrets(usize, usize),
    /// A block of no interest here.
    Other,
}

/// A packet's place inside the bytes `locate_*` looked at.
struct Located {
    data_at: usize,
    data_len: usize,
    orig_len: u32,
    /// None for simple packet blocks, which carry no time.
    ts_nanos: Option<i64>,
    link_type: u32,
    /// The pcapng interface (`None` in a pcap file).
    interface_id: Option<u32>,
}

enum Step {
    /// A block or record of this many bytes, and what it holds.
    Found(usize, Item),
    /// The record needs this many bytes in all.
    NeedBytes(usize),
}

fn read_u32(bytes: &[u8], big_endian: bool) -> u32 {
    let b = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
}

fn locate_pcap(
    parser: &PcapParser,
    input: &[u8],
    link_type: u32,
    nanos: bool,
    big_endian: bool,
    after: u64,
) -> Result<Step, CaptureError> {
    if input.len() >= 16 {
        // Check the declared length before waiting for that many bytes.
        let incl_len = read_u32(&input[8..], big_endian) as usize;
        if incl_len > MAX_RECORD_LEN {
            return Err(CaptureError::Damaged {
                after,
                what: format!("record of {incl_len} bytes exceeds the {MAX_RECORD_LEN}-byte limit"),
            });
        }
    }
    match parser.next_raw_packet(input) {
        Ok((rest, raw)) => {
            let frac = i64::from(raw.ts_frac);
            let ts_nanos = i64::from(raw.ts_sec) * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
            Ok(Step::Found(
                input.len() - rest.len(),
                Item::Packet(Located {
                    data_at: 16,
                    data_len: raw.data.len(),
                    orig_len: raw.orig_len.max(raw.incl_len),
                    ts_nanos: Some(ts_nanos),
                    link_type,
                    interface_id: None,
                }),
            ))
        }
        Err(PcapError::IncompleteBuffer) => {
            let need = if input.len() >= 16 { 16 + read_u32(&input[8..], big_endian) as usize } else { 16 };
            Ok(Step::NeedBytes(need))
        }
        Err(e) => Err(CaptureError::Damaged { after, what: e.to_string() }),
    }
}

fn locate_pcapng(
    parser: &mut PcapNgParser,
    interfaces: &mut Vec<Interface>,
    input: &[u8],
    after: u64,
) -> Result<Step, CaptureError> {
    let big_endian = parser.section().endianness == Endianness::Big;
    if input.len() >= 8 {
        let block_type = read_u32(input, big_endian);
        // A new section may switch byte order; pcap-file reads its length itself.
        let declared = read_u32(&input[4..], big_endian) as usize;
        if block_type != PCAPNG_SHB && declared > MAX_RECORD_LEN + 64 {
            return Err(CaptureError::Damaged {
                after,
                what: format!("pcapng block of {declared} bytes exceeds the {MAX_RECORD_LEN}-byte limit"),
            });
        }
    }
    let base = input.as_ptr() as usize;
    match parser.next_raw_block(input) {
        Ok((rest, block)) => {
            let used = input.len() - rest.len();
            let body = &block.body[..];
            let body_at = body.as_ptr() as usize - base;
            let located = match block.type_ {
                PCAPNG_SHB => {
                    interfaces.clear();
                    None
                }
                pcap_file::pcapng::blocks::INTERFACE_DESCRIPTION_BLOCK => {
                    if let Some(idb) = parser.interfaces().last() {
                        interfaces.push(interface_of(idb));
                    }
                    None
                }
                PCAPNG_DSB => {
                    // Secrets type, length, then the secrets (a damaged one is skipped).
                    if body.len() >= 8 && read_u32(body, big_endian) == SECRETS_TLS_KEY_LOG {
                        let len = (read_u32(&body[4..], big_endian) as usize).min(body.len() - 8);
                        return Ok(Step::Found(used, Item::Secrets(body_at + 8, len)));
                    }
                    None
                }
                PCAPNG_EPB | PCAPNG_OBSOLETE_PB => {
                    locate_packet_in_block(block.type_, body, interfaces, big_endian, after)?
                }
                PCAPNG_SPB => {
                    if body.len() < 4 {
                        return Err(CaptureError::Damaged { after, what: "simple packet block too short".into() });
                    }
                    let iface = interfaces.first().copied().ok_or_else(|| CaptureError::Damaged {
                        after,
                        what: "simple packet block before any interface description".into(),
                    })?;
                    let orig_len = read_u32(body, big_endian);
                    let mut len = (body.len() - 4).min(orig_len as usize);
                    if iface.snaplen != 0 {
                        len = len.min(iface.snaplen as usize);
                    }
                    Some(Located {
                        data_at: 4,
                        data_len: len,
                        orig_len,
                        ts_nanos: None,
                        link_type: iface.link_type,
                        interface_id: Some(0),
                    })
                }
                _ => None,
            };
            Ok(Step::Found(
                used,
                located.map_or(Item::Other, |l| Item::Packet(Located { data_at: body_at + l.data_at, ..l })),
            ))
        }
        Err(PcapError::IncompleteBuffer) => {
            let need = if input.len() >= 8 {
                let block_type = read_u32(input, big_endian);
                let declared = if block_type == PCAPNG_SHB && input.len() >= 12 {
                    // The section's own magic tells its byte order.
                    let be = input[8..12] == [0x1a, 0x2b, 0x3c, 0x4d];
                    read_u32(&input[4..], be) as usize
                } else {
                    read_u32(&input[4..], big_endian) as usize
                };
                declared.max(input.len() + 1)
            } else {
                12
            };
            Ok(Step::NeedBytes(need))
        }
        Err(e) => Err(CaptureError::Damaged { after, what: e.to_string() }),
    }
}

/// Decodes an enhanced (type 6) or obsolete (type 2) packet block body.
fn locate_packet_in_block(
    block_type: u32,
    body: &[u8],
    interfaces: &[Interface],
    big_endian: bool,
    after: u64,
) -> Result<Option<Located>, CaptureError> {
    let damaged = |what: &str| CaptureError::Damaged { after, what: what.to_string() };
    if body.len() < 20 {
        return Err(damaged("packet block too short"));
    }
    let interface_id = if block_type == PCAPNG_EPB {
        read_u32(body, big_endian)
    } else {
        let b = [body[0], body[1]];
        u32::from(if big_endian { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    };
    let iface = interfaces
        .get(interface_id as usize)
        .copied()
        .ok_or_else(|| damaged(&format!("packet names interface {interface_id}, which is not described")))?;
    let ticks = (u64::from(read_u32(&body[4..], big_endian)) << 32) | u64::from(read_u32(&body[8..], big_endian));
    let caplen = read_u32(&body[12..], big_endian) as usize;
    let orig_len = read_u32(&body[16..], big_endian);
    if caplen > body.len() - 20 {
        return Err(damaged("captured length runs past the end of its block"));
    }
    let secs = ticks / iface.units_per_sec;
    let rem = ticks % iface.units_per_sec;
    let sub_nanos = (u128::from(rem) * 1_000_000_000 / u128::from(iface.units_per_sec)) as i64;
    let ts_nanos =
        (secs as i64).saturating_add(iface.offset_secs).saturating_mul(1_000_000_000).saturating_add(sub_nanos);
    Ok(Some(Located {
        data_at: 20,
        data_len: caplen,
        orig_len: orig_len.max(caplen as u32),
        ts_nanos: Some(ts_nanos),
        link_type: iface.link_type,
        interface_id: Some(interface_id),
    }))
}

fn interface_of(idb: &pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock) -> Interface {
    let mut units_per_sec = 1_000_000u64;
    let mut offset_secs = 0i64;
    for option in &idb.options {
        match option {
            InterfaceDescriptionOption::IfTsResol(r) => {
                let exp = u32::from(r & 0x7f);
                let base: u64 = if r & 0x80 == 0 { 10 } else { 2 };
                // Beyond 10^18 or 2^63 the unit is finer than anything we can represent.
                units_per_sec = base.checked_pow(exp).filter(|u| *u > 0).unwrap_or(1_000_000_000);
            }
            InterfaceDescriptionOption::IfTsOffset(o) => offset_secs = *o as i64,
            _ => {}
        }
    }
    Interface { link_type: u32::from(idb.linktype), snaplen: idb.snaplen, units_per_sec, offset_secs }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_header(magic: [u8; 4], link: u32) -> Vec<u8> {
        let mut h = magic.to_vec();
        h.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        h.extend_from_slice(&65535u32.to_le_bytes());
        h.extend_from_slice(&link.to_le_bytes());
        h
    }

    fn pcap_record(sec: u32, frac: u32, data: &[u8], orig: u32) -> Vec<u8> {
        let mut r = Vec::new();
        for v in [sec, frac, data.len() as u32, orig] {
            r.extend_from_slice(&v.to_le_bytes());
        }
        r.extend_from_slice(data);
        r
    }

    #[test]
    fn test_pcap_micro_and_nano() {
        for (magic, nanos) in [([0xd4, 0xc3, 0xb2, 0xa1], false), ([0x4d, 0x3c, 0xb2, 0xa1], true)] {
            let mut file = pcap_header(magic, 1);
            file.extend(pcap_record(10, 5, &[1, 2, 3], 3));
            let mut reader = CaptureReader::new(&file[..]).unwrap();
            let rec = reader.next_record().unwrap().unwrap();
            assert_eq!(rec.number, 1);
            assert_eq!(rec.data, &[1, 2, 3]);
            assert_eq!(rec.ts_nanos, 10_000_000_000 + if nanos { 5 } else { 5000 });
            assert!(reader.next_record().unwrap().is_none());
        }
    }

    #[test]
    fn test_truncated_record() {
        let mut file = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], 1);
        file.extend(pcap_record(1, 0, &[9; 10], 10));
        file.extend(pcap_record(2, 0, &[9; 10], 10));
        file.truncate(file.len() - 4);
        let mut reader = CaptureReader::new(&file[..]).unwrap();
        assert!(reader.next_record().unwrap().is_some());
        match reader.next_record() {
            Err(CaptureError::Truncated { packet: 2, .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn test_impossible_len() {
        let mut file = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], 1);
        let mut rec = pcap_record(1, 0, &[], 0);
        rec[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        file.extend(rec);
        let mut reader = CaptureReader::new(&file[..]).unwrap();
        assert!(matches!(reader.next_record(), Err(CaptureError::Damaged { .. })));
    }

    #[test]
    fn test_not_a_capture_and_empty() {
        assert!(matches!(CaptureReader::new(&b"hello world"[..]), Err(CaptureError::NotACapture(_))));
        assert!(matches!(CaptureReader::new(&b""[..]), Err(CaptureError::Empty)));
        assert!(matches!(CaptureReader::new(&[0xd4, 0xc3, 0xb2, 0xa1, 2][..]), Err(CaptureError::Damaged { .. })));
    }

    /// A reader that hands out one byte at a time, as a slow pipe would.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() || out.is_empty() {
                return Ok(0);
            }
            out[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    #[test]
    fn test_pipe_reads_byte_by_byte() {
        let mut file = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], 1);
        for i in 0..50u8 {
            file.extend(pcap_record(1, 0, &vec![i; i as usize * 100], i as u32 * 100));
        }
        let mut reader = CaptureReader::new(Trickle(&file)).unwrap();
        let mut n = 0;
        while let Some(rec) = reader.next_record().unwrap() {
            assert_eq!(rec.data.len(), n * 100);
            n += 1;
        }
        assert_eq!(n, 50);
    }

    /// A reader that hands out at most `step` bytes at a time, then fails if `fail_at` is
    /// reached.
    struct Pieces<'a> {
        bytes: &'a [u8],
        step: usize,
        fail_at: Option<usize>,
        given: usize,
    }
    impl Read for Pieces<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.fail_at.is_some_and(|at| self.given >= at) {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = out.len().min(self.step).min(self.bytes.len());
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            self.given += n;
            Ok(n)
        }
    }

    /// A record's number, time and bytes.
    type Owned = (u64, i64, Vec<u8>);

    /// Every record, and how reading ended.
    fn read_all<R: Read>(reader: &mut CaptureReader<R>) -> (Vec<Owned>, Option<String>) {
        let mut records = Vec::new();
        loop {
            match reader.next_record() {
                Ok(Some(r)) => records.push((r.number, r.ts_nanos, r.data.to_vec())),
                Ok(None) => return (records, None),
                Err(e) => return (records, Some(e.to_string())),
            }
        }
    }

    /// Several megabytes of records, mostly small, some longer than a chunk's headroom and one
    /// longer than a whole chunk, so that records run across chunks in every way.
    fn many_records() -> Vec<u8> {
        let mut file = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], 1);
        for i in 0..6000u32 {
            let len = match i % 1000 {
                7 => ahead::HEADROOM + 1000 + i as usize,
                500 => 700_000,
                _ => (i as usize * 37) % 1500,
            };
            file.extend(pcap_record(i, 0, &vec![i as u8; len], len as u32));
        }
        file
    }

    #[test]
    fn test_read_ahead_gives_the_same_records() {
        let file = many_records();
        let (direct, end) = read_all(&mut CaptureReader::new(&file[..]).unwrap());
        assert_eq!((direct.len(), end), (6000, None));
        for step in [usize::MAX, 10_000] {
            let mut reader = CaptureReader::new(Pieces { bytes: &file, step, fail_at: None, given: 0 }).unwrap();
            let ahead = std::thread::scope(|scope| {
                reader.read_ahead(scope);
                let records = read_all(&mut reader);
                reader.stop_reading_ahead();
                records
            });
            assert!(ahead == (direct.clone(), None), "reading {step} bytes at a time");
        }
    }

    #[test]
    fn test_read_ahead_reports_a_cut_and_a_read_error() {
        let file = many_records();
        let cut = &file[..file.len() - 10];
        let direct = read_all(&mut CaptureReader::new(cut).unwrap());
        assert!(direct.1.as_deref().is_some_and(|e| e.contains("cut short in packet 6000")));
        let ahead = std::thread::scope(|scope| {
            let mut reader = CaptureReader::new(cut).unwrap();
            reader.read_ahead(scope);
            read_all(&mut reader)
        });
        assert!(ahead == direct);
        let failing = Pieces { bytes: &file, step: 50_000, fail_at: Some(2_000_000), given: 0 };
        let (records, end) = std::thread::scope(|scope| {
            let mut reader = CaptureReader::new(failing).unwrap();
            reader.read_ahead(scope);
            read_all(&mut reader)
        });
        assert!(!records.is_empty() && records.len() < 6000);
        assert_eq!(end.as_deref(), Some("read error: disk on fire"));
    }

    #[test]
    fn test_stopping_read_ahead_ends_its_thread() {
        let file = many_records();
        let mut reader = CaptureReader::new(&file[..]).unwrap();
        // The scope ends only once the reading thread has: it must not stay blocked on its
        // full queue.
        let first = std::thread::scope(|scope| {
            reader.read_ahead(scope);
            let first = reader.next_record().unwrap().map(|r| r.number);
            reader.stop_reading_ahead();
            first
        });
        assert_eq!(first, Some(1));
        assert!(reader.next_record().unwrap().is_none(), "nothing is read once stopped");
    }
}
