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
