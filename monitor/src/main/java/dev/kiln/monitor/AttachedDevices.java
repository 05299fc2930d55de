package dev.kiln.monitor;

import dev.kiln.monitor.devices.BlockModule;
import dev.kiln.monitor.devices.NetModule;
import dev.kiln.monitor.devices.TapDevice;
import dev.kiln.monitor.image.Manifest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The host resources behind an instance's devices, opened from its spec's attachments, and the
 * guest's copy of the manifest filled from them (hvt ABI section 2): a block device's capacity and
 * block size, a net device's MAC and MTU, and {@code attached}. Until the instance takes them, the
 * builder closes them on any failure.
 */
final class AttachedDevices implements AutoCloseable {
    private final Map<Integer, BlockModule.Device> blocks;
    private final Map<Integer, NetModule.Device> nets;
    private final byte[] manifest;

    private AttachedDevices(Map<Integer, BlockModule.Device> blocks, Map<Integer, NetModule.Device> nets, byte[] manifest) {
        this.blocks = blocks;
        this.nets = nets;
        this.manifest = manifest;
    }

    /** No devices: a fork child (docs/kiln-abi.md 1.1). */
    static AttachedDevices none(InstanceSpec spec) {
        return new AttachedDevices(Map.of(), Map.of(), spec.image().manifest().raw());
    }

    /** Opens what backs each attached device; the spec's attachments were checked against the image. */
    static AttachedDevices open(InstanceSpec spec) {
        byte[] manifest = spec.image().manifest().raw();
        if (spec.devices().isEmpty()) return new AttachedDevices(Map.of(), Map.of(), manifest);
        Map<Integer, BlockModule.Device> blocks = new HashMap<>();
        Map<Integer, NetModule.Device> nets = new HashMap<>();
        ByteBuffer mft = ByteBuffer.wrap(manifest).order(ByteOrder.LITTLE_ENDIAN);
        try {
            for (DeviceAttachment a : spec.devices()) {
                Manifest.Device d = spec.image().manifest().devices().stream()
                        .filter(x -> x.name().equals(a.name())).findFirst().orElseThrow();
                int at = Manifest.HEADER_SIZE + d.handle() * Manifest.ENTRY_SIZE;
                switch (a) {
                    case DeviceAttachment.Block b -> {
                        BlockModule.Device dev = BlockModule.open(d.handle(), b.name(), b.file(), b.sectorSize(), b.volatileCache(), b.readOnly());
                        blocks.put(d.handle(), dev);
                        // solo5-hvt refuses a backing file that does not end on a block boundary: the
                        // tail would be neither readable nor writable by the guest, silently
                        if (dev.capacity() != dev.file().size()) {
                            throw new IOException("block device '" + b.name() + "': " + b.file() + " is " + dev.file().size()
                                    + " bytes, not a multiple of its " + dev.blockSize() + "-byte blocks");
                        }
                        mft.putLong(at + Manifest.UNION_OFFSET, dev.capacity());
                        mft.putShort(at + Manifest.UNION_OFFSET + 8, (short) dev.blockSize());
                    }
                    case DeviceAttachment.Net n -> {
                        TapDevice tap;
                        try {
                            tap = TapDevice.open(n.tap());
                        } catch (IOException e) {
                            throw new IOException("net device '" + n.name() + "': " + e.getMessage(), e);
                        }
                        byte[] mac = n.mac() != null ? n.mac() : randomMac();
                        nets.put(d.handle(), new NetModule.Device(d.handle(), n.name(), tap, mac));
                        mft.put(at + Manifest.UNION_OFFSET, mac);
                        mft.putShort(at + Manifest.UNION_OFFSET + 6, (short) Math.min(tap.mtu(), 0xffff));
                    }
                }
                mft.put(at + Manifest.ATTACHED_OFFSET, (byte) 1);
            }
        } catch (IOException e) {
            BlockModule.closeAll(blocks.values());
            NetModule.closeAll(nets.values());
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return new AttachedDevices(blocks, nets, manifest);
    }

    /** A random locally administered unicast MAC, as solo5-hvt gives a device without --net-mac. */
    private static byte[] randomMac() {
        byte[] mac = new byte[6];
        ThreadLocalRandom.current().nextBytes(mac);
        mac[0] = (byte) ((mac[0] & 0xfe) | 0x02);
        return mac;
    }

    /** The manifest as the guest sees it: the image's, with every attachment filled in. */
    byte[] manifest() {
        return manifest;
    }

    boolean isEmpty() {
        return blocks.isEmpty() && nets.isEmpty();
    }

    Map<Integer, BlockModule.Device> blocks() {
        return blocks;
    }

    Map<Integer, NetModule.Device> nets() {
        return nets;
    }

    @Override
    public void close() {
        BlockModule.closeAll(blocks.values());
        NetModule.closeAll(nets.values());
    }
}
