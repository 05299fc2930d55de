package dev.kiln.daemon;

/**
 * A published TCP port: connections to {@code hostPort} on any of the host's addresses (loopback
 * included) reach the guest's {@code guestPort}. Written {@code HOST:GUEST}, as {@code kiln run -p}.
 */
record PortMapping(int hostPort, int guestPort) {
    PortMapping {
        check(hostPort, "host");
        check(guestPort, "guest");
    }

    private static void check(int port, String side) {
        if (port < 1 || port > 65535) throw new IllegalArgumentException("the " + side + " port must be 1..65535, got " + port);
    }

    /** Parses {@code 8080:80}; {@code field} names the request field in the error. */
    static PortMapping parse(String text, String field) {
        String[] p = text.split(":", -1);
        if (p.length != 2 || !p[0].matches("\\d{1,5}") || !p[1].matches("\\d{1,5}")) {
            throw ApiException.invalid(field, "field '" + field + "' must be HOST_PORT:GUEST_PORT like 8080:80, got '" + text + "'");
        }
        try {
            return new PortMapping(Integer.parseInt(p[0]), Integer.parseInt(p[1]));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(field, "field '" + field + "': " + e.getMessage());
        }
    }

    @Override
    public String toString() {
        return hostPort + ":" + guestPort;
    }
}
