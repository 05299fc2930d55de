package dev.kiln.monitor.image;

/**
 * A non-empty PT_LOAD segment that passed validation.
 *
 * @param fileOffset   where its bytes start in the image file
 * @param vaddr        guest-physical load address (identity-mapped)
 * @param fileSize     bytes copied from the file
 * @param memSize      bytes it occupies in memory; the rest after {@code fileSize} is zero (BSS)
 * @param flags        ELF PF_* flags
 * @param alignedStart {@code align_down(vaddr, p_align)}
 * @param alignedEnd   {@code align_up(vaddr + memSize, p_align)}
 */
public record LoadSegment(long fileOffset, long vaddr, long fileSize, long memSize, int flags,
                          long alignedStart, long alignedEnd) {
    public static final int PF_X = 1;
    public static final int PF_W = 2;
    public static final int PF_R = 4;

    public boolean executable() {
        return (flags & PF_X) != 0;
    }

    public String permissions() {
        return ((flags & PF_R) != 0 ? "r" : "-") + ((flags & PF_W) != 0 ? "w" : "-") + ((flags & PF_X) != 0 ? "x" : "-");
    }
}
