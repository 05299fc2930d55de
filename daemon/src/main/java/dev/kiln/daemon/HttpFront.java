package dev.kiln.daemon;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.concurrent.Executors;

/**
 * The daemon's HTTP/1.1 side (Jetty's core API, no servlets): a Unix domain socket, whose file
 * mode decides who may connect, and optionally TCP, where every request needs the bearer token.
 * Requests run on virtual threads, so a follower of logs or events costs no platform thread.
 * Whatever happens under a route, the client gets a JSON error and the daemon goes on.
 */
final class HttpFront implements AutoCloseable {
    private final Server server;
    private final ServerConnector tcp;

    HttpFront(Path socket, InetSocketAddress listen, byte[] token, Routes routes, DaemonMetrics metrics, Dashboard dashboard) throws Exception {
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("kiln-http");
        threads.setVirtualThreadsExecutor(Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("kiln-req-", 0).factory()));
        server = new Server(threads);
        HttpConfiguration config = new HttpConfiguration();
        config.setSendServerVersion(false);
        config.setSendDateHeader(false);
        UnixDomainServerConnector unix = new UnixDomainServerConnector(server, new HttpConnectionFactory(config));
        unix.setUnixDomainPath(socket);
        // A follower of a quiet guest's console sees no byte for long stretches; local clients
        // are trusted with an hour, TCP ones with the (keep-alive) events' heartbeat and more.
        unix.setIdleTimeout(3_600_000);
        server.addConnector(unix);
        if (listen != null) {
            tcp = new ServerConnector(server, new HttpConnectionFactory(config));
            tcp.setHost(listen.getHostString());
            tcp.setPort(listen.getPort());
            tcp.setIdleTimeout(300_000);
            server.addConnector(tcp);
        } else {
            tcp = null;
        }
        server.setHandler(new ApiHandler(routes, metrics, tcp, token, dashboard));
        server.setErrorHandler((Request.Handler) (request, response, callback) -> {
            // Jetty's own refusals (a malformed request line, a header too large): JSON as well.
            Object status = request.getAttribute(org.eclipse.jetty.server.handler.ErrorHandler.ERROR_STATUS);
            Object message = request.getAttribute(org.eclipse.jetty.server.handler.ErrorHandler.ERROR_MESSAGE);
            int code = status instanceof Integer i ? i : 500;
            ApiHandler.send(response, callback, code, error(new ApiException(code, "http_error",
                    message == null ? "HTTP error " + code : message.toString(), null)));
            return true;
        });
        server.start();
    }

    /** The TCP port actually bound (for --listen with port 0), or -1. */
    int tcpPort() {
        return tcp == null ? -1 : tcp.getLocalPort();
    }

    static byte[] error(ApiException e) {
        return Json.bytes(Json.object("error", Json.object("code", e.code(), "message", e.getMessage(), "field", e.field())));
    }

    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            // stopping anyway: the connectors are closed first
        }
    }

    private static final class ApiHandler extends Handler.Abstract {
        private final Routes routes;
        private final DaemonMetrics metrics;
        private final Connector tcp;
        private final byte[] token;
        private final Dashboard dashboard;

        ApiHandler(Routes routes, DaemonMetrics metrics, Connector tcp, byte[] token, Dashboard dashboard) {
            this.dashboard = dashboard;
            super(InvocationType.BLOCKING);
            this.routes = routes;
            this.metrics = metrics;
            this.tcp = tcp;
            this.token = token;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String method = request.getMethod();
            int status;
            try {
                if (tcp != null && request.getConnectionMetaData().getConnector() == tcp) authorize(request);
                Routes.Match m = routes.match(method, request.getHttpURI().getPath());
                Exchange x = new Exchange(request, response, callback, m.params());
                Reply reply = m.route().action().handle(x);
                status = switch (reply) {
                    case Reply.JsonReply j -> send(response, callback, j.status(), "application/json", Json.bytes(j.body()));
                    case Reply.Bytes b -> send(response, callback, b.status(), b.contentType(), b.body());
                    case Reply.Redirect r -> {
                        response.getHeaders().put(HttpHeader.LOCATION, r.location());
                        if (r.setCookie() != null) response.getHeaders().put(HttpHeader.SET_COOKIE, r.setCookie());
                        yield send(response, callback, 303, "text/plain", new byte[0]);
                    }
                    case Reply.Streamed s -> 200;
                };
            } catch (ApiException e) {
                if (e.status() == 401 && !response.isCommitted()) response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
                status = send(response, callback, e.status(), error(e));
            } catch (Exception | StackOverflowError e) {
                // A bug under a route ends this request only; the daemon goes on.
                System.err.println("kiln daemon: " + method + " " + request.getHttpURI().getPath() + " failed: " + e);
                e.printStackTrace();
                status = send(response, callback, 500, error(new ApiException(500, "internal", "internal error: " + e, null)));
            }
            metrics.request(method, status);
            return true;
        }

        /** Bearer token in constant time: how long the comparison takes tells nothing of the token. */
        private void authorize(Request request) {
            if (Dashboard.isPublic(request.getHttpURI().getPath())) return;
            String h = request.getHeaders().get(HttpHeader.AUTHORIZATION);
            if (h == null && dashboard.hasSession(request)) {
                String m = request.getMethod();
                if (!m.equals("GET") && !m.equals("HEAD") && request.getHeaders().get(Dashboard.UI_HEADER) == null) {
                    throw new ApiException(403, "forbidden", "a request signed in by the dashboard's cookie must carry "
                            + Dashboard.UI_HEADER + " to change anything", null);
                }
                return;
            }
            byte[] given = h != null && h.regionMatches(true, 0, "Bearer ", 0, 7)
                    ? h.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
            if (!MessageDigest.isEqual(sha256(given), sha256(token))) {
                throw new ApiException(401, "unauthorized", h == null ? "missing bearer token (Authorization: Bearer TOKEN)"
                        : "wrong bearer token", null);
            }
        }

        private static byte[] sha256(byte[] b) {
            try {
                return MessageDigest.getInstance("SHA-256").digest(b);
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        static int send(Response response, Callback callback, int status, byte[] json) {
            return send(response, callback, status, "application/json", json);
        }

        static int send(Response response, Callback callback, int status, String type, byte[] body) {
            if (response.isCommitted()) { // a stream failed half-way: nothing more can be said
                callback.failed(new IllegalStateException("response already committed"));
                return status;
            }
            response.setStatus(status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
            response.write(true, ByteBuffer.wrap(body), callback);
            return status;
        }
    }
}
