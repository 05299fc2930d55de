package dev.kiln.monitor.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An image's MFT1 device manifest (hvt ABI section 2), validated.
 *
 * <pre>
 * struct mft { u32 version @0; u32 entries @4; struct mft_entry e[] @8; };
 * struct mft_entry {            // 104 bytes
 *     char name[68] @0; u32 type @68;
 *     union { struct { u64 capacity; u16 block_size; } block; struct { u8 mac[6]; u16 mtu; } net; } @72;
 *     u8 tender_private[8] @88; bool attached @96;
 * };
 * </pre>
 *
 * @param raw     the manifest bytes exactly as in the image, copied to the guest and filled in there
 * @param devices the declared devices, entry 1 onwards (entry 0 is RESERVED_FIRST); a device's
 *                handle is its index in the manifest, so {@code devices.get(i).handle() == i + 1}
 */
public record Manifest(byte[] raw, List<Device> devices) {
    public static final int VERSION = 1;
    public static final int MAX_ENTRIES = 64;
    public static final int HEADER_SIZE = 8;
    public static final int ENTRY_SIZE = 104;
    public static final int NAME_SIZE = 68;
    public static final int TYPE_OFFSET = 68;
    public static final int UNION_OFFSET = 72;
    public static final int ATTACHED_OFFSET = 96;

    /** One declared device. */
    public record Device(int handle, String name, DeviceType type) {}

    public Manifest {
        raw = raw.clone();
        devices = List.copyOf(devices);
    }

    @Override
    public byte[] raw() {
        return raw.clone();
    }

    public int size() {
        return raw.length;
    }

    /** Validates manifest bytes by every rule of hvt ABI section 2; errors name the entry and rule. */
    public static Manifest parse(byte[] raw) throws ImageException {
        if (raw.length < HEADER_SIZE) {
            throw new ImageException("manifest is " + raw.length + " bytes, smaller than its 8-byte header");
        }
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int version = b.getInt(0);
        if (version != VERSION) {
            throw new ImageException("manifest version is " + Integer.toUnsignedString(version) + ", expected " + VERSION);
        }
        long entries = Integer.toUnsignedLong(b.getInt(4));
        if (entries < 1 || entries > MAX_ENTRIES) {
            throw new ImageException("manifest declares " + entries + " entries, allowed 1.." + MAX_ENTRIES);
        }
        long expected = HEADER_SIZE + ENTRY_SIZE * entries;
        if (raw.length != expected) {
            throw new ImageException("manifest is " + raw.length + " bytes, but " + entries
                    + " entries need exactly " + expected);
        }
        List<Device> devices = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < entries; i++) {
            int at = HEADER_SIZE + i * ENTRY_SIZE;
            if (raw[at + NAME_SIZE - 1] != 0) {
                throw new ImageException("manifest entry " + i + ": name is not NUL-terminated");
            }
            if (raw[at + ATTACHED_OFFSET] != 0) {
                throw new ImageException("manifest entry " + i + ": 'attached' is set in the image; it must be false");
            }
            int len = 0;
            while (raw[at + len] != 0) len++;
            String name = new String(raw, at, len, StandardCharsets.ISO_8859_1);
            int type = b.getInt(at + TYPE_OFFSET);
            if (i == 0) {
                if (type != DeviceType.RESERVED_FIRST || len != 0) {
                    throw new ImageException("manifest entry 0 must be RESERVED_FIRST with an empty name");
                }
                continue;
            }
            DeviceType dt = DeviceType.ofCode(type);
            if (dt == null) {
                throw new ImageException("manifest entry " + i + " ('" + printable(name) + "'): unknown device type "
                        + Integer.toUnsignedString(type));
            }
            if (len == 0 || !name.chars().allMatch(c -> (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9'))) {
                throw new ImageException("manifest entry " + i + ": device name '" + printable(name)
                        + "' must be 1..67 alphanumeric characters");
            }
            if (names.contains(name)) {
                throw new ImageException("manifest entry " + i + ": device name '" + name + "' is declared twice");
            }
            names.add(name);
            devices.add(new Device(i, name, dt));
        }
        return new Manifest(raw, devices);
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c >= 0x20 && c < 0x7f) sb.append(c);
            else sb.append(String.format("\\x%02x", (int) c));
        }
        return sb.toString();
    }
}
