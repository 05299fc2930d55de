package dev.kiln.builder.build;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The host gcc/binutils and the flags every guest object is built with.
 *
 * <p>Why these flags: the guest runs on a KVM that emulates many instructions and lacks SSE ones
 * ({@code -mgeneral-regs-only}); there is no red zone under interrupts ({@code -mno-red-zone});
 * nothing is hosted ({@code -ffreestanding -nostdlib}); sections per function and data let
 * {@code --gc-sections} drop what the app does not use; loops are never turned into calls to
 * memcpy/memset, which the library implementing them would then call itself.
 */
public record Toolchain(String cc, String strip, String version) {
    public static final List<String> CFLAGS = List.of(
            "-std=gnu11", "-Wall", "-Wextra",
            "-ffreestanding", "-fno-builtin", "-nostdlib", "-nostdinc",
            "-mgeneral-regs-only", "-mno-red-zone", "-fno-stack-protector",
            "-fno-pic", "-fno-pie", "-O2", "-g",
            "-fno-asynchronous-unwind-tables", "-fno-unwind-tables",
            "-ffunction-sections", "-fdata-sections", "-mcmodel=small",
            "-fno-tree-loop-distribute-patterns", "-fcf-protection=none", "-fno-ident", "-fno-common");
    /**
     * The flags for upstream code: CFLAGS without the warnings (not ours to fix), without
     * {@code -nostdinc -ffreestanding -fno-builtin} (an upstream project brings its own headers
     * and may rely on builtins) and without {@code -mgeneral-regs-only} (upstream C uses floating point).
     */
    public static final List<String> UPSTREAM_CFLAGS = CFLAGS.stream()
            .filter(f -> !List.of("-mgeneral-regs-only", "-Wall", "-Wextra", "-nostdinc", "-ffreestanding", "-fno-builtin").contains(f))
            .toList();
    public static final List<String> LDFLAGS = List.of(
            "-nostdlib", "-static", "-no-pie",
            "-Wl,--gc-sections", "-Wl,--build-id=none", "-z", "noexecstack", "-z", "max-page-size=0x1000",
            "-Wl,--orphan-handling=error", "-Wl,--fatal-warnings");

    /**
     * CFLAGS for a build's own objects; {@code floatingPoint} (some manifest has float = true or
     * an upstream) drops {@code -mgeneral-regs-only}: SSE code that needs native execution.
     */
    public static List<String> guestCflags(boolean floatingPoint) {
        return floatingPoint ? CFLAGS.stream().filter(f -> !f.equals("-mgeneral-regs-only")).toList() : CFLAGS;
    }

    /** ar beside strip (binutils come together). */
    public String ar() {
        return strip.replaceAll("strip$", "ar");
    }

    /** Finds gcc and strip (or $CC / $STRIP) and records gcc's version, which is part of every cache key. */
    public static Toolchain detect() throws BuildException {
        String cc = System.getenv().getOrDefault("CC", "gcc");
        String strip = System.getenv().getOrDefault("STRIP", "strip");
        String version = run(List.of(cc, "--version"), "the C compiler").lines().findFirst().orElse(cc);
        run(List.of(strip, "--version"), "strip");
        return new Toolchain(cc, strip, version);
    }

    /** gcc's own header folder (stddef.h, stdint.h...), which freestanding code may use. */
    public String builtinIncludeDir() throws BuildException {
        return run(List.of(cc, "-print-file-name=include"), "the C compiler").strip();
    }

    /**
     * Runs one tool of the toolchain to its end and returns what it printed (stdout and stderr);
     * a failure, a timeout or a missing tool is a BuildException naming {@code what}; a failure's
     * message is {@code what}, then the tool's output, then the command last.
     */
    public static String run(List<String> cmd, String what) throws BuildException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new BuildException(what + " (" + cmd.getFirst() + ") did not finish in 120 s");
            }
            if (p.exitValue() != 0) {
                // The tool's own words first: a compile's command line runs to a screenful of flags,
                // and put before the error it pushed the line that matters out of sight.
                String said = out.strip();
                throw new BuildException(what + " failed" + (said.isEmpty() ? " (exit status " + p.exitValue() + ", no output)"
                        : ":\n" + said) + "\n  command: " + String.join(" ", cmd));
            }
            return out;
        } catch (IOException e) {
            throw new BuildException(what + " (" + cmd.getFirst() + ") cannot be run: " + e.getMessage()
                    + " (install gcc and binutils)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BuildException(what + " was interrupted");
        }
    }

    static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
