#!/usr/bin/env bash
# Build the Kiln guest images for the hvt platform:
#   out/hello.hvt     out/hello.dbg       (guest/apps/hello)
#   out/hvtcheck.hvt  out/hvtcheck.dbg    (guest/tests/hvtcheck)
# The .dbg is the unstripped link output; the .hvt is `strip -s` of it.
# Each image is one compiler invocation over the platform, the fmt library
# and the app, so the platform is compiled once per app.  Re-running
# rebuilds everything from scratch (a fraction of a second) and gives the
# same result: idempotent, no stale state.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

CC="${CC:-gcc}"
STRIP="${STRIP:-strip}"
READELF="${READELF:-readelf}"
OUT="$here/out"
PLAT="$here/platform/hvt"

# The guest runs under a nested KVM whose instruction emulator lacks many
# SSE instructions, hence -mgeneral-regs-only everywhere.
# -fno-tree-loop-distribute-patterns: never turn loops into memcpy/memset
#   calls (the platform's own mem*.c would otherwise call itself).
# -fcf-protection=none: no endbr64 padding.  -fno-ident: no .comment.
CFLAGS=(
    -std=gnu11 -Wall -Wextra
    -ffreestanding -fno-builtin -nostdlib -nostdinc
    -isystem "$("$CC" -print-file-name=include)"
    -mgeneral-regs-only -mno-red-zone -fno-stack-protector
    -fno-pic -fno-pie -no-pie -static -O2
    -fno-asynchronous-unwind-tables -fno-unwind-tables
    -ffunction-sections -fdata-sections -mcmodel=small
    -fno-tree-loop-distribute-patterns -fcf-protection=none -fno-ident
    -fno-common
    -I "$PLAT/include" -I "$here/lib/fmt/include"
)
LDFLAGS=(
    -Wl,--gc-sections -Wl,--build-id=none
    -z noexecstack -z max-page-size=0x1000
    -Wl,-T,"$PLAT/hvt.ld"
    -Wl,--orphan-handling=error
    -Wl,--fatal-warnings
)
PLATFORM_SRCS=(
    "$PLAT/src/start.c"
    "$PLAT/src/hvt.c"
    "$PLAT/src/mem.c"
    "$PLAT/src/notes.S"
    "$here/lib/fmt/fmt.c"
)

# Refuse an image that lost its PT_INTERP or one of the 3 PT_NOTEs, or
# that has a writable+executable segment (spec 1).
check_image() {
    local img="$1" phdrs
    phdrs="$("$READELF" -lW "$img")"
    grep -q '^  INTERP ' <<<"$phdrs" || { echo "$img: no PT_INTERP" >&2; exit 1; }
    [ "$(grep -c '^  NOTE ' <<<"$phdrs")" -eq 3 ] || { echo "$img: expected 3 PT_NOTEs" >&2; exit 1; }
    if grep -E '^  LOAD ' <<<"$phdrs" | grep -qE ' RWE '; then
        echo "$img: W+X segment" >&2; exit 1
    fi
}

build() {
    local name="$1"; shift
    "$CC" "${CFLAGS[@]}" "${LDFLAGS[@]}" -o "$OUT/$name.dbg" "${PLATFORM_SRCS[@]}" "$@"
    "$STRIP" -s -o "$OUT/$name.hvt" "$OUT/$name.dbg"
    check_image "$OUT/$name.hvt"
    printf '%-14s %6d bytes\n' "$name.hvt" "$(stat -c %s "$OUT/$name.hvt")"
}

mkdir -p "$OUT"
build hello    "$here/apps/hello/hello.c"
build hvtcheck "$here/tests/hvtcheck/hvtcheck.c"
