#!/usr/bin/env bash
# Records tshark's own output for the -E layouts and -o preferences wsdissect copies, into
# testdata/layout/ (tests/layout.rs compares wsdissect's with them, without tshark).
# Each line of testdata/layout/cases.tsv: NAME <tab> CAPTURE (under testdata/) <tab> ARGUMENTS,
# the same for both tools, run from the repository's top (paths in ARGUMENTS are from there).
# Needs tshark (4.0.17 here).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here/.."
while IFS=$'\t' read -r name capture args; do
    case "$name" in ''|'#'*) continue ;; esac
    eval "set -- $args"
    tshark -r "$here/$capture" "$@" > "$here/layout/$name.out" 2>/dev/null
    echo "recorded layout/$name.out ($(wc -l < "$here/layout/$name.out") lines)"
done < "$here/layout/cases.tsv"

# -T ek without -e: the websocket object of each document, for tests/ek.rs to compare with.
for capture in real/python-small.pcapng crafted/big-endian-nanos.pcap; do
    name=$(basename "$capture" | sed 's/\.pcap.*//')
    tshark -r "$here/$capture" -Y websocket -T ek 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    if line.startswith("{\"timestamp"):
        print(json.dumps(json.loads(line)["layers"]["websocket"], sort_keys=True))
' > "$here/layout/ek_full_$name.websocket.jsonl"
    echo "recorded layout/ek_full_$name.websocket.jsonl"
done
