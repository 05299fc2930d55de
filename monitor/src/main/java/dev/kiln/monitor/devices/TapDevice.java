package dev.kiln.monitor.devices;

import dev.kiln.monitor.kvm.LibC;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A Linux tap interface opened through {@code /dev/net/tun}: the host end of a NET_BASIC device.
 * Frames are plain Ethernet (IFF_NO_PI); the descriptor is non-blocking so NET_READ can answer
 * AGAIN, and POLL waits on it.
 *
 * <pre>
 * struct ifreq { char ifr_name[16]; union { short ifr_flags; int ifr_mtu; ... }; }  // 40 bytes
 * </pre>
 */
public final class TapDevice implements AutoCloseable {
    static final long TUNSETIFF = 0x400454caL;
    static final long SIOCGIFMTU = 0x8921L;
    static final long SIOCGIFINDEX = 0x8933L;
    static final short IFF_TAP = 0x0002;
    static final short IFF_NO_PI = 0x1000;
    static final int IFNAMSIZ = 16;
    static final int AF_INET = 2, SOCK_DGRAM = 2;

    private final String name;
    private final int fd;
    private final int mtu;
    private boolean closed;

    private TapDevice(String name, int fd, int mtu) {
        this.name = name;
        this.fd = fd;
        this.mtu = mtu;
    }

    /** Attaches to the existing tap interface {@code name} (create it with {@code ip tuntap add NAME mode tap}). */
    public static TapDevice open(String name) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        if (n.length == 0 || n.length >= IFNAMSIZ || !name.matches("[A-Za-z0-9_.-]+")) {
            throw new IOException("tap interface name '" + name + "' must be 1..15 letters, digits, '.', '_' or '-'");
        }
        try (Arena arena = Arena.ofConfined()) {
            // TUNSETIFF would create a missing interface: check that it exists, as solo5-hvt does.
            int sock = LibC.socket(AF_INET, SOCK_DGRAM, 0);
            if (sock < 0) throw new IOException("socket: " + LibC.describe(-sock));
            try {
                MemorySegment q = arena.allocate(40);
                MemorySegment.copy(n, 0, q, JAVA_BYTE, 0, n.length);
                if (LibC.ioctl(sock, SIOCGIFINDEX, q) < 0) {
                    throw new IOException("there is no network interface '" + name + "' (create it: ip tuntap add "
                            + name + " mode tap)");
                }
            } finally {
                LibC.close(sock);
            }
        }
        int fd = LibC.open("/dev/net/tun", LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0) throw new IOException("cannot open /dev/net/tun: " + LibC.describe(-fd));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = arena.allocate(40);
            MemorySegment.copy(n, 0, ifr, JAVA_BYTE, 0, n.length);
            ifr.set(JAVA_SHORT, IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI));
            int rc = LibC.ioctl(fd, TUNSETIFF, ifr);
            if (rc < 0) {
                throw new IOException("cannot attach to tap interface '" + name + "': " + LibC.describe(-rc)
                        + (rc == -1 || rc == -16 ? " (does it exist, and is no other process attached to it?)" : ""));
            }
            int sock = LibC.socket(AF_INET, SOCK_DGRAM, 0);
            if (sock < 0) throw new IOException("socket for SIOCGIFMTU: " + LibC.describe(-sock));
            try {
                MemorySegment q = arena.allocate(40);
                MemorySegment.copy(n, 0, q, JAVA_BYTE, 0, n.length);
                rc = LibC.ioctl(sock, SIOCGIFMTU, q);
                if (rc < 0) throw new IOException("cannot read the MTU of '" + name + "': " + LibC.describe(-rc));
                return new TapDevice(name, fd, q.get(JAVA_INT, IFNAMSIZ));
            } finally {
                LibC.close(sock);
            }
        } catch (IOException | RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    public String name() {
        return name;
    }

    public int fd() {
        return fd;
    }

    public int mtu() {
        return mtu;
    }

    /** Sends one frame; returns false when the host could not take it (dropped, as a wire would). */
    public boolean write(MemorySegment frame) {
        return LibC.write(fd, frame) == frame.byteSize();
    }

    /** Receives one frame into {@code buf}; returns its length, 0 when none waits, or -errno. */
    public long read(MemorySegment buf) {
        long n = LibC.read(fd, buf);
        return n == -LibC.EAGAIN ? 0 : n;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LibC.close(fd);
        }
    }
}
