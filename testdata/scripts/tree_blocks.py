#!/usr/bin/env python3
"""Keeps only the WebSocket part of a `-V` tree: each top-level `WebSocket` subtree and the
payload items tshark puts after it (reassembled fragments, `Line-based text data`, `Data`,
`Continue`, JSON), from
tshark's or wsdissect's output on stdin. Frame, Ethernet, IP, TCP and HTTP trees are dropped."""
import re, sys

KEEP = ("WebSocket", "Line-based text data", "Data (", "Continue:", "JavaScript Object Notation")
FRAGMENTS = re.compile(r"\[\d+ Reassembled websocket Fragments ")
keeping = False
for line in sys.stdin:
    line = line.rstrip("\n")
    if line and not line.startswith(" ") and not re.match(r"[0-9a-f]{4}  ", line):
        keeping = line.startswith(KEEP) or bool(FRAGMENTS.match(line))
    if keeping and line.strip():
        print(line)
