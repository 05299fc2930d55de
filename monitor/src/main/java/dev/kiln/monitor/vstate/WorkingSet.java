package dev.kiln.monitor.vstate;

import java.util.BitSet;

/**
 * The pages of guest RAM (4 KiB, by number) a run had touched when it was measured: what a later
 * restore of its snapshot may map in ahead ({@link dev.kiln.monitor.Monitor#restore(Snapshot,
 * dev.kiln.monitor.InstanceSpec, WorkingSet)}). The idea is REAP's record-and-prefetch for
 * serverless snapshots (Ustiugov et al., ASPLOS 2021): a restored guest faults on each page it
 * touches in its new VM, and the pages it touched last time are the ones it will touch again.
 */
public final class WorkingSet {
    private final BitSet pages;
    private final boolean exact;

    /**
     * {@code exact}: measured on memory mapped from a file, where a page is mapped only once
     * touched. Otherwise (a fresh boot's memory) it also holds pages only the loader or the boot
     * touched, and whole 2 MiB huge pages: a restore then maps in ahead only the pages its snapshot
     * stores.
     */
    public WorkingSet(BitSet pages, boolean exact) {
        this.pages = (BitSet) pages.clone();
        this.exact = exact;
    }

    public boolean exact() {
        return exact;
    }

    /** Its pages, a copy. */
    public BitSet pages() {
        return (BitSet) pages.clone();
    }

    public int count() {
        return pages.cardinality();
    }

    public boolean contains(long page) {
        return page >= 0 && page <= Integer.MAX_VALUE && pages.get((int) page);
    }

    @Override
    public String toString() {
        return count() + " pages" + (exact ? "" : " (upper bound)");
    }
}
