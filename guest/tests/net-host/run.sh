#!/usr/bin/env bash
# End-to-end tests for guest/lib/net on the host:
#   1. every net source compiles with the exact guest flags (-Wall -Wextra
#      -Werror), with default and non-default options, and needs nothing
#      but plat_* and memcpy/memset/memmove;
#   2. stackd (the stack + a tap shim, built with ASan/UBSan) runs in a
#      network namespace on tap 'tapnh0' as 10.77.0.2/24; from the kernel
#      side (10.77.0.1): ping, UDP echo, 10 MiB TCP echo (byte exact), TCP
#      discard with CRC, 50 sequential + 20 parallel connections, active
#      open, zero-window, a lossy/reordering 10 MiB transfer (netem, or the
#      shim's own impairment when the kernel has no netem), malformed frames,
#      a SYN flood, then ping/TCP again.
# The last line is "N passed, M failed"; exit status non-zero on failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
guest="$(cd "$here/../.." && pwd)"
lib="$guest/lib/net"
plat="$guest/platform/hvt"
CC="${CC:-gcc}"
tmp="$(mktemp -d)"
NS="kiln-nh-$$"
STACKD_PID=""

cleanup() {
    if [ -n "$STACKD_PID" ]; then kill "$STACKD_PID" 2>/dev/null || true; fi
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

pass=0
fail=0
ok()  { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

need=()
command -v ip >/dev/null      || need+=(iproute2)
command -v tc >/dev/null      || need+=(iproute2)
command -v python3 >/dev/null || need+=(python3)
command -v ping >/dev/null    || need+=(iputils-ping)
command -v nc >/dev/null      || need+=(netcat-openbsd)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

SOURCES=(eth arp ip udp tcp util)

# --- 1. guest build -------------------------------------------------------
GCCINC="$("$CC" -print-file-name=include)"
GUEST_FLAGS=(-std=gnu11 -ffreestanding -fno-builtin -nostdlib -nostdinc -isystem "$GCCINC"
             -mgeneral-regs-only -mno-red-zone -fno-stack-protector -fno-pic -O2
             -ffunction-sections -fdata-sections -fno-tree-loop-distribute-patterns)
INC=(-I "$lib/include" -I "$plat/include")
mkdir -p "$tmp/guest"
build_guest() {   # NAME EXTRA_FLAGS...
    local name="$1"; shift
    local s
    for s in "${SOURCES[@]}"; do
        "$CC" "${GUEST_FLAGS[@]}" -Wall -Wextra -Werror "${INC[@]}" "$@" \
            -c "$lib/src/$s.c" -o "$tmp/guest/$s-$name.o" || return 1
    done
}
if build_guest default; then ok "guest_build"; else bad "guest_build"; fi
if build_guest opts -DCONFIG_NET_TCP_CONNS=3 -DCONFIG_NET_TCP_RXBUF=2048 \
        -DCONFIG_NET_TCP_TXBUF=5000 -DCONFIG_NET_ARP_ENTRIES=2 -DCONFIG_NET_UDP_BINDS=1 \
        -DCONFIG_NET_TCP_TIME_WAIT_MS=10 -DCONFIG_NET_TCP_OOO_RANGES=1; then
    ok "guest_build_options"
else
    bad "guest_build_options"
fi
undef="$(nm -u "$tmp"/guest/*-default.o 2>/dev/null | awk '{print $2}' | sort -u |
         grep -v -E '^(plat_[a-z_]+|memcpy|memset|memmove|memcmp|(eth|arp|ip|udp|tcp|net)_[a-z0-9_]+)$' || true)"
if [ -z "$undef" ]; then ok "guest_undefined_symbols"; else bad "guest_undefined_symbols: $undef"; fi
# the manifest lists every source
if grep -q '^sources = \["src/eth.c", "src/arp.c", "src/ip.c", "src/udp.c", "src/tcp.c", "src/util.c"\]' \
        "$lib/kiln.toml"; then ok "manifest_sources"; else bad "manifest_sources"; fi

# --- 2. host build ------------------------------------------------------------
srcs=()
for s in "${SOURCES[@]}"; do srcs+=("$lib/src/$s.c"); done
if "$CC" -std=gnu11 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined \
        -fno-sanitize-recover=all "${INC[@]}" -I "$here" \
        "${srcs[@]}" "$here/host_plat.c" "$here/stackd.c" -o "$tmp/stackd"; then
    ok "host_build"
else
    bad "host_build"
    echo "$pass passed, $fail failed"
    exit 1
fi

# --- 3. namespace + tap --------------------------------------------------------
ip netns add "$NS"
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up
nsx ip tuntap add tapnh0 mode tap
nsx ip addr add 10.77.0.1/24 dev tapnh0
nsx ip link set tapnh0 up

start_stackd() {   # ENV assignments...
    local before
    before="$(grep -c "stackd ready" "$tmp/stackd.log" || true)"
    ip netns exec "$NS" env ASAN_OPTIONS=detect_leaks=0 "$@" "$tmp/stackd" tapnh0 "ip=10.77.0.2/24 gw=10.77.0.1" \
        >>"$tmp/stackd.log" 2>&1 &
    STACKD_PID=$!
    for _ in $(seq 50); do
        [ "$(grep -c "stackd ready" "$tmp/stackd.log" || true)" -gt "$before" ] && return 0
        sleep 0.1
    done
    return 1
}
stop_stackd() {   # exits 0 if stackd ended cleanly
    local rc=0
    kill -TERM "$STACKD_PID" 2>/dev/null || true
    wait "$STACKD_PID" || rc=$?
    STACKD_PID=""
    return $rc
}
alive() { kill -0 "$STACKD_PID" 2>/dev/null; }
client() { nsx timeout "${T:-60}" python3 "$here/client.py" "$@"; }
check() {   # NAME CMD...
    local name="$1"; shift
    local out
    if out="$("$@" 2>&1)"; then
        ok "$name${out:+ ($(echo "$out" | tail -1))}"
    else
        bad "$name"
        echo "$out" | tail -5 | sed 's/^/     /'
    fi
}

: >"$tmp/stackd.log"
if start_stackd; then ok "stackd_start"; else bad "stackd_start"; cat "$tmp/stackd.log"; fi

check ping        nsx ping -c 3 -i 0.2 -W 2 10.77.0.2
check udp_echo    client udp_echo
check tcp_echo_10MiB  env T=120 bash -c "$(declare -f nsx client); NS=$NS here=$here; client tcp_echo 10485760 100"
check tcp_discard_crc client tcp_discard 3000000
check tcp_50_sequential client tcp_many 50
check tcp_20_parallel client tcp_parallel 20 200000
check tcp_active_open client active_open
check tcp_zero_window client tcp_zero_window 300000
check nc_echo bash -c "printf 'hello via nc\n' | ip netns exec $NS timeout 5 nc -N 10.77.0.2 7 | grep -qx 'hello via nc'"
# Delayed ACKs (NET_TCP_DELACK_US): in request/response traffic each ACK rides on the reply, so
# 200 round trips cost the stack ~200 frames (plus handshake and close), not ~400 (one bare ACK
# per request before the reply, as before).
tx_frames() {
    kill -USR1 "$STACKD_PID" 2>/dev/null || true
    sleep 0.3
    grep '^stats' "$tmp/stackd.log" | tail -1 | tr ' ' '\n' | sed -n 's/^tx_frames=//p'
}
tx_before="$(tx_frames)"
if out="$(client tcp_pingpong 200 2>&1)"; then
    sent=$(( $(tx_frames) - tx_before ))
    if [ "$sent" -le 240 ]; then ok "tcp_acks_ride_on_replies ($sent frames for 200 round trips)"
    else bad "tcp_acks_ride_on_replies: $sent frames for 200 round trips (a bare ACK per request?)"; fi
else
    bad "tcp_acks_ride_on_replies: $out"
fi

# --- lossy / reordering link ------------------------------------------------------------
if nsx tc qdisc add dev tapnh0 root netem loss 5% reorder 25% 50% delay 1ms 2>/dev/null; then
    check tcp_echo_10MiB_netem env T=150 bash -c "$(declare -f nsx client); NS=$NS here=$here; client tcp_echo 10485760 140"
    nsx tc qdisc del dev tapnh0 root || true
else
    echo "################################################################"
    echo "NOTE: the netem qdisc is NOT available in this kernel: skipping the"
    echo "      netem part; running the same 10 MiB transfer over the host"
    echo "      shim's own impairment instead (NH_LOSS=5% each direction,"
    echo "      NH_REORDER=25% of transmitted frames)."
    echo "################################################################"
    if stop_stackd; then ok "stackd_clean_exit_1"; else bad "stackd_clean_exit_1"; fi
    if start_stackd NH_LOSS=5 NH_REORDER=25; then
        check tcp_echo_10MiB_lossy env T=150 bash -c "$(declare -f nsx client); NS=$NS here=$here; client tcp_echo 10485760 140"
        check tcp_20_sequential_lossy client tcp_many 20
        check udp_echo_lossy client udp_echo
        if stop_stackd; then ok "stackd_clean_exit_2"; else bad "stackd_clean_exit_2"; fi
    else
        bad "stackd_restart_lossy"
    fi
    start_stackd || bad "stackd_restart"
fi

# --- hostile input ----------------------------------------------------------------------------------------
check malformed_frames client malformed tapnh0
sleep 0.3
check ping_after_malformed nsx ping -c 3 -i 0.2 -W 2 10.77.0.2
check syn_flood client synflood tapnh0 1000
check tcp_after_syn_flood client tcp_many 10
check tcp_echo_after_flood client tcp_echo 1000000
kill -USR1 "$STACKD_PID" 2>/dev/null || true
sleep 0.3
stats="$(grep '^stats' "$tmp/stackd.log" | tail -1 || true)"
echo "     $stats"
for k in ip_bad_hlen ip_bad_len ip_bad_csum ip_fragment icmp_bad udp_bad_len udp_bad_csum \
         tcp_bad_len tcp_bad_csum tcp_bad_opt tcp_syn_evicted; do
    v="$(echo "$stats" | tr ' ' '\n' | sed -n "s/^$k=//p")"
    if [ -n "$v" ] && [ "$v" -gt 0 ]; then ok "counter_$k=$v"; else bad "counter_$k=${v:-missing}"; fi
done
# SACK (RFC 2018): the kernel offers it, so the ACKs for out-of-order data of the lossy runs carried blocks
sack="$(sed -n 's/^stats .* tcp_sack=\([0-9]*\) .*/\1/p' "$tmp/stackd.log" | sort -n | tail -1)"
if [ "${sack:-0}" -gt 0 ]; then ok "tcp_sack_blocks_sent=$sack"; else bad "tcp_sack_blocks_sent=${sack:-missing}"; fi

if alive && stop_stackd; then ok "stackd_clean_exit"; else bad "stackd_clean_exit"; tail -30 "$tmp/stackd.log"; fi
if grep -q -E 'ERROR: AddressSanitizer|runtime error' "$tmp/stackd.log"; then
    bad "sanitizers"; grep -E -A5 'ERROR: AddressSanitizer|runtime error' "$tmp/stackd.log" | head -20
else
    ok "sanitizers_clean"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
