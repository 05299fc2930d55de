package dev.kiln.daemon;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The host side of the daemon's guest network: one Linux bridge holding the subnet's gateway
 * address, a tap per running networked instance enslaved to it, and one nftables table of the
 * daemon's own ({@code ip kiln_BRIDGE}) whose {@code ports} map says which host port goes to which
 * guest address and port. Published ports are map elements, so adding or removing one never
 * touches a rule. Loopback works too: the output hook DNATs the host's own connections,
 * route_localnet lets 127.0.0.1 be routed to the bridge, and a masquerade gives the guest an
 * answerable source address.
 *
 * <p>Everything here is the daemon's alone and is made again from nothing at start: what a daemon
 * killed with SIGKILL left (taps, table) is removed first; close removes everything.
 */
final class HostNetwork implements AutoCloseable {
    /** Every tap the daemon makes is named this plus the instance's id (14 characters, under IFNAMSIZ). */
    static final String TAP_PREFIX = "kt";

    private final HostShell shell;
    private final String bridge;
    private final Subnet subnet;
    private final String table;

    HostNetwork(HostShell shell, String bridge, Subnet subnet) {
        this.shell = shell;
        this.bridge = bridge;
        this.subnet = subnet;
        this.table = "kiln_" + bridge.replaceAll("[^A-Za-z0-9_]", "_");
    }

    String bridge() {
        return bridge;
    }

    Subnet subnet() {
        return subnet;
    }

    static String tapName(String instanceId) {
        return TAP_PREFIX + instanceId;
    }

    /** Removes leftovers of an earlier daemon, then makes the bridge and the table. */
    void open() throws IOException {
        for (String tap : enslavedTaps()) shell.tryRun("ip", "link", "delete", tap);
        shell.tryRun("nft", "delete", "table", "ip", table);
        if (!shell.tryRun("ip", "link", "show", bridge)) shell.run("ip", "link", "add", bridge, "type", "bridge");
        shell.tryRun("ip", "addr", "flush", "dev", bridge);
        shell.run("ip", "addr", "add", subnet.gatewayCidr(), "dev", bridge);
        shell.run("ip", "link", "set", bridge, "up");
        // 127.0.0.1:PORT DNATed to a guest must be routable out of the bridge
        shell.run("sysctl", "-q", "-w", "net/ipv4/conf/" + bridge + "/route_localnet=1");
        // the host's external addresses reach guests by forwarding, as the guests' own traffic out
        shell.run("sysctl", "-q", "-w", "net/ipv4/ip_forward=1");
        shell.run("nft", "add", "table", "ip", table);
        shell.run("nft", "add", "map", "ip", table, "ports", "{ type inet_service : ipv4_addr . inet_service ; }");
        shell.run("nft", "add", "chain", "ip", table, "prerouting", "{ type nat hook prerouting priority -100 ; }");
        shell.run("nft", "add", "chain", "ip", table, "output", "{ type nat hook output priority -100 ; }");
        shell.run("nft", "add", "chain", "ip", table, "postrouting", "{ type nat hook postrouting priority 100 ; }");
        for (String chain : List.of("prerouting", "output")) {
            shell.run("nft", "add", "rule", "ip", table, chain, "fib", "daddr", "type", "local",
                    "dnat", "ip", "addr", ".", "port", "to", "tcp", "dport", "map", "@ports");
        }
        shell.run("nft", "add", "rule", "ip", table, "postrouting", "ip", "saddr", "127.0.0.0/8", "oifname", bridge, "masquerade");
        shell.run("nft", "add", "rule", "ip", table, "postrouting", "ip", "saddr", subnet.cidr(), "oifname", "!=", bridge, "masquerade");
    }

    /** Taps on the bridge named as the daemon names them. */
    private List<String> enslavedTaps() {
        List<String> taps = new ArrayList<>();
        String out;
        try {
            out = shell.run("ip", "-o", "link", "show", "master", bridge);
        } catch (IOException e) {
            return taps; // no bridge: nothing enslaved
        }
        for (String line : out.lines().toList()) {
            String[] f = line.split(":\\s+", 3);
            if (f.length < 2) continue;
            String name = f[1].split("@")[0];
            if (name.startsWith(TAP_PREFIX)) taps.add(name);
        }
        return taps;
    }

    /** Makes the instance's tap on the bridge (one left from before is replaced) and returns its name. */
    String addTap(String instanceId) throws IOException {
        String tap = tapName(instanceId);
        shell.tryRun("ip", "link", "delete", tap);
        shell.run("ip", "tuntap", "add", tap, "mode", "tap");
        try {
            shell.run("ip", "link", "set", tap, "master", bridge);
            shell.run("ip", "link", "set", tap, "up");
        } catch (IOException e) {
            shell.tryRun("ip", "link", "delete", tap);
            throw e;
        }
        return tap;
    }

    void removeTap(String instanceId) {
        shell.tryRun("ip", "link", "delete", tapName(instanceId));
    }

    /** DNATs {@code p.hostPort()} on every local address to the guest. */
    void publish(int guest, PortMapping p) throws IOException {
        shell.run("nft", "add", "element", "ip", table, "ports", "{ " + p.hostPort() + " : " + Subnet.format(guest) + " . " + p.guestPort() + " }");
    }

    void unpublish(PortMapping p) {
        shell.tryRun("nft", "delete", "element", "ip", table, "ports", "{ " + p.hostPort() + " }");
    }

    /** The published ports' map as nft lists it (for tests and diagnostics). */
    String listPorts() throws IOException {
        return shell.run("nft", "list", "map", "ip", table, "ports");
    }

    /** Removes everything: taps on the bridge, the table, the bridge. */
    @Override
    public void close() {
        for (String tap : enslavedTaps()) shell.tryRun("ip", "link", "delete", tap);
        shell.tryRun("nft", "delete", "table", "ip", table);
        shell.tryRun("ip", "link", "delete", bridge);
    }
}
