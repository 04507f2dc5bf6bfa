#!/usr/bin/env python3
"""Runs the aggregation benchmark (tests/bench/aggbench.c) before and after
and prints one table: memory and time per report at 64/256/1,024 CPUs.

Usage: aggbench.py DENSE_BINARY SPARSE_BINARY (a missing one is skipped).
"""
import os
import subprocess
import sys


def run(binary):
    if not os.access(binary, os.X_OK):
        return {}
    out = subprocess.run([binary], check=True, capture_output=True,
                         text=True).stdout
    rows = {}
    for line in out.splitlines():
        f = line.split()
        rows[(int(f[1]), f[2], f[3])] = {
            "pairs": int(f[4]), "user": int(f[5]), "kernel": int(f[6]),
            "ms": float(f[7]), "reads": float(f[8]), "ns_rec": float(f[9]),
            "computed": f[10] == "computed"}
    return rows


def mb(r, key):
    if not r:
        return "-"
    v = "%.2f" % (r[key] / 1e6) if r[key] >= 0 else "?"
    return v + ("*" if r["computed"] else "")


def ms(r):
    return "-" if not r or r["ms"] < 0 else "%.2f" % r["ms"]


def main(argv):
    before, after = run(argv[1]), run(argv[2])
    keys = sorted(set(before) | set(after),
                  key=lambda k: (k[0], k[1] != "sparse", k[2]))
    print("Aggregation at scale: per report "
          "(MB = 10^6 bytes; user: malloc'd, kernel: the BPF pair map)"
          )
    print("| CPUs | case | pairs | path | before user MB | before kernel MB"
          " | before ms | before map reads | after user MB | after kernel MB"
          " | after ms | after map reads | after user B/pair |")
    print("|---" * 13 + "|")
    for k in keys:
        b, a = before.get(k), after.get(k)
        pairs = (a or b)["pairs"]
        per_pair = "%.0f" % (a["user"] / pairs) if a else "-"
        reads = lambda r: "%.0f" % r["reads"] if r and r["reads"] else "-"
        print("| %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
              % (k[0], k[1], pairs,
                 "-a -C" if k[2] == "aggregate" else "records -C",
                 mb(b, "user"), mb(b, "kernel"), ms(b), reads(b),
                 mb(a, "user"), mb(a, "kernel"), ms(a), reads(a), per_pair))
    print("* computed, not run: nr*nr pointers and kind counts, 4 KiB a pair"
          " seen, nr*nr snapshots and array map (too big to run here)")
    for k in keys:
        b, a = before.get(k), after.get(k)
        if k[2] == "records" and a:
            print("records -C %4d CPUs %-6s: %s ns/record before, %.0f after"
                  % (k[0], k[1], "-" if not b or b["ns_rec"] < 0 else
                     "%.0f" % b["ns_rec"], a["ns_rec"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
