package dev.kiln.daemon;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Scale to zero. The daemon itself listens on a scale-to-zero instance's published ports (no
 * DNAT for them), so a connection reaches it whether the guest runs or sleeps: it wakes the
 * guest if needed (restored from its sleep snapshot) and proxies the bytes both ways, each
 * direction on a virtual thread. A watcher puts to sleep every instance that has had no open
 * connection for its {@code scale_to_zero_ms}. Proxying, rather than re-installing DNAT and
 * letting the client retry, is what makes the first connection after a sleep succeed.
 */
final class ScaleToZero implements AutoCloseable {
    /** How often idleness is checked: a sleep comes at most this late. */
    private static final long TICK_MILLIS = 20;
    /** How long a connection to a guest may be refused (a fresh boot's listener is not up yet). */
    private static final long CONNECT_RETRY_MILLIS = 3_000;

    private final Runs runs;
    private final Roster roster;
    private final Map<String, Watch> watches = new ConcurrentHashMap<>();
    private final Thread watcher;
    private volatile boolean closed;

    /** One instance's listeners and its connection count. */
    private static final class Watch {
        final Hosted hosted;
        final List<ServerSocketChannel> listeners = new ArrayList<>();
        final AtomicInteger open = new AtomicInteger();
        final AtomicLong lastActivityMillis = new AtomicLong(System.currentTimeMillis());
        final AtomicBoolean sleeping = new AtomicBoolean();

        Watch(Hosted hosted) {
            this.hosted = hosted;
        }
    }

    ScaleToZero(Runs runs, Roster roster) {
        this.runs = runs;
        this.roster = roster;
        watcher = Thread.ofVirtual().name("kiln-scale-to-zero").start(this::watchIdleness);
    }

    /** Listens on every published port of {@code h}; a port already taken is an IOException. */
    void watch(Hosted h) throws IOException {
        Watch w = new Watch(h);
        try {
            for (PortMapping p : h.net.ports()) {
                ServerSocketChannel s = ServerSocketChannel.open();
                w.listeners.add(s);
                s.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                s.bind(new InetSocketAddress(p.hostPort()), 1024);
            }
        } catch (IOException e) {
            for (ServerSocketChannel s : w.listeners) s.close();
            throw e;
        }
        watches.put(h.id, w);
        for (int i = 0; i < w.listeners.size(); i++) {
            ServerSocketChannel s = w.listeners.get(i);
            PortMapping p = h.net.ports().get(i);
            Thread.ofVirtual().name("kiln-port-" + p.hostPort()).start(() -> accept(w, s, p));
        }
    }

    /** Stops listening for {@code h} (deleted). */
    void forget(Hosted h) {
        Watch w = watches.remove(h.id);
        if (w != null) closeAll(w);
    }

    private static void closeAll(Watch w) {
        for (ServerSocketChannel s : w.listeners) {
            try {
                s.close();
            } catch (IOException e) {
                // closing: nothing to do about it
            }
        }
    }

    private void accept(Watch w, ServerSocketChannel server, PortMapping p) {
        while (server.isOpen()) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed: forgotten or the daemon's end
            }
            w.open.incrementAndGet();
            w.lastActivityMillis.set(System.currentTimeMillis());
            Thread.ofVirtual().name("kiln-proxy-" + p.hostPort()).start(() -> {
                try {
                    proxy(w, client, p);
                } finally {
                    w.lastActivityMillis.set(System.currentTimeMillis());
                    w.open.decrementAndGet();
                }
            });
        }
    }

    private void proxy(Watch w, SocketChannel client, PortMapping p) {
        try (client; SocketChannel guest = connectToGuest(w, p)) {
            if (guest == null) return;
            client.setOption(StandardSocketOptions.TCP_NODELAY, true);
            guest.setOption(StandardSocketOptions.TCP_NODELAY, true);
            Thread back = Thread.ofVirtual().start(() -> copy(guest, client, w));
            copy(client, guest, w);
            back.join();
        } catch (IOException | ApiException e) {
            // the client or the guest went away, or the guest could not wake: the connection ends
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Wakes the guest if it sleeps, then connects to it (retrying while a fresh boot comes up). */
    private SocketChannel connectToGuest(Watch w, PortMapping p) throws IOException {
        Hosted h = w.hosted;
        long deadline = System.currentTimeMillis() + CONNECT_RETRY_MILLIS;
        InetSocketAddress guest = new InetSocketAddress(Subnet.format(h.net.address()), p.guestPort());
        while (true) {
            runs.wake(h);
            try {
                return SocketChannel.open(guest);
            } catch (IOException e) {
                if (System.currentTimeMillis() > deadline || !roster.contains(h)) throw e;
                try {
                    Thread.sleep(5);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /** Copies one direction until its end, then half-closes the other side. */
    private static void copy(SocketChannel from, SocketChannel to, Watch w) {
        ByteBuffer buf = ByteBuffer.allocate(16 << 10);
        try {
            while (from.read(buf) >= 0) {
                buf.flip();
                while (buf.hasRemaining()) to.write(buf);
                buf.clear();
                w.lastActivityMillis.set(System.currentTimeMillis());
            }
            to.shutdownOutput();
        } catch (IOException e) {
            try {
                to.close(); // one side broke: the other is ended too
                from.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }

    private void watchIdleness() {
        while (!closed) {
            long now = System.currentTimeMillis();
            for (Watch w : watches.values()) {
                Hosted h = w.hosted;
                boolean running;
                synchronized (h) {
                    running = h.state == HostedState.RUNNING;
                }
                if (running && w.open.get() == 0 && now - w.lastActivityMillis.get() >= h.scaleToZeroMillis
                        && w.sleeping.compareAndSet(false, true)) {
                    Thread.ofVirtual().name("kiln-sleep-" + h.id).start(() -> {
                        try {
                            runs.sleep(h);
                        } finally {
                            w.lastActivityMillis.set(System.currentTimeMillis());
                            w.sleeping.set(false);
                        }
                    });
                }
            }
            try {
                Thread.sleep(TICK_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        watcher.interrupt();
        for (Watch w : watches.values()) closeAll(w);
        watches.clear();
    }
}
