//! Writing captures (`-w`): pcap with nanosecond timestamps, or pcapng with one interface per
//! link type, both little-endian, so that wsdissect and tshark read them back.
//!
//! ```
//! use wsdissect::capture::{CaptureReader, Record};
//! use wsdissect::capture::write::CaptureWriter;
//! let mut out = Vec::new();
//! let mut w = CaptureWriter::new(&mut out, true);
//! let record = Record { number: 1, ts_nanos: 1_500_000_000, orig_len: 3, link_type: 101, data: &[0x45, 0, 0], file: 0, interface_id: None };
//! w.write(&record).unwrap();
//! let mut reader = CaptureReader::new(&out[..]).unwrap();
//! let back = reader.next_record().unwrap().unwrap();
//! assert_eq!((back.ts_nanos, back.link_type, back.data), (1_500_000_000, 101, &[0x45, 0, 0][..]));
//! ```

use std::io::{self, Write};

use super::Record;

/// Writes records as pcap or pcapng.
#[derive(Debug)]
pub struct CaptureWriter<W> {
    out: W,
    pcapng: bool,
    started: bool,
    /// pcapng: the link type of each interface written so far.
    interfaces: Vec<u32>,
    /// pcap: the one link type of the file.
    link_type: Option<u32>,
}

impl<W: Write> CaptureWriter<W> {
    /// A writer of pcapng (`pcapng`) or pcap records.
    pub fn new(out: W, pcapng: bool) -> Self {
        CaptureWriter { out, pcapng, started: false, interfaces: Vec::new(), link_type: None }
    }

    /// Writes a record. A pcap file holds one link type: a record of another is refused.
    pub fn write(&mut self, r: &Record<'_>) -> io::Result<()> {
        if self.pcapng { self.write_epb(r) } else { self.write_pcap_record(r) }
    }

    /// Writes TLS key log text into the file (a pcapng Decryption Secrets Block, as
    /// `editcap --inject-secrets` does), so that it can be decrypted without a key log. A pcap
    /// file cannot hold it: there, nothing is written and `false` returned.
    pub fn write_secrets(&mut self, key_log: &[u8]) -> io::Result<bool> {
        if !self.pcapng {
            return Ok(false);
        }
        if !self.started {
            self.write_shb()?;
        }
        let mut body = Vec::with_capacity(8 + key_log.len());
        body.extend_from_slice(&super::SECRETS_TLS_KEY_LOG.to_le_bytes());
        body.extend_from_slice(&(key_log.len() as u32).to_le_bytes());
        body.extend_from_slice(key_log);
        self.block(super::PCAPNG_DSB, &body)?;
        Ok(true)
    }

    /// Writes the file header when nothing was written (an empty but valid capture).
    pub fn finish(mut self, default_link_type: u32) -> io::Result<W> {
        if !self.started {
            if self.pcapng {
                self.write_shb()?;
            } else {
                self.write_pcap_header(default_link_type)?;
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn write_pcap_header(&mut self, link_type: u32) -> io::Result<()> {
        self.started = true;
        self.link_type = Some(link_type);
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes()); // nanosecond resolution
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&262_144u32.to_le_bytes());
        h.extend_from_slice(&link_type.to_le_bytes());
        self.out.write_all(&h)
    }

    fn write_pcap_record(&mut self, r: &Record<'_>) -> io::Result<()> {
        if !self.started {
            self.write_pcap_header(r.link_type)?;
        }
        if self.link_type != Some(r.link_type) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a pcap file holds one link type; write pcapng"));
        }
        let (secs, nanos) = (r.ts_nanos.div_euclid(1_000_000_000), r.ts_nanos.rem_euclid(1_000_000_000));
        let mut h = Vec::with_capacity(16);
        h.extend_from_slice(&(secs as u32).to_le_bytes());
        h.extend_from_slice(&(nanos as u32).to_le_bytes());
        h.extend_from_slice(&(r.data.len() as u32).to_le_bytes());
        h.extend_from_slice(&r.orig_len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(r.data)
    }

    fn block(&mut self, kind: u32, body: &[u8]) -> io::Result<()> {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        self.out.write_all(&kind.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(body)?;
        self.out.write_all(&[0; 3][..pad])?;
        self.out.write_all(&len.to_le_bytes())
    }

    fn write_shb(&mut self) -> io::Result<()> {
        self.started = true;
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        self.block(0x0a0d_0d0a, &body)
    }

    /// The interface for a link type, described on first use (nanosecond timestamps).
    fn interface(&mut self, link_type: u32) -> io::Result<u32> {
        if let Some(i) = self.interfaces.iter().position(|l| *l == link_type) {
            return Ok(i as u32);
        }
        let mut body = Vec::new();
        body.extend_from_slice(&(link_type as u16).to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&262_144u32.to_le_bytes());
        // if_tsresol = 9 (nanoseconds), then opt_endofopt.
        body.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        self.block(1, &body)?;
        self.interfaces.push(link_type);
        Ok(self.interfaces.len() as u32 - 1)
    }

    fn write_epb(&mut self, r: &Record<'_>) -> io::Result<()> {
        if !self.started {
            self.write_shb()?;
        }
        let interface = self.interface(r.link_type)?;
        let ts = r.ts_nanos as u64;
        let mut body = Vec::with_capacity(20 + r.data.len());
        body.extend_from_slice(&interface.to_le_bytes());
        body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts as u32).to_le_bytes());
        body.extend_from_slice(&(r.data.len() as u32).to_le_bytes());
        body.extend_from_slice(&r.orig_len.to_le_bytes());
        body.extend_from_slice(r.data);
        self.block(6, &body)
    }
}
