package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import org.apache.commons.cli.Options;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * {@code kiln net}: the host side of guest networking, done with iproute2 so that what it does is
 * plain to see (each command it runs is printed):
 *
 * <pre>
 * kiln net create TAP [--ip ADDR/PREFIX] [--netns NS] [--bridge BR]   a tap for --net:NAME=TAP
 * kiln net delete TAP [--netns NS]
 * kiln net delete-netns NS
 * </pre>
 *
 * With {@code --netns} the tap lives in that network namespace (made if missing), and the guest
 * runs there too: {@code ip netns exec NS kiln run --net:service0=TAP ...}. With {@code --bridge}
 * the tap joins that bridge (made if missing) and the address goes on the bridge.
 */
final class NetCommand {
    static final String SYNTAX = "kiln net create TAP [--ip ADDR/PREFIX] [--netns NS] [--bridge BR] | delete TAP [--netns NS]"
            + " | delete-netns NS";
    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_.-]{1,15}");
    private static final Pattern NSNAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern CIDR = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}");

    private final PrintStream out;
    private final PrintStream err;

    NetCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int execute(String[] args) {
        Options options = new Options()
                .addOption(CommandLines.valued(null, "ip", "ADDR/PREFIX", "host address on the link, e.g. 10.0.0.1/24"))
                .addOption(CommandLines.valued(null, "netns", "NS", "network namespace for the tap (made if missing)"))
                .addOption(CommandLines.valued(null, "bridge", "BR", "bridge the tap joins (made if missing)"))
                .addOption(CommandLines.flag("help", "show this help"));
        ParsedLine cl;
        List<String> rest;
        try {
            cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "Create and remove tap devices, bridges and namespaces for guests.", options, "");
                return 0;
            }
            rest = cl.getArgList();
            if (rest.size() != 2 || !List.of("create", "delete", "delete-netns").contains(rest.get(0))) {
                throw new UsageException("expected create TAP, delete TAP or delete-netns NS");
            }
            boolean nsVerb = rest.get(0).equals("delete-netns");
            for (String n : new String[] {nsVerb ? null : rest.get(1), cl.getOptionValue("bridge")}) {
                if (n != null && !IFNAME.matcher(n).matches()) {
                    throw new UsageException("'" + n + "' is not a valid interface name (1..15 of A-Z a-z 0-9 _ . -)");
                }
            }
            for (String n : new String[] {nsVerb ? rest.get(1) : null, cl.getOptionValue("netns")}) {
                if (n != null && !NSNAME.matcher(n).matches()) {
                    throw new UsageException("'" + n + "' is not a valid namespace name (1..64 of A-Z a-z 0-9 _ . -)");
                }
            }
            String ip = cl.getOptionValue("ip");
            if (ip != null && !CIDR.matcher(ip).matches()) throw new UsageException("--ip " + ip + ": expected ADDR/PREFIX like 10.0.0.1/24");
        } catch (UsageException e) {
            err.println("kiln net: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        String name = rest.get(1);
        String ns = cl.getOptionValue("netns");
        try {
            switch (rest.get(0)) {
                case "create" -> create(name, ns, cl.getOptionValue("bridge"), cl.getOptionValue("ip"));
                case "delete" -> ip(ns, "link", "delete", name);
                default -> ip(null, "netns", "delete", name);
            }
            return 0;
        } catch (IOException e) {
            err.println("kiln net: " + e.getMessage());
            return 1;
        }
    }

    private void create(String tap, String ns, String bridge, String address) throws IOException {
        if (ns != null && !run(List.of("ip", "netns", "list")).lines().map(l -> l.split(" ")[0]).toList().contains(ns)) {
            ip(null, "netns", "add", ns);
        }
        ip(ns, "tuntap", "add", tap, "mode", "tap");
        if (bridge != null) {
            if (!exists(ns, bridge)) {
                ip(ns, "link", "add", bridge, "type", "bridge");
                ip(ns, "link", "set", bridge, "up");
            }
            ip(ns, "link", "set", tap, "master", bridge);
        }
        if (address != null) ip(ns, "addr", "add", address, "dev", bridge != null ? bridge : tap);
        ip(ns, "link", "set", tap, "up");
        if (ns != null) ip(ns, "link", "set", "lo", "up");
        out.println("kiln net: tap " + tap + " is ready" + (ns != null ? " in namespace " + ns : "")
                + "; boot with: " + (ns != null ? "ip netns exec " + ns + " " : "") + "kiln run --net:service0=" + tap + " IMAGE");
    }

    private boolean exists(String ns, String link) {
        try {
            ip(ns, "link", "show", link);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void ip(String ns, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        if (ns != null) cmd.addAll(List.of("-n", ns));
        cmd.addAll(List.of(args));
        if (!args[0].equals("link") || !args[1].equals("show")) out.println("+ " + String.join(" ", cmd));
        run(cmd);
    }

    private static String run(List<String> cmd) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run " + cmd.getFirst() + " (install iproute2): " + e.getMessage());
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": did not finish");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (p.exitValue() != 0) throw new IOException(String.join(" ", cmd) + " failed: " + output.strip());
        return output;
    }
}
