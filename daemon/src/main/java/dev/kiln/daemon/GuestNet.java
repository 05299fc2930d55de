package dev.kiln.daemon;

import java.util.List;

/**
 * A networked instance's place on the daemon's bridge: its address (kept for the record's life)
 * and the ports published to it.
 */
record GuestNet(int address, List<PortMapping> ports) {
    GuestNet {
        ports = List.copyOf(ports);
    }

    List<String> portTexts() {
        return ports.stream().map(PortMapping::toString).toList();
    }

    /** The arguments httpreply and every net-library guest read (net_config_from_cmdline). */
    List<String> guestArgs(Subnet subnet) {
        return List.of("ip=" + Subnet.format(address) + "/" + subnet.prefix(), "gw=" + Subnet.format(subnet.gateway()));
    }

    /** A MAC fixed by the instance's id: a restored guest keeps the one its stack (and the host's ARP cache) knows. */
    static byte[] mac(String instanceId) {
        byte[] mac = java.util.HexFormat.of().parseHex(instanceId.substring(0, 12));
        mac[0] = 0x02; // locally administered, unicast
        return mac;
    }
}
