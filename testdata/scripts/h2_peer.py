#!/usr/bin/env python3
"""WebSockets over HTTP/2 (RFC 8441) between Python `h2` + `wsproto` peers on loopback, for recording.

usage: h2_peer.py HOST PORT TRUTH.jsonl [KEYLOG CERTDIR]

Without KEYLOG: h2c with prior knowledge (the client starts with the connection preface). With
it: TLS 1.3 with ALPN h2, the client writing its secrets to KEYLOG (server certificate and key
from CERTDIR/cert.pem and key.pem).

One TCP connection carries, beside each other:
  stream 1   CONNECT :protocol websocket /deflate, permessage-deflate negotiated (context
             takeover), text and binary messages, closed 4001 with a reason;
  stream 3   CONNECT /plain without extensions: text, binary, 100 KB messages (many DATA
             frames, some padded), a fragmented message, a ping, closed 1000;
  stream 5   a plain GET, answered with a body;
  stream 7   CONNECT /refuse, answered 403 (the WebSocket is refused);
  stream 9   CONNECT /reset: one message, then the client resets the stream in the middle of a
             fragmented message (RST_STREAM CANCEL).
The server echoes every data message and answers pings and closes. Every message either side
sends is written to TRUTH.jsonl ({"conn": i, "h2_stream": id, "direction": ..., "opcode": n,
"text"|"hex": ...}; conn numbers the WebSocket streams, see truth.py); a message left unfinished
by a reset is recorded with "unfinished": true.
"""
import socket, ssl, sys, threading

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (ConnectionTerminated, DataReceived, RemoteSettingsChanged, RequestReceived, ResponseReceived,
                       StreamEnded, StreamReset, WindowUpdated)
from h2.settings import SettingCodes, Settings
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, Pong, TextMessage
from wsproto.extensions import PerMessageDeflate

from truth import Truth

HOST, PORT, TRUTH = sys.argv[1], int(sys.argv[2]), sys.argv[3]
KEYLOG, CERTDIR = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else (None, None)
truth = Truth(TRUTH)
lock = threading.Lock()
# conn number of each WebSocket stream, in the order the client opens them.
CONN = {1: 0, 3: 1, 9: 2}
WINDOW = 1 << 20


def record(stream_id, direction, event, unfinished=False):
    opcode = {TextMessage: 1, BytesMessage: 2, Ping: 9, Pong: 10}[type(event)]
    with lock:
        truth.record(CONN[stream_id], direction, opcode, event.data if opcode <= 2 else event.payload,
                     h2_stream=stream_id, unfinished=unfinished)


def record_close(stream_id, direction, code, reason):
    with lock:
        truth.record(CONN[stream_id], direction, 8, code.to_bytes(2, "big") + reason.encode(), h2_stream=stream_id)


class Peer:
    """One end: an h2 connection over a socket, WebSockets (wsproto) on some of its streams,
    sends queued per stream as flow control allows."""

    def __init__(self, sock, client):
        self.sock = sock
        self.h2 = H2Connection(H2Configuration(client_side=client, header_encoding="utf-8"))
        self.ws = {}
        self.queued = {}
        self.end_after = set()
        self.padding = 0

    def start(self, settings):
        """The preface and SETTINGS. Windows of 1 MiB: h2 withholds WINDOW_UPDATE for a window
        that reached 0 with less than 1 KiB consumed since, which can stall both ends."""
        settings[SettingCodes.INITIAL_WINDOW_SIZE] = WINDOW
        self.h2.local_settings = Settings(client=self.h2.config.client_side, initial_values=settings)
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(WINDOW - 65535)
        self.send()

    def send(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def queue(self, stream_id, data, end_stream=False):
        self.queued[stream_id] = self.queued.get(stream_id, b"") + data
        if end_stream:
            self.end_after.add(stream_id)
        self.flush()

    def flush(self):
        for stream_id in list(self.queued):
            data = self.queued[stream_id]
            while data:
                room = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size)
                if room <= 0:
                    break
                # Now and then a padded DATA frame (padding counts against flow control), as
                # some servers send.
                self.padding += 1
                pad = 7 if self.padding % 5 == 0 and 100 < len(data) <= room - 8 else None
                chunk, data = data[:room], data[room:]
                last = not data and stream_id in self.end_after
                self.h2.send_data(stream_id, chunk, end_stream=last, pad_length=pad)
            if data:
                self.queued[stream_id] = data
            else:
                del self.queued[stream_id]
                self.end_after.discard(stream_id)
        self.send()

    def send_ws(self, stream_id, event, end_stream=False):
        self.queue(stream_id, self.ws[stream_id].send(event), end_stream)

    def receive(self):
        data = self.sock.recv(65536)
        if not data:
            return None
        events = self.h2.receive_data(data)
        for e in events:
            if isinstance(e, DataReceived):
                self.h2.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            if isinstance(e, WindowUpdated):
                self.flush()
        self.send()
        return events


def server(listener, tls):
    sock, _ = listener.accept()
    if tls:
        sock = tls.wrap_socket(sock, server_side=True)
    peer = Peer(sock, client=False)
    peer.start({SettingCodes.ENABLE_CONNECT_PROTOCOL: 1})
    partial = {}
    while (events := peer.receive()) is not None:
        for e in events:
            if isinstance(e, RequestReceived):
                h = dict(e.headers)
                if h[":method"] == "GET":
                    peer.h2.send_headers(e.stream_id, [(":status", "200"), ("content-type", "text/plain")])
                    peer.queue(e.stream_id, b"a plain response beside the WebSockets\n" * 20, end_stream=True)
                elif h.get(":path") == "/refuse":
                    peer.h2.send_headers(e.stream_id, [(":status", "403")], end_stream=True)
                    peer.send()
                else:
                    extensions = []
                    response = [(":status", "200")]
                    offer = h.get("sec-websocket-extensions", "")
                    if offer.startswith("permessage-deflate"):
                        deflate = PerMessageDeflate()
                        accepted = deflate.accept(offer.partition(";")[2].strip())
                        response.append(("sec-websocket-extensions", f"permessage-deflate; {accepted}".rstrip("; ")))
                        extensions.append(deflate)
                    peer.ws[e.stream_id] = Connection(ConnectionType.SERVER, extensions)
                    peer.h2.send_headers(e.stream_id, response)
                    peer.send()
            elif isinstance(e, DataReceived) and e.data and e.stream_id in peer.ws:
                ws = peer.ws[e.stream_id]
                ws.receive_data(e.data)
                for m in ws.events():
                    if isinstance(m, Message):
                        # wsproto hands on each part as it arrives: echo whole messages.
                        partial.setdefault(e.stream_id, []).append(m.data)
                        if not m.message_finished:
                            continue
                        parts = partial.pop(e.stream_id)
                        echo = type(m)(data=("" if isinstance(m, TextMessage) else b"").join(parts))
                        record(e.stream_id, "server-to-client", echo)
                        peer.send_ws(e.stream_id, echo)
                    elif isinstance(m, Ping):
                        record(e.stream_id, "server-to-client", m.response())
                        peer.send_ws(e.stream_id, m.response())
                    elif isinstance(m, CloseConnection):
                        record_close(e.stream_id, "server-to-client", m.code, m.reason or "")
                        peer.send_ws(e.stream_id, m.response(), end_stream=True)
            elif isinstance(e, StreamReset):
                peer.ws.pop(e.stream_id, None)
            elif isinstance(e, ConnectionTerminated):
                if tls:
                    sock = sock.unwrap()
                sock.close()
                return
    sock.close()


def client(tls):
    sock = socket.create_connection((HOST, PORT))
    if tls:
        sock = tls.wrap_socket(sock, server_hostname="h2.wsdissect.test")
        assert sock.selected_alpn_protocol() == "h2"
    peer = Peer(sock, client=True)
    peer.start({})
    state = {"connect_enabled": False, "responses": {}, "echoes": {}, "ended": set()}

    def pump(done):
        while not done():
            for e in peer.receive():
                if isinstance(e, RemoteSettingsChanged) and SettingCodes.ENABLE_CONNECT_PROTOCOL in e.changed_settings:
                    state["connect_enabled"] = True
                elif isinstance(e, ResponseReceived):
                    state["responses"][e.stream_id] = dict(e.headers)
                elif isinstance(e, DataReceived) and e.data and e.stream_id in peer.ws:
                    ws = peer.ws[e.stream_id]
                    ws.receive_data(e.data)
                    for m in ws.events():
                        if isinstance(m, Message) and not m.message_finished:
                            continue
                        state["echoes"][e.stream_id] = state["echoes"].get(e.stream_id, 0) + 1
                        if isinstance(m, CloseConnection):
                            peer.h2.end_stream(e.stream_id)
                            peer.send()
                elif isinstance(e, StreamEnded):
                    state["ended"].add(e.stream_id)

    pump(lambda: state["connect_enabled"])

    def connect(stream_id, path, extensions=()):
        headers = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https" if tls else "http"),
                   (":path", path), (":authority", f"{HOST}:{PORT}"), ("sec-websocket-version", "13"),
                   ("origin", f"http://{HOST}:{PORT}"), ("user-agent", "h2_peer.py (python h2, wsproto)")]
        headers += [("sec-websocket-extensions", f"permessage-deflate; {d.offer()}") for d in extensions]
        peer.h2.send_headers(stream_id, headers)
        peer.send()

    deflate = PerMessageDeflate(client_max_window_bits=12, server_max_window_bits=11)
    connect(1, "/deflate", [deflate])
    connect(3, "/plain")
    peer.h2.send_headers(5, [(":method", "GET"), (":scheme", "https" if tls else "http"), (":path", "/index.txt"),
                             (":authority", f"{HOST}:{PORT}")], end_stream=True)
    connect(7, "/refuse")
    pump(lambda: all(s in state["responses"] for s in (1, 3, 5, 7)))
    assert state["responses"][7][":status"] == "403"
    accepted = state["responses"][1]["sec-websocket-extensions"]
    deflate.finalize(accepted.partition(";")[2].strip())
    peer.ws[1] = Connection(ConnectionType.CLIENT, [deflate])
    peer.ws[3] = Connection(ConnectionType.CLIENT)

    sent = {1: 0, 3: 0}

    def send(stream_id, event):
        record(stream_id, "client-to-server", event)
        peer.send_ws(stream_id, event)
        sent[stream_id] += 1

    # Interleaved on the two WebSocket streams; the compressed one repeats itself, so that
    # context takeover matters.
    for i in range(6):
        send(1, TextMessage(data=f"compressed message {i}: " + "the same words again and again " * (i + 1)))
        send(3, TextMessage(data=f"plain message {i}"))
    send(1, BytesMessage(data=bytes(range(256)) * 4))
    send(3, BytesMessage(data=bytes((i * 31) & 0xFF for i in range(1000))))
    send(3, TextMessage(data="x" * 100_000))
    send(3, BytesMessage(data=bytes(i & 0xFF for i in range(70_000))))
    ping = Ping(payload=b"h2 ping")
    record(3, "client-to-server", ping)
    peer.send_ws(3, ping)
    sent[3] += 1
    # A message in three fragments.
    parts = ["frag-one ", "frag-two ", "frag-three"]
    record(3, "client-to-server", TextMessage(data="".join(parts)))
    for n, part in enumerate(parts):
        peer.queue(3, peer.ws[3].send(TextMessage(data=part, message_finished=n == len(parts) - 1)))
    sent[3] += 1
    pump(lambda: all(state["echoes"].get(s, 0) >= sent[s] for s in sent))

    # A WebSocket reset in the middle of a message.
    connect(9, "/reset")
    pump(lambda: 9 in state["responses"])
    peer.ws[9] = Connection(ConnectionType.CLIENT)
    sent[9] = 0
    send(9, TextMessage(data="before the reset"))
    pump(lambda: state["echoes"].get(9, 0) >= 1)
    record(9, "client-to-server", TextMessage(data="cut by RST_STREAM"), unfinished=True)
    peer.queue(9, peer.ws[9].send(TextMessage(data="cut by RST_STREAM", message_finished=False)))
    peer.h2.reset_stream(9, error_code=8)  # CANCEL
    peer.send()

    record_close(3, "client-to-server", 1000, "bye")
    peer.send_ws(3, CloseConnection(code=1000, reason="bye"))
    record_close(1, "client-to-server", 4001, "custom reason")
    peer.send_ws(1, CloseConnection(code=4001, reason="custom reason"))
    pump(lambda: {1, 3} <= state["ended"])
    peer.h2.close_connection()
    peer.send()
    # The server closes on the GOAWAY (with TLS, after its close_notify); then the client, with
    # nothing unread (no reset).
    while sock.recv(65536):
        pass
    if tls:
        sock.unwrap()
    sock.close()


def contexts():
    if not KEYLOG:
        return None, None
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(f"{CERTDIR}/cert.pem", f"{CERTDIR}/key.pem")
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    client_ctx.keylog_filename = KEYLOG
    for ctx in (server_ctx, client_ctx):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.set_alpn_protocols(["h2"])
    return server_ctx, client_ctx


server_tls, client_tls = contexts()
listener = socket.create_server((HOST, PORT))
thread = threading.Thread(target=server, args=(listener, server_tls))
thread.start()
client(client_tls)
thread.join(timeout=10)
