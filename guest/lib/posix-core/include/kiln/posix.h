/*
 * Kiln's POSIX layer: the Linux system calls a program built against musl
 * makes, implemented inside the unikernel and reached by a function call.
 *
 * musl's system-call entry (arch/x86_64/syscall_arch.h, patched by
 * guest/lib/musl) calls __kiln_syscall(n, a1..a6) instead of trapping.
 * posix-core dispatches on the Linux number to handlers named
 * kiln_sys_NAME, which the POSIX microlibraries define (posix-core itself:
 * process, time, signals, random; posix-mm: memory; posix-vfs: files).  A
 * handler returns what the kernel would: a result >= 0 or -errno.
 *
 * KILN_SYSCALLn(name, type1, arg1, ...) defines kiln_sys_name with the
 * uniform signature the dispatch table stores and a typed body.
 */
#ifndef KILN_POSIX_H
#define KILN_POSIX_H

typedef long (*kiln_sysfn)(long, long, long, long, long, long);

#define KILN_SYS_PROTO(name) long kiln_sys_##name(long, long, long, long, long, long)

#define KILN_SYSCALL0(name)                                                        \
    static long name##_impl(void);                                                 \
    KILN_SYS_PROTO(name);                                                          \
    long kiln_sys_##name(long x1, long x2, long x3, long x4, long x5, long x6)     \
    { (void)x1; (void)x2; (void)x3; (void)x4; (void)x5; (void)x6; return name##_impl(); } \
    static long name##_impl(void)
#define KILN_SYSCALL1(name, t1, a1)                                                \
    static long name##_impl(t1 a1);                                                \
    KILN_SYS_PROTO(name);                                                          \
    long kiln_sys_##name(long x1, long x2, long x3, long x4, long x5, long x6)     \
    { (void)x2; (void)x3; (void)x4; (void)x5; (void)x6; return name##_impl((t1)x1); } \
    static long name##_impl(t1 a1)
#define KILN_SYSCALL2(name, t1, a1, t2, a2)                                        \
    static long name##_impl(t1 a1, t2 a2);                                         \
    KILN_SYS_PROTO(name);                                                          \
    long kiln_sys_##name(long x1, long x2, long x3, long x4, long x5, long x6)     \
    { (void)x3; (void)x4; (void)x5; (void)x6; return name##_impl((t1)x1, (t2)x2); } \
    static long name##_impl(t1 a1, t2 a2)
#define KILN_SYSCALL3(name, t1, a1, t2, a2, t3, a3)                                \
    static long name##_impl(t1 a1, t2 a2, t3 a3);                                  \
    KILN_SYS_PROTO(name);                                                          \
    long kiln_sys_##name(long x1, long x2, long x3, long x4, long x5, long x6)     \
    { (void)x4; (void)x5; (void)x6; return name##_impl((t1)x1, (t2)x2, (t3)x3); }  \
    static long name##_impl(t1 a1, t2 a2, t3 a3)
#define KILN_SYSCALL4(name, t1, a1, t2, a2, t3, a3, t4, a4)                        \
    static long name##_impl(t1 a1, t2 a2, t3 a3, t4 a4);                           \
    KILN_SYS_PROTO(name);                                                          \
    long kiln_sys_##name(long x1, long x2, long x3, long x4, long x5, long x6)     \
    { (void)x5; (void)x6; return name##_impl((t1)x1, (t2)x2, (t3)x3, (t4)x4); }    \
    static long name##_impl(t1 a1, t2 a2, t3 a3, t4 a4)
#define KILN_SYSCALL5(name, t1, a1, t2, a2, t3, a3, t4, a4, t5, a5)                \
    static long name##_impl(t1 a1, t2 a2, t3 a3, t4 a4, t5 a5);                    \
    KILN_SYS_PROTO(name);                                                          \
    long kiln_sys_##name(long x1, long x2, long x3, long x4, long x5, long x6)     \
    { (void)x6; return name##_impl((t1)x1, (t2)x2, (t3)x3, (t4)x4, (t5)x5); }      \
    static long name##_impl(t1 a1, t2 a2, t3 a3, t4 a4, t5 a5)
#define KILN_SYSCALL6(name, t1, a1, t2, a2, t3, a3, t4, a4, t5, a5, t6, a6)        \
    static long name##_impl(t1 a1, t2 a2, t3 a3, t4 a4, t5 a5, t6 a6);             \
    KILN_SYS_PROTO(name);                                                          \
    long kiln_sys_##name(long x1, long x2, long x3, long x4, long x5, long x6)     \
    { return name##_impl((t1)x1, (t2)x2, (t3)x3, (t4)x4, (t5)x5, (t6)x6); }        \
    static long name##_impl(t1 a1, t2 a2, t3 a3, t4 a4, t5 a5, t6 a6)

/* The entry musl's patched syscall_arch.h calls. */
long __kiln_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6);

/* Console output that bypasses stdio (messages of the POSIX layer itself). */
void kiln_posix_say(const char *msg);

/*
 * Hooks other POSIX libraries may define (weak references: absent, nothing
 * runs).  kiln_posix_vfs_start runs before main (posix-vfs mounts its file
 * systems there); kiln_posix_vfs_exit runs when the program ends.
 */
__attribute__((weak)) void kiln_posix_vfs_start(void);
__attribute__((weak)) void kiln_posix_vfs_exit(void);
/* Libraries that add file systems to posix-vfs's name space (posix-blockfile) mount them here:
 * it runs after kiln_posix_vfs_start, before main.  One library may define it. */
__attribute__((weak)) void kiln_posix_mount_more(void);

/* Ends the program: runs kiln_posix_vfs_exit, then ends the instance with status & 0xff. */
__attribute__((noreturn)) void kiln_posix_exit(int status);

/* Realtime nanoseconds since the epoch (one WALLTIME hypercall per instance, then the TSC). */
unsigned long long kiln_posix_realtime_ns(void);

/* Monotonic nanoseconds since boot. */
unsigned long long kiln_posix_uptime_ns(void);

/* The calling program's process id (the instance's id under Kiln's monitor, else 1). */
long kiln_posix_pid(void);

/* Sleeps until the monotonic clock reaches deadline_ns (polling the devices meanwhile). */
void kiln_posix_sleep_until(unsigned long long deadline_ns);

/* True when `kiln run --strace` asked for every call to be listed. */
int kiln_posix_tracing(void);

#endif /* KILN_POSIX_H */
