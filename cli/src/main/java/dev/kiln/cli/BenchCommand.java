package dev.kiln.cli;

import dev.kiln.monitor.ExecutionMode;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.image.ImageException;
import dev.kiln.monitor.kvm.KvmException;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/** {@code kiln bench ...}: benchmarks that print numbers beside a baseline measured in the same run. */
final class BenchCommand {
    private final PrintStream out;
    private final PrintStream err;

    BenchCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Each benchmark's command line, for {@code kiln bench --help} and {@code kiln help}. */
    static final List<String> SYNTAXES = List.of(
            BootBench.SYNTAX,
            RestoreBench.SYNTAX,
            CloneBench.SYNTAX,
            BurstBench.SYNTAX,
            DensityBench.SYNTAX,
            ComputeBench.SYNTAX,
            ApiBench.SYNTAX,
            LuaBench.SYNTAX,
            SqliteBench.SYNTAX,
            dev.kiln.cluster.SchedulerBench.SYNTAX);

    int execute(String[] args) {
        if (args.length > 0 && List.of("--help", "-h", "help").contains(args[0])) {
            overview(out);
            return 0;
        }
        if (args.length == 0 || !List.of("boot", "restore", "clone", "burst", "density", "compute", "api", "lua", "sqlite", "cluster").contains(args[0])) {
            err.println(args.length == 0 ? "kiln bench: choose a benchmark: boot, restore, clone, burst, density, compute, api, lua, sqlite, cluster"
                    : "kiln bench: unknown benchmark '" + args[0] + "': choose boot, restore, clone, burst, density, compute, api, lua, sqlite or cluster");
            overview(err);
            return Main.EXIT_USAGE;
        }
        try {
            if (args[0].equals("burst")) return new BurstBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("density")) return new DensityBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("lua")) return new LuaBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("compute")) return new ComputeBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("sqlite")) return new SqliteBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("clone")) return new CloneBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("cluster")) return new dev.kiln.cluster.SchedulerBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("api")) return new ApiBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("restore")) return new RestoreBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            return new BootBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
        } catch (ImageException | KvmException | IOException | dev.kiln.monitor.vstate.SnapshotException e) {
            err.println("kiln bench " + args[0] + ": " + e.getMessage());
            return Main.EXIT_CANNOT_START;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        } catch (Exception e) {
            err.println("kiln bench " + args[0] + ": " + e);
            return Main.EXIT_CANNOT_START;
        }
    }

    private static void overview(PrintStream s) {
        s.println("usage:");
        for (String syntax : SYNTAXES) s.println("  " + syntax);
        s.println("Each benchmark prints its numbers beside a baseline measured in the same run;"
                + " 'kiln bench BENCHMARK --help' explains its options.");
    }

    /**
     * How the benchmark's guests run, for the header of every benchmark: numbers taken natively and
     * emulated differ by orders of magnitude (pvm-native.md).
     */
    static String execution(Monitor monitor) {
        ExecutionMode wanted = ExecutionMode.requestedDefault();
        if (!monitor.pvmHost()) return "execution: native (hardware KVM)";
        return wanted == ExecutionMode.NATIVE
                ? "execution: native (kvm_pvm, native-execution page registered per vCPU; -Dkiln.execution=emulated to compare)"
                : "execution: emulated (kvm_pvm, every guest instruction in KVM's emulator; -Dkiln.execution=emulated)";
    }

    /** {@code --plot DIR}, which every benchmark with charts takes. */
    static org.apache.commons.cli.Option plotOption() {
        return CommandLines.valued(null, "plot", "DIR", "also draw the results as PNG charts in DIR (created if missing)");
    }
}
