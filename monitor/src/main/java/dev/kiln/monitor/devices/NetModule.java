package dev.kiln.monitor.devices;

import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.hvt.Hypercall;
import dev.kiln.monitor.hvt.HypercallTable;

import java.lang.foreign.MemorySegment;
import java.util.Collection;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

/**
 * NET_BASIC devices on tap interfaces (hvt ABI sections 2 and 5): NET_WRITE sends one Ethernet
 * frame, NET_READ receives one or answers AGAIN. A handle that is not a net device, an empty frame
 * or one longer than the MTU plus an Ethernet header is EINVAL; a data range outside guest RAM is
 * a guest fault.
 *
 * <pre>
 * struct hvt_hc_net_write / _read {
 *     uint64_t handle;  // 0
 *     GPA data;         // 8
 *     size_t len;       // 16 (read: buffer size in, frame length out)
 *     int ret;          // 24
 * };
 * </pre>
 */
public final class NetModule implements AutoCloseable {
    static final long ARG_SIZE = 28;
    static final long HANDLE = 0, DATA = 8, LEN = 16, RET = 24;
    /** Ethernet header with one VLAN tag: what a frame may carry beyond the MTU. */
    static final int FRAME_OVERHEAD = 18;

    /** One attached device: its tap and the MAC the guest was given. */
    public record Device(int handle, String name, TapDevice tap, byte[] mac) {}

    private final GuestMemory memory;
    private final Map<Integer, Device> devices;

    public NetModule(GuestMemory memory, Map<Integer, Device> devices) {
        this.memory = memory;
        this.devices = Map.copyOf(devices);
    }

    public void register(HypercallTable table) {
        table.register(Hypercall.NET_WRITE, this::write);
        table.register(Hypercall.NET_READ, this::read);
    }

    public Collection<Device> devices() {
        return devices.values();
    }

    private Device device(long handle) {
        return handle >= 0 && handle < Integer.MAX_VALUE ? devices.get((int) handle) : null;
    }

    private void write(long argGpa) throws GuestFault {
        MemorySegment arg = memory.range(argGpa, ARG_SIZE, "NET_WRITE argument");
        Device d = device(GuestMemory.getLong(arg, HANDLE));
        long data = GuestMemory.getLong(arg, DATA);
        long len = GuestMemory.getLong(arg, LEN);
        if (d == null || len <= 0 || len > d.tap().mtu() + FRAME_OVERHEAD) {
            arg.set(JAVA_INT_UNALIGNED, RET, Hypercall.EINVAL);
            return;
        }
        boolean sent = d.tap().write(memory.range(data, len, "NET_WRITE data"));
        arg.set(JAVA_INT_UNALIGNED, RET, sent ? Hypercall.OK : Hypercall.EUNSPEC);
    }

    private void read(long argGpa) throws GuestFault {
        MemorySegment arg = memory.range(argGpa, ARG_SIZE, "NET_READ argument");
        Device d = device(GuestMemory.getLong(arg, HANDLE));
        long data = GuestMemory.getLong(arg, DATA);
        long len = GuestMemory.getLong(arg, LEN);
        if (d == null || len <= 0) {
            arg.set(JAVA_INT_UNALIGNED, RET, Hypercall.EINVAL);
            return;
        }
        long n = d.tap().read(memory.range(data, Math.min(len, d.tap().mtu() + FRAME_OVERHEAD), "NET_READ buffer"));
        if (n == 0) {
            arg.set(JAVA_INT_UNALIGNED, RET, Hypercall.AGAIN);
        } else if (n < 0) {
            arg.set(JAVA_INT_UNALIGNED, RET, Hypercall.EUNSPEC);
        } else {
            GuestMemory.putLong(arg, LEN, n);
            arg.set(JAVA_INT_UNALIGNED, RET, Hypercall.OK);
        }
    }

    @Override
    public void close() {
        closeAll(devices.values());
    }

    public static void closeAll(Collection<Device> devices) {
        for (Device d : devices) d.tap().close();
    }
}
