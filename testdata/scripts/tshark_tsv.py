#!/usr/bin/env python3
"""Writes tshark's per-frame view of a capture as TSV, one line per WebSocket frame.

usage: tshark_tsv.py CAPTURE [TSHARK_ARGS...] > CAPTURE.tshark.tsv

Same first 11 columns as ../shared/captures/*.tshark.tsv (so ws-conformance reads it), then
tcp.stream, websocket.payload.text, websocket.payload.ping and websocket.payload.pong.
tshark -T fields joins the values of all frames in a packet; -T json keeps them apart, so the
reference is built from JSON, one "websocket" layer per frame.
"""
import json, subprocess, sys

COLUMNS = ["frame.number", "websocket.fin", "websocket.rsv", "websocket.opcode", "websocket.mask",
           "websocket.payload_length", "websocket.payload_length_ext_16",
           "websocket.payload_length_ext_64", "websocket.masking_key",
           "websocket.payload.close.status_code", "websocket.payload.close.reason",
           "tcp.stream", "websocket.payload.text", "websocket.payload.ping", "websocket.payload.pong"]


def escape(s):
    """tshark -T fields escaping of strings."""
    return (s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
            .replace("\f", "\\f").replace("\b", "\\b"))


def main():
    cap, extra = sys.argv[1], sys.argv[2:]
    version = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    out = subprocess.run(["tshark", "-r", cap, "-Y", "websocket", "-T", "json", "--no-duplicate-keys", *extra],
                         capture_output=True, text=True, errors="replace").stdout
    print(f"# {version}, default preferences{' and ' + ' '.join(extra) if extra else ''}: one line per WebSocket frame")
    print("# " + "\t".join(COLUMNS))
    for pkt in json.loads(out or "[]"):
        layers = pkt["_source"]["layers"]
        num = layers["frame"]["frame.number"]
        stream = layers["tcp"]["tcp.stream"]
        ws = layers.get("websocket", [])
        for w in ws if isinstance(ws, list) else [ws]:
            payload = w.get("websocket.payload")
            payload = payload if isinstance(payload, dict) else {}
            close = payload.get("websocket.payload.close")
            close = close if isinstance(close, dict) else {}
            row = [num] + [w.get(c, "") for c in COLUMNS[1:9]]
            row += [close.get("websocket.payload.close.status_code", ""),
                    close.get("websocket.payload.close.reason", ""), stream,
                    payload.get("websocket.payload.text", ""),
                    payload.get("websocket.payload.ping", ""), payload.get("websocket.payload.pong", "")]
            row = [v if isinstance(v, str) else "" for v in row]
            row[8] = row[8].replace(":", "")
            row[13] = row[13].replace(":", "")
            row[14] = row[14].replace(":", "")
            row[10] = escape(row[10])
            row[12] = escape(row[12])
            print("\t".join(row))


main()
