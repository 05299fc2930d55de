/*
 * hvt entry point.
 *
 * Spec 3: the monitor enters at e_entry already in 64-bit long mode with
 * paging on, interrupts off and no IDT, RDI = 0x10000 (the boot info, spec
 * 4) and RSP = memory size - 8.  Since memory size is a multiple of 2 MiB,
 * RSP % 16 == 8, exactly what the SysV ABI guarantees at a function's first
 * instruction, so _start can be an ordinary C function taking the boot info
 * pointer as its first argument.  There is nothing to return to.
 *
 * Boot cost matters (each instruction is expensive under the nested
 * hypervisor), so the boot path only stores one pointer: the monitor
 * already zeroed .bss (spec 1) and RAM starts zero-filled, the clock needs
 * no calibration (conversion happens when the time is asked for) and the
 * command line is used in place (it lives in the read-only page range at
 * 0x10000, spec 3).
 */
#include <kiln/hvt_abi.h>
#include <kiln/kiln_abi.h>
#include <kiln/platform.h>
#include "hvt_internal.h"

/* The ELF entry point (hvt.ld: ENTRY(_start)); called by nobody. */
__attribute__((noreturn)) void _start(const struct hvt_boot_info *bi);

/* In .bss: zero until _start runs; read by the platform functions. */
const struct hvt_boot_info *hvt_bi;

/*
 * main's status goes to exit(): the C library's when one is linked (it runs
 * the atexit handlers and flushes stdio, so no output is lost), otherwise
 * this weak one, which halts at once.
 */
__attribute__((weak, noreturn)) void exit(int status);
#ifndef CONFIG_LIB_MUSL /* musl's exit is in an archive: see mem.c */
__attribute__((weak, noreturn)) void exit(int status)
{
    plat_exit(status);
}
#endif

/*
 * How main is reached: Kiln's own C library takes the command line as it is
 * (main(cmdline)); a C runtime that sets itself up first -- musl through the
 * POSIX layer (guest/lib/posix-core), which builds argv, the environment and
 * the auxiliary vector -- replaces this weak definition.
 */
__attribute__((weak, noreturn)) void plat_run_main(const char *cmdline);
__attribute__((weak, noreturn)) void plat_run_main(const char *cmdline)
{
    exit(main(cmdline));
}

static inline uint64_t boot_tsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

__attribute__((noreturn, used)) void _start(const struct hvt_boot_info *bi)
{
    uint64_t entry = boot_tsc();
    hvt_bi = bi;
    /* Kiln spec 2.2: boot timestamps for the monitor's entry-to-main figure,
     * only where Kiln's monitor wrote the info page (the page is writable
     * there; on another tender it may not be) */
    struct kiln_info *ki = (struct kiln_info *)(uintptr_t)KILN_INFO_GPA;
    if (ki->magic == KILN_INFO_MAGIC && ki->guest_entry_tsc == 0) {
        ki->guest_entry_tsc = entry;
        ki->guest_main_tsc = boot_tsc();
    }
    plat_run_main((const char *)(uintptr_t)bi->cmdline);
}

const struct hvt_boot_info *plat_boot_info(void)
{
    return hvt_bi;
}

const char *plat_cmdline(void)
{
    /* Spec 4 always provides a NUL-terminated command line; the check only
     * protects against a monitor handing us GPA 0 (the unmapped page). */
    hvt_gpa_t p = hvt_bi->cmdline;
    return p ? (const char *)(uintptr_t)p : "";
}
