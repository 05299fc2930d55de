package dev.kiln.cluster;

import dev.kiln.daemon.DaemonConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code kiln daemon --cluster}'s own options; the rest of the command line is the daemon's.
 *
 * @param endpoints        etcd's client URLs
 * @param hostName         the host's name in the cluster (default: the machine's)
 * @param labels           what placement constraints match
 * @param policy           spread (default) or pack
 * @param leaseTtlSeconds  how long a host that stopped answering keeps its instances
 * @param snapshotStore    a folder every host reads: instances re-placed from a dead host restore from their snapshot there
 * @param snapshotEverySeconds how often live instances are snapshotted to the store (0: never)
 * @param root             the key prefix in etcd (several clusters can share one etcd)
 */
record ClusterOptions(List<String> endpoints, String hostName, Map<String, String> labels, Placement.Policy policy,
                      long leaseTtlSeconds, Path snapshotStore, long snapshotEverySeconds, String root) {
    static final String SYNTAX = "kiln daemon --cluster ETCD_ENDPOINTS [--host-name NAME] [--labels k=v,...] [--placement spread|pack]"
            + " [--lease-ttl S] [--snapshot-store DIR [--snapshot-every S]] [--cluster-root /kiln] [daemon options...]";

    /** The parsed cluster options, and the daemon's arguments left over. */
    record Split(ClusterOptions options, String[] daemonArgs) {}

    static boolean clustered(String[] args) {
        for (String a : args) if (a.equals("--cluster") || a.startsWith("--cluster=")) return true;
        return false;
    }

    static Split parse(String[] args) throws DaemonConfig.UsageException {
        List<String> endpoints = null;
        String host = defaultHostName();
        Map<String, String> labels = new LinkedHashMap<>();
        Placement.Policy policy = Placement.Policy.SPREAD;
        long ttl = 3;
        Path store = null;
        long every = 0;
        String root = "/kiln";
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            if (a.startsWith("--") && a.contains("=")) {
                value = a.substring(a.indexOf('=') + 1);
                a = a.substring(0, a.indexOf('='));
            }
            boolean ours = switch (a) {
                case "--cluster", "--host-name", "--labels", "--placement", "--lease-ttl", "--snapshot-store", "--snapshot-every",
                     "--cluster-root" -> true;
                default -> false;
            };
            if (!ours) {
                rest.add(args[i]);
                continue;
            }
            if (value == null) {
                if (i + 1 >= args.length) throw new DaemonConfig.UsageException(a + " needs a value");
                value = args[++i];
            }
            switch (a) {
                case "--cluster" -> endpoints = endpoints(value);
                case "--host-name" -> {
                    if (!value.matches("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}")) throw new DaemonConfig.UsageException("--host-name must be 1 to 63 letters, digits, '_', '.' or '-'");
                    host = value;
                }
                case "--labels" -> labels = labels(value);
                case "--placement" -> {
                    try {
                        policy = Placement.Policy.valueOf(value.toUpperCase(java.util.Locale.ROOT));
                    } catch (IllegalArgumentException e) {
                        throw new DaemonConfig.UsageException("--placement must be spread or pack, got '" + value + "'");
                    }
                }
                case "--lease-ttl" -> ttl = number(a, value, 2, 3600);
                case "--snapshot-store" -> store = Path.of(value).toAbsolutePath();
                case "--snapshot-every" -> every = number(a, value, 0, 86_400);
                case "--cluster-root" -> root = value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
                default -> throw new IllegalStateException(a);
            }
        }
        if (endpoints == null) throw new DaemonConfig.UsageException("--cluster needs etcd's endpoints");
        return new Split(new ClusterOptions(endpoints, host, labels, policy, ttl, store, every, root), rest.toArray(String[]::new));
    }

    /** host:port or URLs, comma-separated; a bare host:port is http://. */
    static List<String> endpoints(String v) throws DaemonConfig.UsageException {
        List<String> out = new ArrayList<>();
        for (String e : v.split(",")) {
            e = e.trim();
            if (e.isEmpty()) continue;
            out.add(e.contains("://") ? e : "http://" + e);
        }
        if (out.isEmpty()) throw new DaemonConfig.UsageException("--cluster needs at least one etcd endpoint");
        return out;
    }

    static Map<String, String> labels(String v) throws DaemonConfig.UsageException {
        Map<String, String> labels = new LinkedHashMap<>();
        for (String kv : v.split(",")) {
            if (kv.isBlank()) continue;
            int eq = kv.indexOf('=');
            if (eq <= 0) throw new DaemonConfig.UsageException("--labels takes k=v pairs separated by commas, got '" + kv + "'");
            labels.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
        return labels;
    }

    private static long number(String option, String v, long min, long max) throws DaemonConfig.UsageException {
        try {
            long n = Long.parseLong(v);
            if (n < min || n > max) throw new DaemonConfig.UsageException(option + " must be from " + min + " to " + max);
            return n;
        } catch (NumberFormatException e) {
            throw new DaemonConfig.UsageException(option + " must be a number, got '" + v + "'");
        }
    }

    private static String defaultHostName() {
        try {
            String h = java.net.InetAddress.getLocalHost().getHostName();
            return h.replaceAll("[^a-zA-Z0-9_.-]", "-");
        } catch (java.net.UnknownHostException e) {
            return "host";
        }
    }
}
