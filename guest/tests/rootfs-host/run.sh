#!/usr/bin/env bash
# Tests for guest/lib/rootfs:
#   1. the library compiles for the guest with the exact guest flags (-Wall -Wextra -Werror) and
#      needs no symbol but the block library's, the allocator's and the platform's (no libc);
#   2. the host program rootfs_test.c, under ASan and UBSan, over an image `kiln pack` makes from
#      a tree written here: the API, then a fuzz of damaged images (ITERATIONS, default 20000).
# Environment: SEED (default 1), ITERATIONS, CC. The last line is "N passed, M failed".
LIB_NAME=rootfs
source "$(dirname "${BASH_SOURCE[0]}")/../host-harness.sh"
DEPS=(-I "$guest/lib/block/include" -I "$guest/lib/alloc/include")
if "$CC" "${GUEST_FLAGS[@]}" -Wall -Wextra -Werror "${INC[@]}" "${DEPS[@]}" \
        -c "$lib/src/rootfs.c" -o "$tmp/guest/rootfs.o"; then
    ok "guest_build"
else
    bad "guest_build"
fi
if [ -f "$tmp/guest/rootfs.o" ] &&
   undef="$(nm -u "$tmp/guest/rootfs.o" | awk '{print $2}' | sort | tr '\n' ' ')" &&
   [ "$undef" = "blk_open blk_read free malloc plat_console_write " ]; then
    ok "guest_undefined_symbols"
else
    bad "guest_undefined_symbols (${undef:-?})"
fi

# The tree rootfs_test.c expects (its api() names what it checks).
mkdir -p "$tmp/tree/lib" "$tmp/tree/empty-dir"
printf 'hello, rootfs\n' > "$tmp/tree/hello.txt"
python3 -c 'import sys; sys.stdout.buffer.write(bytes((i * 131 + 7) & 255 for i in range(70001)))' > "$tmp/tree/lib/data.bin"
chmod 640 "$tmp/tree/lib/data.bin"
: > "$tmp/tree/lib/empty"
if "$guest/../kiln" pack "$tmp/tree" -o "$tmp/root.kfs" > /dev/null; then
    ok "pack"
else
    bad "pack"
fi

SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
if "$CC" -std=gnu11 -O1 -g -Wall -Wextra -Werror "${SAN[@]}" "${INC[@]}" "${DEPS[@]}" \
        "$here/rootfs_test.c" "$lib/src/rootfs.c" "$guest/lib/block/src/block.c" -o "$tmp/rootfs_test"; then
    ok "host_build"
    rc=0
    timeout 600 "$tmp/rootfs_test" "$tmp/root.kfs" "${ITERATIONS:-20000}" "${SEED:-1}" > "$tmp/out.txt" 2>&1 || rc=$?
    sed 's/^/  /' "$tmp/out.txt"
    out="$(tail -n 1 "$tmp/out.txt")"
    if [[ "$out" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        pass=$((pass + BASH_REMATCH[1]))
        fail=$((fail + BASH_REMATCH[2]))
        if [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then bad "rootfs_test: exit status $rc"; fi
    else
        bad "rootfs_test: crashed (exit status $rc)"
    fi
else
    bad "host_build"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
