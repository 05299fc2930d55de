package dev.kiln.daemon;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code kiln daemon}'s options, parsed from its command line.
 *
 * @param socket        the Unix domain socket the API listens on
 * @param stateDir      where the database, images, logs and snapshots live
 * @param listen        a TCP address to listen on as well, or null
 * @param tokenFile     the bearer token every TCP request must carry (required with listen)
 * @param memoryBudgetMiB guest memory all live instances may reserve together (0: the host's physical memory)
 * @param logCapBytes   console log size before rotation (two files are kept)
 * @param spareVcpuThreads vCPU threads made at start, before any VM exists, for starts to take
 * @param bridge        the Linux bridge networked instances' taps join, or null for no network
 * @param subnet        the bridge's address and prefix (its network is the guests'), e.g. 10.88.0.1/16
 */
public record DaemonConfig(Path socket, Path stateDir, InetSocketAddress listen, Path tokenFile, long memoryBudgetMiB,
                           long logCapBytes, int spareVcpuThreads, String bridge, String subnet) {
    public static final String SYNTAX = "kiln daemon [--socket PATH] [--state DIR] [--listen ADDR:PORT --token-file FILE]"
            + " [--memory-budget MiB] [--log-cap KiB] [--spare-threads N] [--bridge NAME --subnet ADDR/PREFIX | --no-net]"
            + " [--no-seccomp]";
    public static final String DEFAULT_BRIDGE = "kiln0";
    public static final String DEFAULT_SUBNET = "10.88.0.1/16";
    /**
     * A thread made behind hundreds of VMs costs milliseconds, one made first microseconds; 256
     * idle threads cost a few MiB of kernel memory.
     */
    public static final int DEFAULT_SPARE_THREADS = 256;

    public DaemonConfig(Path socket, Path stateDir, InetSocketAddress listen, Path tokenFile, long memoryBudgetMiB, long logCapBytes) {
        this(socket, stateDir, listen, tokenFile, memoryBudgetMiB, logCapBytes, DEFAULT_SPARE_THREADS, null, DEFAULT_SUBNET);
    }

    /** This configuration with a network on {@code bridge} (null: none) and {@code subnet}. */
    public DaemonConfig withNetwork(String bridge, String subnet) {
        return new DaemonConfig(socket, stateDir, listen, tokenFile, memoryBudgetMiB, logCapBytes, spareVcpuThreads, bridge, subnet);
    }

    /** A bad command line, with the message to print. */
    public static final class UsageException extends Exception {
        public UsageException(String message) {
            super(message);
        }
    }

    public static DaemonConfig parse(String[] args) throws UsageException {
        Path socket = defaultSocket();
        Path state = defaultStateDir();
        InetSocketAddress listen = null;
        Path token = null;
        long budget = 0;
        long logCap = 1 << 20;
        int spare = DEFAULT_SPARE_THREADS;
        // A bridge and NAT need CAP_NET_ADMIN: root has a network unless told not to.
        String bridge = root() ? DEFAULT_BRIDGE : null;
        String subnet = DEFAULT_SUBNET;
        boolean noNet = false;
        List<String> rest = new ArrayList<>(List.of(args));
        while (!rest.isEmpty()) {
            String a = rest.removeFirst();
            String value = null;
            if (a.startsWith("--") && a.contains("=")) {
                value = a.substring(a.indexOf('=') + 1);
                a = a.substring(0, a.indexOf('='));
            }
            switch (a) {
                case "--socket" -> socket = Path.of(value(a, value, rest)).toAbsolutePath();
                case "--state" -> state = Path.of(value(a, value, rest)).toAbsolutePath();
                case "--listen" -> listen = address(value(a, value, rest));
                case "--token-file" -> token = Path.of(value(a, value, rest)).toAbsolutePath();
                case "--memory-budget" -> budget = number(a, value(a, value, rest), 2, 1L << 30);
                case "--log-cap" -> logCap = number(a, value(a, value, rest), 1, 1L << 30) << 10;
                case "--spare-threads" -> spare = (int) number(a, value(a, value, rest), 0, 100_000);
                case "--bridge" -> bridge = value(a, value, rest);
                case "--subnet" -> subnet = value(a, value, rest);
                case "--no-net" -> noNet = true;
                default -> throw new UsageException(a.startsWith("-") ? "unknown option " + a : "unexpected argument '" + a + "'");
            }
        }
        if (listen != null && token == null) {
            throw new UsageException("--listen needs --token-file: the API is never served over TCP without a bearer token");
        }
        if (token != null && listen == null) throw new UsageException("--token-file is only for --listen");
        if (socket.toString().length() > 107) throw new UsageException("--socket path is longer than a Unix socket path may be (107 bytes)");
        if (noNet) bridge = null;
        if (bridge != null && !bridge.matches("[A-Za-z0-9_.-]{1,15}")) {
            throw new UsageException("--bridge must be an interface name (1..15 of A-Z a-z 0-9 _ . -), got '" + bridge + "'");
        }
        try {
            Subnet.parse(subnet);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--subnet: " + e.getMessage());
        }
        return new DaemonConfig(socket, state, listen, token, budget, logCap, spare, bridge, subnet);
    }

    private static String value(String option, String inline, List<String> rest) throws UsageException {
        if (inline != null) return inline;
        if (rest.isEmpty()) throw new UsageException(option + " needs a value");
        return rest.removeFirst();
    }

    private static long number(String option, String v, long min, long max) throws UsageException {
        try {
            long n = Long.parseLong(v);
            if (n < min || n > max) throw new UsageException(option + " must be from " + min + " to " + max + ", got " + v);
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(option + " must be a number, got '" + v + "'");
        }
    }

    private static InetSocketAddress address(String v) throws UsageException {
        int colon = v.lastIndexOf(':');
        if (colon <= 0) throw new UsageException("--listen must be ADDR:PORT, got '" + v + "'");
        String host = v.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        try {
            int port = Integer.parseInt(v.substring(colon + 1));
            if (port < 0 || port > 65535) throw new UsageException("--listen port must be 0..65535, got " + port);
            return new InetSocketAddress(host, port);
        } catch (NumberFormatException e) {
            throw new UsageException("--listen port must be a number, got '" + v.substring(colon + 1) + "'");
        }
    }

    static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** $XDG_RUNTIME_DIR/kiln/kiln.sock, or /run/kiln/kiln.sock for root (and when there is no runtime dir). */
    public static Path defaultSocket() {
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        if (!root() && xdg != null && !xdg.isBlank()) return Path.of(xdg, "kiln", "kiln.sock");
        return Path.of("/run/kiln/kiln.sock");
    }

    /** /var/lib/kiln for root, else ~/.local/share/kiln (or $XDG_DATA_HOME/kiln). */
    public static Path defaultStateDir() {
        if (root()) return Path.of("/var/lib/kiln");
        String data = System.getenv("XDG_DATA_HOME");
        if (data != null && !data.isBlank()) return Path.of(data, "kiln");
        return Path.of(System.getProperty("user.home"), ".local", "share", "kiln");
    }
}
