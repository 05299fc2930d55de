/*
 * Kiln's musl sends every system call to __kiln_syscall (patches/0001), which in a guest is the
 * POSIX layer. On the host the tests give it the kernel: one `syscall` instruction, so the
 * patched musl's start-up, stdio and exit run unchanged in an ordinary Linux process.
 */
long __kiln_syscall(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
    return ret;
}
