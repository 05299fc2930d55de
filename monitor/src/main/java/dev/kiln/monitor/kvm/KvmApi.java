package dev.kiln.monitor.kvm;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The KVM ABI as declared in {@code <linux/kvm.h>} (x86_64): ioctl numbers, exit reasons and the
 * layouts of the structs the monitor exchanges with the kernel. Each layout sits beside the C
 * struct it mirrors; offsets are derived from the layouts once, so there is a single source.
 */
public final class KvmApi {
    private KvmApi() {}

    public static final int API_VERSION = 12;

    // _IO(KVMIO=0xAE, nr), _IOW/_IOR/_IOWR = dir<<30 | size<<16 | 0xAE<<8 | nr
    public static final long KVM_GET_API_VERSION = 0xAE00L;
    public static final long KVM_CREATE_VM = 0xAE01L;
    public static final long KVM_CHECK_EXTENSION = 0xAE03L;
    public static final long KVM_GET_VCPU_MMAP_SIZE = 0xAE04L;
    public static final long KVM_GET_SUPPORTED_CPUID = 0xC008AE05L; // _IOWR(0xAE, 0x05, struct kvm_cpuid2)
    public static final long KVM_CREATE_VCPU = 0xAE41L;
    public static final long KVM_SET_USER_MEMORY_REGION = 0x4020AE46L; // _IOW(0xAE, 0x46, 32 bytes)
    public static final long KVM_RUN = 0xAE80L;
    public static final long KVM_GET_REGS = 0x8090AE81L; // _IOR(0xAE, 0x81, struct kvm_regs)
    public static final long KVM_SET_REGS = 0x4090AE82L; // _IOW(0xAE, 0x82, struct kvm_regs)
    public static final long KVM_GET_SREGS = 0x8138AE83L; // _IOR(0xAE, 0x83, struct kvm_sregs)
    public static final long KVM_SET_SREGS = 0x4138AE84L; // _IOW(0xAE, 0x84, struct kvm_sregs)
    public static final long KVM_SET_CPUID2 = 0x4008AE90L; // _IOW(0xAE, 0x90, struct kvm_cpuid2)
    public static final long KVM_GET_TSC_KHZ = 0xAEA3L;
    public static final long KVM_GET_MSRS = 0xC008AE88L; // _IOWR(0xAE, 0x88, struct kvm_msrs)
    public static final long KVM_SET_MSRS = 0x4008AE89L; // _IOW(0xAE, 0x89, struct kvm_msrs)
    public static final long KVM_SET_GUEST_DEBUG = 0x4048AE9BL; // _IOW(0xAE, 0x9b, struct kvm_guest_debug)
    public static final long KVM_GET_FPU = 0x81A0AE8CL;  // _IOR(0xAE, 0x8c, struct kvm_fpu)
    public static final long KVM_SET_FPU = 0x41A0AE8DL;  // _IOW(0xAE, 0x8d, struct kvm_fpu)
    public static final long KVM_IOEVENTFD = 0x4040AE79L; // _IOW(0xAE, 0x79, struct kvm_ioeventfd)

    /*
     * struct kvm_ioeventfd {
     *     __u64 datamatch;
     *     __u64 addr;        // legal pio/mmio address
     *     __u32 len;         // 1, 2, 4, or 8 bytes; or 0 to ignore length
     *     __s32 fd;
     *     __u32 flags;
     *     __u8  pad[36];
     * };  // 64 bytes
     */
    public static final StructLayout IOEVENTFD = MemoryLayout.structLayout(
            JAVA_LONG.withName("datamatch"), JAVA_LONG.withName("addr"), JAVA_INT.withName("len"),
            JAVA_INT.withName("fd"), JAVA_INT.withName("flags"), MemoryLayout.paddingLayout(36));
    public static final long IOEVENTFD_ADDR = FieldOffsets.of(IOEVENTFD, "addr");
    public static final long IOEVENTFD_LEN = FieldOffsets.of(IOEVENTFD, "len");
    public static final long IOEVENTFD_FD = FieldOffsets.of(IOEVENTFD, "fd");
    public static final long IOEVENTFD_FLAGS = FieldOffsets.of(IOEVENTFD, "flags");
    /** KVM_IOEVENTFD_FLAG_PIO: {@code addr} is an I/O port, not a guest-physical address. */
    public static final int IOEVENTFD_FLAG_PIO = 1 << 1;

    /*
     * struct kvm_fpu {
     *     __u8 fpr[8][16]; __u16 fcw, fsw; __u8 ftwx, pad1; __u16 last_opcode;
     *     __u64 last_ip, last_dp; __u8 xmm[16][16]; __u32 mxcsr, pad2;
     * };  // 416 bytes
     */
    public static final long FPU_SIZE = 416;

    /*
     * struct kvm_msrs { __u32 nmsrs; __u32 pad; struct kvm_msr_entry entries[]; };
     * struct kvm_msr_entry { __u32 index; __u32 reserved; __u64 data; };
     */
    public static final long MSRS_HEADER = 8, MSR_ENTRY = 16;
    public static final int MSR_IA32_TSC = 0x10;

    // Exit reasons (kvm_run.exit_reason).
    public static final int EXIT_UNKNOWN = 0;
    public static final int EXIT_EXCEPTION = 1;
    public static final int EXIT_IO = 2;
    public static final int EXIT_DEBUG = 4;
    public static final int EXIT_HLT = 5;
    public static final int EXIT_MMIO = 6;
    public static final int EXIT_SHUTDOWN = 8;
    public static final int EXIT_FAIL_ENTRY = 9;
    public static final int EXIT_INTR = 10;
    public static final int EXIT_INTERNAL_ERROR = 17;
    public static final int EXIT_IO_IN = 0;
    public static final int EXIT_IO_OUT = 1;
    public static final int INTERNAL_ERROR_EMULATION = 1;

    /*
     * struct kvm_userspace_memory_region {
     *     __u32 slot; __u32 flags; __u64 guest_phys_addr;
     *     __u64 memory_size;  // bytes
     *     __u64 userspace_addr; // start of the userspace allocated memory
     * };
     */
    public static final StructLayout USERSPACE_MEMORY_REGION = MemoryLayout.structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("flags"),
            JAVA_LONG.withName("guest_phys_addr"), JAVA_LONG.withName("memory_size"),
            JAVA_LONG.withName("userspace_addr"));

    /*
     * struct kvm_run {              (the head and the exit union members the monitor reads)
     *     __u8 request_interrupt_window; __u8 immediate_exit; __u8 padding1[6];
     *     __u32 exit_reason; __u8 ready_for_interrupt_injection; __u8 if_flag; __u16 flags;
     *     __u64 cr8; __u64 apic_base;
     *     union {                   // at 32
     *         struct { __u8 direction; __u8 size; __u16 port; __u32 count; __u64 data_offset; } io;
     *         struct { __u64 phys_addr; __u8 data[8]; __u32 len; __u8 is_write; } mmio;
     *         struct { __u64 hardware_entry_failure_reason; __u32 cpu; } fail_entry;
     *         struct { __u32 suberror; __u32 ndata; __u64 data[16]; } internal;
     *         ...
     *     };
     * };
     */
    public static final StructLayout RUN_IO = MemoryLayout.structLayout(
            JAVA_BYTE.withName("direction"), JAVA_BYTE.withName("size"), JAVA_SHORT.withName("port"),
            JAVA_INT.withName("count"), JAVA_LONG.withName("data_offset"));
    public static final StructLayout RUN_MMIO = MemoryLayout.structLayout(
            JAVA_LONG.withName("phys_addr"), MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("data"),
            JAVA_INT.withName("len"), JAVA_BYTE.withName("is_write"), MemoryLayout.paddingLayout(3));
    public static final StructLayout RUN_INTERNAL = MemoryLayout.structLayout(
            JAVA_INT.withName("suberror"), JAVA_INT.withName("ndata"),
            MemoryLayout.sequenceLayout(16, JAVA_LONG).withName("data"));
    public static final StructLayout RUN_HEAD = MemoryLayout.structLayout(
            JAVA_BYTE.withName("request_interrupt_window"), JAVA_BYTE.withName("immediate_exit"),
            MemoryLayout.paddingLayout(6),
            JAVA_INT.withName("exit_reason"), JAVA_BYTE.withName("ready_for_interrupt_injection"),
            JAVA_BYTE.withName("if_flag"), JAVA_SHORT.withName("flags"),
            JAVA_LONG.withName("cr8"), JAVA_LONG.withName("apic_base"));

    public static final long RUN_IMMEDIATE_EXIT = FieldOffsets.of(RUN_HEAD, "immediate_exit");
    public static final long RUN_EXIT_REASON = FieldOffsets.of(RUN_HEAD, "exit_reason");
    public static final long RUN_UNION = RUN_HEAD.byteSize();
    public static final long RUN_IO_DIRECTION = RUN_UNION + FieldOffsets.of(RUN_IO, "direction");
    public static final long RUN_IO_SIZE = RUN_UNION + FieldOffsets.of(RUN_IO, "size");
    public static final long RUN_IO_PORT = RUN_UNION + FieldOffsets.of(RUN_IO, "port");
    public static final long RUN_IO_COUNT = RUN_UNION + FieldOffsets.of(RUN_IO, "count");
    public static final long RUN_IO_DATA_OFFSET = RUN_UNION + FieldOffsets.of(RUN_IO, "data_offset");
    public static final long RUN_MMIO_PHYS_ADDR = RUN_UNION + FieldOffsets.of(RUN_MMIO, "phys_addr");
    public static final long RUN_MMIO_LEN = RUN_UNION + FieldOffsets.of(RUN_MMIO, "len");
    public static final long RUN_MMIO_IS_WRITE = RUN_UNION + FieldOffsets.of(RUN_MMIO, "is_write");
    public static final long RUN_FAIL_ENTRY_REASON = RUN_UNION;
    public static final long RUN_INTERNAL_SUBERROR = RUN_UNION + FieldOffsets.of(RUN_INTERNAL, "suberror");

    /* struct kvm_guest_debug { __u32 control; __u32 pad; struct kvm_guest_debug_arch { __u64 debugreg[8]; } arch; } */
    public static final long GUEST_DEBUG_SIZE = 72;
    public static final long GUEST_DEBUG_REGS = 8;

    /*
     * struct kvm_regs {
     *     __u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
     *     __u64 r8,  r9,  r10, r11, r12, r13, r14, r15;
     *     __u64 rip, rflags;
     * };
     */
    public static final StructLayout REGS = MemoryLayout.structLayout(
            JAVA_LONG.withName("rax"), JAVA_LONG.withName("rbx"), JAVA_LONG.withName("rcx"),
            JAVA_LONG.withName("rdx"), JAVA_LONG.withName("rsi"), JAVA_LONG.withName("rdi"),
            JAVA_LONG.withName("rsp"), JAVA_LONG.withName("rbp"),
            JAVA_LONG.withName("r8"), JAVA_LONG.withName("r9"), JAVA_LONG.withName("r10"),
            JAVA_LONG.withName("r11"), JAVA_LONG.withName("r12"), JAVA_LONG.withName("r13"),
            JAVA_LONG.withName("r14"), JAVA_LONG.withName("r15"),
            JAVA_LONG.withName("rip"), JAVA_LONG.withName("rflags"));
    public static final long REGS_RSP = FieldOffsets.of(REGS, "rsp");
    public static final long REGS_RDI = FieldOffsets.of(REGS, "rdi");
    public static final long REGS_RIP = FieldOffsets.of(REGS, "rip");
    public static final long REGS_RFLAGS = FieldOffsets.of(REGS, "rflags");

    /*
     * struct kvm_segment {
     *     __u64 base; __u32 limit; __u16 selector;
     *     __u8 type; __u8 present, dpl, db, s, l, g, avl; __u8 unusable; __u8 padding;
     * };
     */
    public static final StructLayout SEGMENT = MemoryLayout.structLayout(
            JAVA_LONG.withName("base"), JAVA_INT.withName("limit"), JAVA_SHORT.withName("selector"),
            JAVA_BYTE.withName("type"), JAVA_BYTE.withName("present"), JAVA_BYTE.withName("dpl"),
            JAVA_BYTE.withName("db"), JAVA_BYTE.withName("s"), JAVA_BYTE.withName("l"),
            JAVA_BYTE.withName("g"), JAVA_BYTE.withName("avl"), JAVA_BYTE.withName("unusable"),
            JAVA_BYTE.withName("padding"));

    /* struct kvm_dtable { __u64 base; __u16 limit; __u16 padding[3]; }; */
    public static final StructLayout DTABLE = MemoryLayout.structLayout(
            JAVA_LONG.withName("base"), JAVA_SHORT.withName("limit"), MemoryLayout.paddingLayout(6));

    /*
     * struct kvm_sregs {
     *     struct kvm_segment cs, ds, es, fs, gs, ss; struct kvm_segment tr, ldt;
     *     struct kvm_dtable gdt, idt;
     *     __u64 cr0, cr2, cr3, cr4, cr8; __u64 efer; __u64 apic_base;
     *     __u64 interrupt_bitmap[(KVM_NR_INTERRUPTS + 63) / 64];
     * };
     */
    public static final StructLayout SREGS = MemoryLayout.structLayout(
            SEGMENT.withName("cs"), SEGMENT.withName("ds"), SEGMENT.withName("es"),
            SEGMENT.withName("fs"), SEGMENT.withName("gs"), SEGMENT.withName("ss"),
            SEGMENT.withName("tr"), SEGMENT.withName("ldt"),
            DTABLE.withName("gdt"), DTABLE.withName("idt"),
            JAVA_LONG.withName("cr0"), JAVA_LONG.withName("cr2"), JAVA_LONG.withName("cr3"),
            JAVA_LONG.withName("cr4"), JAVA_LONG.withName("cr8"), JAVA_LONG.withName("efer"),
            JAVA_LONG.withName("apic_base"),
            MemoryLayout.sequenceLayout(4, JAVA_LONG).withName("interrupt_bitmap"));

    /*
     * struct kvm_cpuid_entry2 {
     *     __u32 function; __u32 index; __u32 flags; __u32 eax, ebx, ecx, edx; __u32 padding[3];
     * };
     * struct kvm_cpuid2 { __u32 nent; __u32 padding; struct kvm_cpuid_entry2 entries[]; };
     */
    public static final StructLayout CPUID_ENTRY2 = MemoryLayout.structLayout(
            JAVA_INT.withName("function"), JAVA_INT.withName("index"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("eax"), JAVA_INT.withName("ebx"), JAVA_INT.withName("ecx"),
            JAVA_INT.withName("edx"), MemoryLayout.paddingLayout(12));
    public static final long CPUID2_HEADER = 8;
    public static final long CPUID_FUNCTION = FieldOffsets.of(CPUID_ENTRY2, "function");
    public static final long CPUID_ECX = FieldOffsets.of(CPUID_ENTRY2, "ecx");
}
