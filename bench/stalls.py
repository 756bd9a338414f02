#!/usr/bin/env python3
"""Where a run's slowest decisions happened, from `onepush-bench throughput --samples`.

Prints the p99 of decision -> bank and how many of the slowest 1 % came in stalls:
three or more of them whose decision POSTs were sent within 20 ms of each other. A tail
made of stalls points at something that held the relay (a slow write, a wait for a CPU);
one spread over the run points at the path itself.

Usage: bench/stalls.py SAMPLES.csv...
"""
import csv
import sys

GAP_US = 20_000
STALL = 3


def summary(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return f"{path}: no lifecycles"
    # A decision was sent `decision_to_bank` before the lifecycle ended.
    sent = sorted(
        (
            int(r["started_us"]) + int(r["lifecycle_us"]) - int(r["decision_to_bank_us"]),
            int(r["decision_to_bank_us"]),
        )
        for r in rows
    )
    waits = sorted(w for _, w in sent)
    p99 = waits[int(len(waits) * 0.99)]
    slow = [s for s in sent if s[1] >= p99]
    groups = []
    for at, wait in slow:
        if groups and at - groups[-1][-1][0] < GAP_US:
            groups[-1].append((at, wait))
        else:
            groups.append([(at, wait)])
    stalls = [g for g in groups if len(g) >= STALL]
    in_stalls = sum(len(g) for g in stalls)
    return (
        f"{path}: decision -> bank p99 {p99} us; of the slowest 1 % ({len(slow)}), "
        f"{in_stalls} came in {len(stalls)} stalls (>= {STALL} within {GAP_US // 1000} ms)"
    )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: bench/stalls.py SAMPLES.csv...")
    for p in sys.argv[1:]:
        try:
            print(summary(p))
        except (OSError, KeyError, ValueError) as e:
            sys.exit(f"stalls.py: {p}: {e}")
