package dev.kiln.monitor.devices;

import dev.kiln.monitor.hvt.BootInfo;
import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.kvm.EventFd;
import dev.kiln.monitor.kvm.Vm;

import java.lang.foreign.MemorySegment;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Whether an instance gets the network ring, and where (docs/kiln-abi.md 4.1): decided before
 * its VM exists, because the doorbell must be bound with KVM_IOEVENTFD while the VM's descriptor
 * is still open. It owns the doorbell eventfd until {@link #start} hands it to the I/O thread.
 */
public final class NetRingPlan implements AutoCloseable {
    /** The ring area may take at most this fraction of RAM (1/4): RAM of 10 MiB or more. */
    static final int RAM_SHARE = 4;

    private final long gpa;
    private final boolean restored;
    private final NetRingService service;
    private EventFd doorbell;

    private NetRingPlan(long gpa, boolean restored, NetRingService service) {
        this.service = service;
        this.gpa = gpa;
        this.restored = restored;
        this.doorbell = EventFd.open("the net ring's doorbell");
    }

    /**
     * The ring for a fresh boot, or null when it is not offered: the operator turned it off, the
     * image has no net device, RAM is under four times the area, the image reaches into the area,
     * or a device's frames (MTU + Ethernet header) would not fit a 2,048-byte slot buffer.
     */
    public static NetRingPlan offer(NetRingService service, long ramBytes, long kernelEnd, Collection<NetModule.Device> nets) {
        if (service == NetRingService.OFF || nets.isEmpty() || NetRingLayout.AREA * RAM_SHARE > ramBytes) return null;
        long gpa = NetRingLayout.areaGpa(ramBytes);
        if (kernelEnd > gpa) return null;
        for (NetModule.Device d : nets) {
            if ((long) d.tap().mtu() + NetModule.FRAME_OVERHEAD > NetRingLayout.SLOT_BUFFER) return null;
        }
        return new NetRingPlan(gpa, false, service);
    }

    /**
     * The ring for an instance restored from a snapshot: the guest in it already decided from its
     * boot info, so the ring is there exactly when that boot info offered it at the place Kiln
     * puts it for this memory size (a guest that wrote over its boot info gets no ring, and its
     * kicks then fault as writes to a port that is not a hypercall's).
     */
    public static NetRingPlan restored(MemorySegment ram, Collection<NetModule.Device> nets, NetRingService service) {
        if (nets.isEmpty() || NetRingLayout.AREA * RAM_SHARE > ram.byteSize()) return null;
        long gpa = NetRingLayout.areaGpa(ram.byteSize());
        if ((BootInfo.hostFeatures(ram) & BootInfo.FEATURE_NET_RING) == 0 || BootInfo.netRing(ram) != gpa) return null;
        return new NetRingPlan(gpa, true, service == NetRingService.OFF ? NetRingService.AT_POLL : service);
    }

    /** The ring's GPA: the start of the area at the top of RAM. */
    public long gpa() {
        return gpa;
    }

    /** RAM below the area: the guest's {@code mem_size} (hvt ABI section 4) and the top of its stack. */
    public long usableBytes() {
        return gpa;
    }

    /** Binds the doorbell to 32-bit OUTs to port 0x600 of {@code vm} (KVM_IOEVENTFD); before the VM's descriptor closes. */
    public void register(Vm vm) {
        vm.ioeventfd(NetRingLayout.KICK_PORT, NetRingLayout.KICK_SIZE, doorbell);
    }

    /**
     * Starts the ring's I/O thread over {@code memory} for {@code nets}; guest-visible index
     * garbage found later goes to {@code onFault}. A restored ring whose indices do not fit
     * together stops its guest at once, through the same hook.
     */
    public NetRingIo start(String name, GuestMemory memory, Collection<NetModule.Device> nets, NetRingIo.FaultSink onFault) {
        List<NetModule.Device> devices = nets.stream().sorted(Comparator.comparingInt(NetModule.Device::handle)).toList();
        Map<Integer, Integer> maxFrame = devices.stream().collect(Collectors.toMap(NetModule.Device::handle,
                d -> d.tap().mtu() + NetModule.FRAME_OVERHEAD));
        NetRing ring = null;
        GuestFault fault = null;
        if (restored) {
            try {
                ring = NetRing.resume(memory.segment(), gpa, maxFrame);
            } catch (GuestFault f) {
                fault = f;
            }
        } else {
            ring = NetRing.fresh(memory.segment(), gpa, maxFrame);
        }
        EventFd bell = doorbell;
        doorbell = null;
        return new NetRingIo(name, service, ring, fault, devices, bell, onFault);
    }

    /** Closes the doorbell if no I/O thread took it (the instance failed before it started). */
    @Override
    public void close() {
        if (doorbell != null) {
            doorbell.close();
            doorbell = null;
        }
    }
}
