#!/usr/bin/env python3
"""Damaged wss captures, made from a real one (testdata/real/wss-python-tls13-aes128.pcap), for
what real peers do not do: a record altered in flight, a capture that starts after the TLS
handshake, a TCP gap in the middle of the TLS stream; and the pcapng with secrets injected
(wss-secrets-injected.pcapng) with its Decryption Secrets Block moved to the end of the file.

usage: tls_damage.py        (writes into testdata/crafted/)

Each capture gets the source's key log beside it (CAPTURE.keys) and CAPTURE.expected.tsv: the
frames tshark shows for the undamaged source (its .tshark.tsv), less those the damage takes,
with a `cut` column as craft.py writes it.
"""
import os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = os.path.join(HERE, "..", "real")
OUT = os.path.join(HERE, "..", "crafted")
SOURCE = "wss-python-tls13-aes128.pcap"


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    header, records, at = data[:24], [], 24
    while at < len(data):
        incl = struct.unpack("<I", data[at + 8:at + 12])[0]
        records.append(bytearray(data[at:at + 16 + incl]))
        at += 16 + incl
    return header, records


def write_pcap(name, header, records):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(header)
        for r in records:
            f.write(r)


def tcp_payload_at(record):
    """Offset of the TCP payload inside a record (Ethernet, IPv4, TCP)."""
    ip = 16 + 14
    ihl = (record[ip] & 0x0F) * 4
    tcp = ip + ihl
    return tcp + (record[tcp + 12] >> 4) * 4


def expected(name, drop_packets=(), removed=None, shift=0):
    """The source's frames (tshark's view), without those in `drop_packets`; packets after a
    `removed` one move up by one, and every packet by `shift` (the first packets cut away)."""
    rows = []
    with open(os.path.join(REAL, SOURCE + ".tshark.tsv")) as f:
        for line in f:
            if line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            number = int(cols[0])
            if number in drop_packets:
                continue
            if removed is not None and number > removed:
                cols[0] = str(number - 1)
            cols[0] = str(int(cols[0]) - shift)
            rows.append(cols[:15] + ["0"])
    with open(os.path.join(OUT, name + ".expected.tsv"), "w") as out:
        out.write(f"# expected frames: tshark's view of {SOURCE}, less what the damage takes (tls_damage.py)\n")
        out.write("# frame.number\t...tshark_tsv.py columns...\tcut\n")
        for cols in rows:
            out.write("\t".join(cols) + "\n")


def keys(name):
    with open(os.path.join(REAL, SOURCE + ".keys"), "rb") as src, open(os.path.join(OUT, name + ".keys"), "wb") as dst:
        dst.write(src.read())


def main():
    header, records = read_pcap(os.path.join(REAL, SOURCE))

    # One byte of the server's record in packet 17 (a 1-byte text frame) flipped: that record
    # fails its tag; the server's next frame (packet 19) says records were lost before it.
    name = "violation-tls_records_lost.pcap"
    damaged = [bytearray(r) for r in records]
    damaged[16][-1] ^= 0x01
    write_pcap(name, header, damaged)
    keys(name)
    expected(name, drop_packets={17})
    with open(os.path.join(OUT, name + ".expert.tsv"), "w") as out:
        out.write("# packet\texpert field: exactly what wsdissect must report (written by tls_damage.py)\n")
        out.write("19\ttls.expert.records_lost\n")

    # The capture starts after the handshake (at the first WebSocket frame, packet 14): there
    # is no ClientHello to find the keys by, but each direction's TLS 1.3 traffic secret in the
    # key log opens its records, and the frames show WebSocket (every frame is still there).
    name = "wss-after-handshake.pcap"
    write_pcap(name, header, records[13:])
    keys(name)
    expected(name, shift=13)

    # Packet 25 (the server's 125-byte echo) missing: the server's direction has a hole; what
    # follows it is found again (the client's frames are untouched).
    name = "wss-gap.pcap"
    write_pcap(name, header, records[:24] + records[25:])
    keys(name)
    expected(name, drop_packets={25}, removed=25)


def secrets_at_end():
    """wss-secrets-injected.pcapng with its Decryption Secrets Block after the last packet."""
    with open(os.path.join(REAL, "wss-secrets-injected.pcapng"), "rb") as f:
        data = f.read()
    blocks, at = [], 0
    while at < len(data):
        length = struct.unpack("<I", data[at + 4:at + 8])[0]
        blocks.append(data[at:at + length])
        at += length
    secrets = [b for b in blocks if struct.unpack("<I", b[:4])[0] == 0x0A]
    rest = [b for b in blocks if struct.unpack("<I", b[:4])[0] != 0x0A]
    assert len(secrets) == 1
    name = "wss-secrets-at-end.pcapng"
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(b"".join(rest + secrets))
    expected(name)


main()
secrets_at_end()
