#!/usr/bin/env python3
"""tshark 4.0.17's TCP sequence analysis of every packet of the captures in testdata/, for
tests/tcp_analysis.rs: testdata/tcp-analysis/NAME.tsv holds, for each packet tshark flags,
its number and the tcp.analysis flags set on it (comma-separated, in FLAGS order).
usage: python3 testdata/scripts/tcp_analysis_refs.py   (from the repository's top)"""
import glob
import os
import subprocess

FLAGS = [
    "retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
    "lost_segment", "ack_lost_segment", "duplicate_ack", "keep_alive", "keep_alive_ack",
    "window_update", "window_full", "zero_window", "zero_window_probe", "zero_window_probe_ack",
    "reused_ports", "flags",
]

captures = sorted(
    p for d in ("crafted", "real", "other", "regressions", "tcp-analysis")
    for p in glob.glob(f"testdata/{d}/*.pcap") + glob.glob(f"testdata/{d}/*.pcapng")
)
for capture in captures:
    cmd = ["tshark", "-n", "-r", capture, "-T", "fields", "-e", "frame.number"]
    for flag in FLAGS:
        cmd += ["-e", f"tcp.analysis.{flag}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    lines = []
    for row in out.splitlines():
        cells = row.split("\t")
        set_flags = [name for name, cell in zip(FLAGS, cells[1:]) if cell]
        if set_flags:
            lines.append(f"{cells[0]}\t{','.join(set_flags)}\n")
    name = os.path.basename(os.path.dirname(capture)) + "-" + os.path.basename(capture) + ".tsv"
    with open(os.path.join("testdata/tcp-analysis", name), "w") as f:
        f.writelines(lines)
