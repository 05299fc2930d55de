/*
 * The POSIX layer's one entry: musl calls __kiln_syscall(n, ...) where Linux
 * code would execute `syscall`.  The table maps Linux x86-64 numbers to the
 * handlers the linked POSIX libraries define; handlers are weak references,
 * so an image carries only the libraries it names and a call none of them
 * implements answers -ENOSYS, reported once by name on the console (like
 * Unikraft's syscall shim).  `kiln run --strace` (Kiln ABI 2, info flag
 * KILN_INFO_F_STRACE) lists every call with its arguments and result.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <kiln/platform.h>
#include <kiln/kiln_abi.h>
#include <kiln/posix.h>
#include "core.h"

#define X(name, fmt) __attribute__((weak)) KILN_SYS_PROTO(name);
#include "syscalls.def"
#undef X

struct syscall_entry {
    unsigned short nr;
    const char *name;
    const char *fmt;
    kiln_sysfn fn;
};

/* SYS_faccessat2 (439) is the highest number listed (syscalls.def). */
#define TABLE_SIZE 440

/* The listed calls in number order, and an index from number to entry + 1 (0: not listed): a
 * byte per number instead of a 24-byte entry per number keeps ~10 KiB out of every image. */
static const struct syscall_entry table[] = {
#define X(name, f) { SYS_##name, #name, f, kiln_sys_##name },
#include "syscalls.def"
#undef X
};

enum {
#define X(name, f) INDEX_##name,
#include "syscalls.def"
#undef X
};

static const unsigned char slot[TABLE_SIZE] = {
#define X(name, f) [SYS_##name] = INDEX_##name + 1,
#include "syscalls.def"
#undef X
};
_Static_assert(sizeof table / sizeof table[0] < 255, "slot[] holds entry indexes in a byte");

static const struct syscall_entry *entry_of(long n)
{
    if (n < 0 || n >= TABLE_SIZE || !slot[n])
        return 0;
    return &table[slot[n] - 1];
}

/* One bit per number: ENOSYS already reported. */
static unsigned long reported[(TABLE_SIZE + 63) / 64];
static unsigned long reported_unknown;

static int tracing = -1;

int kiln_posix_tracing(void)
{
    if (tracing < 0) {
        const struct kiln_info *ki = plat_info();
        tracing = ki != 0 && (ki->flags & KILN_INFO_F_STRACE) != 0;
    }
    return tracing;
}

void kiln_posix_say(const char *msg)
{
    unsigned long n = 0;
    while (msg[n])
        n++;
    plat_console_write(msg, n);
}

static void report_enosys(long n)
{
    char line[96];
    struct fmtbuf b = { line, sizeof line, 0 };
    if (n >= 0 && n < TABLE_SIZE) {
        if (reported[n / 64] & (1ul << (n % 64)))
            return;
        reported[n / 64] |= 1ul << (n % 64);
    } else {
        if (reported_unknown++)
            return;
    }
    fmt_str(&b, "kiln: posix: ");
    const struct syscall_entry *e = entry_of(n);
    if (e) {
        fmt_str(&b, e->name);
    } else {
        fmt_str(&b, "system call ");
        fmt_dec(&b, n);
    }
    fmt_str(&b, " is not implemented (ENOSYS)\n");
    plat_console_write(line, b.len);
}

static void trace_call(long n, const long *a, long ret)
{
    char line[512];
    struct fmtbuf b = { line, sizeof line - 1, 0 };
    const char *fmt = "xxxxxx";
    const struct syscall_entry *e = entry_of(n);
    if (e) {
        fmt_str(&b, e->name);
        fmt = e->fmt;
    } else {
        fmt_str(&b, "syscall_");
        fmt_dec(&b, n);
    }
    fmt_str(&b, "(");
    for (int i = 0; fmt[i] && i < 6; i++) {
        if (i)
            fmt_str(&b, ", ");
        fmt_arg(&b, fmt[i], a[i]);
    }
    fmt_str(&b, ") = ");
    if (ret < 0 && ret > -4096) {
        fmt_str(&b, "-1 ");
        fmt_str(&b, errno_name((int)-ret));
    } else if (n == SYS_mmap || n == SYS_brk || n == SYS_mremap) {
        fmt_hex(&b, (unsigned long)ret);
    } else {
        fmt_dec(&b, ret);
    }
    line[b.len++] = '\n';
    plat_console_write(line, b.len);
}

long __kiln_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
    long ret;
    if ((n == SYS_exit_group || n == SYS_exit) && tracing != 0 && kiln_posix_tracing()) {
        /* it does not return: say so first, as strace prints "= ?" */
        char line[64];
        struct fmtbuf b = { line, sizeof line, 0 };
        fmt_str(&b, n == SYS_exit ? "exit(" : "exit_group(");
        fmt_dec(&b, a1);
        fmt_str(&b, ") = ?\n");
        plat_console_write(line, b.len);
    }
    const struct syscall_entry *e = entry_of(n);
    if (e && e->fn) {
        ret = e->fn(a1, a2, a3, a4, a5, a6);
    } else {
        report_enosys(n);
        ret = -ENOSYS;
    }
    if (tracing != 0 && kiln_posix_tracing()) {
        long a[6] = { a1, a2, a3, a4, a5, a6 };
        trace_call(n, a, ret);
    }
    return ret;
}
