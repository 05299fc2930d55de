# Shared by the host test scripts of the guest libraries (sourced after they set LIB_NAME):
# strict mode, paths, a scratch folder removed on exit, pass/fail counting, and the exact
# guest compiler flags the builder uses, for the "it builds for the guest" checks.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
guest="$(cd "$here/../.." && pwd)"
lib="$guest/lib/$LIB_NAME"
plat="$guest/platform/hvt"
CC="${CC:-gcc}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0
ok()  { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

GCCINC="$("$CC" -print-file-name=include)"
GUEST_FLAGS=(-std=gnu11 -ffreestanding -fno-builtin -nostdlib -nostdinc -isystem "$GCCINC"
             -mgeneral-regs-only -mno-red-zone -fno-stack-protector -fno-pic -O2
             -ffunction-sections -fdata-sections -fno-tree-loop-distribute-patterns)
INC=(-I "$lib/include" -I "$plat/include")

mkdir -p "$tmp/guest"   # guest-flag builds go here
