package dev.kiln.monitor.devices;

import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.Hypercall;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Map;
import java.util.function.Consumer;

import static dev.kiln.monitor.devices.NetRingLayout.COMMIT_ID;
import static dev.kiln.monitor.devices.NetRingLayout.COMMIT_LEN;
import static dev.kiln.monitor.devices.NetRingLayout.COMMIT_RESERVED;
import static dev.kiln.monitor.devices.NetRingLayout.COMMIT_RET;
import static dev.kiln.monitor.devices.NetRingLayout.COM_HEAD;
import static dev.kiln.monitor.devices.NetRingLayout.COM_TAIL;
import static dev.kiln.monitor.devices.NetRingLayout.ENTRY;
import static dev.kiln.monitor.devices.NetRingLayout.ENTRY_DATA;
import static dev.kiln.monitor.devices.NetRingLayout.ENTRY_HANDLE;
import static dev.kiln.monitor.devices.NetRingLayout.ENTRY_ID;
import static dev.kiln.monitor.devices.NetRingLayout.ENTRY_LEN;
import static dev.kiln.monitor.devices.NetRingLayout.ENTRY_OP;
import static dev.kiln.monitor.devices.NetRingLayout.ENTRY_RESERVED;
import static dev.kiln.monitor.devices.NetRingLayout.ENT_HEAD;
import static dev.kiln.monitor.devices.NetRingLayout.ENT_TAIL;
import static dev.kiln.monitor.devices.NetRingLayout.NEEDS_KICK;
import static dev.kiln.monitor.devices.NetRingLayout.SERVED_AT_POLL;
import static dev.kiln.monitor.devices.NetRingLayout.WANTS_COMMITS;
import static dev.kiln.monitor.devices.NetRingLayout.SLOTS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The monitor's side of one guest's network ring (hvt ABI section 6, docs/kiln-abi.md section 4):
 * it takes entries out of guest memory, checks them, and writes commits back. No system calls:
 * the I/O itself is {@link NetRingIo}'s, so this class runs on a plain {@link MemorySegment} in
 * tests.
 *
 * <p>Everything in the ring is untrusted; the guest may change any byte at any moment. So the
 * monitor keeps its own copies of the indices it owns ({@code ent_head}, {@code com_tail}) and
 * never reads them back, copies each 32-byte entry out once before looking at it, and checks the
 * guest's indices against its own: an entry that breaks a rule is answered with an EINVAL commit
 * (docs/kiln-abi.md 4.4); indices that break the ring's arithmetic stop the guest with a
 * {@link FaultKind#BAD_RING} fault naming what was wrong (3.3). Every range the monitor touches
 * for an entry lies inside guest RAM and outside the ring pages.
 *
 * <p>Threads: the ring's I/O thread calls everything except {@link #readySet},
 * {@link #commitsWaiting}, {@link #guestPosted} and {@link #entriesWaiting}, which the vCPU
 * thread calls from POLL; those read only guest memory and volatile fields.
 */
public final class NetRing {
    /** One entry the checks passed, copied out of guest memory: the guest can no longer change it. */
    public record Entry(int op, int handle, long data, int len, int id) {}

    /** The largest receive buffer a NET_READ entry may post (docs/kiln-abi.md 4.4). */
    public static final int MAX_READ = 65_536;

    /** Aligned int access with acquire/release ordering on guest memory (the guest may run in parallel). */
    private static final VarHandle INT = JAVA_INT.varHandle();

    private final MemorySegment ram;
    private final MemorySegment ring;
    private final long ringGpa;
    /** By handle: the longest frame a NET_WRITE may carry (MTU + Ethernet header), 0 when not a net device. */
    private final int[] maxWrite;
    /** One entry, copied out of guest memory before any field is looked at. */
    private final MemorySegment scratch = Arena.ofAuto().allocate(ENTRY);

    // The I/O thread's own indices. The guest's copies of ent_head and com_tail are written, never read.
    private int entHead;
    private int comTail;
    /** The guest's com_head as last checked: it may only move forward, and not past the published com_tail. */
    private int comHead;
    /** com_tail as published to the guest; the vCPU thread reads it for POLL. */
    private volatile int published;
    /** ent_head as published, for the vCPU thread's "entries waiting" check. */
    private volatile int consumed;
    /** Whether the guest ever posted an entry: from then on POLL waits on the ring (3.6). */
    private volatile boolean posted;
    /** By commit slot: the handle the commit is for (-1: an invalid entry's), for POLL's ready set. */
    private final int[] commitHandle = new int[SLOTS];
    private volatile long invalidEntries;

    private NetRing(MemorySegment ram, long ringGpa, Map<Integer, Integer> maxFrameByHandle, int entHead, int comTail,
                    int comHead) {
        this.ram = ram;
        this.ringGpa = ringGpa;
        this.ring = ram.asSlice(ringGpa, NetRingLayout.RING.byteSize());
        int top = maxFrameByHandle.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
        this.maxWrite = new int[top + 1];
        maxFrameByHandle.forEach((h, max) -> maxWrite[h] = max);
        this.entHead = entHead;
        this.comTail = comTail;
        this.comHead = comHead;
        this.published = comTail;
        this.consumed = entHead;
        this.posted = entHead != 0 || comTail != 0;
        java.util.Arrays.fill(commitHandle, -1);
    }

    /**
     * The ring of a freshly booted guest, at {@code ringGpa} in {@code ram}: all indices 0.
     *
     * @param maxFrameByHandle for each attached net device (by handle): MTU + Ethernet header
     */
    public static NetRing fresh(MemorySegment ram, long ringGpa, Map<Integer, Integer> maxFrameByHandle) {
        NetRing r = new NetRing(ram, ringGpa, maxFrameByHandle, 0, 0, 0);
        r.ring.asSlice(0, NetRingLayout.ENTRIES).fill((byte) 0);
        return r;
    }

    /**
     * The ring of a guest restored from a snapshot: the monitor that took it left every consumed
     * entry committed ({@code ent_head == com_tail}, docs/kiln-abi.md 4.7), which is checked here
     * since the guest could have written over the monitor's half before the snapshot.
     */
    public static NetRing resume(MemorySegment ram, long ringGpa, Map<Integer, Integer> maxFrameByHandle) throws GuestFault {
        MemorySegment ring = ram.asSlice(ringGpa, NetRingLayout.RING.byteSize());
        int entHead = ring.get(JAVA_INT, ENT_HEAD), comTail = ring.get(JAVA_INT, COM_TAIL);
        int comHead = ring.get(JAVA_INT, COM_HEAD);
        if (entHead != comTail || Integer.compareUnsigned(comTail - comHead, SLOTS) > 0) {
            throw new GuestFault(FaultKind.BAD_RING, "net ring: the snapshot's ring indices do not fit together (ent_head "
                    + u(entHead) + ", com_tail " + u(comTail) + ", com_head " + u(comHead)
                    + "): the monitor leaves ent_head == com_tail and at most " + SLOTS + " commits unread");
        }
        return new NetRing(ram, ringGpa, maxFrameByHandle, entHead, comTail, comHead);
    }

    /**
     * Takes every waiting entry the commit ring has room for: each one is copied out, checked,
     * and either handed to {@code valid} or answered at once with an EINVAL commit. Returns how
     * many were taken. Room: every entry taken is owed one commit, so the monitor takes one only
     * while fewer than {@value NetRingLayout#SLOTS} are taken and not yet read back by the guest
     * ({@code ent_head - com_head < 1024}); the host never holds more than that for a guest.
     */
    public int consume(Consumer<Entry> valid) throws GuestFault {
        int tail = (int) INT.getAcquire(ring, ENT_TAIL);
        int waiting = tail - entHead;
        if (Integer.compareUnsigned(waiting, SLOTS) > 0) {
            throw new GuestFault(FaultKind.BAD_RING, "net ring: ent_tail " + u(tail) + " is not within " + SLOTS
                    + " entries after ent_head " + u(entHead) + " (it moved backwards or too far ahead; hvt ABI section 6,"
                    + " docs/kiln-abi.md 4.3)");
        }
        if (waiting == 0) return 0;
        checkComHead();
        int taken = 0;
        while (entHead != tail && Integer.compareUnsigned(entHead - comHead, SLOTS) < 0) {
            MemorySegment.copy(ring, NetRingLayout.entryOffset(entHead), scratch, 0, ENTRY.byteSize());
            entHead++;
            taken++;
            Entry e = check(scratch);
            if (e != null) {
                valid.accept(e);
            } else {
                invalidEntries++;
                commit(scratch.get(JAVA_INT, ENTRY_ID), -1, Hypercall.EINVAL, 0);
            }
        }
        if (taken > 0) {
            INT.setRelease(ring, ENT_HEAD, entHead);
            consumed = entHead;
            posted = true;
        }
        return taken;
    }

    /** The entry in {@code e}, or null when it breaks a rule of docs/kiln-abi.md 4.4. */
    private Entry check(MemorySegment e) {
        int op = e.get(JAVA_INT, ENTRY_OP), handle = e.get(JAVA_INT, ENTRY_HANDLE), len = e.get(JAVA_INT, ENTRY_LEN);
        long data = e.get(JAVA_LONG, ENTRY_DATA);
        if (e.get(JAVA_LONG, ENTRY_RESERVED) != 0) return null;
        if (handle < 0 || handle >= maxWrite.length || maxWrite[handle] == 0) return null;
        long max = switch (op) {
            case NetRingLayout.OP_WRITE -> maxWrite[handle];
            case NetRingLayout.OP_READ -> MAX_READ;
            default -> 0;
        };
        if (len <= 0 || len > max) return null; // op unknown (max 0), empty, or too long (len is u32: negative is huge)
        if (!dataAllowed(data, len)) return null;
        return new Entry(op, handle, data, len, e.get(JAVA_INT, ENTRY_ID));
    }

    /**
     * True when {@code [gpa, gpa + len)} lies wholly in guest RAM above the monitor's low pages and
     * outside the ring pages: below the ring, or in the slot buffers above it (docs/kiln-abi.md 4.4).
     */
    boolean dataAllowed(long gpa, long len) {
        long ringPagesEnd = ringGpa + NetRingLayout.RING_PAGES;
        return within(gpa, len, NetRingLayout.LOWEST_DATA_GPA, ringGpa) || within(gpa, len, ringPagesEnd, ram.byteSize());
    }

    /** {@code [gpa, gpa + len)} inside {@code [from, to)}; gpa is unsigned (a "negative" one is above 2^63: outside). */
    private static boolean within(long gpa, long len, long from, long to) {
        return gpa >= from && gpa < to && len > 0 && len <= to - gpa;
    }

    /** The guest bytes of a checked entry. */
    public MemorySegment data(Entry e) {
        return ram.asSlice(e.data(), e.len());
    }

    /**
     * Reads the guest's com_head and checks it only moved forward, and not past what the monitor
     * published; a guest that breaks this is stopped (docs/kiln-abi.md 4.3).
     */
    private void checkComHead() throws GuestFault {
        int c = (int) INT.getAcquire(ring, COM_HEAD);
        if (c == comHead) return;
        if (Integer.compareUnsigned(c - comHead, published - comHead) > 0) {
            throw new GuestFault(FaultKind.BAD_RING, "net ring: com_head " + u(c) + " is not between the last com_head "
                    + u(comHead) + " and com_tail " + u(published) + " (it moved backwards or past the commits the monitor"
                    + " wrote; docs/kiln-abi.md 4.3)");
        }
        comHead = c;
    }

    /**
     * Writes one commit (not yet visible: see {@link #publish}). Only for entries taken by
     * {@link #consume}, each once: so the commit ring has room by construction.
     *
     * @param handle the device the commit is for (-1 for an invalid entry), for POLL's ready set
     */
    public void commit(int id, int handle, int ret, int len) {
        long at = NetRingLayout.commitOffset(comTail);
        ring.set(JAVA_INT, at + COMMIT_ID, id);
        ring.set(JAVA_INT, at + COMMIT_RET, ret);
        ring.set(JAVA_INT, at + COMMIT_LEN, len);
        ring.set(JAVA_INT, at + COMMIT_RESERVED, 0);
        commitHandle[comTail & (SLOTS - 1)] = handle;
        comTail++;
    }

    /** Makes the commits written so far visible to the guest (a release store of com_tail); false when there were none. */
    public boolean publish() {
        if (comTail == published) return false;
        INT.setRelease(ring, COM_TAIL, comTail);
        published = comTail;
        return true;
    }

    /**
     * Sets or clears {@code needs_kick}. Setting it is followed by a full fence, so that the
     * monitor's next look at {@code ent_tail} cannot be ordered before it: with the guest's own
     * fence between its store of ent_tail and its load of needs_kick, either the guest sees the
     * flag and kicks or the monitor sees the entry (docs/kiln-abi.md 4.5).
     */
    public void needsKick(boolean on) {
        INT.setRelease(ring, NEEDS_KICK, on ? 1 : 0);
        if (on) VarHandle.fullFence();
    }

    /** Tells the guest whether the ring is served only inside POLL (1) or by an I/O thread (0): docs/kiln-abi.md 4.5. */
    public void servedAtPoll(boolean on) {
        INT.setRelease(ring, SERVED_AT_POLL, on ? 1 : 0);
    }

    /**
     * The guest's {@code wants_commits} (docs/kiln-abi.md 4.6): set while it waits for the commits
     * of its writes (every transmit buffer in flight). Guest-written and untrusted: it only makes a
     * POLL served at POLL return sooner.
     */
    public boolean wantsCommits() {
        return (int) INT.getAcquire(ring, WANTS_COMMITS) != 0;
    }

    /** True when {@link #consume} would take something now: entries wait and the commit ring has room. */
    public boolean hasWork() throws GuestFault {
        int tail = (int) INT.getAcquire(ring, ENT_TAIL);
        if (tail == entHead) return false;
        checkComHead();
        return Integer.compareUnsigned(entHead - comHead, SLOTS) < 0 || Integer.compareUnsigned(tail - entHead, SLOTS) > 0;
    }

    /** For POLL: true when commits the guest has not read wait (com_tail != com_head). */
    public boolean commitsWaiting() {
        return (int) INT.getAcquire(ring, COM_HEAD) != published;
    }

    /**
     * For POLL: bit i set when a commit for handle i waits. The guest's com_head is only read
     * here, never trusted: at most {@value NetRingLayout#SLOTS} commits are looked at.
     */
    public long readySet() {
        int tail = published;
        int head = (int) INT.getAcquire(ring, COM_HEAD);
        int n = Integer.compareUnsigned(tail - head, SLOTS) > 0 ? SLOTS : tail - head;
        long ready = 0;
        for (int i = 1; i <= n; i++) {
            int h = commitHandle[(tail - i) & (SLOTS - 1)];
            if (h >= 0 && h < 64) ready |= 1L << h;
        }
        return ready;
    }

    /** For POLL: true when entries wait that the I/O thread has not taken (it may need a nudge). */
    public boolean entriesWaiting() {
        return (int) INT.getAcquire(ring, ENT_TAIL) != consumed;
    }

    /** Whether the guest has used the ring (posted an entry); from then on POLL waits on it. */
    public boolean guestPosted() {
        if (!posted && (int) INT.getAcquire(ring, ENT_TAIL) != 0) posted = true;
        return posted;
    }

    public long invalidEntries() {
        return invalidEntries;
    }

    private static String u(int v) {
        return Integer.toUnsignedString(v);
    }
}
