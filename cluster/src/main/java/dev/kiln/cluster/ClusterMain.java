package dev.kiln.cluster;

import dev.kiln.daemon.Daemon;
import dev.kiln.daemon.DaemonConfig;

import java.io.PrintStream;

/** {@code kiln daemon --cluster ...}: a daemon that is one host of a cluster on etcd. */
public final class ClusterMain {
    private ClusterMain() {}

    /** True when a daemon command line asks for cluster mode. */
    public static boolean clustered(String[] args) {
        return ClusterOptions.clustered(args);
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (java.util.Arrays.asList(args).contains("--help")) {
            out.println("usage: " + ClusterOptions.SYNTAX);
            out.println("One host of a cluster on etcd: registers under a lease, campaigns for scheduler, runs what it is assigned.");
            out.println("  --cluster ENDPOINTS  etcd's client endpoints, comma-separated (host:port or URLs)");
            out.println("  --host-name NAME     the host's name in the cluster (default: the machine's)");
            out.println("  --labels k=v,...     labels instances' constraints match");
            out.println("  --placement P        spread (default: most free memory first) or pack (fullest that fits)");
            out.println("  --lease-ttl S        how long a silent host keeps its instances (default 3)");
            out.println("  --snapshot-store DIR a folder every host reads: a dead host's instances restore from their snapshot there");
            out.println("  --snapshot-every S   snapshot live instances to the store this often (default 0: never)");
            out.println("  --cluster-root KEY   the key prefix in etcd (default /kiln)");
            out.println("The daemon's own options follow (kiln daemon --help).");
            return 0;
        }
        ClusterOptions.Split split;
        try {
            split = ClusterOptions.parse(args);
        } catch (DaemonConfig.UsageException e) {
            err.println("kiln daemon: " + e.getMessage());
            err.println("usage: " + ClusterOptions.SYNTAX);
            return 2;
        }
        ClusterOptions o = split.options();
        out.println("kiln daemon: host " + o.hostName() + " of the cluster at " + String.join(",", o.endpoints()));
        return Daemon.run(split.daemonArgs(), out, err, fleet -> new ClusterHost(o, fleet));
    }

    /** For a child JVM (tests): runs until SIGTERM, as kiln daemon does. */
    public static void main(String[] args) {
        int status = run(args, System.out, System.err);
        if (status != 0) System.exit(status);
    }
}
