package dev.kiln.monitor.debug;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One debugger connection speaking the GDB Remote Serial Protocol's framing (GDB manual, "Remote
 * Protocol", "Overview"): packets {@code $payload#cs} with a modulo-256 checksum, acknowledged with
 * {@code +} (or {@code -} to ask again), and a bare 0x03 byte that asks a running target to stop.
 *
 * <p>A reader thread owns the input: the vCPU thread may be inside KVM_RUN when the 0x03 arrives,
 * so the reader calls {@code onInterrupt} at once and queues whole packets for the command loop.
 * The debugger is a peer we do not trust: a bad checksum is refused with {@code -}, an oversized
 * packet ends the connection, and nothing it sends can do more than the commands allow.
 */
final class GdbConnection implements AutoCloseable {
    /** Longest packet accepted (the stub advertises PacketSize=4000 hex digits, ~16 KiB is slack). */
    static final int MAX_PACKET = 16 * 1024;
    /**
     * Packets queued and not yet served before the debugger is dropped. gdb in all-stop mode
     * sends one packet and waits for its reply (GDB manual, "Remote Protocol", "Overview"); only
     * while the guest runs does nothing take packets, so a client that floods then would grow the
     * queue without end (400,000 packets took the monitor from 57 to 218 MB). With this bound
     * the queue holds at most 64 x {@link #MAX_PACKET} bytes.
     */
    static final int MAX_QUEUED = 64;

    /** What the reader thread hands over: a packet's payload, or the end of the connection. */
    sealed interface Input permits Packet, Closed {}

    record Packet(String payload) implements Input {}

    record Closed(String why) implements Input {}

    private final Socket socket;
    private final OutputStream out;
    /** One more than {@link #MAX_QUEUED}: the reader's last word, {@link Closed}, always fits. */
    private final BlockingQueue<Input> inputs = new LinkedBlockingQueue<>(MAX_QUEUED + 1);
    private final Thread reader;
    private volatile String droppedBecause;

    private final java.util.function.Consumer<String> onDrop;

    /** {@code onDrop} hears, on the reader thread, why the debugger was dropped, when it is. */
    GdbConnection(Socket socket, Runnable onInterrupt, java.util.function.Consumer<String> onDrop) throws IOException {
        this.socket = socket;
        this.onDrop = onDrop;
        socket.setTcpNoDelay(true);
        this.out = socket.getOutputStream();
        InputStream in = socket.getInputStream();
        reader = Thread.ofPlatform().daemon().name("kiln-gdb-reader").start(() -> readLoop(in, onInterrupt));
    }

    private void readLoop(InputStream in, Runnable onInterrupt) {
        String why = "the debugger disconnected";
        try {
            StringBuilder payload = null;
            int c;
            while ((c = in.read()) >= 0) {
                if (payload == null) {
                    if (c == 0x03) onInterrupt.run();
                    else if (c == '$') payload = new StringBuilder();
                    // '+', '-' and stray bytes between packets: nothing to do
                    continue;
                }
                if (c != '#') {
                    if (payload.length() >= MAX_PACKET) {
                        why = "the debugger sent a packet longer than " + MAX_PACKET + " bytes";
                        break;
                    }
                    payload.append((char) c);
                    continue;
                }
                int hi = in.read(), lo = in.read();
                if (hi < 0 || lo < 0) break;
                int sum = 0;
                for (int i = 0; i < payload.length(); i++) sum += payload.charAt(i);
                int given = (Character.digit(hi, 16) << 4) | Character.digit(lo, 16);
                if (Character.digit(hi, 16) < 0 || Character.digit(lo, 16) < 0 || given != (sum & 0xff)) {
                    sendRaw("-"); // the protocol's retransmission request
                } else if (inputs.size() >= MAX_QUEUED) {
                    // only this thread adds, so the size can only fall between the check and the add
                    why = "the debugger sent more than " + MAX_QUEUED + " packets without waiting for replies";
                    droppedBecause = why;
                    onDrop.accept(why); // now, not when the guest next stops: a server may run for days
                    break;
                } else {
                    sendRaw("+");
                    inputs.add(new Packet(payload.toString()));
                }
                payload = null;
            }
        } catch (IOException e) {
            why = "the debugger connection failed: " + e.getMessage();
        }
        inputs.add(new Closed(why));
        close(); // a dropped debugger sees its connection end at once, not when the guest next stops
    }

    /** Why this side dropped the debugger, or null while it behaves. */
    String droppedBecause() {
        return droppedBecause;
    }

    /** The next packet, or {@link Closed} once the debugger is gone. */
    Input next() throws InterruptedException {
        return inputs.take();
    }

    /** Sends one packet; a dead connection is noticed by the reader, so failures here are ignored. */
    void send(String payload) {
        int sum = 0;
        for (int i = 0; i < payload.length(); i++) sum += payload.charAt(i);
        sendRaw("$" + payload + "#" + String.format("%02x", sum & 0xff));
    }

    private synchronized void sendRaw(String s) {
        try {
            out.write(s.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        } catch (IOException e) {
            // the reader sees the same failure and queues Closed
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
