#!/usr/bin/env bash
# The run sequence behind the lifecycle table of BENCHMARKS.md: event stream at 16 and 32
# loops, 4 tenants, Web Push, the open loop at half the best rate (HALF_RUNS times, default
# 5, on disk and with the data folder on tmpfs, each with every lifecycle's legs in a CSV
# file and how much of its tail came in stalls: bench/stalls.py, and a GET /healthz probe
# at 200/s, the machine's floor under that load; then the median p99 of each), PostgreSQL
# (when reachable). Writes one report per run to OUT (default
# ./bench-results) and prints the load average around each. Usage: bench/figures.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-results}
mkdir -p "$out"
cargo build --release -q -p onepush-bench -p onepush-relay
B=target/release/onepush-bench
PG=${ONEPUSH_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/onepush_bench}

# The machine's speed varies by up to a third over an hour (a shared VM): print a fixed
# CPU-bound control next to each run (OpenSSL's P-256 verifications per second).
control() { openssl speed -seconds 1 ecdsap256 2>/dev/null | awk '/nistp256/ {print $NF " verify/s"}'; }
# And how late a sleeping thread wakes on this VM with nothing else to do (a vCPU that
# halts is woken by the host): the share of 0.5 ms sleeps that overslept by > 2 ms.
wakeups() {
  python3 -c 'import time
late = n = 0
end = time.monotonic() + 3
while time.monotonic() < end:
    t = time.monotonic(); time.sleep(0.0005); n += 1
    late += time.monotonic() - t > 0.0025
print("idle wake-ups: %.2f %% of %d sleeps of 0.5 ms woke > 2 ms late" % (100 * late / n, n))'
}

run() {
  local name=$1; shift
  echo "== $name: $* (load $(cut -d' ' -f1 /proc/loadavg); control $(control))"
  "$B" throughput "$@" --json >"$out/$name.json"
  grep -E '"lifecycles_per_second"|"cpu_us_per_lifecycle"|"failed"' "$out/$name.json" | tr -s ' '
  python3 -c 'import json, sys
leg = json.load(open(sys.argv[1]))["legs"]["decision_to_bank"]
print(" decision_to_bank p50 %d us, p99 %d us" % (leg["p50_us"], leg["p99_us"]))
probe = json.load(open(sys.argv[1])).get("probe")
if probe:
    rt = probe["round_trip"]
    print(" probe GET /healthz p50 %d us, p99 %d us (the floor)" % (rt["p50_us"], rt["p99_us"]))' "$out/$name.json"
}
wakeups
rate() { grep '"lifecycles_per_second"' "$out/$1.json" | tr -dc '0-9.\n' | cut -d. -f1; }

run sse-c16 --spawn --devices 16 --concurrency 16 --duration 10s --warmup 2s
run sse-c32 --spawn --devices 32 --concurrency 32 --duration 10s --warmup 2s
run sse-t4 --spawn --tenants 4 --devices 32 --concurrency 32 --duration 10s --warmup 2s
run push-c16 --spawn --push --devices 16 --concurrency 16 --duration 10s --warmup 2s
best=$(printf '%s\n' "$(rate sse-c16)" "$(rate sse-c32)" "$(rate sse-t4)" | sort -n | tail -1)
# The half-rate tail moves by a factor of several from one 10 s run to the next on a
# shared VM: HALF_RUNS runs each on disk and with the relay's data folder in memory
# (what the disk adds), interleaved, and their median p99.
half_runs=${HALF_RUNS:-5}
for i in $(seq "$half_runs"); do
  run "open-half-$i" --spawn --devices 32 --concurrency 256 --rate $((best / 2)) --duration 10s --warmup 2s --probe-rate 200 --samples "$out/open-half-$i.csv"
  bench/stalls.py "$out/open-half-$i.csv"
  if [ -d /dev/shm ]; then
    TMPDIR=/dev/shm run "open-half-tmpfs-$i" --spawn --devices 32 --concurrency 256 --rate $((best / 2)) --duration 10s --warmup 2s --probe-rate 200 --samples "$out/open-half-tmpfs-$i.csv"
    bench/stalls.py "$out/open-half-tmpfs-$i.csv"
  fi
done
median_p99() {
  python3 -c 'import json, os, statistics, sys
runs = [json.load(open(f)) for f in sys.argv[1:]]
p99 = [r["legs"]["decision_to_bank"]["p99_us"] for r in runs]
floor = [r["probe"]["round_trip"]["p99_us"] for r in runs if r.get("probe")]
name = os.path.basename(sys.argv[1]).rsplit("-", 1)[0]
print("%s: decision_to_bank p99 median %d us of %s; GET /healthz p99 median %d us of %s" % (
    name, statistics.median(p99), sorted(p99), statistics.median(floor or [0]), sorted(floor)))' "$@"
}
median_p99 "$out"/open-half-[0-9]*.json
[ -d /dev/shm ] && median_p99 "$out"/open-half-tmpfs-[0-9]*.json
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  # The default database is the bench's own: made afresh for each run, so runs compare
  # (ONEPUSH_BENCH_POSTGRES names another one, which is used as it is).
  if [ -z "${ONEPUSH_BENCH_POSTGRES:-}" ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -q -c 'DROP DATABASE IF EXISTS onepush_bench' \
      -c 'CREATE DATABASE onepush_bench'
  fi
  run pg-c16 --spawn --database "$PG" --devices 16 --concurrency 16 --duration 10s --warmup 2s
fi
echo "reports in $out/ (load $(cut -d' ' -f1 /proc/loadavg))"
