#!/usr/bin/env python3
"""`openssl s_client` as a WebSocket client of a Python `websockets` wss:// server, for what
Python's and node's TLS clients cannot be asked to do: TLS 1.3 KeyUpdate and session resumption.

usage: openssl_peer.py SCENARIO HOST PORT TRUTH.jsonl KEYLOG CERTDIR

The client's bytes (the upgrade request, masked frames) are written to s_client's standard input
one piece at a time; between pieces s_client also takes its own commands: a line "k" sends a
KeyUpdate, "K" sends one that asks the server for one too (update_requested). Scenarios:
  keyupdate      TLS 1.3: messages, k, messages, K, messages, K, messages, close
  resume-tls12   TLS 1.2: two connections, the second resuming the first one's session
  resume-tls13   TLS 1.3: the same with a PSK from the first connection's session ticket
Every message either side sends goes to TRUTH.jsonl in python_peer.py's format.
"""
import asyncio, base64, os, ssl, sys, tempfile

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from truth import Truth

SCENARIO, HOST, PORT, TRUTH, KEYLOG, CERTDIR = sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:7]
record = Truth(TRUTH).record


def masked_frame(opcode, payload, key):
    """One client frame, FIN set, masked with `key` (4 bytes)."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def client(conn, version, session_file, resume, steps):
    """Runs s_client through `steps`: ("text", str), ("cmd", "k"|"K")."""
    args = ["openssl", "s_client", "-connect", f"{HOST}:{PORT}", "-servername", "wss.wsdissect.test",
            "-keylogfile", KEYLOG, f"-tls{version.replace('.', '_')}"]
    args += ["-sess_in" if resume else "-sess_out", session_file]
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    await asyncio.sleep(0.5)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /openssl HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")

    async def send(data):
        proc.stdin.write(data)
        await proc.stdin.drain()
        await asyncio.sleep(0.3)

    await send(request.encode())
    for i, (kind, value) in enumerate(steps):
        if kind == "cmd":
            await send(value.encode() + b"\n")
            continue
        await send(masked_frame(1, value.encode(), bytes([i, 0x5a, 0xa5, conn])))
        record(conn, "client-to-server", 1, value)
        record(conn, "server-to-client", 1, value)
    close = (1000).to_bytes(2, "big") + b"openssl done"
    await send(masked_frame(8, close, b"\x01\x02\x03\x04"))
    record(conn, "client-to-server", 8, close)
    proc.stdin.close()
    await asyncio.wait_for(proc.wait(), 10)


def texts(prefix, n):
    return [("text", f"{prefix} message {i}: " + "k" * (i * 40)) for i in range(n)]


async def main():
    version = "1.2" if SCENARIO == "resume-tls12" else "1.3"
    server_ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ssl.load_cert_chain(f"{CERTDIR}/cert.pem", f"{CERTDIR}/key.pem")
    pinned = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
    server_ssl.minimum_version = server_ssl.maximum_version = pinned
    async with serve(echo, HOST, PORT, ssl=server_ssl, compression=None, ping_interval=None):
        with tempfile.TemporaryDirectory() as tmp:
            session = os.path.join(tmp, "session.pem")
            if SCENARIO == "keyupdate":
                steps = texts("before", 2) + [("cmd", "k")] + texts("after k", 2) + [("cmd", "K")]
                steps += texts("after K", 2) + [("cmd", "K")] + texts("after second K", 2)
                await client(0, version, session, False, steps)
            elif SCENARIO.startswith("resume-"):
                await client(0, version, session, False, texts("first", 2))
                await client(1, version, session, True, texts("resumed", 2))
            else:
                sys.exit(f"unknown scenario {SCENARIO}")
        await asyncio.sleep(0.2)


asyncio.run(main())
