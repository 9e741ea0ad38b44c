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
