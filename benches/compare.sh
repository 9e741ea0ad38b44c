#!/usr/bin/env bash
# wsdissect against tshark on the workloads of the performance issues, side by side:
#   large: ~500 MB of large messages (payloads 64 B - 64 KiB, segments up to 16 KiB)
#   small: ~300 MB of small messages (40-byte frames, one per packet)
#   wss:   the large messages inside TLS 1.3 (AES-128-GCM), decrypted with their key log
#   deflate, deflate10k: ~116 MB of small messages (34-300 bytes), every connection compressed
#          with context takeover and 12-bit windows (as Python websockets), 400 and 10,000
#          connections open at once
#   browser: the same messages on 8 connections with 15-bit windows, as a browser page's
#          WebSockets to most servers (each direction goes on with its own inflate state)
#   server: the same messages on 400 connections with 15-bit windows, as a server sees its
#          browsers (more than the idle states pooled: each direction keeps its own inflate
#          state once its 32 KiB window is full)
#   h2:    the large messages' 64 WebSockets over HTTP/2 (RFC 8441), 8 streams on each of 8 h2c
#          connections; tshark does not decode these, so the frame count is checked against
#          the generator's and the times against the large workload's (HTTP/1.1)
# For each: the -T fields run of both tools (frame counts must agree), wsdissect's default
# summary output and a simple -Y filter (with the default two threads, then with one), and a
# capture twice the size for peak memory.
# Prints throughput, packets/s, peak memory and the ratio. Needs tshark and GNU time.
# usage: benches/compare.sh [DIR]   (DIR holds the generated captures; default /tmp/wsdissect-bench)
#        WORKLOADS="deflate deflate10k" benches/compare.sh   (only those)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/wsdissect-bench}
mkdir -p "$dir"
# The profile a user installs with (see Cargo.toml).
cargo build --profile dist --quiet --bin wsdissect --example gen_capture
bin=target/dist/wsdissect
gen=target/dist/examples/gen_capture
fields=(-T fields -e frame.number -e websocket.opcode -e websocket.payload_length)

generate() { # NAME PROFILE BYTES [OPTION...]: the capture, and the generator's frame count beside it
    [ -s "$dir/$1.pcap" ] && [ -s "$dir/$1.pcap.frames" ] && return
    "$gen" "$2" "$3" "$dir/$1.pcap" "${@:4}" | sed 's/.* \([0-9]*\) frames$/\1/' > "$dir/$1.pcap.frames"
}
generate large large 500000000
generate small small 300000000
generate large2 large 1000000000
generate small2 small 600000000
generate wss large-tls 500000000
generate wss2 large-tls 1000000000
generate deflate deflate 116000000
generate deflate2 deflate 232000000
generate deflate10k deflate-10k 116000000
generate deflate10k2 deflate-10k 232000000
generate browser deflate-browser 116000000
generate browser2 deflate-browser 232000000
generate server deflate 116000000 --window-bits 15
generate server2 deflate 232000000 --window-bits 15
generate h2 large-h2 500000000
generate h22 large-h2 1000000000

# measure COMMAND...: prints "seconds peak_kb" of the command (output discarded); the time to
# the millisecond (GNU time's own is to 10 ms, too coarse for runs under a tenth of a second).
measure() {
    local start end peak
    start=$(date +%s%N)
    peak=$( { /usr/bin/time -f "%M" "$@" > /dev/null; } 2>&1 | tail -n 1)
    end=$(date +%s%N)
    echo "$(( (end - start) / 1000000 ))e-3 $peak" | awk '{ printf "%.3f %s\n", $1, $2 }'
}
# best COMMAND...: the fastest of five runs (wsdissect's runs are short enough for noise to
# matter: on a shared 2-core machine the same run has taken 0.17 to 0.31 s within a minute, and
# the best of three was still 0.28 s twice; tshark's runs are not, and run once).
best() {
    for _ in 1 2 3 4 5; do measure "$@"; done | sort -n | head -n 1
}
packets() { capinfos -c -M "$1" 2>/dev/null | awk '/Number of packets/ {print $NF}'; }

printf '%-8s %-28s %9s %10s %12s %10s\n' workload run seconds "MB/s" "packets/s" "peak MB"
for w in ${WORKLOADS:-large small wss deflate deflate10k browser server h2}; do
    f="$dir/$w.pcap"
    # The wss captures' secrets, for both tools.
    keys=() tshark_keys=()
    if [ -e "$f.keys" ]; then
        keys=(--keylog "$f.keys")
        tshark_keys=(-o "tls.keylog_file:$f.keys")
    fi
    size=$(stat -c %s "$f")
    n=$(packets "$f")
    cat "$f" > /dev/null   # page cache, for both tools alike
    ours_frames=$("$bin" "${keys[@]}" "${fields[@]}" "$f" | wc -l)
    if [ "$w" = h2 ]; then
        theirs_frames=$(cat "$f.frames")
    else
        theirs_frames=$(tshark -r "$f" "${tshark_keys[@]}" -Y websocket "${fields[@]}" 2>/dev/null | cut -f2 | tr ',' '\n' | grep -c .)
    fi
    if [ "$ours_frames" != "$theirs_frames" ]; then
        echo "$w: frame counts differ: wsdissect $ours_frames, tshark $theirs_frames" >&2
        exit 1
    fi
    row() { # LABEL "seconds peak"
        read -r s m <<< "$2"
        awk -v w="$w" -v l="$1" -v s="$s" -v m="$m" -v b="$size" -v n="$n" \
            'BEGIN { printf "%-8s %-28s %9.3f %10.0f %12.0f %10.1f\n", w, l, s, b/1e6/s, n/s, m/1024 }'
    }
    ours=$(best "$bin" "${keys[@]}" "${fields[@]}" "$f")
    row "wsdissect -T fields" "$ours"
    if [ "$w" = h2 ]; then
        # The same messages' HTTP/1.1 twin, measured beside it.
        theirs=$(best "$bin" "${fields[@]}" "$dir/large.pcap")
        row "large (HTTP/1.1) -T fields" "$theirs"
        row "large (HTTP/1.1) summary" "$(best "$bin" "$dir/large.pcap")"
    else
        theirs=$(measure tshark -r "$f" "${tshark_keys[@]}" -Y websocket "${fields[@]}")
        row "tshark -T fields" "$theirs"
    fi
    summary=$(best "$bin" "${keys[@]}" "$f")
    filtered=$(best "$bin" "${keys[@]}" -Y 'websocket.opcode == 1' "${fields[@]}" "$f")
    row "wsdissect (summary lines)" "$summary"
    row "wsdissect -Y opcode==1" "$filtered"
    # The same three on one thread, to show what the second one brings.
    row "  one thread: -T fields" "$(best "$bin" "${keys[@]}" --threads 1 "${fields[@]}" "$f")"
    row "  one thread: summary" "$(best "$bin" "${keys[@]}" --threads 1 "$f")"
    row "  one thread: -Y" "$(best "$bin" "${keys[@]}" --threads 1 -Y 'websocket.opcode == 1' "${fields[@]}" "$f")"
    keys2=()
    [ -e "$dir/${w}2.pcap.keys" ] && keys2=(--keylog "$dir/${w}2.pcap.keys")
    ours2=$(best "$bin" "${keys2[@]}" "${fields[@]}" "$dir/${w}2.pcap")
    if [ "$w" = h2 ]; then
        versus="the generator's count; -T fields takes $(awk -v a="${ours%% *}" -v b="${theirs%% *}" 'BEGIN { printf "%.2f", a/b }')x the HTTP/1.1 time;"
    else
        versus="both tools; wsdissect is $(awk -v a="${ours%% *}" -v b="${theirs%% *}" 'BEGIN { printf "%.0f", b/a }')x faster;"
    fi
    echo "$w: $ours_frames frames in $n packets, $versus" \
         "peak memory on the capture twice the size: $(awk -v m="${ours2##* }" 'BEGIN { printf "%.1f", m/1024 }') MB;" \
         "summary lines $(awk -v a="${summary%% *}" -v b="${ours%% *}" 'BEGIN { printf "%.2f", a/b }')x" \
         "and -Y $(awk -v a="${filtered%% *}" -v b="${ours%% *}" 'BEGIN { printf "%.2f", a/b }')x the -T fields time"
done
