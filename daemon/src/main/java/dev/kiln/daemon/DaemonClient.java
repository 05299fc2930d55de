package dev.kiln.daemon;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A small HTTP/1.1 client over the daemon's Unix domain socket, for the CLI and the tests: the
 * JDK's HttpClient speaks only TCP. One connection, kept alive across requests, used by one
 * thread at a time; bodies by Content-Length or chunked, and streamed ones handed over as they come.
 */
public final class DaemonClient implements AutoCloseable {
    /** No daemon answers on the socket. */
    public static final class Unreachable extends IOException {
        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    public record Response(int status, Map<String, String> headers, byte[] body) {
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        public JsonNode json() throws IOException {
            return Json.MAPPER.readTree(body);
        }

        /** The error message of a JSON error body, else the body as text. */
        public String errorMessage() {
            try {
                JsonNode m = json().path("error").path("message");
                if (m.isTextual()) return m.textValue();
            } catch (IOException e) {
                // not JSON: say what came
            }
            return "HTTP " + status + ": " + text().strip();
        }
    }

    private final Path socket;
    private final SocketChannel channel;
    private final InputStream in;
    private final OutputStream out;

    private DaemonClient(Path socket, SocketChannel channel) {
        this.socket = socket;
        this.channel = channel;
        this.in = new BufferedInputStream(Channels.newInputStream(channel), 1 << 16);
        this.out = Channels.newOutputStream(channel);
    }

    public static DaemonClient connect(Path socket) throws IOException {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            c.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            c.close();
            throw new Unreachable("no kiln daemon answers on " + socket + " (" + e.getMessage()
                    + "); start one with 'kiln daemon', or name its socket with --socket or KILN_SOCKET", e);
        }
        return new DaemonClient(socket, c);
    }

    public Path socket() {
        return socket;
    }

    public Response get(String path) throws IOException {
        return send("GET", path, null);
    }

    public Response post(String path, Object json) throws IOException {
        return send("POST", path, json == null ? null : Json.bytes(json));
    }

    public Response delete(String path) throws IOException {
        return send("DELETE", path, null);
    }

    /** One request; the whole response body in memory. */
    public Response send(String method, String path, byte[] body) throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        return exchange(method, path, body, "application/json", sink, sink);
    }

    /** Sends raw bytes with any content type (for tests of what the daemon refuses). */
    public Response sendRaw(String method, String path, byte[] body, String contentType) throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        return exchange(method, path, body, contentType, sink, sink);
    }

    /**
     * One request whose body is written to {@code sink} as it arrives (logs -f, events) when the
     * status is 200; another status's body is returned in the response instead.
     */
    public Response stream(String method, String path, OutputStream sink) throws IOException {
        return exchange(method, path, null, null, sink, new ByteArrayOutputStream());
    }

    private Response exchange(String method, String path, byte[] body, String contentType, OutputStream okSink,
                              ByteArrayOutputStream otherSink) throws IOException {
        StringBuilder head = new StringBuilder();
        head.append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: kiln\r\n");
        if (body != null) {
            if (contentType != null) head.append("Content-Type: ").append(contentType).append("\r\n");
            head.append("Content-Length: ").append(body.length).append("\r\n");
        } else if (!method.equals("GET")) {
            head.append("Content-Length: 0\r\n");
        }
        head.append("\r\n");
        try {
            out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
            if (body != null) out.write(body);
            out.flush();
        } catch (IOException e) {
            // The daemon may refuse a request before reading all of it (413) and close: its answer
            // is still there to read.
        }

        String status = line();
        if (status == null) throw new IOException("the daemon closed the connection without answering");
        String[] parts = status.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) throw new IOException("not an HTTP response: " + status);
        int code = Integer.parseInt(parts[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String l = line(); l != null && !l.isEmpty(); l = line()) {
            int colon = l.indexOf(':');
            if (colon > 0) headers.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
        }
        OutputStream sink = code == 200 ? okSink : otherSink;
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            while (true) {
                String size = line();
                if (size == null) throw new IOException("connection closed inside a chunked body");
                int semi = size.indexOf(';');
                int n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (n == 0) {
                    for (String l = line(); l != null && !l.isEmpty(); l = line()) { /* trailers */ }
                    break;
                }
                copy(n, sink);
                line(); // the CRLF after the chunk
                sink.flush();
            }
        } else if (headers.containsKey("content-length")) {
            copy(Long.parseLong(headers.get("content-length")), sink);
        } else {
            in.transferTo(sink);
        }
        sink.flush();
        byte[] bytes = sink instanceof ByteArrayOutputStream b ? b.toByteArray() : new byte[0];
        return new Response(code, headers, bytes);
    }

    private void copy(long n, OutputStream sink) throws IOException {
        byte[] buf = new byte[(int) Math.min(n, 1 << 16)];
        while (n > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, n));
            if (r < 0) throw new IOException("connection closed inside a response body");
            sink.write(buf, 0, r);
            n -= r;
        }
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64);
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') break;
            if (c != '\r') b.write(c);
        }
        if (c < 0 && b.size() == 0) return null;
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
