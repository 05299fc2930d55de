#!/usr/bin/env bash
# Network benchmarks, side by side in one run (issue: real servers as unikernels):
#   wrk on httpreply under Kiln   vs  the same page from a host process (host_httpreply.c)
#   redis-benchmark on kvstore    vs  Debian's redis-server as a host process
# Both servers sit behind the same kind of link from the load generator's namespace: the guest
# behind a tap, the host process behind a veth pair. Prints req/s, the ratios and, for each Kiln
# server, its VM exits per request served, each against its target.
# Usage: bench/net/run.sh [SECONDS]   (needs root, KVM, and the images built into guest/out)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs="${1:-10}"
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/net/run.sh [SECONDS]   (a whole number of seconds, not '$secs')" >&2; exit 2; }
for t in wrk redis-benchmark redis-server ip gcc; do
  command -v "$t" >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk redis-tools redis-server iproute2 gcc >/dev/null; break; }
done
for img in httpreply kvstore; do
  [ -f "guest/out/$img.hvt" ] || { echo "bench: guest/out/$img.hvt is missing: ./kiln build --out guest/out guest/apps/$img" >&2; exit 1; }
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
# kvstore's log is written a block at a time, and each BLOCK_WRITE is a VM exit (hvt spec 5): with
# Solo5's default 512-byte sectors a run of SETs made one exit per ~9 of them (23,053 for 200,000);
# 4 KiB sectors, what a disk has today, make it one per ~70 (2,886) and SET 40-55k -> 55-69k/s.
KV_DISK=(--block:storage="$tmp/kv.img" --block-sector-size:storage=4096)

wait_line() { # file text
  for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: '$2' never appeared in $1" >&2; cat "$1" >&2; exit 1
}

# A Kiln server in the namespace with --stats; `kiln run` prints the VM exits on stderr when the
# guest ends, also when it is stopped by a signal. The MAC is fixed so that every run of a server
# answers to the MAC the namespace's ARP cache already holds for 10.93.0.2.
server=
start_server() { # log image mem [kiln run options...]
  local log="$1" image="$2" mem="$3"; shift 3
  ip netns exec "$ns" ./kiln run --stats --mem="$mem" --net:service0="kbt$$" --net-mac:service0=02:00:0a:5d:00:02 "$@" \
    "guest/out/$image.hvt" "ip=10.93.0.2/24" ${GUEST_OPTS:+$GUEST_OPTS} >"$log" 2>&1 & server=$!
  pids+=("$server")
  wait_line "$log" listening
}
# SIGTERM, not SIGINT: a background job of a script starts with SIGINT ignored, and the JVM keeps
# an ignored SIGINT ignored. Sets $exits to the total of the --stats line. (Not run in $(...): only
# this shell can wait for the server, and the line is complete only once it has ended.)
exits=
stop_server() { # log
  kill -TERM "$server"; wait "$server" 2>/dev/null || true
  exits=$(sed -n 's/^kiln: [a-z]*, create .*, exits \([0-9]*\) (.*/\1/p' "$1" | tail -n 1)
  [ -n "$exits" ] || { echo "bench: no --stats line in $1" >&2; cat "$1" >&2; exit 1; }
}
# The exits a server takes to boot and stand idle until it is stopped: booted to 'listening' and
# stopped at once, the way the loaded run starts and ends. Subtracted from the loaded run's total.
boot_exits() { # image mem [kiln run options...]
  start_server "$tmp/boot.log" "$@"
  stop_server "$tmp/boot.log"
}

wrk_run() { # url -> "REQ_PER_SEC REQUESTS"
  ip netns exec "$ns" wrk -t2 -c16 -d"${secs}s" "$1" | awk '/requests in/ {n = $1} /Requests\/sec/ {r = $2} END {print r, n}'
}
# kvstore has no CONFIG command; redis-benchmark's warning that it could not read the server's
# configuration is dropped, anything else it says on stderr is kept.
rb() { # host port n -> lines "SET rps" and "GET rps"
  ip netns exec "$ns" redis-benchmark -h "$1" -p "$2" -q -n "$3" -c 16 -t set,get 2> >(grep -v 'Could not fetch server CONFIG' >&2) \
    | tr '\r' '\n' \
    | awk '/requests per second/ {print $1, $2}' | tr -d ':'
}
# Requests per test for a run of about $secs seconds per test, from a short probe's slower rate.
rb_count() { # "SET rps\nGET rps" -> n
  awk -v s="$secs" 'NR == 1 || $2 < min {min = $2} END {n = int(min * s); print (n < 300 ? 300 : n)}' <<<"$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4f", a / b; else print "n/a" }'; }
verdict() { # value op target -> met / NOT met
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { if (v == "n/a") print "NOT met"; else if (op == ">=" ? v >= t : v <= t) print "met"; else print "NOT met" }'
}
per_request() { # exits requests
  awk -v e="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.3f", e / n; else print "n/a" }'
}

# httpreply: boot-only exits, then the loaded run (stopped right after its load, so it does not
# idle through the host process's), then the host process.
boot_exits httpreply 16; http_boot=$exits
start_server "$tmp/http.log" httpreply 16
read -r kiln_http http_requests <<<"$(wrk_run http://10.93.0.2/)"
stop_server "$tmp/http.log"; http_total=$exits
read -r host_http _ <<<"$(wrk_run http://10.92.0.2:8080/)"

# kvstore: the same, with a probe that sizes redis-benchmark's -n to about $secs per test.
# Both in memory only, like for like: redis-server with --appendonly no --save '' writes no file,
# and kvstore with appendonly=no (its disk attached: the image declares it) logs nothing. (Until
# 2026-12-06 kvstore ran here with appendfsync=no: it logged every change, which redis-server did
# not. That pair is measured below, with redis-server's AOF on.)
export GUEST_OPTS="appendonly=no"
boot_exits kvstore 64 "${KV_DISK[@]}"; kv_boot=$exits
start_server "$tmp/kv.log" kvstore 64 "${KV_DISK[@]}"
probe_n=100
kv_n=$(rb_count "$(rb 10.93.0.2 6379 "$probe_n")")
kiln_kv=$(rb 10.93.0.2 6379 "$kv_n")
stop_server "$tmp/kv.log"; kv_total=$exits
kv_requests=$((2 * (probe_n + kv_n)))   # SET and GET, probe included: the exits count covers both
host_n=$(rb_count "$(rb 10.92.0.2 6380 2000)")
host_kv=$(rb 10.92.0.2 6380 "$host_n")

# Durability, both sides flushing every acknowledged write before the reply: kvstore with
# appendfsync=always (its log on the block device, BLOCK_FLUSH) and redis-server with
# --appendonly yes --appendfsync always (its AOF in a file). SET only: GET writes nothing.
rb_set() { # host port n -> rps
  ip netns exec "$ns" redis-benchmark -h "$1" -p "$2" -q -n "$3" -c 16 -t set 2> >(grep -v 'Could not fetch server CONFIG' >&2) \
    | tr '\r' '\n' | awk '/requests per second/ {print $2}'
}
# durable_pair POLICY PORT N: SET/s of kvstore and of a redis-server on PORT, both with appendfsync
# POLICY, N requests each; sets $kiln_rps and $host_rps (not in $(...): the servers are this shell's).
durable_pair() {
  export GUEST_OPTS="appendfsync=$1"
  start_server "$tmp/kv-$1.log" kvstore 64 "${KV_DISK[@]}"
  kiln_rps=$(rb_set 10.93.0.2 6379 "$3")
  stop_server "$tmp/kv-$1.log"
  mkdir -p "$tmp/aof-$1"
  redis-server --bind 10.92.0.2 --port "$2" --protected-mode no --save '' --appendonly yes --appendfsync "$1" \
    --dir "$tmp/aof-$1" --daemonize no >/dev/null & pids+=($!)
  sleep 0.5
  host_rps=$(rb_set 10.92.0.2 "$2" "$3")
}
durable_pair always 6381 $((secs * 500)); kiln_always=$kiln_rps; host_always=$host_rps
# and at most a second's worth at risk
durable_pair everysec 6382 $((secs * 2000)); kiln_everysec=$kiln_rps; host_everysec=$host_rps
# and logged, flushed when the host's page cache (redis) or kvstore's ticker gets to it
durable_pair no 6383 $((secs * 2000)); kiln_nofsync=$kiln_rps; host_nofsync=$host_rps

kvm=$(for m in /sys/module/kvm_*; do [ -d "$m" ] && echo "${m##*/}"; done | paste -sd, -)
mode=$(sed -n 's/^kiln: \([a-z]*\), create .*/\1/p' "$tmp/http.log" | tail -n 1)
echo "network benchmark (${secs}s per measurement; load from namespace $ns; $(nproc) cores; KVM module ${kvm:-none}; guests ${mode:-?})"
r=$(ratio "$kiln_http" "$host_http")
printf '  httpreply  wrk -t2 -c16:   kiln %10s req/s   host process %10s req/s   ratio %s   (target >= 1.0x: %s)\n' \
  "$kiln_http" "$host_http" "$r" "$(verdict "$r" '>=' 1.0)"
http_exits=$((http_total - http_boot))
e=$(per_request "$http_exits" "$http_requests")
printf '             exits/request: %s = %d exits during the load / %d requests   (target <= 0.2: %s)\n' \
  "$e" "$http_exits" "$http_requests" "$(verdict "$e" '<=' 0.2)"
while read -r op k; do
  h=$(awk -v o="$op" '$1 == o {print $2}' <<<"$host_kv")
  r=$(ratio "$k" "$h")
  printf '  kvstore    %-4s -c16 -n%-6s kiln %10s req/s   redis-server %10s req/s   ratio %s   (target >= 1.0x: %s)\n' \
    "$op" "$kv_n" "$k" "$h" "$r" "$(verdict "$r" '>=' 1.0)"
done <<<"$kiln_kv"
kv_exits=$((kv_total - kv_boot))
e=$(per_request "$kv_exits" "$kv_requests")
printf '             exits/request: %s = %d exits during the load / %d requests (SET and GET, %d of them a probe)   (target <= 0.2: %s)\n' \
  "$e" "$kv_exits" "$kv_requests" "$((2 * probe_n))" "$(verdict "$e" '<=' 0.2)"
echo "  exits: from 'kiln run --stats' when the server is stopped (SIGTERM), less those of a run booted to"
echo "  'listening' and stopped at once (httpreply $http_boot, kvstore $kv_boot): boot and idle are not charged to requests"
r=$(ratio "$kiln_always" "$host_always")
printf '  kvstore    SET  -c16, every write flushed before its reply: kiln (appendfsync=always) %10s req/s   redis-server (appendfsync always) %10s req/s   ratio %s\n' \
  "$kiln_always" "$host_always" "$r"
r=$(ratio "$kiln_everysec" "$host_everysec")
printf '  kvstore    SET  -c16, flushed once a second:            kiln (appendfsync=everysec) %10s req/s   redis-server (appendfsync everysec) %10s req/s   ratio %s\n' \
  "$kiln_everysec" "$host_everysec" "$r"
r=$(ratio "$kiln_nofsync" "$host_nofsync")
printf '  kvstore    SET  -c16, logged, never flushed on its own:   kiln (appendfsync=no)       %10s req/s   redis-server (appendfsync no)       %10s req/s   ratio %s\n' \
  "$kiln_nofsync" "$host_nofsync" "$r"
