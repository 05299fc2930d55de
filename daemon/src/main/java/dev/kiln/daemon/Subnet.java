package dev.kiln.daemon;

import java.util.Set;

/**
 * The bridge's IPv4 network: the gateway (the bridge's own address) and the prefix, as given to
 * {@code --subnet 10.88.0.1/16}. Guests get the addresses after the gateway, lowest free first.
 */
record Subnet(int gateway, int prefix) {
    Subnet {
        if (prefix < 8 || prefix > 30) throw new IllegalArgumentException("the subnet's prefix must be 8..30, got /" + prefix);
        if ((gateway & ~mask(prefix)) == 0 || (gateway | mask(prefix)) == -1) {
            throw new IllegalArgumentException("the bridge address " + format(gateway) + " is the network's or broadcast address");
        }
    }

    static Subnet parse(String cidr) {
        int slash = cidr.indexOf('/');
        if (slash < 0) throw new IllegalArgumentException("expected ADDR/PREFIX like 10.88.0.1/16, got '" + cidr + "'");
        try {
            return new Subnet(address(cidr.substring(0, slash)), Integer.parseInt(cidr.substring(slash + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected ADDR/PREFIX like 10.88.0.1/16, got '" + cidr + "'");
        }
    }

    static int address(String dotted) {
        String[] p = dotted.split("\\.", -1);
        if (p.length != 4) throw new IllegalArgumentException("'" + dotted + "' is not an IPv4 address");
        int a = 0;
        for (String part : p) {
            if (!part.matches("\\d{1,3}") || Integer.parseInt(part) > 255) throw new IllegalArgumentException("'" + dotted + "' is not an IPv4 address");
            a = (a << 8) | Integer.parseInt(part);
        }
        return a;
    }

    static String format(int a) {
        return (a >>> 24) + "." + ((a >>> 16) & 255) + "." + ((a >>> 8) & 255) + "." + (a & 255);
    }

    private static int mask(int prefix) {
        return (int) (0xffffffffL << (32 - prefix));
    }

    int network() {
        return gateway & mask(prefix);
    }

    /** The network in CIDR form, e.g. 10.88.0.0/16. */
    String cidr() {
        return format(network()) + "/" + prefix;
    }

    /** The gateway in CIDR form, as the bridge's address. */
    String gatewayCidr() {
        return format(gateway) + "/" + prefix;
    }

    boolean contains(int a) {
        return (a & mask(prefix)) == network();
    }

    /** The lowest host address that is not the gateway nor in {@code taken}. */
    int allocate(Set<Integer> taken) {
        int last = network() | ~mask(prefix);
        for (int a = network() + 1; a != last; a++) {
            if (a != gateway && !taken.contains(a)) return a;
        }
        throw new ApiException(409, "no_address", "every address of " + cidr() + " is taken", "net");
    }
}
