#!/usr/bin/env bash
# Host tests of the Kiln libc (guest/lib/libc):
#  1. every libc source (and the test shim) compiles with the guest flags,
#     -Wall -Wextra -Werror; every public header compiles on its own;
#  2. the libc links into a real hvt image (platform + libc + guest_smoke.c);
#  3. the same guest objects, renamed with objcopy --prefix-symbols=kiln_,
#     are linked into a host program with a stand-in for the platform and
#     compared with the host's glibc over many inputs.
# Prints one line per group and ends with "N passed, 0 failed"; exits
# non-zero on any mismatch (the first mismatches are printed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
guest="$(cd "$here/../.." && pwd)"
lib="$guest/lib/libc"
plat="$guest/platform/hvt"
CC="${CC:-gcc}"
OBJCOPY="${OBJCOPY:-objcopy}"
NM="${NM:-nm}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/guest" "$tmp/host"

GUEST_CFLAGS=(
    -std=gnu11 -ffreestanding -fno-builtin -nostdlib -nostdinc
    -isystem "$("$CC" -print-file-name=include)"
    -mgeneral-regs-only -mno-red-zone -fno-stack-protector -fno-pic -O2
    -ffunction-sections -fdata-sections -fno-tree-loop-distribute-patterns
    -Wall -Wextra -Werror
    -I "$lib/include" -I "$plat/include"
)

# The "sources" array of a kiln.toml (one line or several).
toml_sources() {
    awk '/^sources *= *\[/ { f = 1 } f { print } f && /\]/ { exit }' "$1" | grep -o '"[^"]*"' | tr -d '"'
}

# The sources, as the manifest lists them.
mapfile -t srcs < <(toml_sources "$lib/kiln.toml")
[ "${#srcs[@]}" -gt 0 ] || { echo "run.sh: no sources in $lib/kiln.toml" >&2; exit 1; }
for s in "$lib"/src/*.c; do
    rel="src/$(basename "$s")"
    printf '%s\n' "${srcs[@]}" | grep -qx "$rel" || { echo "run.sh: $rel is not in kiln.toml" >&2; exit 1; }
done

echo "libc: ${#srcs[@]} sources"

# 1. Guest compile, each source on its own.
objs=()
for s in "${srcs[@]}"; do
    o="$tmp/guest/$(basename "$s" .c).o"
    "$CC" "${GUEST_CFLAGS[@]}" -c "$lib/$s" -o "$o"
    objs+=("$o")
done
"$CC" "${GUEST_CFLAGS[@]}" -DKILN_LIBC_NO_ASM -c "$lib/src/string.c" -o "$tmp/guest/string_noasm.o"
"$CC" "${GUEST_CFLAGS[@]}" -I "$here" -c "$here/shim.c" -o "$tmp/guest/shim.o"
for h in "$lib"/include/*.h; do
    for std in gnu11 c99; do
        printf '#include <%s>\n#include <%s>\nint kiln_header_check_%s;\n' "$(basename "$h")" \
            "$(basename "$h")" "$std" >"$tmp/hdr.c"
        "$CC" "${GUEST_CFLAGS[@]/-std=gnu11/-std=$std}" -Wpedantic -c "$tmp/hdr.c" -o "$tmp/hdr.o"
    done
done
echo "guest compile: ${#srcs[@]} sources, shim and $(ls "$lib"/include/*.h | wc -l) headers clean (-Wall -Wextra -Werror)"

# 2. Link a real image: platform + libc + smoke app, with the flags of the
# builder (builder/.../Toolchain.java), a config header holding the libc's
# option defaults (as kiln build would generate it) and an MFT1 note with
# only entry 0 (as kiln build generates for an app without devices).
cat >"$tmp/config.h" <<'CFG'
#define CONFIG_LIB_HVT 1
#define CONFIG_LIB_LIBC 1
#define CONFIG_LIBC_PRINTF_WIDTH_MAX 4096LL
#define CONFIG_LIBC_STDIO_BUFSIZE 1024LL
#define CONFIG_LIBC_ATEXIT_MAX 32LL
#define CONFIG_LIBC_ASSERT 1
CFG
cat >"$tmp/manifest.S" <<'MFT'
        .section .note.solo5.manifest, "a", @note
        .p2align 3
        .long 6, 116, 0x3154464d
        .ascii "Solo5\0\0\0"
        .long 0
        .long 1, 1
        .zero 68
        .long 0x40000000
        .zero 32
MFT
plat_srcs=()
while read -r s; do plat_srcs+=("$plat/$s"); done < <(toml_sources "$plat/kiln.toml")
"$CC" -std=gnu11 -Wall -Wextra -Werror -ffreestanding -fno-builtin -nostdlib -nostdinc \
    -mgeneral-regs-only -mno-red-zone -fno-stack-protector -fno-pic -fno-pie -O2 -g \
    -fno-asynchronous-unwind-tables -fno-unwind-tables -ffunction-sections -fdata-sections \
    -mcmodel=small -fno-tree-loop-distribute-patterns -fcf-protection=none -fno-ident -fno-common \
    -isystem "$("$CC" -print-file-name=include)" -include "$tmp/config.h" \
    -I "$lib/include" -I "$plat/include" \
    -static -no-pie -Wl,--gc-sections -Wl,--build-id=none -z noexecstack -z max-page-size=0x1000 \
    -Wl,--orphan-handling=error -Wl,--fatal-warnings -Wl,-T,"$plat/hvt.ld" \
    -o "$tmp/smoke.dbg" "${plat_srcs[@]}" "$tmp/manifest.S" "${srcs[@]/#/$lib/}" "$here/guest_smoke.c"
echo "guest link: smoke image with platform + libc, $(stat -c %s "$tmp/smoke.dbg") bytes unstripped"
if [ -n "${KILN_LIBC_SMOKE_OUT:-}" ]; then      # keep the image (and .dbg) to run it
    strip -s -o "$KILN_LIBC_SMOKE_OUT" "$tmp/smoke.dbg"
    cp "$tmp/smoke.dbg" "$KILN_LIBC_SMOKE_OUT.dbg"
fi

# 3. Host build: the guest objects, renamed.
hobjs=()
for o in "${objs[@]}" "$tmp/guest/shim.o"; do
    h="$tmp/host/$(basename "$o")"
    "$OBJCOPY" --prefix-symbols=kiln_ "$o" "$h"
    hobjs+=("$h")
done
"$OBJCOPY" --prefix-symbols=kiln_noasm_ "$tmp/guest/string_noasm.o" "$tmp/host/string_noasm.o"
undef="$("$NM" -u "$tmp/host/string_noasm.o")"
[ -z "$undef" ] || { echo "run.sh: string.c must not call outside itself: $undef" >&2; exit 1; }

"$CC" -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-format-zero-length -Wno-format-truncation \
    -Wno-format-overflow -Wno-format-contains-nul -Wno-format-extra-args -Wno-format \
    -Wno-stringop-truncation -Wno-stringop-overflow \
    -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0 -fno-pie -no-pie -I "$here" \
    -o "$tmp/libc-host-test" \
    "$here"/main.c "$here"/plat_stub.c "$here"/t_*.c "${hobjs[@]}" "$tmp/host/string_noasm.o"

[ -z "${KILN_LIBC_KEEP_TEST:-}" ] || cp "$tmp/libc-host-test" "$KILN_LIBC_KEEP_TEST"
echo "host tests (Kiln libc vs $(ldd --version 2>/dev/null | head -1 | sed 's/^ldd //')):"
"$tmp/libc-host-test" "$@"
