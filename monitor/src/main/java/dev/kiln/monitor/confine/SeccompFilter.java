package dev.kiln.monitor.confine;

import dev.kiln.monitor.kvm.FieldOffsets;
import dev.kiln.monitor.kvm.KvmException;
import dev.kiln.monitor.kvm.LibC;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A seccomp-BPF filter (seccomp(2), Documentation/userspace-api/seccomp_filter.rst) that refuses
 * the system calls a monitor never needs, so that a guest that found a way into the monitor
 * process still could not run a program, load a kernel module, enter namespaces, trace another
 * process or reboot the host. Everything else is allowed: the JVM's own needs (threads, GC,
 * JIT, signals, tgkill for kicks) are too many and too version-dependent to list one by one.
 *
 * <p>Installed with SECCOMP_FILTER_FLAG_TSYNC, so every thread of the process gets it at once
 * (the JVM has started many before the monitor runs), after PR_SET_NO_NEW_PRIVS, which an
 * unprivileged process needs before it may install a filter. Neither can be undone: a filter
 * holds for the life of the process and its children.
 */
public final class SeccompFilter {
    private SeccompFilter() {}

    // include/uapi/linux/filter.h and bpf_common.h: instruction classes and modes.
    static final short BPF_LD_W_ABS = 0x00 | 0x00 | 0x20;   // BPF_LD | BPF_W | BPF_ABS
    static final short BPF_JEQ_K = 0x05 | 0x10 | 0x00;      // BPF_JMP | BPF_JEQ | BPF_K
    static final short BPF_JGE_K = 0x05 | 0x30 | 0x00;      // BPF_JMP | BPF_JGE | BPF_K
    static final short BPF_JSET_K = 0x05 | 0x40 | 0x00;     // BPF_JMP | BPF_JSET | BPF_K
    static final short BPF_RET_K = 0x06 | 0x00;             // BPF_RET | BPF_K

    // include/uapi/linux/seccomp.h
    static final int SECCOMP_RET_ALLOW = 0x7fff0000;
    static final int SECCOMP_RET_ERRNO = 0x00050000;
    static final int SECCOMP_SET_MODE_FILTER = 1;
    static final int SECCOMP_FILTER_FLAG_TSYNC = 1;
    /** include/uapi/linux/prctl.h */
    static final int PR_SET_NO_NEW_PRIVS = 38;
    /** include/uapi/linux/audit.h: EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE. */
    static final int AUDIT_ARCH_X86_64 = 0xC000003E;
    /** arch/x86/include/uapi/asm/unistd.h: x32 system calls have this bit set in their number. */
    static final int X32_SYSCALL_BIT = 0x40000000;
    static final int EPERM = 1, ENOSYS = 38;

    /**
     * <pre>
     * struct seccomp_data {
     *     int nr;                       // 0
     *     __u32 arch;                   // 4
     *     __u64 instruction_pointer;    // 8
     *     __u64 args[6];                // 16 (args[0]'s low half first: x86_64 is little-endian)
     * };
     * </pre>
     */
    static final int DATA_NR = 0, DATA_ARCH = 4, DATA_ARG0_LOW = 16;

    /** x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl) of what a monitor never calls. */
    enum Refused {
        EXECVE(59), EXECVEAT(322), PTRACE(101), PROCESS_VM_READV(310), PROCESS_VM_WRITEV(311),
        MOUNT(165), UMOUNT2(166), PIVOT_ROOT(155), CHROOT(161), OPEN_TREE(428), MOVE_MOUNT(429),
        FSOPEN(430), FSCONFIG(431), FSMOUNT(432), FSPICK(433), MOUNT_SETATTR(442), OPEN_BY_HANDLE_AT(304),
        INIT_MODULE(175), FINIT_MODULE(313), DELETE_MODULE(176), KEXEC_LOAD(246), KEXEC_FILE_LOAD(320),
        REBOOT(169), SWAPON(167), SWAPOFF(168), ACCT(163), SETHOSTNAME(170), SETDOMAINNAME(171),
        IOPL(172), IOPERM(173), SETTIMEOFDAY(164), CLOCK_SETTIME(227), ADJTIMEX(159), CLOCK_ADJTIME(305),
        BPF(321), PERF_EVENT_OPEN(298), USERFAULTFD(323), KEYCTL(250), ADD_KEY(248), REQUEST_KEY(249),
        UNSHARE(272), SETNS(308), QUOTACTL(179), USELIB(134), PERSONALITY(135);

        final int nr;

        Refused(int nr) {
            this.nr = nr;
        }
    }

    static final int SYS_CLONE = 56, SYS_CLONE3 = 435;
    /**
     * CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
     * CLONE_NEWNET (include/uapi/linux/sched.h). CLONE_NEWTIME (0x80) is left out: clone(2) takes
     * the exit signal in that byte, and only clone3 and unshare accept it.
     */
    static final int CLONE_NEW_ANY = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
            | 0x20000000 | 0x40000000;

    /**
     * <pre>
     * struct sock_filter {   // include/uapi/linux/filter.h
     *     __u16 code;
     *     __u8  jt;
     *     __u8  jf;
     *     __u32 k;
     * };
     * </pre>
     */
    static final StructLayout SOCK_FILTER = MemoryLayout.structLayout(
            JAVA_SHORT.withName("code"), JAVA_BYTE.withName("jt"), JAVA_BYTE.withName("jf"), JAVA_INT.withName("k"));
    /**
     * <pre>
     * struct sock_fprog {    // include/uapi/linux/filter.h
     *     unsigned short len;
     *     struct sock_filter *filter;
     * };
     * </pre>
     */
    static final StructLayout SOCK_FPROG = MemoryLayout.structLayout(
            JAVA_SHORT.withName("len"), MemoryLayout.paddingLayout(6), ADDRESS.withName("filter"));
    // Field offsets, written with plain set calls: building VarHandles costs kiln run start-up time (as in LibC).
    private static final long CODE = FieldOffsets.of(SOCK_FILTER, "code");
    private static final long JT = FieldOffsets.of(SOCK_FILTER, "jt");
    private static final long JF = FieldOffsets.of(SOCK_FILTER, "jf");
    private static final long K = FieldOffsets.of(SOCK_FILTER, "k");
    private static final long LEN = FieldOffsets.of(SOCK_FPROG, "len");
    private static final long FILTER = FieldOffsets.of(SOCK_FPROG, "filter");

    /** One classic BPF instruction; jumps count instructions skipped after this one. */
    record Insn(short code, int jt, int jf, int k) {
        Insn {
            if (jt < 0 || jt > 255 || jf < 0 || jf > 255) throw new IllegalArgumentException("jump out of u8 range");
        }
    }

    /**
     * The program: a foreign architecture or an x32 call is refused (its numbers mean other
     * calls); each refused number returns EPERM; clone with a namespace flag returns EPERM; clone3,
     * whose flags lie in memory a filter cannot read, returns ENOSYS, on which glibc (2.34 and
     * later, __clone_internal) falls back to clone, whose flags it can; the rest is allowed.
     */
    static List<Insn> program() {
        List<Insn> p = new ArrayList<>();
        Refused[] refused = Refused.values();
        // Offsets below are from the end of the list: ALLOW, ENOSYS and EPERM close the program.
        int checks = refused.length;
        p.add(new Insn(BPF_LD_W_ABS, 0, 0, DATA_ARCH));
        p.add(new Insn(BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64));
        p.add(new Insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM));
        p.add(new Insn(BPF_LD_W_ABS, 0, 0, DATA_NR));
        // after the x32 check come: checks jeq's, clone3 jeq, clone jeq, ld arg0, jset, ALLOW, ENOSYS, EPERM
        p.add(new Insn(BPF_JGE_K, checks + 6, 0, X32_SYSCALL_BIT));
        for (int i = 0; i < checks; i++) {
            p.add(new Insn(BPF_JEQ_K, checks - 1 - i + 6, 0, refused[i].nr));
        }
        p.add(new Insn(BPF_JEQ_K, 4, 0, SYS_CLONE3));                 // -> ENOSYS
        p.add(new Insn(BPF_JEQ_K, 0, 2, SYS_CLONE));                  // not clone -> ALLOW
        p.add(new Insn(BPF_LD_W_ABS, 0, 0, DATA_ARG0_LOW));          // clone's flags (all in the low half)
        p.add(new Insn(BPF_JSET_K, 2, 0, CLONE_NEW_ANY));             // -> EPERM
        p.add(new Insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW));
        p.add(new Insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS));
        p.add(new Insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM));
        return p;
    }

    /**
     * Puts this process, every thread of it, under the filter, for good. Throws
     * {@link KvmException} naming the step that failed (a kernel without seccomp filters,
     * CONFIG_SECCOMP_FILTER, answers EINVAL).
     */
    public static void install() {
        install(false);
    }

    /**
     * As {@link #install()}; {@code rehearse}: everything but the two system calls, so that the
     * launcher's AOT training run (which must not be confined: the JVM forks another at its exit
     * to write the cache, JEP 514) loads and links what a confined run uses (-Dkiln.aotTraining).
     */
    public static void install(boolean rehearse) {
        if (!rehearse) {
            int rc = LibC.prctl(PR_SET_NO_NEW_PRIVS, 1);
            if (rc < 0) throw new KvmException("prctl(PR_SET_NO_NEW_PRIVS)", -rc);
        }
        List<Insn> program = program();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment filter = arena.allocate(SOCK_FILTER, program.size());
            for (int i = 0; i < program.size(); i++) {
                Insn in = program.get(i);
                long at = i * SOCK_FILTER.byteSize();
                filter.set(JAVA_SHORT, at + CODE, in.code());
                filter.set(JAVA_BYTE, at + JT, (byte) in.jt());
                filter.set(JAVA_BYTE, at + JF, (byte) in.jf());
                filter.set(JAVA_INT, at + K, in.k());
            }
            MemorySegment fprog = arena.allocate(SOCK_FPROG);
            fprog.set(JAVA_SHORT, LEN, (short) program.size());
            fprog.set(JAVA_LONG, FILTER, filter.address()); // x86-64: a pointer is 8 bytes; ADDRESS would spin 4 classes
            if (rehearse) return;
            long r = LibC.seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, fprog);
            if (r < 0) throw new KvmException("seccomp(SECCOMP_SET_MODE_FILTER, TSYNC)", (int) -r);
            // TSYNC answers the id of a thread that could not take the filter (seccomp(2))
            if (r > 0) throw new IllegalStateException("seccomp: thread " + r + " could not be put under the filter");
        }
    }
}
