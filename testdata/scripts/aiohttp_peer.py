#!/usr/bin/env python3
"""A WebSocket server and client from aiohttp (its own permessage-deflate, not `websockets`'),
talking over loopback, for recording.

usage: aiohttp_peer.py HOST PORT TRUTH.jsonl

Three connections, one after the other, each offering permessage-deflate with another window
(aiohttp uses the one it offers for both directions): 15, 10 and 9 bits, context kept. On each the client sends the same messages (text, multi-byte text, JSON, 20,000 bytes
of text that compress poorly, random binary, 30,000 zero bytes that compress to a few dozen)
and the server echoes them; every message either side sends is written to TRUTH.jsonl (see
truth.py).
"""
import asyncio, json, random, sys

from aiohttp import ClientSession, WSMsgType, web

from truth import Truth

HOST, PORT, TRUTH = sys.argv[1], int(sys.argv[2]), sys.argv[3]
record = Truth(TRUTH).record
# The window bits each connection offers (aiohttp's `compress`).
OFFERS = [15, 10, 9]


async def echo(request):
    ws = web.WebSocketResponse(compress=True, max_msg_size=0)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


def messages():
    rnd = random.Random(7)
    return [
        "hello from aiohttp",
        "é" * 300,
        json.dumps({"ids": list(range(400)), "ok": True}),
        "".join(rnd.choice('abcdef {}:,"0123456789') for _ in range(20000)),
        bytes(rnd.randrange(256) for _ in range(5000)),
        bytes(30000),
        "bye",
    ]


async def client(conn, url, compress):
    async with ClientSession() as session:
        async with session.ws_connect(url, compress=compress, max_msg_size=0) as ws:
            for message in messages():
                if isinstance(message, str):
                    await ws.send_str(message)
                    record(conn, "client-to-server", 1, message)
                else:
                    await ws.send_bytes(message)
                    record(conn, "client-to-server", 2, message)
                back = await ws.receive()
                record(conn, "server-to-client", 1 if back.type == WSMsgType.TEXT else 2, back.data)
            await ws.close()
            record(conn, "client-to-server", 8, (1000).to_bytes(2, "big"))


async def main():
    app = web.Application()
    app.router.add_get("/aiohttp", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, HOST, PORT).start()
    for conn, compress in enumerate(OFFERS):
        await client(conn, f"http://{HOST}:{PORT}/aiohttp", compress)
    await asyncio.sleep(0.2)
    await runner.cleanup()


asyncio.run(main())
