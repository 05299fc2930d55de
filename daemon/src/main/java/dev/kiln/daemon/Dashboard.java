package dev.kiln.daemon;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The web dashboard's pages and its sign-in. A browser cannot reach the Unix socket nor be given
 * a bearer header, so on TCP ({@code --listen}) the daemon prints a one-time login URL; opening
 * it sets an HttpOnly, SameSite=Strict session cookie that then counts as the token. The code
 * works once (a URL left in a history or a log is spent), and a request authorized by the cookie
 * that changes something must carry {@code X-Kiln-UI}: a header another site's page cannot add
 * without a CORS preflight the daemon never grants. The pages themselves are public: static
 * HTML and JS with nothing secret in them.
 */
final class Dashboard {
    static final String COOKIE = "kiln_session";
    static final String UI_HEADER = "X-Kiln-UI";
    private static final Set<String> PUBLIC = Set.of("/ui", "/ui/", "/ui/app.js", "/ui/login", "/");

    private final SecureRandom random = new SecureRandom();
    private final AtomicReference<String> loginCode = new AtomicReference<>();
    private final Set<String> sessions = ConcurrentHashMap.newKeySet();

    Dashboard() {
        loginCode.set(token());
    }

    private String token() {
        byte[] b = new byte[24];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** The path and query of the one-time login URL. */
    String loginPath() {
        return "/ui/login?code=" + loginCode.get();
    }

    /** A new one-time login URL (the old one stops working): for a daemon whose URL was spent. */
    String renewLogin() {
        loginCode.set(token());
        return loginPath();
    }

    static boolean isPublic(String path) {
        return PUBLIC.contains(path);
    }

    /** Trades the one-time code for a session; null when the code is wrong or spent. */
    String login(String code) {
        String expected = loginCode.get();
        if (code == null || expected == null
                || !MessageDigest.isEqual(code.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8))) {
            return null;
        }
        if (!loginCode.compareAndSet(expected, null)) return null; // spent by a concurrent login
        String session = token();
        sessions.add(session);
        return session;
    }

    /** A valid session cookie on {@code request}. */
    boolean hasSession(Request request) {
        String header = request.getHeaders().get(HttpHeader.COOKIE);
        if (header == null) return false;
        for (String part : header.split(";")) {
            String p = part.trim();
            if (p.startsWith(COOKIE + "=") && sessions.contains(p.substring(COOKIE.length() + 1))) return true;
        }
        return false;
    }

    static byte[] page(String name) throws IOException {
        try (InputStream in = Dashboard.class.getResourceAsStream("ui/" + name)) {
            if (in == null) throw new IllegalStateException(name + " is missing from the daemon's jar");
            return in.readAllBytes();
        }
    }
}
