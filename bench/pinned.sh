#!/usr/bin/env bash
# Relay builds compared under one load generator: each relay pinned to core 0, the bench
# pinned to core 1 (so the relay's rate is set by its own CPU per lifecycle, never by the
# bench taking its core), SQLite on tmpfs, the relays run in turn, ROUNDS times over. Prints
# one line per run: label, round, lifecycles/s, relay CPU µs per lifecycle, failures.
# Compare builds by round (neighbouring runs): this VM's speed drifts by ±10 % over minutes.
#
# Usage: BENCH=path/to/onepush-bench bench/pinned.sh ROUNDS LABEL=RELAY_BINARY... [-- BENCH ARGS]
#   default bench args: --push --devices 16 --concurrency 16 --duration 10s --warmup 2s
#   BENCH: one bench binary for every relay (the oldest relay's, when the bench's
#   enrolment changed since: a newer bench sends fields an older relay refuses).
#   The settings go in the flat and the sectioned names: a relay ignores the other kind.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: BENCH=… bench/pinned.sh ROUNDS LABEL=RELAY_BINARY... [-- BENCH ARGS]" >&2; exit 2; }
bench=${BENCH:?set BENCH to an onepush-bench binary}
rounds=$1; shift
relays=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do relays+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
args=("$@")
((${#args[@]})) || args=(--push --devices 16 --concurrency 16 --duration 10s --warmup 2s)
((${#relays[@]})) || { echo "error: no LABEL=RELAY_BINARY given" >&2; exit 2; }

# A load generator from one address, a push endpoint on plain-HTTP loopback.
export ONEPUSH_LOG=warn \
  ONEPUSH_PROVISION_PER_MINUTE=1000000 ONEPUSH_LIMITS__PROVISION_PER_MINUTE=1000000 \
  ONEPUSH_DEVICE_PER_ADDRESS_PER_MINUTE=0 ONEPUSH_LIMITS__DEVICE_PER_ADDRESS_PER_MINUTE=0 \
  ONEPUSH_DEVICE_PER_CREDENTIAL_PER_MINUTE=0 ONEPUSH_LIMITS__DEVICE_PER_CREDENTIAL_PER_MINUTE=0 \
  ONEPUSH_LONG_POLLS_PER_TENANT=1000000 ONEPUSH_LIMITS__LONG_POLLS_PER_TENANT=1000000 \
  ONEPUSH_EVENT_STREAMS_MAX=1000000 ONEPUSH_LIMITS__EVENT_STREAMS_MAX=1000000 \
  ONEPUSH_CONNECTIONS_MAX=1000000 ONEPUSH_HTTP__CONNECTIONS_MAX=1000000 \
  ONEPUSH_ADMIN_LISTEN=127.0.0.1:0 ONEPUSH_HTTP__ADMIN_LISTEN=127.0.0.1:0 \
  ONEPUSH_PUSH_ALLOW_INSECURE_ENDPOINTS=true ONEPUSH_PUSH__WEBPUSH__ALLOW_INSECURE_ENDPOINTS=true \
  ONEPUSH_PUSH_ALLOW_PRIVATE_ENDPOINTS=true ONEPUSH_PUSH__WEBPUSH__ALLOW_PRIVATE_ENDPOINTS=true
tmp=/dev/shm; [ -d "$tmp" ] || tmp=${TMPDIR:-/tmp}

run() { # label round binary
  local dir port key pid out rate cpu failed
  dir=$(mktemp -d "$tmp/onepush-pinned.XXXX")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  key=$("$3" --data-dir "$dir" tenant add "bench-$RANDOM" --json 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
  taskset -c 0 "$3" --data-dir "$dir" serve --listen "127.0.0.1:$port" 2>"$dir/relay.log" &
  pid=$!
  for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  out=$(taskset -c 1 "$bench" throughput --relay "http://127.0.0.1:$port" --api-key "$key" \
        --relay-pid "$pid" "${args[@]}" 2>&1 || true)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rate=$(grep -o '→ [0-9]* lifecycles/s' <<<"$out" | grep -o '[0-9]*' || true)
  cpu=$(grep -o '= [0-9]* µs per lifecycle' <<<"$out" | grep -o '[0-9]*' | head -1 || true)
  failed=$(grep -o '[0-9]* failed' <<<"$out" | head -1 || true)
  echo "$1 $2 ${rate:-?} ${cpu:-?} ${failed:-?}"
  [ -n "$rate" ] || tail -5 <<<"$out" | sed 's/^/    /'
  rm -rf "$dir"
}
for round in $(seq 1 "$rounds"); do
  for spec in "${relays[@]}"; do run "${spec%%=*}" "$round" "${spec#*=}"; done
done
