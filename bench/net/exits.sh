#!/usr/bin/env bash
# Exits to the monitor and ring kicks per request, network ring on and off (docs/kiln-abi.md 4):
#   httpreply under wrk, kvstore under redis-benchmark (SET and GET), each with `kiln run --stats`.
# Usage: bench/net/exits.sh [SECONDS]   (needs root, KVM, wrk, redis-benchmark, images in guest/out)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs="${1:-10}"
ns="kiln-exits-$$"; tap="kex$$"
tmp="$(mktemp -d)"
trap './kiln net delete-netns "$ns" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
./kiln net create "$tap" --ip 10.91.0.1/24 --netns "$ns" >/dev/null

# run LOG ARGS...: kiln run in the namespace, in the background; waits for "listening"
run() {
  local log="$1"; shift
  rm -f "$log"   # a previous run's "listening" must not count
  ip netns exec "$ns" ./kiln run --stats "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q listening "$log" && return 0; sleep 0.1; done
  echo "exits: the guest never listened" >&2; cat "$log" >&2; exit 1
}
# report NAME REQUESTS RPS LOG: one line from the --stats line kiln printed when stopped
report() {
  kill -TERM "$pid"; wait "$pid" || true
  local stats exits kicks
  stats=$(grep -E 'kiln: [a-z]+, create' "$4")
  exits=$(echo "$stats" | sed -E 's/.*exits ([0-9]+) .*/\1/')
  kicks=$(echo "$stats" | grep -o 'kicks [0-9]*' | awk '{print $2}' || true)
  awk -v n="$1" -v r="$2" -v rps="$3" -v e="$exits" -v k="${kicks:-0}" \
    'BEGIN { printf "  %-44s %6d requests  %8s req/s  exits/request %6.3f  kicks/request %5.2f\n", n, r, rps, e / r, k / r }'
}

echo "exits per request (${secs}s each; 'kicks' are ring doorbells handled in the kernel)"
for ring in "" --no-net-ring; do
  label="${ring:-ring}"
  run "$tmp/http.log" $ring --mem=16 --net:service0="$tap" guest/out/httpreply.hvt ip=10.91.0.2/24
  out=$(ip netns exec "$ns" wrk -t1 -c4 -d"${secs}s" http://10.91.0.2/)
  report "httpreply wrk -c4, $label" "$(echo "$out" | awk '/requests in/ {print $1}')" \
    "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" "$tmp/http.log"

  truncate -s 16M "$tmp/kv.img"
  run "$tmp/kv.log" $ring --mem=64 --net:service0="$tap" --block:storage="$tmp/kv.img" guest/out/kvstore.hvt ip=10.91.0.2/24
  n=$((secs * 5000))   # requests per test: about SECONDS natively
  out=$(ip netns exec "$ns" redis-benchmark -h 10.91.0.2 -q -n "$n" -c 16 -t set,get 2>/dev/null | tr '\r' '\n' \
        | awk '/requests per second/ {printf "%s%s", sep, $2; sep="/"}')
  report "kvstore redis-benchmark -c16, $label" $((2 * n)) "$out" "$tmp/kv.log"
done
