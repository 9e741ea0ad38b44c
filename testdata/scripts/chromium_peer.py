#!/usr/bin/env python3
"""Headless Chromium as the WebSocket client of a Python `websockets` wss:// server.

usage: chromium_peer.py HOST PORT TRUTH.jsonl KEYLOG CERTDIR

The server serves a page at / whose script opens wss://HOST:PORT/ws (Chromium offers
permessage-deflate, the server accepts it), sends the messages below one at a time as the echoes
come back, and closes. Chromium writes its TLS secrets to KEYLOG (--ssl-key-log-file). The page
and its favicon come over their own TLS connections, so the capture also holds TLS that is not
WebSocket. The server writes every message it receives and sends to TRUTH.jsonl in
python_peer.py's format.
"""
import asyncio, os, shutil, ssl, sys, tempfile
from http import HTTPStatus

from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

from truth import Truth

HOST, PORT, TRUTH, KEYLOG, CERTDIR = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
truth = Truth(TRUTH)
done = asyncio.Event()

PAGE = (open(f"{os.path.dirname(os.path.abspath(__file__))}/chromium_page.html").read()
        .replace("{GREETING}", "hello from chromium").replace("{WORD}", "chromium_deflate_"))


def record(direction, opcode, payload):
    truth.record(0, direction, opcode, payload)


async def echo(ws):
    try:
        async for message in ws:
            opcode = 1 if isinstance(message, str) else 2
            record("client-to-server", opcode, message)
            await ws.send(message)
            record("server-to-client", opcode, message)
    except ConnectionClosed:
        pass
    close = ws.protocol.close_rcvd
    if close is not None:
        record("client-to-server", 8, close.code.to_bytes(2, "big") + close.reason.encode())
    done.set()


def page(connection, request):
    """Plain HTTPS for everything but the WebSocket path."""
    if request.path == "/ws":
        return None
    body, status = (PAGE.encode(), HTTPStatus.OK) if request.path == "/" else (b"", HTTPStatus.NOT_FOUND)
    headers = Headers([("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body)


async def main():
    server_ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ssl.load_cert_chain(f"{CERTDIR}/cert.pem", f"{CERTDIR}/key.pem")
    server_ssl.set_alpn_protocols(["http/1.1"])
    async with serve(echo, HOST, PORT, ssl=server_ssl, process_request=page, ping_interval=None):
        profile = tempfile.mkdtemp()
        browser = await asyncio.create_subprocess_exec(
            shutil.which("chromium") or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--ignore-certificate-errors",
            f"--user-data-dir={profile}", f"--ssl-key-log-file={KEYLOG}", "--remote-debugging-port=0",
            f"https://{HOST}:{PORT}/",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            await asyncio.wait_for(done.wait(), 30)
            await asyncio.sleep(0.5)
        finally:
            browser.terminate()
            await browser.wait()
            shutil.rmtree(profile, ignore_errors=True)


asyncio.run(main())
