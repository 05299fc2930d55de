package dev.kiln.monitor.image;

/** The device types an MFT1 manifest entry can declare (hvt ABI section 2). */
public enum DeviceType {
    BLOCK_BASIC(1),
    NET_BASIC(2);

    /** The type of entry 0, which every manifest starts with (1 &lt;&lt; 30). */
    public static final int RESERVED_FIRST = 1 << 30;

    private final int code;

    DeviceType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The manifest's own word for the type, as an operator sees it in errors. */
    public String label() {
        return this == BLOCK_BASIC ? "block" : "net";
    }

    static DeviceType ofCode(int code) {
        for (DeviceType t : values()) {
            if (t.code == code) return t;
        }
        return null;
    }
}
