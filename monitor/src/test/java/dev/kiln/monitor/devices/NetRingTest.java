package dev.kiln.monitor.devices;

import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.Hypercall;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.kiln.monitor.devices.NetRingLayout.OP_READ;
import static dev.kiln.monitor.devices.NetRingLayout.OP_WRITE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ring's checks on plain memory (no KVM): what the guest writes into ring indices and entries
 * is garbage until checked (docs/kiln-abi.md 4.3, 4.4).
 */
class NetRingTest {
    static final long RAM = 16L << 20;
    static final long RING = NetRingLayout.areaGpa(RAM);
    static final int HANDLE = 1, MAX_FRAME = 1500 + NetModule.FRAME_OVERHEAD;
    static final long BUFFER0 = RING + NetRingLayout.BUFFERS;

    Arena arena;
    MemorySegment ram;
    NetRing ring;
    final List<NetRing.Entry> taken = new ArrayList<>();
    int tail;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        ram = arena.allocate(RAM, 4096);
        ring = NetRing.fresh(ram, RING, Map.of(HANDLE, MAX_FRAME));
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    /** Writes an entry where the guest would post it next (not yet published). */
    void put(int op, int handle, long data, int len, int id, long reserved) {
        long at = RING + NetRingLayout.entryOffset(tail);
        ram.set(JAVA_INT, at + NetRingLayout.ENTRY_OP, op);
        ram.set(JAVA_INT, at + NetRingLayout.ENTRY_HANDLE, handle);
        ram.set(JAVA_LONG, at + NetRingLayout.ENTRY_DATA, data);
        ram.set(JAVA_INT, at + NetRingLayout.ENTRY_LEN, len);
        ram.set(JAVA_INT, at + NetRingLayout.ENTRY_ID, id);
        ram.set(JAVA_LONG, at + NetRingLayout.ENTRY_RESERVED, reserved);
        tail++;
    }

    void post(int op, int handle, long data, int len, int id) {
        put(op, handle, data, len, id, 0);
        setEntTail(tail);
    }

    void setEntTail(int v) {
        ram.set(JAVA_INT, RING + NetRingLayout.ENT_TAIL, v);
    }

    void setComHead(int v) {
        ram.set(JAVA_INT, RING + NetRingLayout.COM_HEAD, v);
    }

    int hostField(long offset) {
        return ram.get(JAVA_INT, RING + offset);
    }

    int[] commit(int index) {
        long at = RING + NetRingLayout.commitOffset(index);
        return new int[] {ram.get(JAVA_INT, at + NetRingLayout.COMMIT_ID), ram.get(JAVA_INT, at + NetRingLayout.COMMIT_RET),
                ram.get(JAVA_INT, at + NetRingLayout.COMMIT_LEN)};
    }

    int consume() throws GuestFault {
        return ring.consume(taken::add);
    }

    @Test
    void layoutIsTheSpecs() {
        assertEquals(49_280, NetRingLayout.RING.byteSize());
        assertEquals(53_248, NetRingLayout.RING_PAGES);
        assertEquals(2_150_400, NetRingLayout.AREA);
        assertEquals(0, RING % 4096, "the area is page aligned");
    }

    @Test
    void validEntriesAreCopiedOutInOrderAndEntHeadPublished() throws GuestFault {
        post(OP_WRITE, HANDLE, 0x200000, 60, 7);
        post(OP_READ, HANDLE, BUFFER0, 2048, 8);
        assertEquals(2, consume());
        assertEquals(List.of(new NetRing.Entry(OP_WRITE, HANDLE, 0x200000, 60, 7),
                new NetRing.Entry(OP_READ, HANDLE, BUFFER0, 2048, 8)), taken);
        assertEquals(2, hostField(NetRingLayout.ENT_HEAD));
        // The guest changing the entry afterwards changes nothing the monitor holds.
        ram.set(JAVA_LONG, RING + NetRingLayout.entryOffset(0) + NetRingLayout.ENTRY_DATA, 0);
        assertEquals(0x200000, taken.getFirst().data());
        assertEquals(0, consume(), "nothing new");
    }

    @Test
    void everyGarbageEntryGetsAnEinvalCommitWithItsId() throws GuestFault {
        long ringPagesEnd = RING + NetRingLayout.RING_PAGES;
        put(3, HANDLE, 0x200000, 60, 100, 0);                    // unknown op
        put(0, HANDLE, 0x200000, 60, 101, 0);                    // op 0
        put(OP_WRITE, 0, 0x200000, 60, 102, 0);                  // handle 0 (the reserved first entry)
        put(OP_WRITE, 77, 0x200000, 60, 103, 0);                 // no such device
        put(OP_WRITE, -1, 0x200000, 60, 104, 0);                 // handle 0xffffffff
        put(OP_WRITE, HANDLE, 0x200000, 60, 105, 1);             // reserved not 0
        put(OP_WRITE, HANDLE, 0x200000, 0, 106, 0);              // empty frame
        put(OP_WRITE, HANDLE, 0x200000, MAX_FRAME + 1, 107, 0);  // over MTU + header
        put(OP_WRITE, HANDLE, 0x200000, -1, 108, 0);             // len 0xffffffff
        put(OP_READ, HANDLE, BUFFER0, 0, 109, 0);                // empty buffer
        put(OP_READ, HANDLE, 0x200000, NetRing.MAX_READ + 1, 110, 0); // buffer over 64 KiB
        put(OP_WRITE, HANDLE, RAM, 60, 111, 0);                  // past the end of RAM
        put(OP_WRITE, HANDLE, RAM - 8, 60, 112, 0);              // straddles the end of RAM
        put(OP_WRITE, HANDLE, 0x1000, 60, 113, 0);               // the monitor's low pages
        put(OP_WRITE, HANDLE, 0xfff0, 60, 114, 0);               // straddles into them
        put(OP_READ, HANDLE, RING + 64, 16, 115, 0);             // the host-written cache line
        put(OP_READ, HANDLE, RING - 16, 2048, 116, 0);           // straddles into the ring
        put(OP_READ, HANDLE, ringPagesEnd - 8, 2048, 117, 0);    // the ring pages' last bytes
        put(OP_WRITE, HANDLE, 0xfffffffffffff000L, 60, 118, 0);  // a GPA above 2^63
        put(OP_WRITE, HANDLE, Long.MAX_VALUE - 10, 60, 119, 0);  // gpa + len overflows
        put(OP_WRITE, HANDLE, 0x200000, 60, 120, 0);             // and one good one among them
        put(OP_READ, HANDLE, ringPagesEnd, 2048, 121, 0);        // the first slot buffer: good
        setEntTail(tail);
        assertEquals(22, consume());
        assertEquals(List.of(new NetRing.Entry(OP_WRITE, HANDLE, 0x200000, 60, 120),
                new NetRing.Entry(OP_READ, HANDLE, ringPagesEnd, 2048, 121)), taken);
        assertTrue(ring.publish());
        assertEquals(20, hostField(NetRingLayout.COM_TAIL));
        for (int i = 0; i < 20; i++) {
            assertEquals(100 + i, commit(i)[0], "commit " + i + " id");
            assertEquals(Hypercall.EINVAL, commit(i)[1], "entry " + (100 + i) + " is EINVAL");
            assertEquals(0, commit(i)[2]);
        }
        assertEquals(20, ring.invalidEntries());
        assertTrue(ring.commitsWaiting());
        assertEquals(0, ring.readySet(), "EINVAL commits for bad handles mark no device ready");
    }

    @Test
    void entTailFarAheadStopsTheGuest() {
        setEntTail(NetRingLayout.SLOTS + 1);
        GuestFault f = assertThrows(GuestFault.class, this::consume);
        assertEquals(FaultKind.BAD_RING, f.kind());
        assertTrue(f.getMessage().contains("ent_tail 1025 is not within 1024 entries after ent_head 0"), f.getMessage());
    }

    @Test
    void entTailExactly1024AheadIsFine() throws GuestFault {
        for (int i = 0; i < NetRingLayout.SLOTS; i++) put(OP_WRITE, HANDLE, 0x200000, 60, i, 0);
        setEntTail(tail);
        assertEquals(NetRingLayout.SLOTS, consume());
    }

    @Test
    void entTailMovingBackwardsStopsTheGuest() throws GuestFault {
        post(OP_WRITE, HANDLE, 0x200000, 60, 1);
        post(OP_WRITE, HANDLE, 0x200000, 60, 2);
        assertEquals(2, consume());
        setEntTail(1);
        GuestFault f = assertThrows(GuestFault.class, this::consume);
        assertTrue(f.getMessage().contains("ent_tail 1 is not within"), f.getMessage());
        assertTrue(ring.hasWork(), "the I/O thread's last look before sleeping sends it back to consume, which stops the guest");
    }

    @Test
    void comHeadPastComTailOrBackwardsStopsTheGuest() throws GuestFault {
        post(OP_WRITE, HANDLE, 0x200000, 60, 1);
        consume();
        ring.commit(1, HANDLE, Hypercall.OK, 60);
        ring.publish();
        setComHead(5); // only one commit was published
        post(OP_WRITE, HANDLE, 0x200000, 60, 2);
        GuestFault f = assertThrows(GuestFault.class, this::consume);
        assertTrue(f.getMessage().contains("com_head 5 is not between the last com_head 0 and com_tail 1"), f.getMessage());

        setUp();
        tail = 0;
        post(OP_WRITE, HANDLE, 0x200000, 60, 1);
        consume();
        ring.commit(1, HANDLE, Hypercall.OK, 60);
        ring.publish();
        setComHead(1);
        post(OP_WRITE, HANDLE, 0x200000, 60, 2);
        consume();
        setComHead(0); // backwards
        post(OP_WRITE, HANDLE, 0x200000, 60, 3);
        f = assertThrows(GuestFault.class, this::consume);
        assertTrue(f.getMessage().contains("com_head 0 is not between the last com_head 1"), f.getMessage());
    }

    @Test
    void entriesWaitWhileTheCommitRingHasNoRoom() throws GuestFault {
        for (int i = 0; i < NetRingLayout.SLOTS; i++) put(OP_WRITE, HANDLE, 0x200000, 60, i, 0);
        setEntTail(tail);
        consume();
        for (NetRing.Entry e : taken) ring.commit(e.id(), HANDLE, Hypercall.OK, 60);
        ring.publish();
        post(OP_WRITE, HANDLE, 0x200000, 60, 5000);       // the guest read no commit back yet
        assertEquals(0, consume(), "1024 commits unread: the 1025th entry waits");
        assertFalse(ring.hasWork());
        assertTrue(ring.entriesWaiting(), "POLL sees it and nudges the I/O thread");
        setComHead(1);
        assertTrue(ring.hasWork());
        assertEquals(1, consume());
        assertEquals(5000, taken.getLast().id());
    }

    @Test
    void theGuestWritingTheMonitorsIndicesChangesNothing() throws GuestFault {
        post(OP_WRITE, HANDLE, 0x200000, 60, 1);
        ram.set(JAVA_INT, RING + NetRingLayout.ENT_HEAD, 999);
        ram.set(JAVA_INT, RING + NetRingLayout.COM_TAIL, -5);
        assertEquals(1, consume());
        ring.commit(1, HANDLE, Hypercall.OK, 60);
        ring.publish();
        assertEquals(1, hostField(NetRingLayout.ENT_HEAD));
        assertEquals(1, hostField(NetRingLayout.COM_TAIL));
        assertEquals(1, commit(0)[0]);
    }

    @Test
    void readySetAndCommitsWaitingFollowComHead() throws GuestFault {
        post(OP_READ, HANDLE, BUFFER0, 2048, 1);
        consume();
        assertFalse(ring.commitsWaiting());
        ring.commit(1, HANDLE, Hypercall.OK, 60);
        assertFalse(ring.commitsWaiting(), "not published yet");
        ring.publish();
        assertTrue(ring.commitsWaiting());
        assertEquals(1L << HANDLE, ring.readySet());
        setComHead(1);
        assertFalse(ring.commitsWaiting());
        assertEquals(0, ring.readySet());
        setComHead(0x7000_0000); // garbage: POLL looks at no more than 1024 commits and does not fail
        assertTrue(ring.commitsWaiting());
        assertEquals(1L << HANDLE, ring.readySet());
    }

    @Test
    void needsKickIsWrittenAndPostingIsNoticed() {
        assertFalse(ring.guestPosted());
        ring.needsKick(true);
        assertEquals(1, hostField(NetRingLayout.NEEDS_KICK));
        ring.needsKick(false);
        assertEquals(0, hostField(NetRingLayout.NEEDS_KICK));
        setEntTail(1);
        assertTrue(ring.guestPosted());
    }

    @Test
    void aSnapshotsRingIsTakenOverOnlyWhenItsIndicesFitTogether() throws GuestFault {
        post(OP_WRITE, HANDLE, 0x200000, 60, 1);
        consume();
        ring.commit(1, HANDLE, Hypercall.OK, 60);
        ring.publish();
        NetRing again = NetRing.resume(ram, RING, Map.of(HANDLE, MAX_FRAME));
        post(OP_WRITE, HANDLE, 0x200000, 60, 2);
        assertEquals(1, again.consume(taken::add), "goes on from ent_head 1");
        assertTrue(again.guestPosted());

        ram.set(JAVA_INT, RING + NetRingLayout.COM_TAIL, 7); // ent_head 2 != com_tail 7
        GuestFault f = assertThrows(GuestFault.class, () -> NetRing.resume(ram, RING, Map.of(HANDLE, MAX_FRAME)));
        assertEquals(FaultKind.BAD_RING, f.kind());
        assertTrue(f.getMessage().contains("snapshot's ring indices"), f.getMessage());
    }
}
