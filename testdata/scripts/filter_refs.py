#!/usr/bin/env python3
"""Writes testdata/filters/tshark.tsv: for every case in cases.tsv and capture in captures.txt,
the packets tshark selects with `-Y "websocket && (EXPR)"` (only WebSocket packets, as
wsdissect filters WebSocket frames). Where cases.tsv gives a tshark equivalent, that is run.
Columns: expression, capture, comma-separated packet numbers (or "error: ...")."""
import concurrent.futures, os, subprocess

here = os.path.dirname(os.path.abspath(__file__))
filters = os.path.join(here, "..", "filters")
cases = []
for line in open(os.path.join(filters, "cases.tsv"), encoding="utf-8"):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    cols = line.split("\t")
    cases.append((cols[0], cols[1] if len(cols) > 1 and cols[1] else cols[0]))
captures = [l.strip() for l in open(os.path.join(filters, "captures.txt")) if l.strip()]


def run(case, capture):
    expr, tshark_expr = case
    path = os.path.join(here, "..", capture)
    out = subprocess.run(["tshark", "-r", path, "-Y", f"websocket && ({tshark_expr})", "-T", "fields",
                          "-e", "frame.number"], capture_output=True, text=True)
    if out.returncode != 0:
        err = [l for l in out.stderr.splitlines() if l.startswith("tshark:")]
        return expr, capture, "error: " + (err[0] if err else out.stderr.strip()[:200])
    numbers = sorted({int(n) for n in out.stdout.split()})
    return expr, capture, ",".join(map(str, numbers))


with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    rows = list(pool.map(lambda a: run(*a), [(c, cap) for c in cases for cap in captures]))
with open(os.path.join(filters, "tshark.tsv"), "w", encoding="utf-8") as f:
    f.write("# tshark 4.0.17 -Y \"websocket && (EXPR)\", written by testdata/scripts/filter_refs.py\n")
    for expr, capture, result in rows:
        f.write(f"{expr}\t{capture}\t{result}\n")
errors = [r for r in rows if r[2].startswith("error")]
print(f"{len(rows)} runs, {len(errors)} errors")
for e in errors[:20]:
    print(e)
