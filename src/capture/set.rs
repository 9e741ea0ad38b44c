//! Several capture files read as one: a ring written by `tcpdump -C/-G -W` or `dumpcap -b`, where
//! a connection starts in one file and goes on in the next. Their packets are merged by time, as
//! mergecap does (on equal times, the file given first comes first), and numbered across the set.
//!
//! A file that is not a capture, or is damaged or cut short, is set aside at that point (what it
//! held before is read) and named in [`CaptureSet::damaged`]; the other files are read on.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use super::{Block, CaptureError, CaptureReader, Record};

/// One file of the set, and its next block, copied out while the others are looked at.
struct Member {
    /// `None` for a file set aside when opened.
    reader: Option<CaptureReader<BufReader<File>>>,
    next: Next,
    /// The bytes of the next packet, or the next secrets (the buffer is reused).
    bytes: Vec<u8>,
}

enum Next {
    /// The next block is still in the file.
    Unread,
    Packet {
        ts_nanos: i64,
        orig_len: u32,
        link_type: u32,
        interface_id: Option<u32>,
    },
    Secrets,
    /// The file is read to its end (or to its damage).
    Done,
}

/// The files of a set, read as one capture.
pub struct CaptureSet {
    members: Vec<Member>,
    /// Each file's path, by index (`frame.file`).
    names: Vec<String>,
    packets: u64,
    /// The member whose block was returned last: its copy is spent.
    returned: Option<usize>,
    damaged: Vec<(usize, CaptureError)>,
}

impl CaptureSet {
    /// Opens every file. A file that cannot be opened is an error (the path is most likely
    /// wrong); one that is not a capture, or whose header is damaged, is set aside.
    pub fn open(paths: &[impl AsRef<Path>]) -> Result<Self, (String, std::io::Error)> {
        let mut set =
            CaptureSet { members: Vec::new(), names: Vec::new(), packets: 0, returned: None, damaged: Vec::new() };
        for path in paths {
            let path = path.as_ref();
            let name = path.display().to_string();
            let file = File::open(path).map_err(|e| (name.clone(), e))?;
            let reader =
                CaptureReader::new(BufReader::new(file)).map_err(|e| set.damaged.push((set.names.len(), e))).ok();
            let next = if reader.is_some() { Next::Unread } else { Next::Done };
            set.members.push(Member { reader, next, bytes: Vec::new() });
            set.names.push(name);
        }
        Ok(set)
    }

    /// The paths, in the order given (a packet's [`Record::file`] indexes it).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The files set aside, by index, and why.
    pub fn damaged(&self) -> &[(usize, CaptureError)] {
        &self.damaged
    }

    /// Packets returned so far.
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// Whether any file of the set is pcapng.
    pub fn is_pcapng(&self) -> bool {
        self.members.iter().filter_map(|m| m.reader.as_ref()).any(CaptureReader::is_pcapng)
    }

    /// The next packet of the set (the earliest of the files' next ones), or TLS secrets from
    /// any file as soon as they are met; `None` once every file is read.
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, CaptureError> {
        if let Some(spent) = self.returned.take() {
            self.members[spent].next = Next::Unread;
        }
        for (index, member) in self.members.iter_mut().enumerate() {
            if matches!(member.next, Next::Unread) {
                member.next = match member.read_next() {
                    Ok(next) => next,
                    Err(e) => {
                        self.damaged.push((index, e));
                        member.reader = None;
                        Next::Done
                    }
                };
            }
        }
        let mut chosen: Option<(usize, i64)> = None;
        for (index, member) in self.members.iter().enumerate() {
            match member.next {
                Next::Secrets => {
                    chosen = Some((index, i64::MIN));
                    break;
                }
                Next::Packet { ts_nanos, .. } if chosen.is_none_or(|(_, ts)| ts_nanos < ts) => {
                    chosen = Some((index, ts_nanos));
                }
                _ => {}
            }
        }
        let Some((index, _)) = chosen else { return Ok(None) };
        self.returned = Some(index);
        let member = &self.members[index];
        let Next::Packet { ts_nanos, orig_len, link_type, interface_id } = member.next else {
            return Ok(Some(Block::Secrets(&member.bytes)));
        };
        self.packets += 1;
        Ok(Some(Block::Packet(Record {
            number: self.packets,
            ts_nanos,
            orig_len,
            link_type,
            data: &member.bytes,
            file: u16::try_from(index).unwrap_or(u16::MAX),
            interface_id,
        })))
    }
}

impl Member {
    /// The file's next block, its bytes copied.
    fn read_next(&mut self) -> Result<Next, CaptureError> {
        let Some(reader) = self.reader.as_mut() else { return Ok(Next::Done) };
        let next = match reader.next_block()? {
            Some(Block::Packet(r)) => {
                self.bytes.clear();
                self.bytes.extend_from_slice(r.data);
                Next::Packet {
                    ts_nanos: r.ts_nanos,
                    orig_len: r.orig_len,
                    link_type: r.link_type,
                    interface_id: r.interface_id,
                }
            }
            Some(Block::Secrets(text)) => {
                self.bytes.clear();
                self.bytes.extend_from_slice(text);
                Next::Secrets
            }
            None => Next::Done,
        };
        if matches!(next, Next::Done) {
            self.reader = None;
        }
        Ok(next)
    }
}
