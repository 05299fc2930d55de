package dev.kiln.daemon;

import dev.kiln.monitor.DeviceAttachment;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.image.HvtImage;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Puts hosted instances on the daemon's network: checks what a create asks for (a network, ports,
 * scale to zero) against the image and the other instances, gives an instance its address, and
 * gives each run its tap and its published ports, taken down again when the run ends.
 */
final class NetworkWiring {
    /** The bridge and its NAT table, or null when this daemon has no network (not root, --no-net). */
    private final HostNetwork network;
    private final Roster roster;

    NetworkWiring(HostNetwork network, Roster roster) {
        this.network = network;
        this.roster = roster;
    }

    /** The network, ports and scale-to-zero asked for are possible, and the image has a net device iff asked. */
    void check(Fleet.CreateRequest req, HvtImage image) {
        List<String> netDevices = netDevices(image);
        if (!req.ports().isEmpty() && !req.net()) throw ApiException.invalid("ports", "published ports need \"net\": true");
        if (req.net() && network == null) {
            throw ApiException.unprocessable("net", "no_network", "this daemon manages no network (it runs as root without --no-net to have one)");
        }
        if (req.net() && netDevices.size() != 1) {
            throw ApiException.unprocessable("net", "no_net_device", "image " + image.name() + " declares "
                    + (netDevices.isEmpty() ? "no net device" : netDevices.size() + " net devices " + netDevices)
                    + "; \"net\": true needs exactly one");
        }
        if (!req.net() && !netDevices.isEmpty()) {
            throw ApiException.unprocessable("net", "net_required", "image " + image.name() + " declares the net device '"
                    + netDevices.getFirst() + "': create the instance with \"net\": true");
        }
        if (req.scaleToZeroMillis() > 0 && req.ports().isEmpty()) {
            throw ApiException.invalid("scale_to_zero_ms", "scale-to-zero wakes an instance on a connection to a published port: it needs \"ports\"");
        }
        java.util.Set<Integer> mine = new java.util.HashSet<>();
        for (PortMapping p : req.ports()) {
            if (!mine.add(p.hostPort())) throw ApiException.invalid("ports", "host port " + p.hostPort() + " is published twice");
        }
        for (Hosted other : roster.unordered()) {
            if (other.net == null) continue;
            for (PortMapping p : other.net.ports()) {
                if (mine.contains(p.hostPort())) {
                    throw new ApiException(409, "port_in_use", "host port " + p.hostPort() + " is published by instance " + other.id, "ports");
                }
            }
        }
    }

    private static List<String> netDevices(HvtImage image) {
        return image.manifest().devices().stream().filter(d -> d.type().label().equals("net")).map(d -> d.name()).toList();
    }

    /** A place on the bridge: an address no other instance holds, and {@code ports}. Call it under the fleet's address lock. */
    GuestNet place(List<PortMapping> ports) {
        return new GuestNet(network.subnet().allocate(takenAddresses()), ports);
    }

    private java.util.Set<Integer> takenAddresses() {
        java.util.Set<Integer> taken = new java.util.HashSet<>();
        for (Hosted h : roster.unordered()) if (h.net != null) taken.add(h.net.address());
        return taken;
    }

    /** The instance's tap, made now, as its image's net device, and its address in its arguments. */
    InstanceSpec attach(Hosted h, InstanceSpec spec, HvtImage image) {
        String tap;
        try {
            // a tap kept through a sleep is reused: a wake does not wait for ip(8)
            tap = h.tapKept ? HostNetwork.tapName(h.id) : network.addTap(h.id);
            h.tapKept = false;
        } catch (IOException e) {
            throw new ApiException(500, "network_failed", "instance " + h.id + ": cannot make its tap: " + e.getMessage(), "net");
        }
        List<String> args = new ArrayList<>(h.args);
        args.addAll(h.net.guestArgs(network.subnet()));
        return new InstanceSpec(image, spec.memoryBytes(), args, spec.console(), null)
                .withDevices(List.of(new DeviceAttachment.Net(netDevices(image).getFirst(), tap, GuestNet.mac(h.id))));
    }

    /** Publishes the ports of a run that started (a scale-to-zero instance's are the daemon's own listeners). */
    void publish(Hosted h) throws IOException {
        if (h.net != null && h.scaleToZeroMillis == 0) for (PortMapping p : h.net.ports()) network.publish(h.net.address(), p);
    }

    /** Removes the tap of a run that could not be made. */
    void removeTap(Hosted h) {
        if (h.net != null) network.removeTap(h.id);
    }

    /**
     * Unpublishes the ports and removes the tap of a run that ended; {@code closing}: the daemon
     * is shutting down, so the tap of a run that stopped to sleep goes too.
     */
    void detach(Hosted h, boolean closing) {
        if (h.net == null) return;
        if (h.scaleToZeroMillis == 0) for (PortMapping p : h.net.ports()) network.unpublish(p);
        if (h.sleepRequested && !closing) h.tapKept = true;
        else network.removeTap(h.id);
    }

    /** Removes the tap kept through a sleep, for an instance deleted; under {@code h}'s lock. */
    void dropKeptTap(Hosted h) {
        if (h.tapKept) network.removeTap(h.id);
        h.tapKept = false;
    }
}
