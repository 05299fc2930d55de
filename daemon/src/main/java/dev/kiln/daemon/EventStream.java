package dev.kiln.daemon;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Lifecycle events for {@code GET /v1/events} (Server-Sent Events). Each subscriber has a bounded
 * queue; one that falls {@link #BACKLOG} events behind is dropped rather than holding memory for a
 * client that does not read, and its stream ends.
 */
final class EventStream {
    static final int BACKLOG = 4096;

    /** One lifecycle change: type is created, started, paused, resumed, exited, stopped or deleted. */
    record Event(long seq, String type, String id, String name, String state, Integer exitStatus, long timeMillis) {
        ObjectNode json() {
            return Json.object("seq", seq, "type", type, "id", id, "name", name, "state", state,
                    "exit_status", exitStatus, "time_ms", timeMillis);
        }
    }

    /** A subscriber's queue; {@code overflowed} once it was dropped. */
    static final class Subscription {
        final BlockingQueue<Event> queue = new ArrayBlockingQueue<>(BACKLOG);
        volatile boolean overflowed;
    }

    private final List<Subscription> subscribers = new CopyOnWriteArrayList<>();
    private long seq; // guarded by this

    synchronized void publish(String type, String id, String name, String state, Integer exitStatus) {
        Event e = new Event(++seq, type, id, name, state, exitStatus, System.currentTimeMillis());
        for (Subscription s : subscribers) {
            if (!s.queue.offer(e)) {
                s.overflowed = true;
                subscribers.remove(s);
            }
        }
    }

    Subscription subscribe() {
        Subscription s = new Subscription();
        subscribers.add(s);
        return s;
    }

    void unsubscribe(Subscription s) {
        subscribers.remove(s);
    }
}
