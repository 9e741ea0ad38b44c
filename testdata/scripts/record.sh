#!/usr/bin/env bash
# Records testdata/real/*: real WebSocket peers on loopback, captured by tcpdump or dumpcap.
# Needs root, tcpdump, dumpcap (Debian's tshark package), python3 with `websockets` and
# `aiohttp` (pip install websockets aiohttp), node with npm (`ws` is installed by this script)
# and Java 11 or later (the JDK's WebSocket client runs from its source file). Only
# 127.0.0.1 and ::1 are used. With arguments, records only the captures named.
# Afterwards run testdata/scripts/references.sh to refresh tshark's reference output.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../real"
mkdir -p "$out"
only="$*"
# node's `ws`, installed beside the scripts' output in a scratch directory.
node_modules="${TMPDIR:-/tmp}/wsdissect-node/node_modules"
[ -d "$node_modules/ws" ] || npm install --silent --prefix "${node_modules%/node_modules}" ws@8.23.0

# record NAME CAPTURER IFACE HOST PORT SCENARIO (only the NAMEs given as arguments, if any)
record() {
    local name=$1 capturer=$2 iface=$3 host=$4 port=$5 scenario=$6 pid
    if [ "$#" -gt 0 ] && [ -n "${only:-}" ] && [[ " $only " != *" $name "* ]]; then return; fi
    local file="$out/$name"
    rm -f "$file"
    case $capturer in
        # Buffers of 32 MiB, so that the kernel drops nothing (tshark must see no lost segment).
        tcpdump) tcpdump -i "$iface" -U -s 0 -B 32768 -w "$file" "tcp port $port" 2>/dev/null & ;;
        dumpcap) dumpcap -q -i "$iface" -B 32 -f "tcp port $port" -w "$file" 2>/dev/null & ;;
    esac
    pid=$!
    sleep 1.5
    case $scenario in
        node-*) NODE_PATH="$node_modules" node "$here/node_peer.js" "${scenario#node-}" "$host" "$port" "$file.truth.jsonl" ;;
        aiohttp) python3 "$here/aiohttp_peer.py" "$host" "$port" "$file.truth.jsonl" ;;
        java)
            python3 "$here/python_peer.py" serve "$host" "$port" /dev/null &
            local server=$!
            sleep 1
            java "$here/JavaClient.java" "ws://$host:$port/java" "$file.truth.jsonl"
            kill "$server"
            wait "$server" || true
            ;;
        *) python3 "$here/python_peer.py" "$scenario" "$host" "$port" "$file.truth.jsonl" ;;
    esac
    sleep 1
    kill -INT "$pid"
    wait "$pid" || true
    echo "recorded $file ($(stat -c %s "$file") bytes)"
}

record python-basic.pcap          tcpdump lo  127.0.0.1 18001 basic
record python-concurrent.pcap     tcpdump lo  127.0.0.1 18002 concurrent
record python-ipv6.pcap           tcpdump lo  ::1       18003 small
record python-any-sll2.pcap       tcpdump any 127.0.0.1 18004 small
record python-small.pcapng        dumpcap lo  127.0.0.1 18005 small
# permessage-deflate with different parameters (see DEFLATE in python_peer.py).
record python-deflate-context.pcap    tcpdump lo 127.0.0.1 18006 deflate-context
record python-deflate-no-context.pcap tcpdump lo 127.0.0.1 18007 deflate-no-context
record python-deflate-windows.pcapng  dumpcap lo 127.0.0.1 18008 deflate-windows
record python-deflate-asymmetric.pcap tcpdump lo ::1       18009 deflate-asymmetric
record node-deflate.pcap              tcpdump lo 127.0.0.1 18010 node-deflate
# Other implementations: aiohttp's permessage-deflate (15, 10 and 9-bit windows), and
# the JDK's own client (java.net.http), which fragments on its own, against the Python server.
record aiohttp-deflate.pcap           tcpdump lo 127.0.0.1 18011 aiohttp
record java-client.pcap               tcpdump lo 127.0.0.1 18012 java
