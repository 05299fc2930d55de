package dev.kiln.monitor.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.kiln.monitor.kvm.KvmApi.USERSPACE_MEMORY_REGION;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** One KVM virtual machine: its memory slots and vCPUs. Closing it releases the VM in the kernel. */
public final class Vm implements AutoCloseable {
    private final Kvm kvm;
    private final int fd;
    private boolean closed;

    Vm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    /** Maps host memory {@code memory} at guest-physical {@code gpa} as slot {@code slot}. */
    public void setUserMemoryRegion(int slot, long gpa, MemorySegment memory) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = arena.allocate(USERSPACE_MEMORY_REGION);
            region.set(JAVA_INT, 0, slot);
            region.set(JAVA_INT, 4, 0);
            region.set(JAVA_LONG, 8, gpa);
            region.set(JAVA_LONG, 16, memory.byteSize());
            region.set(JAVA_LONG, 24, memory.address());
            int rc = LibC.ioctl(fd, KvmApi.KVM_SET_USER_MEMORY_REGION, region);
            if (rc < 0) {
                throw new KvmException("KVM_SET_USER_MEMORY_REGION", -rc);
            }
        }
    }

    /**
     * Binds {@code eventfd} to guest writes of {@code len} bytes to I/O port {@code port}
     * (KVM_IOEVENTFD): such an OUT signals the eventfd inside the kernel and the vCPU goes on at
     * once, without KVM_RUN returning to the monitor. Other sizes still exit as ordinary port I/O.
     */
    public void ioeventfd(int port, int len, EventFd eventfd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment arg = arena.allocate(KvmApi.IOEVENTFD);
            arg.set(JAVA_LONG, KvmApi.IOEVENTFD_ADDR, port);
            arg.set(JAVA_INT, KvmApi.IOEVENTFD_LEN, len);
            arg.set(JAVA_INT, KvmApi.IOEVENTFD_FD, eventfd.fd());
            arg.set(JAVA_INT, KvmApi.IOEVENTFD_FLAGS, KvmApi.IOEVENTFD_FLAG_PIO);
            int rc = LibC.ioctl(fd, KvmApi.KVM_IOEVENTFD, arg);
            if (rc < 0) throw new KvmException("KVM_IOEVENTFD (port 0x" + Integer.toHexString(port) + ")", -rc);
        }
    }

    /** Creates vCPU {@code id} and maps its shared {@code kvm_run} area. */
    public Vcpu createVcpu(int id) {
        int vcpufd = LibC.ioctl(fd, KvmApi.KVM_CREATE_VCPU, id);
        if (vcpufd < 0) {
            throw new KvmException("KVM_CREATE_VCPU", -vcpufd);
        }
        try {
            MemorySegment run = LibC.mmap(kvm.vcpuMmapSize(), LibC.PROT_READ | LibC.PROT_WRITE,
                    LibC.MAP_SHARED, vcpufd, 0, "kvm_run");
            return new Vcpu(vcpufd, run);
        } catch (RuntimeException e) {
            LibC.close(vcpufd);
            throw e;
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LibC.close(fd);
        }
    }
}
