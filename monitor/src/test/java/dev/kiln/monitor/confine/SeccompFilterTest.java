package dev.kiln.monitor.confine;

import dev.kiln.monitor.KvmAvailable;
import dev.kiln.monitor.image.GuestImages;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The seccomp filter: its program run through a classic-BPF interpreter (the kernel's semantics,
 * Documentation/networking/filter.rst, for the instructions it uses), and the real filter in a
 * JVM of its own: the filter cannot be taken off, so never in this one.
 */
class SeccompFilterTest {
    private static final int X86_64 = SeccompFilter.AUDIT_ARCH_X86_64;
    private static final int EPERM = SeccompFilter.SECCOMP_RET_ERRNO | 1;
    private static final int ENOSYS = SeccompFilter.SECCOMP_RET_ERRNO | 38;
    private static final int ALLOW = SeccompFilter.SECCOMP_RET_ALLOW;

    /** Runs the program over one {@code struct seccomp_data} (nr, arch, args[0]). */
    private static int run(int arch, int nr, long arg0) {
        List<SeccompFilter.Insn> p = SeccompFilter.program();
        int a = 0;
        for (int pc = 0; pc < p.size(); pc++) {
            SeccompFilter.Insn in = p.get(pc);
            switch (in.code()) {
                case SeccompFilter.BPF_LD_W_ABS -> a = switch (in.k()) {
                    case SeccompFilter.DATA_NR -> nr;
                    case SeccompFilter.DATA_ARCH -> arch;
                    case SeccompFilter.DATA_ARG0_LOW -> (int) arg0;
                    default -> throw new AssertionError("load from offset " + in.k());
                };
                case SeccompFilter.BPF_JEQ_K -> pc += a == in.k() ? in.jt() : in.jf();
                case SeccompFilter.BPF_JGE_K -> pc += Integer.compareUnsigned(a, in.k()) >= 0 ? in.jt() : in.jf();
                case SeccompFilter.BPF_JSET_K -> pc += (a & in.k()) != 0 ? in.jt() : in.jf();
                case SeccompFilter.BPF_RET_K -> {
                    return in.k();
                }
                default -> throw new AssertionError("instruction " + in);
            }
        }
        throw new AssertionError("the program ran off its end");
    }

    @Test
    void theProgramRefusesWhatAMonitorNeverNeedsAndAllowsTheRest() {
        for (SeccompFilter.Refused r : SeccompFilter.Refused.values()) {
            assertEquals(EPERM, run(X86_64, r.nr, 0), r.name());
        }
        // what the monitor and the JVM use: read, write, mmap, ioctl (KVM_RUN), futex, tgkill, exit_group
        for (int nr : new int[] {0, 1, 9, 16, 202, 234, 231, 7, 41, 317, 157}) assertEquals(ALLOW, run(X86_64, nr, 0), "nr " + nr);
        // clone of a thread (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | ...) is allowed
        assertEquals(ALLOW, run(X86_64, SeccompFilter.SYS_CLONE, 0x3d0f00));
        assertEquals(ALLOW, run(X86_64, SeccompFilter.SYS_CLONE, 0x4111), "vfork-style clone with SIGCHLD");
        assertEquals(EPERM, run(X86_64, SeccompFilter.SYS_CLONE, 0x10000000 | 17), "CLONE_NEWUSER");
        assertEquals(EPERM, run(X86_64, SeccompFilter.SYS_CLONE, 0x40000000), "CLONE_NEWNET");
        assertEquals(EPERM, run(X86_64, SeccompFilter.SYS_CLONE, 0x00020000), "CLONE_NEWNS");
        assertEquals(ENOSYS, run(X86_64, SeccompFilter.SYS_CLONE3, 0), "clone3: glibc falls back to clone");
        assertEquals(EPERM, run(X86_64, 0x40000000 | 59, 0), "x32 numbering");
        assertEquals(EPERM, run(0x40000003, 11, 0), "i386 (AUDIT_ARCH_I386), whose 11 is execve");
    }

    /**
     * A JVM under the filter: running a program fails with EPERM, while threads, the GC and a
     * guest (helloworld, through KVM) work as before.
     */
    @Test
    void aConfinedJvmCannotRunProgramsButRunsGuests() throws Exception {
        KvmAvailable.require();
        Path hello = GuestImages.path("helloworld.hvt");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                ConfinedProbe.class.getName(), hello.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.startsWith("confined\n"), out);
        assertTrue(out.contains("exec: Cannot run program \"true\"") && out.contains("Operation not permitted"), out);
        assertTrue(out.contains("thread: ran\n"), out);
        assertTrue(out.contains("gc: ran\n"), out);
        assertTrue(out.matches("(?s).*guest: .*: Hello from Kiln!\nwalltime_ns: [0-9]+\ncmdline: confined\n.*"), out);
    }
}
