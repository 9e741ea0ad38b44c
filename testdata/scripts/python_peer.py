#!/usr/bin/env python3
"""A WebSocket server and client (Python `websockets`) talking over loopback, for recording.

usage: python_peer.py SCENARIO HOST PORT TRUTH.jsonl [TLS KEYLOG CERTDIR]

Both ends run in one process (but for SCENARIO `serve`: the echo server alone, until stopped). With TLS (wss://), the client writes its secrets to KEYLOG in the
NSS key log format and the server uses CERTDIR/cert.pem, key.pem and dh.pem. TLS is VERSION
(1.2 or 1.3), then optionally :CIPHERS (an OpenSSL TLS 1.2 cipher list) and :no-etm (turns
encrypt-then-MAC off, which OpenSSL otherwise uses for CBC suites) and :hello-retry (the server
takes only P-256 key shares, so the client's first X25519 share earns a HelloRetryRequest).
TLS 1.3 suites are chosen with OPENSSL_CONF (see record_wss.sh). Every message either side sends is written to TRUTH.jsonl as
{"conn": i, "direction": "client-to-server"|"server-to-client", "opcode": n, "text"|"hex": ...}
so tests can compare what wsdissect shows with what was really sent.
"""
import asyncio, ssl, sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory

from truth import Truth

SCENARIO, HOST, PORT, TRUTH = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
TLS = sys.argv[5:8] or None
record = Truth(TRUTH).record
# OpenSSL's SSL_OP_NO_ENCRYPT_THEN_MAC, which Python's ssl module does not name.
OP_NO_ENCRYPT_THEN_MAC = 1 << 19


def tls_contexts(spec, keylog, certdir):
    """(server, client) contexts for a TLS spec: VERSION[:CIPHERS][:no-etm][:hello-retry]."""
    version, *rest = spec.split(":")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(f"{certdir}/cert.pem", f"{certdir}/key.pem")
    server.load_dh_params(f"{certdir}/dh.pem")
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.keylog_filename = keylog
    pinned = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
    for ctx in (server, client):
        ctx.minimum_version = ctx.maximum_version = pinned
        ctx.set_alpn_protocols(["http/1.1"])
        for item in rest:
            if item == "no-etm":
                ctx.options |= OP_NO_ENCRYPT_THEN_MAC
            elif item == "hello-retry":
                if ctx is server:
                    ctx.set_ecdh_curve("prime256v1")
            else:
                ctx.set_ciphers(item)
    return server, client


def text_of(n, seed):
    """n bytes of printable text, different per seed."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 "
    return "".join(alphabet[(i * 7 + seed) % len(alphabet)] for i in range(n))


async def echo(ws):
    """The server: echoes data messages back; closes when the client does."""
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass  # a close code other than 1000 ends the loop with an exception


async def client_basic(conn, url, **tls):
    async with connect(url, compression=None, max_size=None, ping_interval=None, **tls) as ws:
        sizes = [0, 125, 126, 65535, 65536, 200000]
        for n in sizes:
            msg = text_of(n, n)
            await ws.send(msg)
            record(conn, "client-to-server", 1, msg)
            back = await ws.recv()
            record(conn, "server-to-client", 1, back)
        for n in sizes:
            msg = bytes((i * 31 + n) % 256 for i in range(n))
            await ws.send(msg)
            record(conn, "client-to-server", 2, msg)
            back = await ws.recv()
            record(conn, "server-to-client", 2, back)
        # A fragmented text message: websockets sends each item of an iterable as a fragment.
        parts = ["Hello ", "fragmented ", "world"]
        await ws.send(parts)
        record(conn, "client-to-server", 1, "".join(parts))
        back = await ws.recv()
        record(conn, "server-to-client", 1, back)
        pong = await ws.ping(b"are you there?")
        await pong
        record(conn, "client-to-server", 9, b"are you there?")
        record(conn, "server-to-client", 10, b"are you there?")
        await ws.close(code=4000, reason="bye now")
        record(conn, "client-to-server", 8, (4000).to_bytes(2, "big") + b"bye now")


async def client_small(conn, url, **tls):
    async with connect(url, compression=None, ping_interval=None, **tls) as ws:
        for i in range(5):
            msg = f"connection {conn} message {i}"
            await ws.send(msg)
            record(conn, "client-to-server", 1, msg)
            back = await ws.recv()
            record(conn, "server-to-client", 1, back)
            await asyncio.sleep(0.01)
        await ws.close()


# permessage-deflate scenarios: the parameters the server accepts (and the client offers).
# "context" keeps both windows across messages; "no-context" resets both; "windows" uses small
# windows (9 and 10 bits) so that references reach the window's edge; "asymmetric" resets only
# the server's window, the case tshark 4.0.17 reads the wrong way round.
DEFLATE = {
    "deflate-context": {},
    "deflate-no-context": {"server_no_context_takeover": True, "client_no_context_takeover": True},
    "deflate-windows": {"server_max_window_bits": 10, "client_max_window_bits": 9},
    "deflate-asymmetric": {"server_no_context_takeover": True},
}


def deflate_factories(params):
    client = ClientPerMessageDeflateFactory(
        server_no_context_takeover=params.get("server_no_context_takeover", False),
        client_no_context_takeover=params.get("client_no_context_takeover", False),
        server_max_window_bits=params.get("server_max_window_bits"),
        client_max_window_bits=params.get("client_max_window_bits", True),
    )
    server = ServerPerMessageDeflateFactory(**params)
    return [client], [server]


async def client_deflate(conn, url, extensions, **tls):
    """Messages whose compressed form depends on earlier ones (repeats across messages), long
    ones that fill small windows, binary ones, and fragmented compressed ones (RSV1 on the first
    fragment only), in both directions (the server echoes, compressing its own way)."""
    async with connect(url, extensions=extensions, compression=None, max_size=None, ping_interval=None, **tls) as ws:
        messages = [
            "Hello_deflate_" * 20,
            "Hello_deflate_" * 20 + " again",
            text_of(3000, 5),
            text_of(3000, 5)[::-1] + text_of(3000, 5),
            bytes((i * i) % 251 for i in range(5000)),
            "",
            ["first fragment, ", "second fragment, ", "Hello_deflate_" * 5],
            [b"\x00\x01binary fragment" * 10, b"\x02\x03" * 300],
            "\u00e9t\u00e9 \u2603 \U0001f600 " * 40,
            "Hello_deflate_" * 20,
        ]
        for msg in messages:
            await ws.send(msg)
            if isinstance(msg, list):
                msg = "".join(msg) if isinstance(msg[0], str) else b"".join(msg)
            opcode = 1 if isinstance(msg, str) else 2
            record(conn, "client-to-server", opcode, msg)
            back = await ws.recv()
            record(conn, "server-to-client", opcode, back)
        await ws.close(code=1000, reason="done")
        record(conn, "client-to-server", 8, (1000).to_bytes(2, "big") + b"done")


async def client_sizes(conn, url, **tls):
    """Text messages around the sizes where TLS records, CBC blocks and WebSocket lengths change
    shape (a frame split over several records, several frames in one record), then a ping."""
    async with connect(url, compression=None, max_size=None, ping_interval=None, **tls) as ws:
        for n in [0, 1, 15, 16, 17, 125, 126, 1000, 16384, 20000]:
            msg = text_of(n, n + conn)
            await ws.send(msg)
            record(conn, "client-to-server", 1, msg)
            back = await ws.recv()
            record(conn, "server-to-client", 1, back)
        pong = await ws.ping(b"tls ping")
        await pong
        record(conn, "client-to-server", 9, b"tls ping")
        record(conn, "server-to-client", 10, b"tls ping")
        await ws.close(code=1000, reason="sizes done")
        record(conn, "client-to-server", 8, (1000).to_bytes(2, "big") + b"sizes done")


async def main():
    client_ext, server_ext = deflate_factories(DEFLATE.get(SCENARIO, {}))
    server_kwargs = {"extensions": server_ext} if SCENARIO in DEFLATE else {}
    client_kwargs = {}
    scheme = "ws"
    if TLS:
        server_ssl, client_ssl = tls_contexts(*TLS)
        server_kwargs["ssl"] = server_ssl
        # A name for the SNI extension (the certificate is not checked).
        client_kwargs = {"ssl": client_ssl, "server_hostname": "wss.wsdissect.test"}
        scheme = "wss"
    async with serve(echo, HOST, PORT, compression=None, max_size=None, ping_interval=None, **server_kwargs):
        host = f"[{HOST}]" if ":" in HOST else HOST
        url = f"{scheme}://{host}:{PORT}/test"
        if SCENARIO == "basic":
            await client_basic(0, url, **client_kwargs)
        elif SCENARIO == "concurrent":
            await asyncio.gather(*(client_small(i, url, **client_kwargs) for i in range(4)))
        elif SCENARIO == "small":
            await client_small(0, url, **client_kwargs)
        elif SCENARIO == "sizes":
            await client_sizes(0, url, **client_kwargs)
        elif SCENARIO in DEFLATE:
            await client_deflate(0, url, client_ext, **client_kwargs)
        elif SCENARIO == "serve":
            # The echo server alone, for a client of another kind (record.sh stops it).
            await asyncio.Event().wait()
        else:
            sys.exit(f"unknown scenario {SCENARIO}")
        await asyncio.sleep(0.2)


asyncio.run(main())
