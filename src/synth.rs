//! Synthetic WebSocket captures for benchmarks: many interleaved connections over Ethernet and
//! IPv4, each with a real handshake, masked client frames, unmasked server frames, mixed message
//! sizes, some connections with permessage-deflate, and a closing handshake; optionally all of
//! it inside TLS 1.3 (TLS_AES_128_GCM_SHA256), with the secrets in a key log ([`key_log`]). The
//! bytes are valid enough that tshark reads them the same way (`benches/compare.sh` checks the
//! frame counts).
//!
//! ```
//! use wsdissect::synth::{Profile, write_capture};
//! let mut pcap = Vec::new();
//! let summary = write_capture(&mut pcap, &Profile::small(), 200_000, 1).unwrap();
//! let frames = wsdissect::Dissector::from_bytes(&pcap).unwrap().frames().count() as u64;
//! assert_eq!(frames, summary.frames);
//! ```

use std::io::{self, Write};

use flate2::{Compress, Compression, FlushCompress};

use crate::capture::Record;
use crate::capture::write::CaptureWriter;
use crate::http::accept_key;
use crate::http2::PREFACE;
use crate::tls::cipher::{RecordCipher, Suite};
use crate::tls::keylog::Secret;

/// The shape of the traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Connections open at once (messages go round-robin among them).
    pub connections: u32,
    /// Smallest message payload.
    pub min_payload: usize,
    /// Largest message payload (sizes are log-uniform in between).
    pub max_payload: usize,
    /// One connection in this many negotiates permessage-deflate (0: none, 1: all).
    pub deflate_every: u32,
    /// permessage-deflate keeps each direction's window across messages; otherwise every
    /// message stands alone.
    pub context_takeover: bool,
    /// With context takeover, the windows both sides negotiate, in bits: 12 is what Python
    /// `websockets` asks for, 15 what browsers get from most servers.
    pub window_bits: u8,
    /// Largest TCP payload of a packet.
    pub segment: usize,
    /// Every connection is wss:// (TLS 1.3), its secrets in [`key_log`].
    pub tls: bool,
    /// 0: each WebSocket on a TCP connection of its own (HTTP/1.1 upgrade); N: WebSockets over
    /// HTTP/2 (RFC 8441), N of them on each h2c connection (prior knowledge), their frames in
    /// DATA frames of up to 16 KiB.
    pub http2_streams: u32,
}

impl Profile {
    /// Large messages: payloads from 64 bytes to 64 KiB, segments up to 16 KiB.
    pub fn large() -> Self {
        Profile {
            connections: 64,
            min_payload: 64,
            max_payload: 64 * 1024,
            deflate_every: 8,
            segment: 16 * 1024,
            context_takeover: false,
            window_bits: 15,
            tls: false,
            http2_streams: 0,
        }
    }

    /// Small messages (34 to 300 bytes of JSON-like text) on connections that all use
    /// permessage-deflate with context takeover, as browsers and Python `websockets` do: 400 of
    /// them open at once.
    pub fn deflate() -> Self {
        Profile {
            connections: 400,
            min_payload: 34,
            max_payload: 300,
            deflate_every: 1,
            segment: 1460,
            context_takeover: true,
            window_bits: 12,
            tls: false,
            http2_streams: 0,
        }
    }

    /// [`deflate`](Self::deflate) with 10,000 connections open at once.
    pub fn deflate_many() -> Self {
        Profile { connections: 10_000, ..Self::deflate() }
    }

    /// [`deflate`](Self::deflate) as a browser page sees it: a few connections (8), with the
    /// 15-bit windows browsers offer and most servers accept.
    pub fn deflate_browser() -> Self {
        Profile { connections: 8, window_bits: 15, ..Self::deflate() }
    }

    /// Large messages, as [`large`](Self::large), on WebSockets over HTTP/2: the same 64
    /// WebSockets, 8 on each of 8 h2c connections.
    pub fn large_h2() -> Self {
        Profile { http2_streams: 8, ..Self::large() }
    }

    /// Large messages, as [`large`](Self::large), over TLS 1.3.
    pub fn large_tls() -> Self {
        Profile { tls: true, ..Self::large() }
    }

    /// Small messages: 40-byte frames (34-byte masked client payloads, 38-byte server ones).
    pub fn small() -> Self {
        Profile {
            connections: 256,
            min_payload: 34,
            max_payload: 34,
            deflate_every: 0,
            segment: 1460,
            context_takeover: false,
            window_bits: 15,
            tls: false,
            http2_streams: 0,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Packets.
    pub packets: u64,
    /// WebSocket frames.
    pub frames: u64,
    /// Bytes of the capture file.
    pub bytes: u64,
}

/// A deterministic generator (xorshift64*).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct Conn {
    client_ip: [u8; 4],
    client_port: u16,
    seq: [u32; 2],
    /// wss://: each direction's application traffic cipher and record number.
    tls: Option<[(RecordCipher, u64); 2]>,
}

/// One WebSocket: on a TCP connection of its own, or on an HTTP/2 stream.
struct Socket {
    /// Its TCP connection, in `conns`.
    conn: usize,
    /// Its HTTP/2 stream; 0 over HTTP/1.1.
    stream: u32,
    /// permessage-deflate: each direction's window (the last bytes it sent, with context
    /// takeover; empty otherwise).
    deflate: Option<[Vec<u8>; 2]>,
}

/// The TLS 1.3 suite of wss:// connections.
const TLS_SUITE: u16 = 0x1301;

/// A wss:// connection's client random and traffic secrets (client and server handshake, then
/// application), made from the seed and the connection's index alone.
fn tls_material(seed: u64, index: u32) -> ([u8; 32], [[u8; 32]; 4]) {
    let mut rng = Rng((seed ^ 0x7f4a_7c15).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(index).wrapping_mul(31) | 1);
    let mut bytes = || {
        let mut b = [0u8; 32];
        b.chunks_mut(8).for_each(|c| c.copy_from_slice(&rng.next().to_be_bytes()));
        b
    };
    (bytes(), [bytes(), bytes(), bytes(), bytes()])
}

/// The key log (NSS format) of the wss:// connections [`write_capture`] writes with this
/// profile and seed: empty without TLS.
pub fn key_log(profile: &Profile, seed: u64) -> String {
    if !profile.tls {
        return String::new();
    }
    let kinds =
        [Secret::ClientHandshake, Secret::ServerHandshake, Secret::ClientApplication, Secret::ServerApplication];
    (0..profile.connections)
        .flat_map(|i| {
            let (random, secrets) = tls_material(seed, i);
            kinds.iter().zip(secrets).map(move |(kind, s)| kind.line(&random, &s)).collect::<Vec<_>>()
        })
        .collect()
}

const SERVER_IP: [u8; 4] = [10, 0, 0, 1];
/// The server's port: 8080, or 443 for wss:// (where tshark looks for TLS).
const SERVER_PORT: u16 = 8080;
const SERVER_PORT_TLS: u16 = 443;

struct Writer<W: Write> {
    out: CaptureWriter<W>,
    ts: i64,
    summary: Summary,
    packet: Vec<u8>,
    /// TLS records being sent (reused).
    records: Vec<u8>,
    /// HTTP/2 DATA frames being sent (reused).
    data_frames: Vec<u8>,
    /// Connections are wss://.
    tls: bool,
}

/// The most plaintext a TLS record holds.
const MAX_RECORD_PLAINTEXT: usize = 16 * 1024;

impl<W: Write> Writer<W> {
    /// One TCP segment from the client (`dir` 0) or the server.
    fn segment(&mut self, c: &mut Conn, dir: usize, flags: u8, payload: &[u8]) -> io::Result<()> {
        let (src, dst) = if dir == 0 { (c.client_ip, SERVER_IP) } else { (SERVER_IP, c.client_ip) };
        let server_port = if c.tls.is_some() || self.tls { SERVER_PORT_TLS } else { SERVER_PORT };
        let (sport, dport) = if dir == 0 { (c.client_port, server_port) } else { (server_port, c.client_port) };
        let p = &mut self.packet;
        p.clear();
        p.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let total = (40 + payload.len()) as u16;
        let mut ip = [0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&dst);
        let sum = checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        p.extend_from_slice(&ip);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&c.seq[dir].to_be_bytes());
        p.extend_from_slice(&c.seq[1 - dir].to_be_bytes());
        p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        p.extend_from_slice(payload);
        let advance = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        c.seq[dir] = c.seq[dir].wrapping_add(advance);
        self.summary.packets += 1;
        self.ts += 10_000;
        let record = Record {
            number: self.summary.packets,
            ts_nanos: self.ts,
            orig_len: p.len() as u32,
            link_type: 1,
            data: p,
            file: 0,
            interface_id: None,
        };
        self.summary.bytes += 16 + p.len() as u64;
        self.out.write(&record)
    }

    /// Bytes from one side as they are, in segments of up to 1460 bytes.
    fn send_raw(&mut self, c: &mut Conn, dir: usize, bytes: &[u8]) -> io::Result<()> {
        for chunk in bytes.chunks(1460) {
            self.segment(c, dir, PSH | ACK, chunk)?;
        }
        Ok(())
    }

    /// Bytes from one side (in TLS application records on wss:// connections), cut into
    /// segments.
    fn send(&mut self, c: &mut Conn, dir: usize, bytes: &[u8], segment: usize) -> io::Result<()> {
        let mut records = std::mem::take(&mut self.records);
        let bytes = match c.tls.as_mut() {
            Some(ciphers) => {
                let (cipher, seq) = &mut ciphers[dir];
                records.clear();
                for chunk in bytes.chunks(MAX_RECORD_PLAINTEXT) {
                    cipher.seal_tls13(*seq, 23, chunk, &mut records).ok_or_else(|| io::Error::other("TLS record"))?;
                    *seq += 1;
                }
                &records[..]
            }
            None => bytes,
        };
        for chunk in bytes.chunks(segment.max(1)) {
            self.segment(c, dir, PSH | ACK, chunk)?;
        }
        self.records = records;
        Ok(())
    }

    /// A WebSocket's bytes: as they are, or in DATA frames on its HTTP/2 stream.
    fn send_on(&mut self, c: &mut Conn, stream: u32, dir: usize, bytes: &[u8], segment: usize) -> io::Result<()> {
        if stream == 0 {
            return self.send(c, dir, bytes, segment);
        }
        let mut frames = std::mem::take(&mut self.data_frames);
        frames.clear();
        for chunk in bytes.chunks(MAX_DATA_FRAME) {
            http2_frame(&mut frames, 0, 0, stream, chunk);
        }
        let sent = self.send(c, dir, &frames, segment);
        self.data_frames = frames;
        sent
    }
}

/// The largest DATA frame sent (SETTINGS_MAX_FRAME_SIZE's default).
const MAX_DATA_FRAME: usize = 16 * 1024;

/// Appends an HTTP/2 frame.
fn http2_frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Appends an HPACK literal header field without indexing, no Huffman (names and values
/// shorter than 127 bytes).
fn hpack_literal(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(0);
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
    out.push(value.len() as u8);
    out.extend_from_slice(value.as_bytes());
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Encodes a frame; a client frame is masked with `key`.
fn frame(out: &mut Vec<u8>, opcode: u8, rsv1: bool, payload: &[u8], key: Option<[u8; 4]>) {
    out.clear();
    out.push(0x80 | if rsv1 { 0x40 } else { 0 } | opcode);
    let mask = if key.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask | n as u8),
        n @ 126..=0xffff => {
            out.push(mask | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let at = out.len() + key.map_or(0, |_| 4);
    if let Some(k) = key {
        out.extend_from_slice(&k);
    }
    out.extend_from_slice(payload);
    if let Some(k) = key {
        crate::ws::frame::unmask(&mut out[at..], k, 0);
    }
}

/// Text that compresses like real JSON (field names repeat, values vary).
fn message_text(rng: &mut Rng, len: usize, out: &mut Vec<u8>) {
    const WORDS: [&[u8]; 8] = [
        b"{\"type\":\"update\",",
        b"\"id\":",
        b"\"price\":",
        b"\"qty\":",
        b"\"side\":\"buy\",",
        b"\"ts\":",
        b"},",
        b"\"sym\":\"WS\",",
    ];
    out.clear();
    while out.len() < len {
        out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize]);
        let n = rng.below(1_000_000);
        out.extend_from_slice(n.to_string().as_bytes());
        out.push(b',');
    }
    out.truncate(len);
}

/// Writes a pcap of about `target_bytes` with the given profile.
pub fn write_capture<W: Write>(out: W, profile: &Profile, target_bytes: u64, seed: u64) -> io::Result<Summary> {
    let mut rng = Rng(seed.max(1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut w = Writer {
        out: CaptureWriter::new(out, false),
        ts: 1_700_000_000_000_000_000,
        summary: Summary::default(),
        packet: Vec::new(),
        records: Vec::new(),
        data_frames: Vec::new(),
        tls: profile.tls,
    };
    w.summary.bytes = 24;
    let per_conn = profile.http2_streams.max(1);
    let mut conns: Vec<Conn> = (0..profile.connections.div_ceil(per_conn))
        .map(|i| Conn {
            client_ip: [10, 1, (i >> 8) as u8, i as u8],
            client_port: 40_000 + (i % 20_000) as u16,
            seq: [rng.next() as u32, rng.next() as u32],
            tls: None,
        })
        .collect();
    let mut sockets: Vec<Socket> = (0..profile.connections)
        .map(|i| Socket {
            conn: (i / per_conn) as usize,
            stream: if profile.http2_streams > 0 { 1 + 2 * (i % per_conn) } else { 0 },
            deflate: (profile.deflate_every > 0 && i % profile.deflate_every == 0).then(Default::default),
        })
        .collect();
    let accepted = accepted_deflate(profile);
    for (i, c) in conns.iter_mut().enumerate() {
        if profile.tls {
            tls_handshake(&mut w, c, seed, i as u32)?;
        }
        let on_it: Vec<&Socket> = sockets.iter().filter(|s| s.conn == i).collect();
        if profile.http2_streams > 0 {
            http2_handshake(&mut w, c, &on_it, &accepted)?;
        } else {
            handshake(&mut w, c, &mut rng, on_it[0].deflate.is_some(), &accepted)?;
        }
    }
    // One compressor for every connection: reset for each message and, with context takeover,
    // given the direction's window as its dictionary, which is what a compressor kept per
    // direction could refer to (and what the receiver's window holds).
    let window_bits = if profile.context_takeover { profile.window_bits } else { 15 };
    let mut z = Compress::new_with_window_bits(Compression::fast(), false, window_bits);
    let (mut text, mut payload, mut framed) = (Vec::new(), Vec::new(), Vec::new());
    let span = (profile.max_payload as f64 / profile.min_payload.max(1) as f64).ln();
    let mut turn = 0usize;
    while w.summary.bytes < target_bytes {
        let socket = &mut sockets[turn % profile.connections as usize];
        let c = &mut conns[socket.conn];
        let dir = (turn / profile.connections as usize) % 2;
        turn += 1;
        let len = (profile.min_payload as f64 * (span * (rng.below(1 << 20) as f64 / (1 << 20) as f64)).exp()) as usize;
        let len = if dir == 1 { len + 4 } else { len }.min(profile.max_payload);
        message_text(&mut rng, len, &mut text);
        let rsv1 = match socket.deflate.as_mut() {
            Some(windows) => {
                z.reset();
                let window = &mut windows[dir];
                if !window.is_empty() {
                    z.set_dictionary(window).map_err(io::Error::other)?;
                }
                payload.clear();
                payload.reserve(text.len() + 64);
                z.compress_vec(&text, &mut payload, FlushCompress::Sync).map_err(io::Error::other)?;
                payload.truncate(payload.len().saturating_sub(4));
                if profile.context_takeover {
                    window.extend_from_slice(&text);
                    window.drain(..window.len().saturating_sub(1 << window_bits));
                }
                true
            }
            None => {
                std::mem::swap(&mut payload, &mut text);
                false
            }
        };
        let key = (dir == 0).then(|| (rng.next() as u32).to_be_bytes());
        frame(&mut framed, 1, rsv1, &payload, key);
        w.send_on(c, socket.stream, dir, &framed, profile.segment)?;
        w.summary.frames += 1;
        if !rsv1 {
            std::mem::swap(&mut payload, &mut text);
        }
    }
    for (i, c) in conns.iter_mut().enumerate() {
        for socket in sockets.iter().filter(|s| s.conn == i) {
            for dir in 0..2 {
                let key = (dir == 0).then(|| (rng.next() as u32).to_be_bytes());
                frame(&mut framed, 8, false, &1000u16.to_be_bytes(), key);
                w.send_on(c, socket.stream, dir, &framed, profile.segment)?;
                w.summary.frames += 1;
            }
        }
        w.segment(c, 0, FIN | ACK, &[])?;
        w.segment(c, 1, FIN | ACK, &[])?;
    }
    w.out.finish(1)?;
    Ok(w.summary)
}

/// A handshake message: type, 24-bit length, body.
fn handshake_message(kind: u8, body: &[u8]) -> Vec<u8> {
    let len = (body.len() as u32).to_be_bytes();
    [&[kind, len[1], len[2], len[3]][..], body].concat()
}

/// A plaintext record.
fn plain_record(content_type: u8, body: &[u8]) -> Vec<u8> {
    [&[content_type, 3, 3][..], &(body.len() as u16).to_be_bytes(), body].concat()
}

/// The TCP open and a TLS 1.3 handshake: ClientHello and ServerHello in the clear, then each
/// side's Finished (the server's after its EncryptedExtensions) under its handshake secret. From
/// here on, what the connection sends goes in application records.
fn tls_handshake<W: Write>(w: &mut Writer<W>, c: &mut Conn, seed: u64, index: u32) -> io::Result<()> {
    let (random, secrets) = tls_material(seed, index);
    let suite = Suite::from_id(TLS_SUITE).expect("a suite wsdissect decrypts");
    let cipher = |secret: &[u8; 32]| RecordCipher::tls13(suite, secret).ok_or_else(|| io::Error::other("TLS keys"));
    tcp_open(w, c)?;
    let mut hello = vec![3, 3];
    hello.extend_from_slice(&random);
    hello.extend_from_slice(&[0, 0, 2, (TLS_SUITE >> 8) as u8, TLS_SUITE as u8, 1, 0]);
    // supported_versions: TLS 1.3.
    hello.extend_from_slice(&[0, 7, 0, 43, 0, 3, 2, 3, 4]);
    w.send_raw(c, 0, &plain_record(22, &handshake_message(1, &hello)))?;
    let mut hello = vec![3, 3];
    hello.extend_from_slice(&secrets[0][..16]);
    hello.extend_from_slice(&secrets[1][..16]);
    hello.extend_from_slice(&[0, (TLS_SUITE >> 8) as u8, TLS_SUITE as u8, 0, 0, 6, 0, 43, 0, 2, 3, 4]);
    let mut flight = plain_record(22, &handshake_message(2, &hello));
    let messages = [handshake_message(8, &[0, 0]), handshake_message(20, &[0x5a; 32])].concat();
    cipher(&secrets[1])?.seal_tls13(0, 22, &messages, &mut flight).ok_or_else(|| io::Error::other("TLS record"))?;
    w.send_raw(c, 1, &flight)?;
    let mut finished = Vec::new();
    cipher(&secrets[0])?.seal_tls13(0, 22, &handshake_message(20, &[0xa5; 32]), &mut finished);
    w.send_raw(c, 0, &finished)?;
    c.tls = Some([(cipher(&secrets[2])?, 0), (cipher(&secrets[3])?, 0)]);
    Ok(())
}

/// SYN, SYN-ACK, ACK.
fn tcp_open<W: Write>(w: &mut Writer<W>, c: &mut Conn) -> io::Result<()> {
    w.segment(c, 0, SYN, &[])?;
    w.segment(c, 1, SYN | ACK, &[])?;
    w.segment(c, 0, ACK, &[])
}

/// The permessage-deflate response header value for the windows a profile uses.
fn accepted_deflate(profile: &Profile) -> String {
    if profile.context_takeover {
        let bits = profile.window_bits;
        format!("permessage-deflate; server_max_window_bits={bits}; client_max_window_bits={bits}")
    } else {
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover".to_string()
    }
}

/// An h2c connection with prior knowledge opening a WebSocket on each of `sockets`' streams
/// (RFC 8441): the server's SETTINGS (extended CONNECT enabled) first, then the client's
/// preface and one extended CONNECT per stream, then the server's 200s.
fn http2_handshake<W: Write>(w: &mut Writer<W>, c: &mut Conn, sockets: &[&Socket], accepted: &str) -> io::Result<()> {
    tcp_open(w, c)?;
    let mut server = Vec::new();
    http2_frame(&mut server, 4, 0, 0, &[0, 8, 0, 0, 0, 1]);
    w.send(c, 1, &server, 1460)?;
    let mut client = PREFACE.to_vec();
    http2_frame(&mut client, 4, 0, 0, &[]);
    http2_frame(&mut client, 4, 1, 0, &[]);
    let mut block = Vec::new();
    for s in sockets {
        block.clear();
        for (name, value) in [
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "http"),
            (":path", "/feed"),
            (":authority", "10.0.0.1:8080"),
            ("sec-websocket-version", "13"),
        ] {
            hpack_literal(&mut block, name, value);
        }
        if s.deflate.is_some() {
            hpack_literal(&mut block, "sec-websocket-extensions", "permessage-deflate; client_max_window_bits");
        }
        http2_frame(&mut client, 1, 4, s.stream, &block);
    }
    w.send(c, 0, &client, 1460)?;
    let mut server = Vec::new();
    http2_frame(&mut server, 4, 1, 0, &[]);
    for s in sockets {
        // :status 200 is entry 8 of HPACK's static table.
        block.clear();
        block.push(0x88);
        if s.deflate.is_some() {
            hpack_literal(&mut block, "sec-websocket-extensions", accepted);
        }
        http2_frame(&mut server, 1, 4, s.stream, &block);
    }
    w.send(c, 1, &server, 1460)
}

fn handshake<W: Write>(
    w: &mut Writer<W>,
    c: &mut Conn,
    rng: &mut Rng,
    deflate: bool,
    accepted: &str,
) -> io::Result<()> {
    if c.tls.is_none() {
        tcp_open(w, c)?;
    }
    let nonce = [rng.next().to_be_bytes(), rng.next().to_be_bytes()].concat();
    let key = crate::output::json::BytesAs::Base64.encode(&nonce);
    let offer = if deflate { "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" } else { "" };
    let request = format!(
        "GET /feed HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
    );
    w.send(c, 0, request.as_bytes(), 1460)?;
    let accepted = if deflate { format!("Sec-WebSocket-Extensions: {accepted}\r\n") } else { String::new() };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{accepted}\r\n",
        accept_key(&key)
    );
    w.send(c, 1, response.as_bytes(), 1460)
}
