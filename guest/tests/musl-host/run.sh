#!/usr/bin/env bash
# Tests for guest/lib/musl, Kiln's changes to musl checked on the host against glibc:
#   - src/string_sse2.c, built with the guest's flags and its symbols renamed k_*, against
#      glibc's memcpy/memmove/memset/memchr/memcmp/strlen (strings_test.c);
#   - the patched musl tree the builder prepared (guest/out/libraries.build/upstream/musl-*/tree,
#      or $MUSL_TREE) built for the host, its system calls given to the kernel
#      (kiln_syscall_host.c): sin/cos/tan within 1 ulp of glibc's over the range patches/0002
#      reduces (trig_emit.c | trig_check.c), and integer printf byte-identical to glibc's
#      (printf_cases.c, patches/0003).
# Run after the guest images are built (scripts/test does). The last line is "N passed, M failed";
# the exit status is non-zero on any failure.
LIB_NAME=musl
source "$(dirname "${BASH_SOURCE[0]}")/../host-harness.sh"
OBJCOPY="${OBJCOPY:-objcopy}"

# --- the patched musl, built for the host -----------------------------------------
tree="${MUSL_TREE:-}"
if [ -z "$tree" ]; then
    for t in "$guest"/out/libraries.build/upstream/musl-*/tree; do [ -d "$t" ] && tree="$t"; done
fi
if [ -z "$tree" ] || [ ! -x "$tree/configure" ]; then
    bad "patched musl tree not found: build a musl image first (./kiln build --out guest/out guest/ports/lua) or set MUSL_TREE"
else
    echo "building the patched musl for the host from $tree"
    mkdir -p "$tmp/musl-build"
    if (cd "$tmp/musl-build" &&
        "$tree/configure" --target=x86_64 --disable-shared --prefix="$tmp/musl" CC="$CC" \
            AR=ar RANLIB=ranlib > configure.log 2>&1 &&
        make -j"$(nproc)" AR=ar RANLIB=ranlib install > make.log 2>&1); then
        ok "patched musl builds for the host"
    else
        tail -20 "$tmp/musl-build/make.log" 2>/dev/null || cat "$tmp/musl-build/configure.log"
        bad "patched musl builds for the host"
    fi
    MUSL_CC=("$tmp/musl/bin/musl-gcc" -O2 -static)
    if [ -x "$tmp/musl/bin/musl-gcc" ]; then
        "${MUSL_CC[@]}" -c "$here/kiln_syscall_host.c" -o "$tmp/kiln_syscall_host.o"
        if "${MUSL_CC[@]}" "$here/trig_emit.c" "$tmp/kiln_syscall_host.o" -o "$tmp/trig_emit" -lm &&
           "$CC" -O2 "$here/trig_check.c" -o "$tmp/trig_check" -lm &&
           timeout 300 "$tmp/trig_emit" | timeout 300 "$tmp/trig_check"; then
            ok "sin/cos/tan for 2^20*(pi/2) <= |x| < 2^28 within 1 ulp of glibc"
        else
            bad "sin/cos/tan for 2^20*(pi/2) <= |x| < 2^28 within 1 ulp of glibc"
        fi
        if "${MUSL_CC[@]}" -w "$here/printf_cases.c" "$tmp/kiln_syscall_host.o" -o "$tmp/printf_musl" &&
           "$CC" -O2 -w "$here/printf_cases.c" -o "$tmp/printf_glibc" &&
           timeout 60 "$tmp/printf_musl" | head -c 10000000 > "$tmp/printf_musl.txt" &&
           timeout 60 "$tmp/printf_glibc" | head -c 10000000 > "$tmp/printf_glibc.txt" &&
           diff "$tmp/printf_glibc.txt" "$tmp/printf_musl.txt" > "$tmp/printf.diff"; then
            ok "printf integer conversions identical to glibc ($(wc -l < "$tmp/printf_musl.txt") lines)"
        else
            head -20 "$tmp/printf.diff" 2>/dev/null
            bad "printf integer conversions identical to glibc"
        fi
    fi
fi
# --- string_sse2.c ---------------------------------------------------------------
# The guest's flags, less -mgeneral-regs-only (musl is a float = true library: SSE allowed), with
# musl's headers as in the guest (gcc's emmintrin.h includes <stdlib.h>).
STRING_FLAGS=(-std=gnu11 -ffreestanding -fno-builtin -nostdlib -nostdinc -isystem "$GCCINC"
              -isystem "$tmp/musl/include"
              -mno-red-zone -fno-stack-protector -fno-pic -O2 -ffunction-sections -fdata-sections
              -fno-tree-loop-distribute-patterns -Wall -Wextra -Werror)
if "$CC" "${STRING_FLAGS[@]}" -c "$lib/src/string_sse2.c" -o "$tmp/guest/string_sse2.o" &&
   "$OBJCOPY" --prefix-symbols=k_ "$tmp/guest/string_sse2.o" "$tmp/string_sse2_k.o" &&
   [ -z "$(nm -u "$tmp/string_sse2_k.o")" ] &&
   "$CC" -O2 -g -Wall -Wextra -Werror -fno-builtin "$here/strings_test.c" "$tmp/string_sse2_k.o" \
         -o "$tmp/strings_test" &&
   timeout 300 "$tmp/strings_test"; then
    ok "string_sse2 vs glibc"
else
    bad "string_sse2 vs glibc"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
