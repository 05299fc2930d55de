package dev.kiln.monitor.devices;

import dev.kiln.monitor.kvm.FieldOffsets;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The shared network ring of hvt ABI section 6, and where Kiln puts it (docs/kiln-abi.md section
 * 3): the layouts are declared once here, beside the C structs they mirror
 * ({@code guest/platform/hvt/include/kiln/hvt_abi.h} pins the same offsets with static asserts).
 */
public final class NetRingLayout {
    private NetRingLayout() {}

    /** Entries and commits in the ring (hvt ABI section 6); indices are free-running u32, slot = index % SLOTS. */
    public static final int SLOTS = 1024;
    /** Kiln's receive/transmit buffers: one per slot (docs/kiln-abi.md 4.1). */
    public static final int SLOT_BUFFER = 2048;
    public static final int OP_WRITE = 1, OP_READ = 2;
    /** The doorbell: a 32-bit OUT here, bound with KVM_IOEVENTFD, wakes the monitor without an exit. */
    public static final int KICK_PORT = 0x600;
    public static final int KICK_SIZE = 4;
    /** Monitor-owned pages below this (GDT, page tables, hvt ABI section 3): never a ring data range. */
    public static final long LOWEST_DATA_GPA = dev.kiln.monitor.hvt.GuestMemory.MONITOR_OWNED_END;
    static final long PAGE = 4096;

    /*
     * struct hvt_net_ring_entry {
     *     uint32_t op;        // 1 NET_WRITE, 2 NET_READ
     *     uint32_t handle;    // manifest index of a NET_BASIC device
     *     GPA      data;      // the frame (write) or the receive buffer (read)
     *     uint32_t len;       // frame length (write) or buffer size (read)
     *     uint32_t id;        // the guest's, echoed in the commit
     *     uint64_t reserved;  // 0
     * };  // 32 bytes
     */
    public static final StructLayout ENTRY = MemoryLayout.structLayout(
            JAVA_INT.withName("op"), JAVA_INT.withName("handle"), JAVA_LONG.withName("data"),
            JAVA_INT.withName("len"), JAVA_INT.withName("id"), JAVA_LONG.withName("reserved"));
    public static final long ENTRY_OP = FieldOffsets.of(ENTRY, "op");
    public static final long ENTRY_HANDLE = FieldOffsets.of(ENTRY, "handle");
    public static final long ENTRY_DATA = FieldOffsets.of(ENTRY, "data");
    public static final long ENTRY_LEN = FieldOffsets.of(ENTRY, "len");
    public static final long ENTRY_ID = FieldOffsets.of(ENTRY, "id");
    public static final long ENTRY_RESERVED = FieldOffsets.of(ENTRY, "reserved");

    /*
     * struct hvt_net_ring_commit {
     *     uint32_t id;        // the entry's id
     *     int32_t  ret;       // 0 OK, 1 AGAIN, 2 EINVAL, 3 EUNSPEC (hvt ABI section 5)
     *     uint32_t len;       // frame length (read), bytes sent (write)
     *     uint32_t reserved;  // 0
     * };  // 16 bytes
     */
    public static final StructLayout COMMIT = MemoryLayout.structLayout(
            JAVA_INT.withName("id"), JAVA_INT.withName("ret"), JAVA_INT.withName("len"), JAVA_INT.withName("reserved"));
    public static final long COMMIT_ID = FieldOffsets.of(COMMIT, "id");
    public static final long COMMIT_RET = FieldOffsets.of(COMMIT, "ret");
    public static final long COMMIT_LEN = FieldOffsets.of(COMMIT, "len");
    public static final long COMMIT_RESERVED = FieldOffsets.of(COMMIT, "reserved");

    /*
     * struct hvt_net_ring {
     *     uint32_t ent_tail;                 // @0  guest-written cache line
     *     uint32_t com_head;                 // @4
     *     uint32_t wants_commits;            // @8  Kiln: docs/kiln-abi.md 4.6
     *     uint8_t  pad0[52];
     *     uint32_t ent_head;                 // @64 host-written cache line
     *     uint32_t com_tail;                 // @68
     *     uint32_t needs_kick;               // @72
     *     uint32_t served_at_poll;           // @76 Kiln: docs/kiln-abi.md 4.5
     *     uint8_t  pad1[48];
     *     struct hvt_net_ring_entry ent[1024];  // @128
     *     struct hvt_net_ring_commit com[1024]; // @32896
     * };  // 49,280 bytes
     */
    public static final StructLayout RING = MemoryLayout.structLayout(
            JAVA_INT.withName("ent_tail"), JAVA_INT.withName("com_head"), JAVA_INT.withName("wants_commits"),
            MemoryLayout.paddingLayout(52),
            JAVA_INT.withName("ent_head"), JAVA_INT.withName("com_tail"), JAVA_INT.withName("needs_kick"),
            JAVA_INT.withName("served_at_poll"), MemoryLayout.paddingLayout(48),
            MemoryLayout.sequenceLayout(SLOTS, ENTRY).withName("ent"),
            MemoryLayout.sequenceLayout(SLOTS, COMMIT).withName("com"));
    public static final long ENT_TAIL = FieldOffsets.of(RING, "ent_tail");
    public static final long COM_HEAD = FieldOffsets.of(RING, "com_head");
    public static final long ENT_HEAD = FieldOffsets.of(RING, "ent_head");
    public static final long COM_TAIL = FieldOffsets.of(RING, "com_tail");
    public static final long NEEDS_KICK = FieldOffsets.of(RING, "needs_kick");
    public static final long WANTS_COMMITS = FieldOffsets.of(RING, "wants_commits");
    public static final long SERVED_AT_POLL = FieldOffsets.of(RING, "served_at_poll");
    public static final long ENTRIES = FieldOffsets.of(RING, "ent");
    public static final long COMMITS = FieldOffsets.of(RING, "com");

    /** The ring rounded up to whole pages: the part of the area no ring data range may touch. */
    public static final long RING_PAGES = (RING.byteSize() + PAGE - 1) & -PAGE;
    /** The slot buffers follow the ring pages: buffer i at {@code net_ring + BUFFERS + i * SLOT_BUFFER}. */
    public static final long BUFFERS = RING_PAGES;
    /** The whole area at the top of RAM: ring pages, then the slot buffers (2,150,400 bytes). */
    public static final long AREA = RING_PAGES + (long) SLOTS * SLOT_BUFFER;

    static {
        // hvt ABI section 6 fixes these; a layout edit that moved them would break every guest.
        if (ENTRY.byteSize() != 32 || COMMIT.byteSize() != 16 || ENT_HEAD != 64 || ENTRIES != 128
                || COMMITS != 32_896 || RING.byteSize() != 49_280) {
            throw new AssertionError("net ring layout differs from hvt ABI section 6");
        }
    }

    /** The GPA of the area (and of the ring, at its start) in RAM of {@code ramBytes}: page aligned, at the top. */
    public static long areaGpa(long ramBytes) {
        return ramBytes - AREA;
    }

    public static long entryOffset(int index) {
        return ENTRIES + (long) (index & (SLOTS - 1)) * ENTRY.byteSize();
    }

    public static long commitOffset(int index) {
        return COMMITS + (long) (index & (SLOTS - 1)) * COMMIT.byteSize();
    }
}
