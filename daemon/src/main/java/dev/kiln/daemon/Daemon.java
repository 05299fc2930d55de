package dev.kiln.daemon;

import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.kvm.KvmException;

import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * {@code kiln daemon}: one long-lived JVM hosting instances through the monitor library, behind
 * HTTP/1.1 + JSON. Start-up order: lock the state dir (one daemon per state), open the database and
 * the monitor, serve, then boot again what was meant to run. Shutdown (SIGTERM, SIGINT, close)
 * stops the runs but leaves every record as it was, so the next start boots the same ones.
 */
public final class Daemon implements AutoCloseable {
    private final FileChannel lockChannel;
    private final StateDb db;
    private final Monitor monitor;
    private final Runs runs;
    private ScaleToZero sleeper;
    private final Dashboard dashboard;
    private final HttpFront front;
    private final Path socket;
    private final String listenHost;
    private final Fleet.Recovery recovery;
    /** Null without a network. */
    private final HostShell shell;
    private final HostNetwork network;
    private final ClusterFront cluster;

    private Daemon(DaemonConfig config, long heartbeatMillis, ClusterFront.Join join) throws Exception {
        Path state = Files.createDirectories(config.stateDir());
        lockChannel = FileChannel.open(state.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = lockChannel.tryLock();
        if (lock == null) {
            lockChannel.close();
            throw new IllegalStateException("another kiln daemon uses the state directory " + state);
        }
        socket = config.socket();
        listenHost = config.listen() == null ? null : config.listen().getHostString();
        StateDb opened = null;
        Monitor m = null;
        HostShell sh = null;
        HostNetwork net = null;
        ClusterFront joined = null;
        Thread reserving = null;
        try {
            if (config.bridge() != null) {
                // Made now, before Monitor.confine forbids starting programs (HostShell)
                sh = new HostShell();
                net = new HostNetwork(sh, config.bridge(), Subnet.parse(config.subnet()));
                net.open();
            }
            byte[] token = config.listen() == null ? null : readToken(config.tokenFile());
            claimSocket(socket);
            long physical = HostCapacity.physicalMemory();
            long budget = config.memoryBudgetMiB() > 0 ? config.memoryBudgetMiB() << 20 : physical;
            HostCapacity capacity = new HostCapacity(physical, budget);
            m = Monitor.open(budget);
            // Made now, before any VM exists, while a thread costs microseconds (Monitor.reserveVcpuThreads);
            // on a thread of its own while the database opens, and joined before the first VM.
            Monitor monitorForThreads = m;
            reserving = Thread.ofPlatform().name("kiln-reserve-threads")
                    .start(() -> monitorForThreads.reserveVcpuThreads(config.spareVcpuThreads()));
            opened = new StateDb(state.resolve("kiln.db"));
            ImageStore images = new ImageStore(state.resolve("images"), opened);
            EventStream events = new EventStream();
            DaemonMetrics metrics = new DaemonMetrics();
            Path logs = Files.createDirectories(state.resolve("logs"));
            Path snapshots = Files.createDirectories(state.resolve("snapshots"));
            Roster roster = new Roster();
            NetworkWiring wiring = new NetworkWiring(net, roster);
            Runs r = new Runs(m, opened, images, events, roster, wiring, snapshots);
            metrics.watch(roster, r, images, capacity);
            sleeper = new ScaleToZero(r, roster);
            Fleet f = new Fleet(opened, images, roster, r, wiring, sleeper, logs, snapshots, config.logCapBytes(), events);
            dashboard = new Dashboard();
            // Clustered, records are loaded but not booted: the host's reconciler runs what etcd assigns it.
            reserving.join();
            Fleet.Recovery recovered = f.recover(join == null);
            if (join != null) joined = join.join(new LocalFleet(f, roster, r, images, capacity, m));
            Api api = new Api(f, roster, r, images, events, metrics, capacity, heartbeatMillis, dashboard, joined);
            front = new HttpFront(socket, config.listen(), token, api.routes(), metrics, dashboard);
            // Owner and group: the socket's mode is who may drive the daemon.
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
            runs = r;
            recovery = recovered;
            if (joined != null) joined.serving(config.listen() != null ? config.listen().getHostString() + ":" + front.tcpPort() : socket.toString());
        } catch (Exception e) {
            if (reserving != null) reserving.join(); // its threads are the monitor's: closed with it
            if (joined != null) joined.close();
            if (sleeper != null) sleeper.close();
            if (net != null) net.close();
            if (sh != null) sh.close();
            if (m != null) m.close();
            if (opened != null) opened.close();
            lockChannel.close();
            throw e;
        }
        db = opened;
        monitor = m;
        shell = sh;
        network = net;
        cluster = joined;
    }

    /** Starts a daemon; it serves until {@link #close}. */
    public static Daemon start(DaemonConfig config) throws Exception {
        return new Daemon(config, 15_000, null);
    }

    /** As {@link #start}, as a host of a cluster that {@code join} joins. */
    public static Daemon start(DaemonConfig config, ClusterFront.Join join) throws Exception {
        return new Daemon(config, 15_000, join);
    }

    /** As {@link #start}, with SSE keep-alives this often (tests find a gone client sooner). */
    static Daemon start(DaemonConfig config, long heartbeatMillis) throws Exception {
        return new Daemon(config, heartbeatMillis, null);
    }

    public Path socket() {
        return socket;
    }

    /** The dashboard's one-time login URL (TCP only), or null without --listen. */
    public String dashboardLoginUrl() {
        if (front.tcpPort() < 0) return null;
        return "http://" + listenHost + ":" + front.tcpPort() + dashboard.loginPath();
    }

    /** The TCP port bound with --listen, or -1. */
    public int tcpPort() {
        return front.tcpPort();
    }

    private static byte[] readToken(Path file) throws IOException {
        try {
            var perms = Files.getPosixFilePermissions(file);
            if (perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
                throw new IllegalStateException("the token file " + file + " is readable by every user; chmod o-r it first");
            }
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing to check
        }
        String t;
        try {
            t = Files.readString(file, StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new IOException("cannot read the token file " + file + ": " + e.getMessage(), e);
        }
        if (t.length() < 16) throw new IllegalStateException("the token in " + file + " is shorter than 16 characters; refusing to serve TCP with it");
        return t.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Makes the socket's folder, and removes a socket file left by a daemon that died (nothing
     * answers on it); one that answers belongs to a live daemon, which is refused.
     */
    private static void claimSocket(Path socket) throws IOException {
        Path dir = socket.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-x---"));
        }
        if (Files.exists(socket)) {
            try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                c.connect(UnixDomainSocketAddress.of(socket));
                throw new IllegalStateException("a daemon already listens on " + socket);
            } catch (IOException e) {
                Files.delete(socket); // stale: left by a daemon that was killed
            }
        }
    }

    @Override
    public void close() {
        if (cluster != null) cluster.close();
        front.close();
        sleeper.close();
        runs.close();
        if (network != null) network.close();
        if (shell != null) shell.close();
        monitor.close();
        db.close();
        try {
            Files.deleteIfExists(socket);
            lockChannel.close();
        } catch (IOException e) {
            // the lock goes with the process anyway
        }
    }

    /** Runs a daemon in the foreground until SIGTERM or SIGINT; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, null);
    }

    /** As {@link #run(String[], PrintStream, PrintStream)}, as a host of a cluster when {@code join} is not null. */
    public static int run(String[] args, PrintStream out, PrintStream err, ClusterFront.Join join) {
        if (java.util.Arrays.asList(args).contains("--help")) {
            out.println("usage: " + DaemonConfig.SYNTAX);
            out.println("Hosts instances through the monitor library, behind HTTP/1.1 + JSON (GET /v1/openapi.json).");
            out.println("  --socket PATH        Unix socket (default " + DaemonConfig.defaultSocket() + ")");
            out.println("  --state DIR          database, images, logs, snapshots (default " + DaemonConfig.defaultStateDir() + ")");
            out.println("  --listen ADDR:PORT   serve TCP as well; needs --token-file (Authorization: Bearer TOKEN)");
            out.println("  --token-file FILE    the bearer token, at least 16 characters");
            out.println("  --memory-budget MiB  guest memory all live instances may reserve (default: the host's RAM)");
            out.println("  --log-cap KiB        console log size before rotation; two files are kept (default 1024)");
            out.println("  --spare-threads N    vCPU threads made at start, before any VM: later starts take them, and up to N"
                    + " come back when their runs end (default " + DaemonConfig.DEFAULT_SPARE_THREADS + ")");
            out.println("  --bridge NAME        bridge for instances created with \"net\": true (default " + DaemonConfig.DEFAULT_BRIDGE
                    + " when run as root); removed at shutdown");
            out.println("  --subnet ADDR/PREFIX the bridge's address; guests get the others (default " + DaemonConfig.DEFAULT_SUBNET + ")");
            out.println("  --no-net             manage no bridge, taps or NAT");
            out.println("  --no-seccomp         do not put the process under the monitor's seccomp filter (exec, modules, mounts...)");
            return 0;
        }
        // --no-seccomp is the process's business, not the daemon's: read here, where the process starts.
        // Clustered, gRPC's Netty loads classes and native transports lazily, long after start: no filter.
        boolean seccomp = join == null && !java.util.Arrays.asList(args).contains("--no-seccomp");
        args = java.util.Arrays.stream(args).filter(a -> !a.equals("--no-seccomp")).toArray(String[]::new);
        DaemonConfig config;
        try {
            config = DaemonConfig.parse(args);
        } catch (DaemonConfig.UsageException e) {
            err.println("kiln daemon: " + e.getMessage());
            err.println("usage: " + DaemonConfig.SYNTAX);
            return 2;
        }
        Daemon daemon;
        try {
            daemon = join == null ? start(config) : start(config, join);
        } catch (KvmException e) {
            err.println("kiln daemon: no KVM: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("kiln daemon: cannot start: " + e.getMessage());
            return 1;
        }
        if (seccomp) {
            // Everything the daemon opens ahead (KVM, the database and its native library, the
            // sockets) is open: from here on, as for kiln run, a guest that broke into this process
            // could not run a program, load a module, mount, enter a namespace or trace.
            try {
                Monitor.confine();
            } catch (KvmException e) {
                daemon.close();
                err.println("kiln daemon: cannot confine the process: " + e.getMessage() + " (--no-seccomp runs without the filter)");
                return 1;
            }
        }
        for (String p : daemon.recovery.problems()) err.println("kiln daemon: " + p);
        if (daemon.recovery.booted() > 0) {
            out.printf(java.util.Locale.ROOT, "kiln daemon: %d instance%s meant to run booted again in %.0f ms%n", daemon.recovery.booted(),
                    daemon.recovery.booted() == 1 ? "" : "s", daemon.recovery.nanos() / 1e6);
        }
        out.println("kiln daemon: listening on " + daemon.socket() + (config.listen() == null ? ""
                : " and " + config.listen().getHostString() + ":" + daemon.tcpPort() + " (bearer token)") + "; state in " + config.stateDir());
        if (config.listen() != null) out.println("kiln daemon: dashboard (one-time login): " + daemon.dashboardLoginUrl());
        out.flush();
        if (AotTraining.requested()) {
            AotTraining.exercise(daemon);
            daemon.close();
            return 0;
        }
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            daemon.close();
            done.countDown();
        }, "kiln-daemon-shutdown"));
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    public static void main(String[] args) {
        int status = run(args, System.out, System.err);
        if (status != 0) System.exit(status);
        // status 0: the shutdown hook runs; the JVM ends with it
    }
}
