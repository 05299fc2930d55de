#!/usr/bin/env bash
# Tests for guest/lib/alloc:
#   1. the allocator compiles for the guest with the exact guest flags
#      (-Wall -Wextra -Werror), with default and non-default options, and
#      needs no symbol but the platform's (no libc: no memcpy/memset);
#   2. the host test program (alloc_test.c) with the allocator renamed to
#      kalloc_* (rename.h), once as configured by default and once with
#      ALLOC_STATS on and ALLOC_CHECKS off, plus a shorter run under UBSan.
# Environment: SEED (default 1), OPS (stress operations), CC.
# The last line is "N passed, M failed"; the exit status is non-zero on
# any failure.
LIB_NAME=alloc
source "$(dirname "${BASH_SOURCE[0]}")/../host-harness.sh"
if "$CC" "${GUEST_FLAGS[@]}" -Wall -Wextra -Werror "${INC[@]}" \
        -c "$lib/src/alloc.c" -o "$tmp/guest/alloc.o"; then
    ok "guest_build"
else
    bad "guest_build"
fi
if "$CC" "${GUEST_FLAGS[@]}" -Wall -Wextra -Werror "${INC[@]}" \
        -DCONFIG_ALLOC_STATS=1 -DCONFIG_ALLOC_CHECKS=0 -DCONFIG_ALLOC_STACK_RESERVE=1048576LL \
        -c "$lib/src/alloc.c" -o "$tmp/guest/alloc-opts.o"; then
    ok "guest_build_options"
else
    bad "guest_build_options"
fi
# Only platform symbols may be undefined: no libc (memcpy, memset, ...).
if [ -f "$tmp/guest/alloc.o" ] &&
   undef="$(nm -u "$tmp/guest/alloc.o" | awk '{print $2}' | sort | tr '\n' ' ')" &&
   [ "$undef" = "plat_abort plat_boot_info plat_console_write " ]; then
    ok "guest_undefined_symbols"
else
    bad "guest_undefined_symbols (${undef:-?})"
fi
# --- 2. host tests ----------------------------------------------------------
HOST_LIB_FLAGS=(-std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-builtin
                -nostdinc -isystem "$GCCINC" -include "$here/rename.h" "${INC[@]}")
HOST_FLAGS=(-std=gnu11 -O2 -g -Wall -Wextra -Werror -I "$here" "${INC[@]}")

# run_host NAME EXTRA_FLAGS... : build and run one variant, add its counts.
run_host() {
    local name="$1"; shift
    local dir="$tmp/$name" out rc=0
    mkdir -p "$dir"
    if ! "$CC" "${HOST_LIB_FLAGS[@]}" "$@" -c "$lib/src/alloc.c" -o "$dir/alloc.o" ||
       ! "$CC" "${HOST_FLAGS[@]}" "$@" "$here/alloc_test.c" "$dir/alloc.o" -o "$dir/alloc_test"; then
        bad "$name: build"
        return
    fi
    echo "== $name"
    timeout 120 "$dir/alloc_test" > "$dir/out.txt" 2>&1 || rc=$?
    sed 's/^/  /' "$dir/out.txt"
    out="$(tail -n 1 "$dir/out.txt")"
    if [[ "$out" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        pass=$((pass + BASH_REMATCH[1]))
        fail=$((fail + BASH_REMATCH[2]))
        if [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then bad "$name: exit status $rc"; fi
    else
        bad "$name: crashed (exit status $rc)"
    fi
}

run_host default
run_host stats -DCONFIG_ALLOC_STATS=1 -DCONFIG_ALLOC_CHECKS=1 -DCHECK_STATS=1
OPS="${UBSAN_OPS:-200000}" run_host ubsan -fsanitize=undefined -fno-sanitize-recover=all

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
