#!/usr/bin/env python3
"""Writes testdata/crafted/*: captures of what real peers won't do (reordering, overlaps, gaps,
mid-stream starts, odd link types), built byte by byte, each with its expected frames.

usage: craft.py OUTDIR

Beside each CAPTURE it writes CAPTURE.expected.tsv: the frames wsdissect must report, derived
from a model of which stream bytes each packet carries (not from wsdissect): a frame is reported
at the first packet, in file order, that carries its last carried byte; it is cut when some of
its bytes are carried by no packet; a frame whose header is not fully carried is not reported.
Columns: the 15 of tshark_tsv.py, then "cut" (1/0).
"""
import os, struct, sys, zlib

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)


def ws_frame(opcode, payload, fin=True, key=None, rsv=0, len_form=None):
    """Encodes a frame. len_form forces the 7/16/64-bit length encoding."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    form = len_form or (7 if n < 126 else 16 if n <= 0xFFFF else 64)
    mask = 0x80 if key else 0
    if form == 7:
        head = bytes([b0, mask | n])
    elif form == 16:
        head = bytes([b0, mask | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mask | 127]) + struct.pack(">Q", n)
    body = payload
    if key:
        head += key
        body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + body


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_tcp(src, dst, sport, dport, seq, ack, flags, payload, total_len=None):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    length = total_len if total_len is not None else 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 1, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp + payload


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
ETH_IPV4 = b"\x02\0\0\0\0\x01" + b"\x02\0\0\0\0\x02" + b"\x08\x00"


class Conn:
    """One TCP connection; tracks each direction's stream and which packet carries what."""

    def __init__(self, cap, cport=40000, sport=8080, isn=(1000, 5000), client=(127, 0, 0, 1), server=(127, 0, 0, 2)):
        self.cap, self.ports, self.addrs = cap, (cport, sport), (client, server)
        self.isn = list(isn)
        self.next = [isn[0] + 1, isn[1] + 1]
        self.stream = [b"", b""]   # every byte each side sends, in order
        self.frames = [[], []]     # (offset, frame bytes, fields) per direction
        self.index = cap.new_stream()

    def handshake(self):
        self.cap.add(self, 0, self.isn[0], b"", SYN, seq_only=True)
        self.cap.add(self, 1, self.isn[1], b"", SYN | ACK, seq_only=True)
        self.cap.add(self, 0, self.isn[0] + 1, b"", ACK, seq_only=True)

    def send(self, d, data):
        """Appends bytes to direction d's stream; returns their stream offset."""
        off = len(self.stream[d])
        self.stream[d] += data
        return off

    def frame(self, d, opcode, payload, declared_len=None, **kw):
        """A frame; `declared_len` puts a 64-bit length in the header that the payload does
        not fill (the frame can only end cut)."""
        data = ws_frame(opcode, payload, **kw)
        if declared_len is not None:
            data = data[:2] + struct.pack(">Q", declared_len) + data[10:]
            kw["declared_len"] = declared_len
        off = self.send(d, data)
        self.frames[d].append((off, data, dict(opcode=opcode, payload=payload, **kw)))
        return off, len(data)

    def seg(self, d, start, end, flags=PSH | ACK, missing=0):
        """A packet carrying stream bytes [start, end) of direction d; `missing` more are
        announced by IP but cut off by the snaplen. Returns its packet number."""
        self.cap.add(self, d, self.isn[d] + 1 + start, self.stream[d][start:end], flags, missing=missing)
        return len(self.cap.packets)

    def send_frame(self, d, opcode, payload, **kw):
        """A frame in a segment of its own; returns the packet number."""
        return self.seg(d, *span(self.frame(d, opcode, payload, **kw)))

    def h2_data(self, d, h2_stream, opcode, payload, **kw):
        """A WebSocket frame in an HTTP/2 DATA frame of its own (RFC 8441); returns the stream
        range of the DATA frame."""
        data = ws_frame(opcode, payload, **kw)
        start = self.send(d, h2_frame(0, 0, h2_stream, data)[:9])
        off = self.send(d, data)
        self.frames[d].append((off, data, dict(opcode=opcode, payload=payload, **kw)))
        return start, off + len(data)

    def segments(self, d, start, end, size):
        for a in range(start, end, size):
            self.seg(d, a, min(a + size, end))

    def close(self):
        for d in (0, 1):
            self.cap.add(self, d, self.isn[d] + 1 + len(self.stream[d]), b"", FIN | ACK, seq_only=True)


class Capture:
    def __init__(self, name, link="eth"):
        self.name, self.link = name, link
        self.packets = []      # (ts, link-layer bytes, orig_len)
        self.carried = []      # (packet number, conn, direction, start, end)
        self.streams = 0
        self.conns = []

    def new_stream(self):
        self.streams += 1
        return self.streams - 1

    def add(self, conn, d, seq, payload, flags, seq_only=False, missing=0):
        src, dst = conn.addrs[d], conn.addrs[1 - d]
        sport, dport = conn.ports[d], conn.ports[1 - d]
        ack = conn.isn[1 - d] + 1 if flags & ACK else 0
        total = 40 + len(payload) + missing
        ip = ipv4_tcp(src, dst, sport, dport, seq, ack, flags, payload, total_len=total)
        number = len(self.packets) + 1
        self.packets.append((1_700_000_000 + number * 0.001, self.wrap(ip), len(self.wrap(b"")) + total))
        if not seq_only and payload:
            start = (seq - conn.isn[d] - 1) & 0xFFFFFFFF
            self.carried.append((number, conn, d, start, start + len(payload)))
        if conn not in self.conns:
            self.conns.append(conn)

    def wrap(self, ip):
        if self.link == "eth":
            return ETH_IPV4 + ip
        if self.link == "qinq":
            return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02" + b"\x88\xa8\x00\x64" + b"\x81\x00\x00\xc8" + b"\x08\x00" + ip
        if self.link in ("raw", "ipv4"):
            return ip
        if self.link == "null":
            return struct.pack("<I", 2) + ip
        raise ValueError(self.link)

    LINKTYPES = {"eth": 1, "qinq": 1, "raw": 101, "ipv4": 228, "null": 0}

    def write_pcap(self, big_endian=False, nanos=False, cut_last=0):
        e = ">" if big_endian else "<"
        magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
        out = struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 65535, self.LINKTYPES[self.link])
        for ts, data, orig in self.packets:
            sec = int(ts)
            frac = round((ts - sec) * (1e9 if nanos else 1e6))
            out += struct.pack(e + "IIII", sec, frac, len(data), orig) + data
        if cut_last:
            out = out[:-cut_last]
        with open(os.path.join(OUT, self.name), "wb") as f:
            f.write(out)
        self.write_expected()

    def write_pcapng(self, second_link_packets=(), simple_packets=()):
        """pcapng with interface 0 (Ethernet) and interface 1 (raw IP): the packets numbered in
        second_link_packets are stored on interface 1 without their Ethernet header, those in
        simple_packets as simple packet blocks (interface 0, no timestamp)."""
        def block(btype, body):
            body += b"\0" * (-len(body) % 4)
            n = 12 + len(body)
            return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
        out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
        out += block(1, struct.pack("<HHI", 1, 0, 65535))
        out += block(1, struct.pack("<HHI", 101, 0, 65535))
        for i, (ts, data, orig) in enumerate(self.packets):
            number = i + 1
            iface = 1 if number in second_link_packets else 0
            if iface == 1:
                data = data[len(ETH_IPV4):]
                orig -= len(ETH_IPV4)
            if number in simple_packets:
                out += block(3, struct.pack("<I", orig) + data)
                continue
            ticks = round(ts * 1e6)
            out += block(6, struct.pack("<IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, len(data), orig) + data)
        with open(os.path.join(OUT, self.name), "wb") as f:
            f.write(out)
        self.write_expected()

    def write_expected(self, packets_kept=None):
        rows = []
        for conn in self.conns:
            for d in (0, 1):
                carriers = [(n, a, b) for n, c, dd, a, b in self.carried if c is conn and dd == d]
                if packets_kept is not None:
                    carriers = [x for x in carriers if x[0] <= packets_kept]

                def first_carrier(byte):
                    found = [n for n, a, b in carriers if a <= byte < b]
                    return min(found) if found else None

                message = None  # [opcode, payload so far, whole so far] of a fragmented message
                for off, data, f in conn.frames[d]:
                    header_len = len(data) - len(f["payload"])
                    if any(first_carrier(off + i) is None for i in range(header_len)):
                        continue
                    carried = [off + i for i in range(len(data)) if first_carrier(off + i) is not None]
                    cut = len(carried) < len(data) or f.get("declared_len", len(f["payload"])) > len(f["payload"])
                    number = first_carrier(carried[-1])
                    # The frame that ends a fragmented text message shows the whole text.
                    joined = None
                    fin, opcode = f.get("fin", True), f["opcode"]
                    if opcode in (1, 2) and not fin:
                        message = [opcode, f["payload"], not cut]
                    elif opcode == 0 and message:
                        message[1] += f["payload"]
                        message[2] &= not cut
                        if fin:
                            if message[0] == 1 and message[2]:
                                joined = message[1]
                            message = None
                    rows.append((number, frame_row(f, data, conn.index, cut, joined)))
        rows.sort(key=lambda r: r[0])
        with open(os.path.join(OUT, self.name + ".expected.tsv"), "w") as out:
            out.write("# expected frames, written by craft.py from its model of the capture\n")
            out.write("# frame.number\t...tshark_tsv.py columns...\tcut\n")
            for number, row in rows:
                out.write(f"{number}\t" + "\t".join(row) + "\n")


def frame_row(f, data, stream, cut, joined=None):
    """A reference row; `joined` is the text of the fragmented message the frame ends."""
    opcode, payload = f["opcode"], f["payload"]
    fin, rsv, key = f.get("fin", True), f.get("rsv", 0), f.get("key")
    len7 = data[1] & 0x7F
    ext16 = str(len(payload)) if len7 == 126 else ""
    ext64 = str(f.get("declared_len", len(payload))) if len7 == 127 else ""
    code = reason = text = ping = pong = ""
    if opcode == 8 and len(payload) >= 2:
        code = str(struct.unpack(">H", payload[:2])[0])
        reason = payload[2:].decode("utf-8", "replace")
    if opcode == 1 and fin and not cut:
        joined = payload
    if joined is not None:
        text = joined.decode("utf-8", "replace").replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    if opcode == 9:
        ping = payload.hex()
    if opcode == 10:
        pong = payload.hex()
    return [str(int(fin)), "0x%02x" % rsv, str(opcode), str(int(bool(key))), str(len7), ext16, ext64,
            key.hex() if key else "", code, reason, str(stream), text, ping, pong, str(int(cut))]


REQUEST = (b"GET /chat HTTP/1.1\r\nHost: 127.0.0.2:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
RESPONSE = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
K1, K2, K3 = b"\x11\x22\x33\x44", b"\xe1\x7e\x8e\xb9", b"\x01\x02\x03\x04"


RESPONSE_DEFLATE = RESPONSE[:-2] + b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
RESPONSE_WRONG_ACCEPT = RESPONSE.replace(b"xOo=", b"xOp=")


def h2_frame(kind, flags, stream, payload):
    """An HTTP/2 frame (RFC 9113 section 4.1)."""
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_CONNECT = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"), (":path", "/chat"),
              (":authority", "127.0.0.2:8080"), ("sec-websocket-version", "13")]


def h2_websocket(cap, enable_connect=True, request=H2_CONNECT):
    """An h2c connection (prior knowledge) whose client asks for a WebSocket on stream 1 with
    `request` and whose server answers 200; the server's SETTINGS enable extended CONNECT
    unless told not to. Headers are HPACK-encoded by Python's `hpack` (what `h2` uses)."""
    import hpack
    c = Conn(cap)
    c.handshake()
    settings = struct.pack(">HI", 8, 1) if enable_connect else b""
    c.seg(1, c.send(1, h2_frame(4, 0, 0, settings)), len(c.stream[1]))
    client = H2_PREFACE + h2_frame(4, 0, 0, b"") + h2_frame(1, 4, 1, hpack.Encoder().encode(request))
    c.seg(0, c.send(0, client), len(c.stream[0]))
    response = h2_frame(4, 1, 0, b"") + h2_frame(1, 4, 1, hpack.Encoder().encode([(":status", "200")]))
    c.seg(1, c.send(1, response), len(c.stream[1]))
    return c


def upgraded(cap, response=RESPONSE, **kw):
    """A connection with SYN and the upgrade; the request and response as one segment each."""
    c = Conn(cap, **kw)
    c.handshake()
    c.send(0, REQUEST)
    c.seg(0, 0, len(REQUEST))
    c.send(1, response)
    c.seg(1, 0, len(response))
    return c


def standard_frames(c):
    """Client text, server text, ping/pong, close both ways; returns the stream ranges."""
    spans = [c.frame(0, 1, b"hello from the client", key=K1),
             c.frame(1, 1, b"hello from the server"),
             c.frame(0, 9, b"ping!", key=K2),
             c.frame(1, 10, b"ping!"),
             c.frame(0, 2, bytes(range(200)), key=K3),
             c.frame(0, 8, struct.pack(">H", 1000) + b"bye now", key=K1),
             c.frame(1, 8, struct.pack(">H", 1000) + b"bye now")]
    return spans


def main():
    # reorder: the client's frames arrive in the wrong order (and the response after them).
    cap = Capture("reorder.pcap")
    c = upgraded(cap)
    a = c.frame(0, 1, b"first", key=K1)
    b = c.frame(0, 1, b"second", key=K2)
    t = c.frame(0, 1, b"third", key=K3)
    s = c.frame(1, 1, b"reply")
    c.seg(0, *span(t))
    c.seg(0, *span(b))
    c.seg(0, *span(a))
    c.seg(1, *span(s))
    c.close()
    cap.write_pcap()

    # retransmission: exact and partial retransmissions, delivered once.
    cap = Capture("retransmission.pcap")
    c = upgraded(cap)
    a = c.frame(0, 1, b"once only", key=K1)
    b = c.frame(0, 2, bytes(100), key=K2)
    c.seg(0, *span(a))
    c.seg(0, *span(a))
    c.seg(0, b[0], b[0] + 50)
    c.seg(0, b[0] + 20, b[0] + b[1])
    c.seg(0, b[0], b[0] + b[1])
    c.close()
    cap.write_pcap()

    # overlap: a later copy of bytes disagrees with the first; the first seen wins.
    cap = Capture("overlap.pcap")
    c = upgraded(cap)
    a = c.frame(1, 1, b"original text")
    b = c.frame(1, 1, b"after")
    c.seg(1, a[0] + 4, a[0] + a[1])                                   # early, buffered
    fake = bytearray(c.stream[1])
    fake[a[0] + 6:a[0] + 10] = b"XXXX"
    cap.add(c, 1, c.isn[1] + 1 + a[0] + 4, bytes(fake[a[0] + 4:a[0] + a[1]]), PSH | ACK, seq_only=True)
    c.seg(1, a[0], a[0] + 4)
    c.seg(1, *span(b))
    c.close()
    cap.write_pcap()

    # gap: one segment inside a payload is lost (alignment kept), and another one that holds
    # a whole header is lost (the decoder resynchronises on the frame after it).
    cap = Capture("gap.pcap")
    c = upgraded(cap)
    a = c.frame(1, 2, bytes(range(256)) * 4)
    b = c.frame(1, 1, b"after the first gap")
    lost = c.frame(1, 1, b"this frame is lost whole")
    d = c.frame(1, 1, b"found again")
    e = c.frame(1, 1, b"and the one after")
    c.seg(1, a[0], a[0] + 300)
    c.seg(1, a[0] + 600, a[0] + a[1])                                # 300..600 lost
    c.seg(1, *span(b))
    c.seg(1, d[0], e[0] + e[1])                                      # `lost` never sent
    c.close()
    cap.write_pcap()

    # midstream: no SYN, no handshake; the capture starts inside a frame. Needs Decode As.
    cap = Capture("midstream.pcap")
    c = Conn(cap, cport=40001, sport=9000)
    head = c.frame(1, 2, bytes(500))
    f1 = c.frame(1, 1, b"first whole frame")
    f2 = c.frame(0, 1, b"client speaks", key=K1)
    f3 = c.frame(1, 1, b"second whole frame")
    c.seg(1, head[0] + 320, f1[0] + f1[1])
    c.seg(0, *span(f2))
    c.seg(1, *span(f3))
    cap.write_pcap()
    with open(os.path.join(OUT, "midstream.pcap.decode-as"), "w") as fh:
        fh.write("tcp.port==9000,websocket\n")
    # The model can't know the decoder starts unaligned: the frame the capture starts inside
    # is never reported (its header was not captured), which the model already says.

    # many-segments: a 3000-byte frame over 1-byte then 100-byte segments, header split.
    cap = Capture("many-segments.pcap")
    c = upgraded(cap)
    big = c.frame(0, 2, bytes(i % 251 for i in range(3000)), key=K2)
    c.segments(0, big[0], big[0] + 10, 1)
    c.segments(0, big[0] + 10, big[0] + big[1], 100)
    tail = c.frame(1, 1, b"done")
    c.seg(1, *span(tail))
    c.close()
    cap.write_pcap()

    # coalesced-101: the 101 response and two frames in one segment; the request split in three.
    cap = Capture("coalesced-101.pcap")
    c = Conn(cap)
    c.handshake()
    c.send(0, REQUEST)
    c.seg(0, 0, 20)
    c.seg(0, 20, 70)
    c.seg(0, 70, len(REQUEST))
    c.send(1, RESPONSE)
    f1 = c.frame(1, 1, b"welcome")
    f2 = c.frame(1, 9, b"")
    c.seg(1, 0, f2[0] + f2[1])
    f3 = c.frame(0, 10, b"", key=K1)
    c.seg(0, *span(f3))
    c.close()
    cap.write_pcap()

    # link types: QinQ Ethernet, raw IP (101), IPv4 (228), BSD null (0).
    for name, link in [("vlan-qinq.pcap", "qinq"), ("raw-ip.pcap", "raw"), ("linktype-ipv4.pcap", "ipv4"),
                       ("null-loopback.pcap", "null")]:
        cap = Capture(name, link)
        c = upgraded(cap)
        for off, n in standard_frames(c):
            d = direction_of(c, off, n)
            c.seg(d, off, off + n)
        c.close()
        cap.write_pcap()

    # seq-wrap: both directions' sequence numbers cross 2^32 mid-frame.
    cap = Capture("seq-wrap.pcap")
    c = upgraded(cap, isn=(0xFFFFFF00, 0xFFFFFFA0))
    big = c.frame(0, 1, b"x" * 600, key=K1)
    c.segments(0, big[0], big[0] + big[1], 100)
    back = c.frame(1, 1, b"y" * 300)
    c.segments(1, back[0], back[0] + back[1], 64)
    c.close()
    cap.write_pcap()

    # port-reuse: a connection closes; a new SYN on the same ports is a new tcp.stream.
    cap = Capture("port-reuse.pcap")
    for i, isn in enumerate([(1000, 5000), (900000, 700000)]):
        c = upgraded(cap, isn=isn)
        f = c.frame(0, 1, b"connection %d" % i, key=K1)
        c.seg(0, *span(f))
        c.close()
    cap.write_pcap()

    # pcap variants: big-endian with nanosecond timestamps.
    cap = Capture("big-endian-nanos.pcap")
    c = upgraded(cap)
    for off, n in standard_frames(c):
        c.seg(direction_of(c, off, n), off, off + n)
    c.close()
    cap.write_pcap(big_endian=True, nanos=True)

    # pcapng with two interfaces of different link types (Ethernet, raw IP) and simple packet blocks.
    cap = Capture("two-interfaces.pcapng")
    c = upgraded(cap)
    for off, n in standard_frames(c):
        c.seg(direction_of(c, off, n), off, off + n)
    c.close()
    cap.write_pcapng(second_link_packets={5, 7, 9, 11}, simple_packets={6, 10})

    # snaplen: one packet's payload is cut by the snaplen inside a frame; the next frames are whole.
    cap = Capture("snaplen.pcap")
    c = upgraded(cap)
    a = c.frame(1, 2, bytes(400))
    b = c.frame(1, 1, b"next frame")
    c.seg(1, a[0], a[0] + 100, missing=a[1] - 100)
    c.seg(1, *span(b))
    c.close()
    cap.write_pcap()

    # truncated: the file ends inside the last record.
    cap = Capture("truncated.pcap")
    c = upgraded(cap)
    a = c.frame(0, 1, b"before the cut", key=K1)
    b = c.frame(1, 1, b"in the cut record")
    c.seg(0, *span(a))
    c.seg(1, *span(b))
    cap.write_pcap(cut_last=5)
    cap.write_expected(packets_kept=len(cap.packets) - 1)

    # tcp-oddities: a repeated SYN, a keep-alive (one stale byte), a zero-window probe (the
    # next byte alone, then again with the rest), a RST in the middle of a frame, and a
    # simultaneous open.
    cap = Capture("tcp-oddities.pcap")
    c = upgraded(cap)
    cap.add(c, 0, c.isn[0], b"", SYN, seq_only=True)
    a = c.frame(0, 1, b"after a repeated SYN", key=K1)
    c.seg(0, *span(a))
    cap.add(c, 0, c.isn[0] + len(c.stream[0]), b"\0", ACK, seq_only=True)
    b = c.frame(1, 1, b"after a keep-alive")
    c.seg(1, b[0], b[0] + 1)
    c.seg(1, *span(b))
    d = c.frame(1, 2, bytes(range(100)))
    c.seg(1, d[0], d[0] + 40)
    cap.add(c, 1, c.isn[1] + 1 + d[0] + 40, b"", RST | ACK, seq_only=True)
    e = c.frame(1, 1, b"never sent: the connection was reset")
    # A second connection opened simultaneously: both sides send a SYN, then SYN-ACKs.
    c2 = Conn(cap, cport=40002, sport=8081, isn=(70000, 90000))
    cap.add(c2, 0, c2.isn[0], b"", SYN, seq_only=True)
    cap.add(c2, 1, c2.isn[1], b"", SYN, seq_only=True)
    cap.add(c2, 0, c2.isn[0], b"", SYN | ACK, seq_only=True)
    cap.add(c2, 1, c2.isn[1], b"", SYN | ACK, seq_only=True)
    c2.send(0, REQUEST)
    c2.seg(0, 0, len(REQUEST))
    c2.send(1, RESPONSE)
    c2.seg(1, 0, len(RESPONSE))
    f = c2.frame(0, 1, b"after a simultaneous open", key=K2)
    c2.seg(0, *span(f))
    c2.close()
    cap.write_pcap()

    # fragments: a client text message in three fragments with a ping between them, a server
    # binary message in two fragments, and JSON text (for --text-as json).
    cap = Capture("fragments.pcap")
    c = upgraded(cap)
    for d, opcode, payload, kw in [
        (0, 1, b"Hello ", dict(fin=False, key=K1)),
        (0, 0, b"fragmented ", dict(fin=False, key=K2)),
        (0, 9, b"between", dict(key=K3)),
        (0, 0, b"world", dict(key=K1)),
        (1, 10, b"between", {}),
        (1, 2, bytes(range(40)), dict(fin=False)),
        (1, 0, bytes(range(40, 70)), {}),
        (1, 1, b'{"type":"ack","n":[1,2.50,true,null],"o":{"k":"v"},"e":[]}', {}),
    ]:
        c.send_frame(d, opcode, payload, **kw)
    c.close()
    cap.write_pcap()

    # h2c-upgrade: HTTP/1.1 `Upgrade: h2c`, then a WebSocket over HTTP/2 on stream 3 (RFC 8441)
    # beside the upgraded request's response on stream 1.
    import hpack
    cap = Capture("h2c-upgrade.pcap")
    c = Conn(cap)
    c.handshake()
    upgrade = (b"GET / HTTP/1.1\r\nHost: 127.0.0.2:8080\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: AAgAAAAB\r\n\r\n")
    c.seg(0, c.send(0, upgrade), len(c.stream[0]))
    switch = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    c.seg(1, c.send(1, switch + h2_frame(4, 0, 0, struct.pack(">HI", 8, 1))), len(c.stream[1]))
    server_hpack = hpack.Encoder()
    client = H2_PREFACE + h2_frame(4, 0, 0, b"") + h2_frame(4, 1, 0, b"") + h2_frame(1, 4, 3, hpack.Encoder().encode(H2_CONNECT))
    c.seg(0, c.send(0, client), len(c.stream[0]))
    response = (h2_frame(4, 1, 0, b"") + h2_frame(1, 4, 1, server_hpack.encode([(":status", "200")]))
                + h2_frame(0, 1, 1, b"the page that was asked for") + h2_frame(1, 4, 3, server_hpack.encode([(":status", "200")])))
    c.seg(1, c.send(1, response), len(c.stream[1]))
    c.seg(0, *c.h2_data(0, 3, 1, b"hello over h2c", key=K1))
    c.seg(1, *c.h2_data(1, 3, 1, b"hello back"))
    c.seg(0, *c.h2_data(0, 3, 8, struct.pack(">H", 1000), key=K2))
    c.seg(1, *c.h2_data(1, 3, 8, struct.pack(">H", 1000)))
    c.close()
    cap.write_pcap()

    violations()


def violations():
    """One capture per kind of protocol violation, each with CAPTURE.expert.tsv: the
    (packet, expert field) pairs wsdissect must report, and no others. Every frame is in a
    segment of its own; client frames are masked and server frames are not, except where that
    is the violation."""
    e = "websocket.expert."
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = bomb.compress(b"\0" * (17 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    assert bomb.endswith(b"\0\0\xff\xff")
    cases = {
        "rsv_not_negotiated": (RESPONSE, lambda c: [(c.send_frame(1, 1, b"rsv1", rsv=4), "rsv_not_negotiated")]),
        "rsv1_misplaced": (RESPONSE_DEFLATE, lambda c: [(c.send_frame(1, 9, b"", rsv=4), "rsv1_misplaced")]),
        "reserved_opcode": (RESPONSE, lambda c: [(c.send_frame(1, 3, b"three"), "reserved_opcode")]),
        "control_too_long": (RESPONSE, lambda c: [(c.send_frame(1, 9, bytes(126)), "control_too_long")]),
        "control_fragmented": (RESPONSE, lambda c: [(c.send_frame(1, 10, b"pong", fin=False), "control_fragmented")]),
        "orphan_continuation": (RESPONSE, lambda c: [(c.send_frame(1, 0, b"tail"), "orphan_continuation")]),
        "unfinished_message": (RESPONSE, lambda c: [
            c.send_frame(1, 1, b"never finished", fin=False) and None,
            (c.send_frame(1, 1, b"a new message"), "unfinished_message")][1:]),
        "unmasked_client_frame": (RESPONSE, lambda c: [(c.send_frame(0, 1, b"bare"), "unmasked_client_frame")]),
        "masked_server_frame": (RESPONSE, lambda c: [(c.send_frame(1, 1, b"masked", key=K1), "masked_server_frame")]),
        "non_minimal_length": (RESPONSE, lambda c: [(c.send_frame(1, 1, b"short", len_form=16), "non_minimal_length")]),
        "length_top_bit": (RESPONSE, lambda c: [
            (p, k) for p in [c.send_frame(1, 2, b"abcde", len_form=64, declared_len=(1 << 63) + 5)]
            for k in ("length_top_bit", "frame_cut")]),
        "invalid_utf8": (RESPONSE, lambda c: [(c.send_frame(1, 1, b"ab\xffcd"), "invalid_utf8")]),
        "invalid_close_reason": (RESPONSE, lambda c: [
            (c.send_frame(1, 8, struct.pack(">H", 1000) + b"\xff"), "invalid_close_reason")]),
        "close_body_too_short": (RESPONSE, lambda c: [(c.send_frame(1, 8, b"\x03"), "close_body_too_short")]),
        "invalid_close_code": (RESPONSE, lambda c: [
            (c.send_frame(1, 8, struct.pack(">H", 1005)), "invalid_close_code")]),
        "frame_after_close": (RESPONSE, lambda c: [
            c.send_frame(1, 8, struct.pack(">H", 1000)) and None,
            (c.send_frame(1, 1, b"too late"), "frame_after_close")][1:]),
        "wrong_accept": (RESPONSE_WRONG_ACCEPT, lambda c: [(len(c.cap.packets), "wrong_accept")]),
        "frame_cut": (RESPONSE, cut_frame),
        "message_incomplete": (RESPONSE, cut_fragment),
        # After the failure the next compressed message starts a fresh window and inflates.
        "decompression_failed": (RESPONSE_DEFLATE, lambda c: [
            (c.send_frame(1, 2, b"\xff\xff\xff\xff", rsv=4), "websocket.decompression.failed.expert"),
            c.send_frame(1, 2, deflate(b"inflates again" * 3), rsv=4) and None][:1]),
        # Run with --inflate-limit 65536 (the .flags file): 100 KB of text in about 2 KB.
        "inflate_limit": (RESPONSE_DEFLATE, lambda c: [(c.send_frame(1, 2, deflate(text_block(100_000)), rsv=4), "inflate_limit")]),
        "inflate_ratio": (RESPONSE_DEFLATE, lambda c: [(c.send_frame(1, 2, bomb[:-4], rsv=4), "inflate_ratio")]),
    }
    # RFC 8441: a CONNECT's item is reported on the response that opens the WebSocket; a breach
    # on the connection later (sent by `before`) on the stream's next frame, the client's.
    closed_then_data = lambda c: c.seg(1, c.send(1, h2_frame(0, 1, 1, b"") + h2_frame(0, 0, 1, b"late")), len(c.stream[1]))
    h2_cases = {
        "http2_connect_not_enabled": (dict(enable_connect=False), None, True),
        "http2_missing_pseudo_header": (dict(request=[h for h in H2_CONNECT if h[0] != ":authority"]), None, True),
        # An indexed field with index 0, which HPACK does not allow, on a new stream.
        "http2_hpack_error": ({}, lambda c: c.seg(0, c.send(0, h2_frame(1, 4, 3, b"\x80")), len(c.stream[0])), True),
        # The server ends its side of stream 1, then sends DATA on it (no answer after that).
        "http2_data_on_closed_stream": ({}, closed_then_data, False),
    }
    for kind, (options, before, answer) in h2_cases.items():
        cap = Capture(f"violation-{kind}.pcap")
        c = h2_websocket(cap, **options)
        if before:
            before(c)
        frame = c.seg(0, *c.h2_data(0, 1, 1, b"a clean frame after it", key=K2))
        at = frame if before else frame - 1
        expected = [(at, "http2.expert." + kind[len("http2_"):])]
        if answer:
            c.seg(1, *c.h2_data(1, 1, 1, b"and an answer"))
        c.close()
        cap.write_pcap()
        with open(os.path.join(OUT, cap.name + ".expert.tsv"), "w") as out:
            out.write("# packet\texpert field: exactly what wsdissect must report (written by craft.py)\n")
            for packet, field in expected:
                out.write(f"{packet}\t{field}\n")

    # A connection the capture joined late (no SYN, no handshake), found from its frames: the
    # first frame each way is marked, and a compressed message that refers to one sent before
    # the capture cannot be inflated; a later one that refers to nothing earlier is.
    cap = Capture("violation-heuristic.pcap")
    c = Conn(cap, cport=40002, sport=9001)
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    z.compress(b"sent before the capture began; " * 4)
    z.flush(zlib.Z_SYNC_FLUSH)
    refers_back = (z.compress(b"sent before the capture began; " * 2) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]
    first = c.send_frame(1, 2, refers_back, rsv=4)
    for word in (b"one", b"two", b"three", b"four"):
        c.send_frame(1, 1, word)
    client = c.send_frame(0, 1, b"a clean frame after it", key=K2)
    c.send_frame(1, 2, deflate(b"inflates from nothing " * 3), rsv=4)
    c.close()
    cap.write_pcap()
    with open(os.path.join(OUT, cap.name + ".expert.tsv"), "w") as out:
        out.write("# packet\texpert field: exactly what wsdissect must report (written by craft.py)\n")
        for packet, field in [(first, "heuristic"), (first, "history_before_capture"), (client, "heuristic")]:
            out.write(f"{packet}\t{e + field}\n")

    for kind, (response, build) in cases.items():
        cap = Capture(f"violation-{kind}.pcap")
        c = upgraded(cap, response=response)
        expected = build(c)
        c.send_frame(0, 1, b"a clean frame after it", key=K2)
        c.close()
        cap.write_pcap()
        if kind == "inflate_limit":
            with open(os.path.join(OUT, cap.name + ".flags"), "w") as out:
                out.write("--inflate-limit 65536\n")
        with open(os.path.join(OUT, cap.name + ".expert.tsv"), "w") as out:
            out.write("# packet\texpert field: exactly what wsdissect must report (written by craft.py)\n")
            for packet, field in expected:
                out.write(f"{packet}\t{field if field.startswith('websocket.') else e + field}\n")


def deflate(data):
    """A permessage-deflate payload: raw deflate, sync flush, without the 00 00 ff ff tail."""
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]


def text_block(n):
    """n bytes of text made of repeated words, which deflate squeezes about 50 times."""
    words = [b"alpha ", b"beta ", b"gamma ", b"delta ", b"epsilon ", b"zeta ", b"eta ", b"theta "]
    out = bytearray()
    i = 0
    while len(out) < n:
        out += words[(i * 7 + i // 8) % len(words)]
        i += 1
    return bytes(out[:n])


def cut_frame(c):
    """A frame with a hole in its payload."""
    a = c.frame(1, 2, bytes(300))
    c.seg(1, a[0], a[0] + 100)
    return [(c.seg(1, a[0] + 200, a[0] + a[1]), "frame_cut")]


def cut_fragment(c):
    """A message whose first fragment has a hole: that frame is cut, the message incomplete."""
    a = c.frame(1, 2, bytes(300), fin=False)
    c.seg(1, a[0], a[0] + 100)
    first = c.seg(1, a[0] + 200, a[0] + a[1])
    return [(first, "frame_cut"), (c.send_frame(1, 0, b"end"), "message_incomplete")]


def span(fr):
    off, n = fr
    return off, off + n


def direction_of(c, off, n):
    return 0 if any(o == off and len(data) == n for o, data, _ in c.frames[0]) else 1


main()
