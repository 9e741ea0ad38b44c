#!/usr/bin/env bash
# Records tshark's own output for the -E layouts and -o preferences wsdissect copies, into
# testdata/layout/ (tests/layout.rs compares wsdissect's with them, without tshark).
# Each line of testdata/layout/cases.tsv: NAME <tab> CAPTURE (under testdata/) <tab> ARGUMENTS,
# the same for both tools; a key log beside the capture is given to tshark as
# -o tls.keylog_file. Needs tshark (4.0.17 here).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
while IFS=$'\t' read -r name capture args; do
    case "$name" in ''|'#'*) continue ;; esac
    eval "set -- $args"
    tshark -r "$here/$capture" "$@" > "$here/layout/$name.out" 2>/dev/null
    echo "recorded layout/$name.out ($(wc -l < "$here/layout/$name.out") lines)"
done < "$here/layout/cases.tsv"
