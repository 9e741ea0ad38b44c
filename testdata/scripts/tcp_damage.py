#!/usr/bin/env python3
"""Damages real captures the way networks and capture points do, for tests/tcp_analysis.rs:
packets dropped, repeated soon or late, swapped, ACKs repeated (then the segment they ask for
resent: a fast retransmission), keep-alives, zero windows and stalls. Writes
testdata/tcp-analysis/NAME-damaged-SEED.pcap; tcp_analysis_refs.py then records tshark's view.
Deterministic (seeded). usage: python3 testdata/scripts/tcp_damage.py   (from the repository's top)"""
import random
import struct

SOURCES = [
    "python-concurrent.pcap", "node-deflate.pcap", "python-ipv6.pcap",
    "python-deflate-context.pcap", "python-any-sll2.pcap", "tls-node-h2.pcap", "aiohttp-deflate.pcap",
    "java-client.pcap", "wss-chromium.pcap",
]
SEEDS = [1, 2, 3]
LINK_HEADER = {1: 14, 113: 16, 276: 20, 0: 4, 101: 0}


def read_pcap(path):
    data = open(path, "rb").read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    link = struct.unpack(endian + "I", data[20:24])[0]
    packets, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        packets.append([sec * 1_000_000_000 + frac * (1 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1000),
                        bytearray(data[off + 16:off + 16 + incl]), orig])
        off += 16 + incl
    return link, packets


def write_pcap(path, link, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, link))
        for ts, data, orig in packets:
            f.write(struct.pack("<IIII", ts // 1_000_000_000, ts % 1_000_000_000, len(data), orig))
            f.write(data)


def tcp_offset(link, data):
    """Where the TCP header starts, and the payload length, or None."""
    off = LINK_HEADER[link]
    if link == 1:
        while data[off - 2:off] in (b"\x81\x00", b"\x88\xa8"):
            off += 4
    version = data[off] >> 4
    if version == 4:
        if data[off + 9] != 6:
            return None
        ihl = (data[off] & 15) * 4
        total = struct.unpack(">H", data[off + 2:off + 4])[0]
        tcp = off + ihl
        return tcp, total - ihl - (data[tcp + 12] >> 4) * 4
    if version == 6 and data[off + 6] == 6:
        plen = struct.unpack(">H", data[off + 4:off + 6])[0]
        tcp = off + 40
        return tcp, plen - (data[tcp + 12] >> 4) * 4
    return None


def fields(link, pkt):
    at = tcp_offset(link, pkt[1])
    if at is None:
        return None
    tcp, length = at
    d = pkt[1]
    seq, ack = struct.unpack(">II", d[tcp + 4:tcp + 12])
    ports = d[tcp:tcp + 4]
    return dict(tcp=tcp, len=length, seq=seq, ack=ack, flags=d[tcp + 13], ports=ports)


def damage(link, packets, seed):
    rng = random.Random(seed)
    out = []
    shift = 0
    late = []  # (index in the output after which, packet)
    for i, (ts, data, orig) in enumerate(packets):
        pkt = [ts + shift, bytearray(data), orig]
        f = fields(link, pkt)
        r = rng.random()
        if f is None:
            out.append(pkt)
            continue
        pure_ack = f["len"] == 0 and f["flags"] & 0x17 == 0x10
        if r < 0.07 and i > 3:
            pass  # dropped
        elif r < 0.13:
            out.append(pkt)
            # Repeated after 1-4 more packets: soon (within a round trip) or after a stall.
            late.append((len(out) + rng.randint(1, 4), pkt, rng.choice([1_000, 5_000_000])))
        elif r < 0.17 and i + 1 < len(packets):
            nxt = packets[i + 1]
            out.append([pkt[0], bytearray(nxt[1]), nxt[2]])
            packets[i + 1] = [nxt[0], pkt[1], pkt[2]]
        elif r < 0.22 and pure_ack:
            out.append(pkt)
            for k in range(rng.randint(2, 3)):
                out.append([pkt[0] + 1_000 * (k + 1), bytearray(pkt[1]), pkt[2]])
            # The segment those ACKs ask for, resent.
            for other in packets:
                g = fields(link, other)
                if g and g["len"] > 0 and g["seq"] == f["ack"] and g["ports"] == f["ports"][2:] + f["ports"][:2]:
                    out.append([pkt[0] + 5_000, bytearray(other[1]), other[2]])
                    break
        elif r < 0.25 and pure_ack:
            out.append(pkt)
            keep_alive = bytearray(pkt[1])
            struct.pack_into(">I", keep_alive, f["tcp"] + 4, (f["seq"] - 1) & 0xFFFFFFFF)
            out.append([pkt[0] + 2_000, keep_alive, pkt[2]])
        elif r < 0.27 and pure_ack:
            struct.pack_into(">H", pkt[1], f["tcp"] + 14, 0)
            out.append(pkt)
        elif r < 0.29:
            shift += 50_000_000
            pkt[0] += 50_000_000
            out.append(pkt)
        else:
            out.append(pkt)
        while late and late[0][0] <= len(out):
            _, copy, delay = late.pop(0)
            out.append([out[-1][0] + delay, bytearray(copy[1]), copy[2]])
            late.sort(key=lambda x: x[0])
    # Times never go back.
    for a, b in zip(out, out[1:]):
        b[0] = max(b[0], a[0])
    return out


for name in SOURCES:
    link, packets = read_pcap(f"testdata/real/{name}")
    for seed in SEEDS:
        stem = name.rsplit(".", 1)[0]
        write_pcap(f"testdata/tcp-analysis/{stem}-damaged-{seed}.pcap", link, damage(link, [list(p) for p in packets], seed))
