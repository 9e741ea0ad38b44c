#!/usr/bin/env bash
# Records testdata/real/wss-* and h2*: real wss:// peers, and WebSockets over HTTP/2 (RFC 8441),
# on loopback, each capture with the key log its TLS client (or server) wrote beside it as
# CAPTURE.keys (when it is TLS), and the messages sent as CAPTURE.truth.jsonl. Needs root, tcpdump, tshark and editcap (Debian's tshark package),
# openssl, python3 with `websockets`, node with npm (`ws` is installed by this script) and
# Debian's chromium. Only 127.0.0.1 is used. With arguments, records only the captures named.
#
# Most captures are made in a network namespace of their own whose loopback has Ethernet's MTU
# (1500), so that TLS records and WebSocket frames span several TCP segments, as on a real
# network; the others use the host's loopback (MTU 65536, a record per segment).
# Afterwards run testdata/scripts/references.sh to refresh tshark's reference output.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/../real"
out=$(cd "$here/../real" && pwd)
only="$*"
node_modules="${TMPDIR:-/tmp}/wsdissect-node/node_modules"
[ -d "$node_modules/ws" ] || npm install --silent --prefix "${node_modules%/node_modules}" ws@8.23.0

work=$(mktemp -d)
netns=wsdissect-rec
cleanup() {
    rm -rf "$work"
    ip netns del "$netns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns del "$netns" 2>/dev/null || true
ip netns add "$netns"
ip netns exec "$netns" ip link set lo up mtu 1500

# A throw-away certificate (the clients do not check it) and RFC 7919 DH parameters for DHE.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=wss.wsdissect.test -days 2 \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$work/dh.pem" 2>/dev/null

# An OpenSSL configuration that allows only the given TLS 1.3 suite (Python's ssl module cannot
# choose TLS 1.3 suites itself; every SSL_CTX it makes starts from this system default).
tls13_only() {
    local conf="$work/$1.cnf"
    printf 'openssl_conf = c\n[c]\nssl_conf = s\n[s]\nsystem_default = d\n[d]\nCiphersuites = %s\n' "$1" > "$conf"
    echo "$conf"
}

# record NAME WHERE PORT PEER... : WHERE is "netns" (MTU 1500) or "host" (MTU 65536). The peer
# command gets the truth file as $TRUTH and writes its secrets to $KEYS.
record() {
    local name=$1 where=$2 port=$3 pid
    shift 3
    if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then return; fi
    local file="$out/$name"
    local run=()
    [ "$where" = netns ] && run=(ip netns exec "$netns")
    rm -f "$file" "$file.keys"
    "${run[@]}" tcpdump -i lo -U -s 0 -B 65536 -w "$file" "tcp port $port" 2>/dev/null &
    pid=$!
    sleep 1.5
    TRUTH="$file.truth.jsonl" KEYS="$file.keys" "${run[@]}" "$@"
    sleep 1
    kill -INT "$pid"
    wait "$pid" || true
    # Nothing may be missing: tshark must see no lost segment and decrypt every record.
    local lost
    lost=$(tshark -r "$file" -o "tls.keylog_file:$file.keys" -Y 'tcp.analysis.lost_segment or tls.alert_message.desc != 0' | wc -l)
    [ "$lost" = 0 ] || { echo "$file: $lost packets with lost segments or alerts" >&2; exit 1; }
    local secrets=0
    [ -e "$file.keys" ] && secrets=$(grep -vc '^#' "$file.keys")
    echo "recorded $file ($(stat -c %s "$file") bytes, $secrets secrets)"
}

py() { python3 "$here/python_peer.py" "$1" 127.0.0.1 "$2" "$TRUTH" "$3" "$KEYS" "$work"; }
export -f py
export here work

# TLS 1.3, each suite, from Python's ssl (OpenSSL 3) and node (OpenSSL 3 too, its own API).
record wss-python-tls13-aes128.pcap netns 18101 \
    env OPENSSL_CONF="$(tls13_only TLS_AES_128_GCM_SHA256)" bash -c 'py sizes 18101 1.3'
record wss-python-tls13-deflate.pcap netns 18102 bash -c 'py deflate-context 18102 1.3'
record wss-node-tls13-chacha.pcap netns 18103 env NODE_PATH="$node_modules" \
    bash -c 'node "$here/node_peer.js" deflate 127.0.0.1 18103 "$TRUTH" "$KEYS" "$work" TLS_CHACHA20_POLY1305_SHA256'
record wss-python-concurrent.pcap host 18104 bash -c 'py concurrent 18104 1.3'
# HTTP/2 over TLS (ALPN h2), no WebSocket: reported, not read (until RFC 8441 support).
record tls-node-h2.pcap host 18106 env NODE_PATH="$node_modules" \
    bash -c 'node "$here/node_peer.js" h2 127.0.0.1 18106 "$TRUTH" "$KEYS" "$work"'
# WebSockets over HTTP/2 (RFC 8441) from Python h2 + wsproto on both sides: h2c with prior
# knowledge, and TLS 1.3 with ALPN h2 (see h2_peer.py for the streams).
record h2c-python.pcap netns 18201 bash -c 'python3 "$here/h2_peer.py" 127.0.0.1 18201 "$TRUTH"'
record h2-python-tls.pcap netns 18202 bash -c 'python3 "$here/h2_peer.py" 127.0.0.1 18202 "$TRUTH" "$KEYS" "$work"'
# node's http2 (enableConnectProtocol) on both sides with ws's Sender and Receiver on the
# streams: two WebSockets, one compressed, beside a GET, over TLS.
record h2-node-tls.pcap netns 18203 env NODE_PATH="$node_modules" \
    bash -c 'node "$here/node_peer.js" h2-websocket 127.0.0.1 18203 "$TRUTH" "$KEYS" "$work"'
# Chromium opens its WebSocket as an RFC 8441 stream when the page came over h2 from a server
# that enabled extended CONNECT (node's http2 server, ws's framing on the stream).
record h2-chromium.pcap host 18204 env NODE_PATH="$node_modules" \
    bash -c 'node "$here/node_peer.js" h2-chromium 127.0.0.1 18204 "$TRUTH" "$KEYS" "$work"'
# A HelloRetryRequest: a second ClientHello (same random) and the real ServerHello follow.
record wss-python-tls13-hello-retry.pcap host 18105 bash -c 'py small 18105 1.3:hello-retry'
# TLS 1.2: AEAD suites with each key exchange and both PRF hashes.
record wss-python-tls12-ecdhe-aes128gcm.pcap netns 18111 bash -c 'py sizes 18111 1.2:ECDHE-RSA-AES128-GCM-SHA256'
record wss-python-tls12-dhe-aes256gcm.pcap netns 18112 bash -c 'py sizes 18112 1.2:DHE-RSA-AES256-GCM-SHA384'
record wss-python-tls12-rsa-aes128gcm.pcap netns 18113 bash -c 'py small 18113 1.2:AES128-GCM-SHA256'
record wss-python-tls12-chacha.pcap netns 18114 bash -c 'py sizes 18114 1.2:ECDHE-RSA-CHACHA20-POLY1305'
# TLS 1.2 CBC: HMAC-SHA1, -SHA256 and -SHA384, with encrypt-then-MAC (OpenSSL's default) and
# without it (MAC-then-encrypt, padding checked).
record wss-python-tls12-cbc-sha1-etm.pcap netns 18121 bash -c 'py sizes 18121 1.2:ECDHE-RSA-AES128-SHA'
record wss-python-tls12-cbc-sha256-etm.pcap netns 18122 bash -c 'py sizes 18122 1.2:AES256-SHA256'
record wss-python-tls12-cbc-sha384-mte.pcap netns 18123 bash -c 'py sizes 18123 1.2:ECDHE-RSA-AES256-SHA384:no-etm'
record wss-python-tls12-cbc-sha1-mte.pcap netns 18124 bash -c 'py small 18124 1.2:DHE-RSA-AES128-SHA:no-etm'
# openssl s_client: KeyUpdate in both directions, and session resumption.
for scenario in keyupdate resume-tls12 resume-tls13; do
    record "wss-openssl-$scenario.pcap" host 18131 \
        bash -c "python3 \"\$here/openssl_peer.py\" $scenario 127.0.0.1 18131 \"\$TRUTH\" \"\$KEYS\" \"\$work\""
done
# A browser: the page and the WebSocket over TLS 1.3, permessage-deflate offered by Chromium.
record wss-chromium.pcap host 18141 \
    bash -c 'python3 "$here/chromium_peer.py" 127.0.0.1 18141 "$TRUTH" "$KEYS" "$work"'

# The secrets inside the capture (a pcapng Decryption Secrets Block), no key log beside it.
if [ -z "$only" ] || [[ " $only " == *" wss-secrets-injected.pcapng "* ]]; then
    src="$out/wss-python-tls13-aes128.pcap"
    editcap --inject-secrets "tls,$src.keys" "$src" "$out/wss-secrets-injected.pcapng"
    cp "$src.truth.jsonl" "$out/wss-secrets-injected.pcapng.truth.jsonl"
    echo "wrote $out/wss-secrets-injected.pcapng"
fi
