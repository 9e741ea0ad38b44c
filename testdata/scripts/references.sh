#!/usr/bin/env bash
# Regenerates CAPTURE.tshark.tsv beside every capture in testdata/ with the installed tshark
# (the committed ones come from Debian's tshark 4.0.17). Tests read these files, not tshark.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for cap in "$here"/../real/*.pcap "$here"/../real/*.pcapng "$here"/../crafted/*.pcap "$here"/../crafted/*.pcapng; do
    [ -e "$cap" ] || continue
    args=()
    # Captures without a handshake need Decode As, as wsdissect does (see their .decode-as file).
    [ -e "$cap.decode-as" ] && args=(-d "$(cat "$cap.decode-as")")
    # wss captures: decrypted with the key log beside them, as ws-conformance does.
    [ -e "$cap.keys" ] && args=(-o "tls.keylog_file:$cap.keys")
    python3 "$here/tshark_tsv.py" "$cap" "${args[@]}" > "$cap.tshark.tsv"
    echo "$cap.tshark.tsv: $(grep -vc '^#' "$cap.tshark.tsv") frames"
done

# The WebSocket part of tshark -V for a few captures, for the tree layout test.
for cap in "$here"/../real/python-small.pcapng "$here"/../crafted/big-endian-nanos.pcap \
           "$here"/../crafted/fragments.pcap; do
    tshark -r "$cap" -V -Y websocket | python3 "$here/tree_blocks.py" > "$cap.tshark-V.txt"
done
# JSON text as tshark's "As json" text type shows it (wsdissect --text-as json).
cap="$here"/../crafted/fragments.pcap
tshark -r "$cap" -V -Y websocket -o 'websocket.text_type:As json' | python3 "$here/tree_blocks.py" > "$cap.tshark-V-json.txt"

# tshark -V of public captures in ../shared (not in this repository) that exercise inflating and
# joining where tshark 4.0.17 is right; tests/shared.rs compares wsdissect -V with them.
shared="$here/../../../shared/captures"
if [ -d "$shared" ]; then
    mkdir -p "$here/../shared-tshark-V"
    for rel in suricata-verify/websocket-compressed--example_websocket.pcap zeek/websocket_compressed.pcap \
               zeek/fragmented-http-reply.pcap arkime/arkime_synthetic.pcap \
               suricata-verify/websocket-control-frag--input.pcap; do
        tshark -r "$shared/$rel" -V -Y websocket | python3 "$here/tree_blocks.py" \
            > "$here/../shared-tshark-V/${rel//\//__}.txt"
    done
fi
