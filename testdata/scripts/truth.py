"""The truth file the recording peers write: every message either side sends, one JSON object a
line, {"conn": i, "direction": "client-to-server"|"server-to-client", "opcode": n,
"text"|"hex": ...}, so tests can compare what wsdissect shows with what was really sent. Peers of
WebSockets over HTTP/2 add "h2_stream" (the stream id), and "unfinished": true for a message cut
short (by RST_STREAM) that the receiver never saw whole."""
import json


class Truth:
    def __init__(self, path):
        self.out = open(path, "w")

    def record(self, conn, direction, opcode, payload, **extra):
        entry = {"conn": conn, "direction": direction, "opcode": opcode}
        entry.update({k: v for k, v in extra.items() if v})
        if isinstance(payload, str):
            entry["text"] = payload
        else:
            entry["hex"] = bytes(payload).hex()
        self.out.write(json.dumps(entry) + "\n")
        self.out.flush()
