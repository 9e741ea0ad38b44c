//! Link, IP and TCP decoding: from a captured record to a TCP segment.
//!
//! Link types handled: Ethernet with 802.1Q/QinQ tags (1), Linux cooked SLL (113) and SLL2
//! (276), raw IP (101, 12, 14 and the IPv4/IPv6 types 228/229), BSD null and loopback (0, 108).
//! IP and TCP are sliced by etherparse in its lax mode, so a packet cut by the snaplen still
//! yields the part of its payload that was captured, and how much is missing.
//!
//! ```
//! use wsdissect::net::{decode, Skip};
//! assert!(matches!(decode(147, &[0; 40]), Err(Skip::UnsupportedLink(147))));
//! ```

use std::net::IpAddr;

use etherparse::{EtherType, IpNumber, LaxIpSlice, LaxNetSlice, LaxSlicedPacket, TcpOptionElement, TcpSlice};

/// Link types (LINKTYPE_* values) this module understands.
pub mod link {
    /// BSD loopback, address family in host byte order.
    pub const NULL: u32 = 0;
    /// Ethernet II, with optional VLAN tags.
    pub const ETHERNET: u32 = 1;
    /// Raw IP as some BSDs number it.
    pub const RAW_BSD: u32 = 12;
    /// Raw IP, another historic number.
    pub const RAW_BSD_14: u32 = 14;
    /// Raw IP (version from the first nibble).
    pub const RAW: u32 = 101;
    /// OpenBSD loopback, address family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux cooked capture v1.
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux cooked capture v2 (`tcpdump -i any` on newer libpcap).
    pub const LINUX_SLL2: u32 = 276;
}

/// Why a record does not hold a TCP segment (counted and summarised, never an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A link type this tool does not decode.
    UnsupportedLink(u32),
    /// Not IPv4 or IPv6 (ARP, LLDP, ...).
    NotIp,
    /// IP, but not TCP (UDP, ICMP, IP in IP, ...).
    NotTcp,
    /// An IPv4 or IPv6 fragment (not reassembled).
    IpFragment,
    /// Headers that cannot be decoded (too short, bad lengths).
    Malformed,
}

/// TCP header flags this tool acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    /// SYN: the sender's initial sequence number.
    pub syn: bool,
    /// ACK: the acknowledgement number is valid.
    pub ack: bool,
    /// FIN: the sender's last byte.
    pub fin: bool,
    /// RST: the connection is aborted.
    pub rst: bool,
}

/// The link layer a packet came in, as `frame.protocols` and `-V` name it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II (`eth`).
    #[default]
    Ethernet,
    /// Linux cooked capture v1 (`sll`).
    Sll,
    /// Linux cooked capture v2 (`sll` too, in tshark's protocol list).
    Sll2,
    /// Raw IP (`raw`).
    Raw,
    /// BSD loopback (`null`).
    Null,
}

/// The header values below WebSocket that fields show (`eth.*`, `vlan.id`, `ip.*`, `ipv6.*`,
/// `tcp.*`), kept with each packet: a few dozen bytes, copied rather than referring back to
/// the capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Headers {
    /// The link layer.
    pub link: Link,
    /// Ethernet source and destination (`eth.src`, `eth.dst`).
    pub eth_src: [u8; 6],
    /// Ethernet destination.
    pub eth_dst: [u8; 6],
    /// The Ethernet (or cooked) EtherType after the addresses (`eth.type`: 0x8100 before a tag).
    pub eth_type: u16,
    /// The first 802.1Q tag's VLAN id (`vlan.id`).
    pub vlan_id: Option<u16>,
    /// IPv4 (false) or IPv6.
    pub ipv6: bool,
    /// `ip.len` (total length), or `ipv6.plen` (payload length).
    pub ip_len: u16,
    /// `ip.id`, or `ipv6.flow` (20 bits).
    pub ip_id_or_flow: u32,
    /// `ip.ttl`, or `ipv6.hlim`.
    pub ttl: u8,
    /// `ip.flags`: the three flag bits (0x02 is don't fragment); 0 for IPv6.
    pub ip_flags: u8,
    /// `ip.dsfield`, or `ipv6.tclass`.
    pub dsfield: u8,
    /// `ip.proto`, or `ipv6.nxt` (of the fixed header).
    pub proto: u8,
    /// `tcp.flags`: the twelve flag bits.
    pub tcp_flags: u16,
    /// `tcp.hdr_len`, bytes.
    pub tcp_hdr_len: u8,
    /// `tcp.window_size_value`.
    pub window: u16,
    /// `tcp.options.mss_val`.
    pub mss: Option<u16>,
    /// `tcp.options.wscale.shift`.
    pub wscale: Option<u8>,
    /// `tcp.options.sack_perm` is present.
    pub sack_perm: bool,
    /// `tcp.options.timestamp.tsval` and `.tsecr`.
    pub timestamps: Option<(u32, u32)>,
}

/// TCP flag bits in `tcp.flags`.
pub mod tcp_flag {
    /// FIN.
    pub const FIN: u16 = 0x001;
    /// SYN.
    pub const SYN: u16 = 0x002;
    /// RST.
    pub const RST: u16 = 0x004;
    /// PSH.
    pub const PSH: u16 = 0x008;
    /// ACK.
    pub const ACK: u16 = 0x010;
    /// URG.
    pub const URG: u16 = 0x020;
}

/// The parts of a TCP/IP packet the rest of the pipeline needs.
#[derive(Debug, Clone, Copy)]
pub struct TcpSegment<'a> {
    /// Source address (`ip.src` or `ipv6.src`).
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// `tcp.srcport`.
    pub src_port: u16,
    /// `tcp.dstport`.
    pub dst_port: u16,
    /// `tcp.seq` (raw, not relative).
    pub seq: u32,
    /// `tcp.ack` (raw).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// The captured payload bytes.
    pub payload: &'a [u8],
    /// Payload bytes the IP header announces but the capture does not hold (snaplen).
    pub missing: u32,
    /// The header values fields show.
    pub headers: Headers,
}

/// Decodes a record of the given link type down to TCP.
pub fn decode(link_type: u32, data: &[u8]) -> Result<TcpSegment<'_>, Skip> {
    decode_with::<false>(link_type, data)
}

/// [`decode`], also reading the header values fields show ([`TcpSegment::headers`]); a
/// tenth of a run's instructions more, so only when some output or filter reads them.
pub fn decode_with_headers(link_type: u32, data: &[u8]) -> Result<TcpSegment<'_>, Skip> {
    decode_with::<true>(link_type, data)
}

fn decode_with<const HEADERS: bool>(link_type: u32, data: &[u8]) -> Result<TcpSegment<'_>, Skip> {
    let mut headers = Headers::default();
    match link_type {
        _ if !HEADERS => {}
        link::ETHERNET if data.len() >= 14 => {
            headers.eth_dst.copy_from_slice(&data[..6]);
            headers.eth_src.copy_from_slice(&data[6..12]);
            headers.eth_type = u16::from_be_bytes([data[12], data[13]]);
            if matches!(headers.eth_type, 0x8100 | 0x88a8) && data.len() >= 16 {
                headers.vlan_id = Some(u16::from_be_bytes([data[14], data[15]]) & 0x0fff);
            }
        }
        link::LINUX_SLL => headers.link = Link::Sll,
        link::LINUX_SLL2 => headers.link = Link::Sll2,
        link::NULL | link::LOOP => headers.link = Link::Null,
        link::RAW | link::RAW_BSD | link::RAW_BSD_14 | link::IPV4 | link::IPV6 => headers.link = Link::Raw,
        _ => {}
    }
    let ip = match link_type {
        link::ETHERNET => match data.get(12..14) {
            // Untagged IP, nearly every packet: straight to the IP header.
            Some(&[a, b]) if matches!(EtherType(u16::from_be_bytes([a, b])), EtherType::IPV4 | EtherType::IPV6) => {
                ip_in_ether_type(&data[14..])?
            }
            // VLAN tags and the rest: etherparse's whole packet slicer.
            _ => ip_in(&LaxSlicedPacket::from_ethernet(data).map_err(|_| Skip::Malformed)?)?,
        },
        link::RAW | link::RAW_BSD | link::RAW_BSD_14 | link::IPV4 | link::IPV6 => ip_of(data)?,
        link::LINUX_SLL => {
            // 16-byte header; the protocol (an EtherType for IP) is its last two bytes.
            let proto = data.get(14..16).ok_or(Skip::Malformed)?;
            from_ether_type(u16::from_be_bytes([proto[0], proto[1]]), &data[16..])?
        }
        link::LINUX_SLL2 => {
            // 20-byte header starting with the protocol.
            if data.len() < 20 {
                return Err(Skip::Malformed);
            }
            from_ether_type(u16::from_be_bytes([data[0], data[1]]), &data[20..])?
        }
        link::NULL | link::LOOP => {
            let family = data.get(..4).ok_or(Skip::Malformed)?;
            let family = [family[0], family[1], family[2], family[3]];
            let family = if link_type == link::LOOP {
                u32::from_be_bytes(family)
            } else if u32::from_le_bytes(family) < 0x100 {
                // Host byte order of the capturing machine: small values are the family.
                u32::from_le_bytes(family)
            } else {
                u32::from_be_bytes(family)
            };
            match family {
                // AF_INET everywhere; AF_INET6 on the BSDs, macOS and Linux.
                2 | 24 | 28 | 30 | 10 => ip_of(&data[4..])?,
                _ => return Err(Skip::NotIp),
            }
        }
        other => return Err(Skip::UnsupportedLink(other)),
    };
    tcp_of::<HEADERS>(&ip, headers)
}

/// The IP packet of a raw IP record.
fn ip_of(data: &[u8]) -> Result<LaxIpSlice<'_>, Skip> {
    LaxIpSlice::from_slice(data).map(|(ip, _)| ip).map_err(|_| Skip::Malformed)
}

/// The IP packet after an IPv4 or IPv6 EtherType (one that does not decode is not IP, as for
/// etherparse's packet slicer).
fn ip_in_ether_type(data: &[u8]) -> Result<LaxIpSlice<'_>, Skip> {
    LaxIpSlice::from_slice(data).map(|(ip, _)| ip).map_err(|_| Skip::NotIp)
}

fn from_ether_type(ether_type: u16, data: &[u8]) -> Result<LaxIpSlice<'_>, Skip> {
    ip_in(&LaxSlicedPacket::from_ether_type(EtherType(ether_type), data))
}

/// The IP packet etherparse's packet slicer found.
fn ip_in<'a>(sliced: &LaxSlicedPacket<'a>) -> Result<LaxIpSlice<'a>, Skip> {
    match &sliced.net {
        Some(LaxNetSlice::Ipv4(ip)) => Ok(LaxIpSlice::Ipv4(ip.clone())),
        Some(LaxNetSlice::Ipv6(ip)) => Ok(LaxIpSlice::Ipv6(ip.clone())),
        Some(LaxNetSlice::Arp(_)) | None => Err(Skip::NotIp),
    }
}

fn tcp_of<'a, const HEADERS: bool>(ip: &LaxIpSlice<'a>, mut headers: Headers) -> Result<TcpSegment<'a>, Skip> {
    let (src, dst, payload) = match ip {
        LaxIpSlice::Ipv4(ip) => {
            let h = ip.header();
            if HEADERS {
                let b = h.slice();
                headers.ip_len = u16::from_be_bytes([b[2], b[3]]);
                headers.ip_id_or_flow = u32::from(u16::from_be_bytes([b[4], b[5]]));
                headers.ip_flags = b[6] >> 5;
                (headers.dsfield, headers.ttl, headers.proto) = (b[1], b[8], b[9]);
            }
            (IpAddr::from(h.source()), IpAddr::from(h.destination()), ip.payload())
        }
        LaxIpSlice::Ipv6(ip) => {
            let h = ip.header();
            if HEADERS {
                let b = h.slice();
                headers.ipv6 = true;
                headers.dsfield = (b[0] << 4) | (b[1] >> 4);
                headers.ip_id_or_flow = u32::from_be_bytes([0, b[1] & 0x0f, b[2], b[3]]);
                headers.ip_len = u16::from_be_bytes([b[4], b[5]]);
                (headers.proto, headers.ttl) = (b[6], b[7]);
            }
            (IpAddr::from(h.source_addr()), IpAddr::from(h.destination_addr()), ip.payload())
        }
    };
    if payload.fragmented {
        return Err(Skip::IpFragment);
    }
    if payload.ip_number != IpNumber::TCP {
        return Err(Skip::NotTcp);
    }
    let tcp = TcpSlice::from_slice(payload.payload).map_err(|_| Skip::Malformed)?;
    // What the IP header says the TCP segment holds, against what was captured.
    let announced = match ip {
        LaxIpSlice::Ipv4(ip) if payload.incomplete => {
            let h = ip.header();
            let auth = ip.extensions().auth.map_or(0, |a| a.slice().len());
            usize::from(h.total_len()).saturating_sub(h.slice().len() + auth)
        }
        LaxIpSlice::Ipv6(ip) if payload.incomplete => {
            usize::from(ip.header().payload_length()).saturating_sub(ip.extensions().slice().len())
        }
        _ => payload.payload.len(),
    };
    let header_len = tcp.header_len();
    if HEADERS {
        let raw = tcp.slice();
        headers.tcp_flags = u16::from_be_bytes([raw[12], raw[13]]) & 0x0fff;
        headers.tcp_hdr_len = u8::try_from(header_len).unwrap_or(u8::MAX);
        headers.window = tcp.window_size();
        for option in tcp.options_iterator().flatten() {
            match option {
                TcpOptionElement::MaximumSegmentSize(mss) => headers.mss = Some(mss),
                TcpOptionElement::WindowScale(shift) => headers.wscale = Some(shift),
                TcpOptionElement::SelectiveAcknowledgementPermitted => headers.sack_perm = true,
                TcpOptionElement::Timestamp(tsval, tsecr) => headers.timestamps = Some((tsval, tsecr)),
                _ => {}
            }
        }
    }
    let data = tcp.payload();
    let missing = announced.saturating_sub(header_len).saturating_sub(data.len());
    Ok(TcpSegment {
        src,
        dst,
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags { syn: tcp.syn(), ack: tcp.ack(), fin: tcp.fin(), rst: tcp.rst() },
        payload: data,
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_ipv4(payload: &[u8]) -> Vec<u8> {
        let builder = PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64).tcp(5000, 80, 1000, 65535).ack(7).psh();
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn test_link_types_reach_tcp() {
        let ip = tcp_ipv4(b"hello");
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x81, 0x00, 0, 5, 0x81, 0x00, 0, 6, 0x08, 0x00]); // QinQ-ish double tag
        eth.extend_from_slice(&ip);
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(&ip);
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&ip);
        let mut lo = 2u32.to_be_bytes().to_vec();
        lo.extend_from_slice(&ip);
        for (link, data) in [
            (link::ETHERNET, &eth),
            (link::LINUX_SLL, &sll),
            (link::LINUX_SLL2, &sll2),
            (link::RAW, &ip),
            (link::IPV4, &ip),
            (link::NULL, &null),
            (link::LOOP, &lo),
        ] {
            let seg = decode(link, data).unwrap_or_else(|e| panic!("link {link}: {e:?}"));
            assert_eq!(seg.payload, b"hello", "link {link}");
            assert_eq!((seg.src_port, seg.dst_port, seg.seq, seg.ack), (5000, 80, 1000, 7));
            assert_eq!(seg.missing, 0);
        }
    }

    #[test]
    fn test_header_values_only_when_asked() {
        let mut eth = vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0x00, 0x20, 5, 0x08, 0x00];
        eth.extend_from_slice(&tcp_ipv4(b"hello"));
        let h = decode_with_headers(link::ETHERNET, &eth).unwrap().headers;
        assert_eq!(
            (h.link, h.eth_dst, h.eth_src, h.eth_type, h.vlan_id),
            (Link::Ethernet, [1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], 0x8100, Some(5))
        );
        assert_eq!((h.ipv6, h.ip_len, h.ttl, h.proto, h.ip_flags & 0x2), (false, 20 + 20 + 5, 64, 6, 0x2));
        assert_eq!((h.tcp_flags, h.tcp_hdr_len, h.window), (tcp_flag::ACK | tcp_flag::PSH, 20, 65535));
        assert_eq!((h.mss, h.wscale, h.sack_perm, h.timestamps), (None, None, false, None));
        assert_eq!(decode(link::ETHERNET, &eth).unwrap().headers, Headers::default());
    }

    #[test]
    fn test_ipv6_with_extension_header_and_raw_link_numbers() {
        let mut ip6 = Vec::new();
        PacketBuilder::ipv6([0; 16], [1; 16], 64).tcp(5000, 80, 9, 0).write(&mut ip6, b"v6").unwrap();
        // Insert a hop-by-hop options header (8 bytes) after the fixed header.
        let mut with_ext = ip6[..40].to_vec();
        with_ext[6] = 0; // next header: hop-by-hop
        let payload_len = u16::from_be_bytes([ip6[4], ip6[5]]) + 8;
        with_ext[4..6].copy_from_slice(&payload_len.to_be_bytes());
        with_ext.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]); // next: TCP, PadN
        with_ext.extend_from_slice(&ip6[40..]);
        for (link, data) in [(link::IPV6, &ip6), (link::RAW_BSD, &ip6), (link::RAW, &with_ext)] {
            let seg = decode(link, data).unwrap_or_else(|e| panic!("link {link}: {e:?}"));
            assert_eq!((seg.payload, seg.missing), (&b"v6"[..], 0), "link {link}");
            assert!(seg.src.is_ipv6());
        }
        let mut lo6 = 30u32.to_be_bytes().to_vec();
        lo6.extend_from_slice(&ip6);
        assert_eq!(decode(link::LOOP, &lo6).unwrap().payload, b"v6");
    }

    #[test]
    fn test_snaplen_cut_reports_missing() {
        let ip = tcp_ipv4(&[7u8; 100]);
        let seg = decode(link::RAW, &ip[..ip.len() - 30]).unwrap();
        assert_eq!(seg.payload.len(), 70);
        assert_eq!(seg.missing, 30);
    }

    #[test]
    fn test_skips() {
        assert_eq!(decode(link::RAW, &[0x45]).unwrap_err(), Skip::Malformed);
        assert_eq!(decode(999, &[]).unwrap_err(), Skip::UnsupportedLink(999));
        let mut udp = Vec::new();
        PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 5).udp(1, 2).write(&mut udp, b"x").unwrap();
        assert_eq!(decode(link::RAW, &udp).unwrap_err(), Skip::NotTcp);
    }
}
