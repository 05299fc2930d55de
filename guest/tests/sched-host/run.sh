#!/usr/bin/env bash
# Tests for guest/lib/sched:
#   1. sched.c and switch.S compile for the guest with the exact guest flags
#      (-Wall -Wextra -Werror), with default and non-default options, and
#      need nothing but the platform, malloc/free and (weakly) errno;
#   2. the host test program (sched_test.c): the scheduler runs as is in a
#      Linux process, with plat_* stubbed (clock_gettime, clock_nanosleep)
#      and malloc/free/errno renamed to counting wrappers; built once with
#      the default options and once under UBSan.
# The last line is "N passed, M failed"; the exit status is non-zero on
# any failure.
LIB_NAME=sched
source "$(dirname "${BASH_SOURCE[0]}")/../host-harness.sh"
build_guest() {   # NAME EXTRA_FLAGS...
    local name="$1"; shift
    "$CC" "${GUEST_FLAGS[@]}" -Wall -Wextra -Werror "${INC[@]}" "$@" \
        -c "$lib/src/sched.c" -o "$tmp/guest/sched-$name.o" &&
    "$CC" "${GUEST_FLAGS[@]}" -Wall -Wextra -Werror "${INC[@]}" "$@" \
        -c "$lib/src/switch.S" -o "$tmp/guest/switch-$name.o"
}
if build_guest default; then ok "guest_build"; else bad "guest_build"; fi
if build_guest opts -DCONFIG_SCHED_STACK_SIZE=65536LL -DCONFIG_SCHED_STACK_CANARY=0 \
        -DCONFIG_SCHED_SWAP_ERRNO=0; then
    ok "guest_build_options"
else
    bad "guest_build_options"
fi
# Undefined symbols: platform, malloc/free, the weak errno, and the two
# objects' references to each other.
if [ -f "$tmp/guest/sched-default.o" ] && [ -f "$tmp/guest/switch-default.o" ] &&
   undef="$(nm -u "$tmp/guest/sched-default.o" "$tmp/guest/switch-default.o" |
            awk 'NF == 2 {print $1 ":" $2}' | sort | tr '\n' ' ')" &&
   [ "$undef" = "U:free U:malloc U:plat_abort U:plat_console_write U:plat_exit U:plat_monotonic_ns U:plat_poll U:sched_ctx_switch U:sched_thread_start U:sched_thread_trampoline w:errno " ]; then
    ok "guest_undefined_symbols"
else
    bad "guest_undefined_symbols (${undef:-?})"
fi

# --- 2. host tests ----------------------------------------------------------
RENAME=(-Dmalloc=test_malloc -Dfree=test_free -Derrno=test_errno)
HOST_LIB_FLAGS=(-std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-builtin
                -nostdinc -isystem "$GCCINC" -mgeneral-regs-only "${RENAME[@]}" "${INC[@]}")
HOST_FLAGS=(-std=gnu11 -O2 -g -Wall -Wextra -Werror "${INC[@]}")

run_host() {   # NAME EXTRA_FLAGS...
    local name="$1"; shift
    local dir="$tmp/$name" out rc=0
    mkdir -p "$dir"
    if ! "$CC" "${HOST_LIB_FLAGS[@]}" "$@" -c "$lib/src/sched.c" -o "$dir/sched.o" ||
       ! "$CC" "${HOST_LIB_FLAGS[@]}" -c "$lib/src/switch.S" -o "$dir/switch.o" ||
       ! "$CC" "${HOST_FLAGS[@]}" "$@" "$here/sched_test.c" "$dir/sched.o" "$dir/switch.o" \
            -o "$dir/sched_test"; then
        bad "$name: build"
        return
    fi
    echo "== $name"
    timeout 120 "$dir/sched_test" > "$dir/out.txt" 2>&1 || rc=$?
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
run_host ubsan -fsanitize=undefined -fno-sanitize-recover=all

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
