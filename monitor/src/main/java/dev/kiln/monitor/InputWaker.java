package dev.kiln.monitor;

import dev.kiln.monitor.kvm.EventFd;
import dev.kiln.monitor.kvm.KvmException;
import dev.kiln.monitor.kvm.LibC;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * One thread per monitor that waits, with epoll(7), on the descriptors of every guest asleep in
 * POLL without a thread (its taps), and wakes that guest when one has input or breaks. Each
 * sleep is a watch with a token of its own: the descriptors are registered one-shot under that
 * token and removed when the sleep ends, whatever ended it, so an event that comes late for an
 * ended sleep finds no token and wakes nothing.
 */
final class InputWaker implements AutoCloseable {
    /** Events fetched per epoll_wait. */
    private static final int BATCH = 64;
    /** The token of the eventfd that ends the thread. */
    private static final long CLOSE_TOKEN = 0;

    private final int epfd;
    private final EventFd closeSignal;
    private final ConcurrentHashMap<Long, Runnable> watches = new ConcurrentHashMap<>();
    private final AtomicLong tokens = new AtomicLong(CLOSE_TOKEN);
    /** struct epoll_event for epoll_ctl; callers of watch and cancel take turns on it (synchronized). */
    private final MemorySegment ctlEvent = Arena.ofAuto().allocate(LibC.EPOLL_EVENT_BYTES, 8);
    private final Thread thread;
    private volatile boolean closed;

    InputWaker() {
        int fd = LibC.epollCreate(LibC.EPOLL_CLOEXEC);
        if (fd < 0) throw new KvmException("epoll_create1 for the guests asleep in POLL", -fd);
        epfd = fd;
        closeSignal = EventFd.open("the input waker's end");
        register(closeSignal.fd(), LibC.EPOLLIN, CLOSE_TOKEN);
        thread = Thread.ofPlatform().name("kiln-input-waker").daemon().unstarted(this::serve);
        thread.start();
    }

    /**
     * Watches {@code fds} until {@link #cancel}: the first input (or error) on any of them runs
     * {@code wake} once, on this waker's thread. Returns the watch's token, or -1 when a
     * descriptor could not be watched (the caller then must not sleep on it).
     */
    synchronized long watch(int[] fds, Runnable wake) {
        long token = tokens.incrementAndGet();
        watches.put(token, wake);
        for (int i = 0; i < fds.length; i++) {
            if (register(fds[i], LibC.EPOLLIN | LibC.EPOLLONESHOT, token) != 0) {
                watches.remove(token);
                for (int j = 0; j < i; j++) unregister(fds[j]);
                return -1;
            }
        }
        return token;
    }

    /** Ends the watch {@code token} had on {@code fds}: its wake will not run after this returns. */
    synchronized void cancel(long token, int[] fds) {
        watches.remove(token);
        for (int fd : fds) unregister(fd);
    }

    private int register(int fd, int events, long token) {
        ctlEvent.set(JAVA_INT_UNALIGNED, 0, events);
        ctlEvent.set(JAVA_LONG_UNALIGNED, LibC.EPOLL_EVENT_DATA, token);
        return LibC.epollCtl(epfd, LibC.EPOLL_CTL_ADD, fd, ctlEvent);
    }

    private void unregister(int fd) {
        LibC.epollCtl(epfd, LibC.EPOLL_CTL_DEL, fd, ctlEvent); // gone already (closed fd): nothing to do
    }

    private void serve() {
        MemorySegment events = Arena.ofAuto().allocate(BATCH * LibC.EPOLL_EVENT_BYTES, 8);
        while (!closed) {
            int n = LibC.epollWait(epfd, events, BATCH, -1);
            if (n < 0) {
                if (n == -LibC.EINTR) continue;
                return; // the epoll descriptor went bad: only a close does that
            }
            for (int i = 0; i < n; i++) {
                long token = events.get(JAVA_LONG_UNALIGNED, i * LibC.EPOLL_EVENT_BYTES + LibC.EPOLL_EVENT_DATA);
                if (token == CLOSE_TOKEN) continue;
                Runnable wake = watches.remove(token);
                if (wake == null) continue; // that sleep ended already
                try {
                    wake.run();
                } catch (RuntimeException e) {
                    // one guest's wake-up failing (it ends that guest) must not end the others'
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        closeSignal.signal();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeSignal.close();
        LibC.close(epfd);
    }
}
