package dev.kiln.monitor.vstate;

import dev.kiln.monitor.kvm.FieldOffsets;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.kvm.KvmApi;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * An ELF core file of a guest that ended: its registers and its memory, which gdb reads beside the
 * image's symbols ({@code gdb NAME.dbg core.kiln.PID}), as solo5-hvt's {@code --dumpcore} writes
 * one (ELF-64 object file format; the Linux x86-64 core layout of {@code struct elf_prstatus}).
 *
 * <pre>
 * ELF header (ET_CORE, EM_X86_64) | program headers: PT_NOTE, one PT_LOAD of all guest RAM at
 * vaddr = paddr = 0 (the hvt identity map) | note "CORE" NT_PRSTATUS (336 bytes: pr_cursig @12,
 * pr_pid @32, pr_reg @112 = 27 u64 in user_regs_struct order) | RAM, page aligned, all-zero pages
 * left as holes
 * </pre>
 */
public final class CoreDump {
    private CoreDump() {}

    static final int EHDR = 64, PHDR = 56, NOTE_HDR = 12, PRSTATUS = 336, PR_REG = 112, PAGE = 4096;
    static final int ET_CORE = 4, EM_X86_64 = 62, PT_LOAD = 1, PT_NOTE = 4, NT_PRSTATUS = 1;
    static final int PF_X = 1, PF_W = 2, PF_R = 4;
    /** SIGSEGV: what gdb shows the guest "died" of, as for a faulting child in WAIT (docs/kiln-abi.md 1.2). */
    static final int SIGSEGV = 11;

    /**
     * user_regs_struct order (27 registers), each from kvm_regs (name) or kvm_sregs ("seg.field");
     * orig_rax has no source and is written as -1, as the kernel does outside a system call.
     */
    private static final String[] USER_REGS = {"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
            "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs.selector", "rflags", "rsp", "ss.selector",
            "fs.base", "gs.base", "ds.selector", "es.selector", "fs.selector", "gs.selector"};

    /** Writes the core of a guest whose vCPU holds {@code state} and whose RAM is {@code memory}. */
    public static void write(Path file, GuestMemory memory, VcpuState state, int pid) throws IOException {
        MemorySegment ram = memory.segment();
        int noteSize = NOTE_HDR + 8 + PRSTATUS; // header, "CORE\0" padded to 8, descriptor
        long notesAt = EHDR + 2L * PHDR;
        long ramAt = align(notesAt + noteSize, PAGE);
        ByteBuffer h = ByteBuffer.allocate((int) (notesAt + noteSize)).order(ByteOrder.LITTLE_ENDIAN);
        // ELF header
        h.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0}).put(new byte[8]);
        h.putShort((short) ET_CORE).putShort((short) EM_X86_64).putInt(1).putLong(0).putLong(EHDR).putLong(0)
                .putInt(0).putShort((short) EHDR).putShort((short) PHDR).putShort((short) 2)
                .putShort((short) 64).putShort((short) 0).putShort((short) 0);
        // PT_NOTE, then the RAM
        h.putInt(PT_NOTE).putInt(0).putLong(notesAt).putLong(0).putLong(0).putLong(noteSize).putLong(0).putLong(4);
        h.putInt(PT_LOAD).putInt(PF_R | PF_W | PF_X).putLong(ramAt).putLong(0).putLong(0)
                .putLong(ram.byteSize()).putLong(ram.byteSize()).putLong(PAGE);
        // NT_PRSTATUS
        h.putInt(5).putInt(PRSTATUS).putInt(NT_PRSTATUS).put(new byte[] {'C', 'O', 'R', 'E', 0, 0, 0, 0});
        int desc = h.position();
        h.putInt(desc, SIGSEGV);               // pr_info.si_signo
        h.putShort(desc + 12, (short) SIGSEGV); // pr_cursig
        h.putInt(desc + 32, pid);               // pr_pid
        MemorySegment regs = MemorySegment.ofArray(state.regs());
        MemorySegment sregs = MemorySegment.ofArray(state.sregs());
        for (int i = 0; i < USER_REGS.length; i++) {
            h.putLong(desc + PR_REG + 8 * i, register(USER_REGS[i], regs, sregs));
        }
        h.position(desc + PRSTATUS);
        h.flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            while (h.hasRemaining()) ch.write(h);
            MemorySegment zero = MemorySegment.ofArray(new byte[PAGE]);
            for (long p = 0; p < ram.byteSize(); p += PAGE) {
                MemorySegment page = ram.asSlice(p, PAGE);
                if (page.mismatch(zero) < 0) continue; // a hole reads as zero
                ByteBuffer b = page.asByteBuffer();
                for (long at = ramAt + p; b.hasRemaining(); ) at += ch.write(b, at);
            }
            long end = ramAt + ram.byteSize();
            if (ch.size() < end) ch.write(ByteBuffer.allocate(1), end - 1); // the file spans all of RAM (a trailing hole)
        }
    }

    private static long register(String name, MemorySegment regs, MemorySegment sregs) {
        if (name.equals("orig_rax")) return -1;
        int dot = name.indexOf('.');
        if (dot < 0) return regs.get(JAVA_LONG_UNALIGNED, FieldOffsets.of(KvmApi.REGS, name));
        long seg = FieldOffsets.of(KvmApi.SREGS, name.substring(0, dot));
        long field = FieldOffsets.of(KvmApi.SEGMENT, name.substring(dot + 1));
        return name.endsWith("selector")
                ? Short.toUnsignedLong(sregs.get(JAVA_SHORT_UNALIGNED, seg + field))
                : sregs.get(JAVA_LONG_UNALIGNED, seg + field);
    }

    private static long align(long v, long to) {
        return (v + to - 1) / to * to;
    }
}
