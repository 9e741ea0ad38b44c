//! Live capture on Linux (`-i`), with no libpcap: an `AF_PACKET` socket per interface, the
//! capture filter (`-f`) applied in user space, and the stop conditions (`-a duration:N`,
//! Ctrl-C or SIGTERM) checked at least every tenth of a second.
//!
//! An Ethernet or loopback interface gives Ethernet frames; `any` and other interfaces give
//! Linux cooked (SLL) headers, built from what the socket reports, as libpcap does. On a loopback
//! interface each packet is seen twice by the socket (sent and received): the sent copy is
//! dropped. Times are taken when the packet is read.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{AddressFamily, LinkAddr, SockFlag, SockProtocol, SockType, recvfrom, socket};

use super::filter::CaptureFilter;
use super::write::CaptureWriter;
use super::{Block, Record};
use crate::net::{self, link};

/// Why a live capture cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// Opening a packet socket needs CAP_NET_RAW.
    #[error(
        "cannot capture on {0}: permission denied: live capture needs the CAP_NET_RAW capability \
         (run as root, or give it to the binary: sudo setcap cap_net_raw+ep $(command -v wsdissect))"
    )]
    Permission(String),
    /// No interface by that name.
    #[error("cannot capture on {0}: no such interface (see ip link)")]
    NoInterface(String),
    /// Anything else the system refused.
    #[error("cannot capture on {0}: {1}")]
    Io(String, io::Error),
}

/// One interface's socket. Packet sockets see every interface's packets: those of others are
/// dropped by index.
struct Tap {
    fd: OwnedFd,
    /// The interface's index; `None` for `any`.
    index: Option<usize>,
    link_type: u32,
}

/// A capture from network interfaces, read as packets arrive.
pub struct LiveCapture {
    taps: Vec<Tap>,
    filter: Option<CaptureFilter>,
    deadline: Option<Instant>,
    max_packets: u64,
    /// Set by SIGINT (Ctrl-C) or SIGTERM.
    stop: Arc<AtomicBool>,
    /// Index of the loopback interface, whose sent copies are dropped.
    loopback: Option<usize>,
    packets: u64,
    /// The tap read first next time.
    next_tap: usize,
    buf: Vec<u8>,
    /// The bytes of the packet returned last, from `buf`.
    len: usize,
    /// Where every packet kept is written as it is read (`-w`).
    save: Option<CaptureWriter<BufWriter<File>>>,
}

/// Packets longer than this (loopback's 64 KiB segments with room to spare) are cut.
const SNAPLEN: usize = 256 * 1024;
/// An SLL header, as the link layer of cooked captures.
const SLL_LEN: usize = 16;
/// `PACKET_OUTGOING`: a packet this host sent.
const PACKET_OUTGOING: u8 = 4;

impl LiveCapture {
    /// Opens a socket for each interface (`any` for all of them). The capture ends after
    /// `duration`, after `packets` packets kept, at SIGINT (Ctrl-C) or SIGTERM.
    pub fn open(
        interfaces: &[String],
        filter: Option<CaptureFilter>,
        duration: Option<Duration>,
        packets: Option<u64>,
    ) -> Result<Self, LiveError> {
        let taps = interfaces.iter().map(|name| Tap::open(name)).collect::<Result<_, _>>()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        // Only one handler may be set in a process; a second capture keeps the first's.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
        Ok(LiveCapture {
            taps,
            filter,
            deadline: duration.map(|d| Instant::now() + d),
            max_packets: packets.unwrap_or(u64::MAX),
            stop,
            loopback: if_index("lo"),
            packets: 0,
            next_tap: 0,
            buf: vec![0; SLL_LEN + SNAPLEN],
            len: 0,
            save: None,
        })
    }

    /// Writes every packet kept to `file` (pcapng), as it is read.
    pub fn save_to(&mut self, file: File) {
        self.save = Some(CaptureWriter::new(BufWriter::new(file), true));
    }

    /// Completes the file packets are saved to, if any.
    pub fn finish_saving(&mut self) -> io::Result<()> {
        let link_type = self.taps.first().map_or(link::ETHERNET, |t| t.link_type);
        match self.save.take() {
            Some(save) => save.finish(link_type)?.flush(),
            None => Ok(()),
        }
    }

    /// Packets returned so far.
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// The next TCP packet the filter keeps; `None` once the capture is to end.
    pub fn next_block(&mut self) -> io::Result<Option<Block<'_>>> {
        loop {
            let now = Instant::now();
            let stopped = self.stop.load(Ordering::Relaxed) || self.packets >= self.max_packets;
            if stopped || self.deadline.is_some_and(|d| now >= d) {
                return Ok(None);
            }
            // What is queued is read without waiting, the taps in turn so that none starves.
            let taps = self.taps.len();
            for k in 0..taps {
                let i = (self.next_tap + k) % taps;
                if let Some((link_type, orig_len)) = self.receive(i)? {
                    self.next_tap = (i + 1) % taps;
                    return self.packet(link_type, orig_len).map(Some);
                }
            }
            // Nothing queued: wait until a tap has a packet, or the next check.
            let tick = Duration::from_millis(100);
            let wait = self.deadline.map_or(tick, |d| (d - now).min(tick));
            let mut fds: Vec<PollFd> = self.taps.iter().map(|t| PollFd::new(t.fd.as_fd(), PollFlags::POLLIN)).collect();
            match poll(&mut fds, PollTimeout::try_from(wait).unwrap_or(PollTimeout::ZERO)) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The packet just received into `buf`, numbered, timed and saved if asked.
    fn packet(&mut self, link_type: u32, orig_len: u32) -> io::Result<Block<'_>> {
        self.packets += 1;
        let ts = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let record = Record {
            number: self.packets,
            ts_nanos: i64::try_from(ts.as_nanos()).unwrap_or(i64::MAX),
            orig_len,
            link_type,
            data: &self.buf[..self.len],
            file: 0,
            // As tshark's own live capture, written as pcapng with one interface.
            interface_id: Some(0),
        };
        if let Some(save) = self.save.as_mut() {
            save.write(&record)?;
        }
        Ok(Block::Packet(record))
    }

    /// Reads one packet from tap `i` into `buf`: its link type and length, or `None` when it is
    /// dropped (another interface's, a loopback copy, not TCP, or not kept by the filter).
    fn receive(&mut self, i: usize) -> io::Result<Option<(u32, u32)>> {
        let tap = &self.taps[i];
        let cooked = tap.link_type == link::LINUX_SLL;
        let at = if cooked { SLL_LEN } else { 0 };
        let (n, from) = match recvfrom::<LinkAddr>(tap.fd.as_raw_fd(), &mut self.buf[at..]) {
            Ok(got) => got,
            Err(Errno::EAGAIN | Errno::EINTR) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(from) = from else { return Ok(None) };
        let elsewhere = tap.index.is_some_and(|index| index != from.ifindex());
        if elsewhere || (from.pkttype() == PACKET_OUTGOING && Some(from.ifindex()) == self.loopback) {
            return Ok(None);
        }
        if cooked {
            // SLL: packet type, ARPHRD type, address length, 8 address bytes, protocol.
            let mut address = [0u8; 8];
            address[..6].copy_from_slice(&from.addr().unwrap_or_default());
            let sll = &mut self.buf[..SLL_LEN];
            sll[0..2].copy_from_slice(&u16::from(from.pkttype()).to_be_bytes());
            sll[2..4].copy_from_slice(&from.hatype().to_be_bytes());
            sll[4..6].copy_from_slice(&(from.halen().min(8) as u16).to_be_bytes());
            sll[6..14].copy_from_slice(&address);
            sll[14..16].copy_from_slice(&from.protocol().to_ne_bytes());
        }
        self.len = at + n;
        let Ok(seg) = net::decode(tap.link_type, &self.buf[..self.len]) else { return Ok(None) };
        if self.filter.as_ref().is_some_and(|f| !f.matches(seg.src, seg.src_port, seg.dst, seg.dst_port)) {
            return Ok(None);
        }
        Ok(Some((tap.link_type, u32::try_from(self.len).unwrap_or(u32::MAX))))
    }
}

impl Tap {
    fn open(name: &str) -> Result<Tap, LiveError> {
        let (index, raw) = if name == "any" {
            (None, false)
        } else {
            let index = if_index(name).ok_or_else(|| LiveError::NoInterface(name.to_string()))?;
            // ARPHRD_ETHER (1) and ARPHRD_LOOPBACK (772) carry Ethernet headers; others are
            // read cooked.
            let hardware = std::fs::read_to_string(format!("/sys/class/net/{name}/type")).unwrap_or_default();
            (Some(index), matches!(hardware.trim(), "1" | "772"))
        };
        let kind = if raw { SockType::Raw } else { SockType::Datagram };
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let fd = socket(AddressFamily::Packet, kind, flags, SockProtocol::EthAll).map_err(|e| match e {
            Errno::EPERM | Errno::EACCES => LiveError::Permission(name.to_string()),
            e => LiveError::Io(name.to_string(), e.into()),
        })?;
        let link_type = if raw { link::ETHERNET } else { link::LINUX_SLL };
        Ok(Tap { fd, index, link_type })
    }
}

/// The index of an interface, by name.
fn if_index(name: &str) -> Option<usize> {
    nix::net::if_::if_nametoindex(name).ok().map(|i| i as usize)
}
