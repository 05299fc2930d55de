#!/usr/bin/env bash
# Network benchmarks, side by side in one run (issue: real servers as unikernels):
#   wrk on httpreply under Kiln   vs  the same page from a host process (host_httpreply.c)
#   redis-benchmark on kvstore    vs  Debian's redis-server as a host process
# Both servers sit behind the same kind of link from the load generator's namespace: the guest
# behind a tap, the host process behind a veth pair. Prints req/s and the ratios.
# Usage: bench/net/run.sh [SECONDS]   (needs root, KVM, and the images built into guest/out)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs="${1:-10}"
for t in wrk redis-benchmark redis-server ip gcc; do
  command -v "$t" >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk redis-tools redis-server iproute2 gcc >/dev/null; break; }
done
ns="kiln-bench-$$"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done
  ip link delete "kbv$$" 2>/dev/null || true
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

./kiln net create "kbt$$" --ip 10.93.0.1/24 --netns "$ns" >/dev/null
ip link add "kbv$$" type veth peer name "kbp$$"
ip link set "kbp$$" netns "$ns"
ip addr add 10.92.0.2/24 dev "kbv$$"; ip link set "kbv$$" up
ip -n "$ns" addr add 10.92.0.1/24 dev "kbp$$"; ip -n "$ns" link set "kbp$$" up

gcc -O2 -o "$tmp/host_httpreply" bench/net/host_httpreply.c
"$tmp/host_httpreply" 10.92.0.2 8080 >/dev/null & pids+=($!)
redis-server --bind 10.92.0.2 --port 6380 --protected-mode no --save '' --appendonly no --daemonize no >/dev/null & pids+=($!)
truncate -s 16M "$tmp/kv.img"

wait_line() { # file text
  for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: '$2' never appeared in $1" >&2; cat "$1" >&2; exit 1
}
rps_wrk() { ip netns exec "$ns" wrk -t2 -c16 -d"${secs}s" "$1" | awk '/Requests\/sec/ {print $2}'; }

ip netns exec "$ns" ./kiln run --mem=16 --net:service0="kbt$$" guest/out/httpreply.hvt ip=10.93.0.2/24 >"$tmp/http.log" 2>&1 & pids+=($!)
wait_line "$tmp/http.log" listening
kiln_http=$(rps_wrk http://10.93.0.2/)
host_http=$(rps_wrk http://10.92.0.2:8080/)
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

ip netns exec "$ns" ./kiln run --mem=64 --net:service0="kbt$$" --block:storage="$tmp/kv.img" guest/out/kvstore.hvt ip=10.93.0.2/24 >"$tmp/kv.log" 2>&1 & pids+=($!)
wait_line "$tmp/kv.log" listening
rb() { ip netns exec "$ns" redis-benchmark -h "$1" -p "$2" -q -n "$3" -c 16 -t set,get | tr '\r' '\n' | awk '/requests per second/ {print $1, $2}' | tr -d ':'; }
kiln_kv=$(rb 10.93.0.2 6379 $((secs * 300)))
host_kv=$(rb 10.92.0.2 6380 $((secs * 3000)))

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4f", a / b; else print "n/a" }'; }
echo "network benchmark (${secs}s each; load from namespace $ns; 2 cores, emulating KVM)"
printf '  httpreply  wrk -t2 -c16: kiln %10s req/s   host process %10s req/s   ratio %s\n' "$kiln_http" "$host_http" "$(ratio "$kiln_http" "$host_http")"
while read -r op k; do
  h=$(echo "$host_kv" | awk -v o="$op" '$1 == o {print $2}')
  printf '  kvstore    %-4s -c16:   kiln %10s req/s   redis-server %10s req/s   ratio %s\n' "$op" "$k" "$h" "$(ratio "$k" "$h")"
done <<<"$kiln_kv"
echo "  (goal: >= 0.5x the host process; every guest instruction is emulated here, ~1 us each)"
