package dev.kiln.cli;

import dev.kiln.monitor.DeviceAttachment;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.WatchedConsole;
import dev.kiln.monitor.devices.NetRingIo;
import dev.kiln.monitor.devices.NetRingService;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.vstate.Snapshot;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Several guests in one monitor, run by {@link NetRingGuestTest} inside a network namespace (a
 * tap can only be opened from its own namespace, and the test's JVM is not in one). It prints
 * what happens, one line per step, and waits for the test's go-ahead on stdin between steps:
 * <ul>
 *   <li>{@code isolation GUESTS TAP_A TAP_B}: netecho serves on TAP_B while a hostile ringcheck
 *       on TAP_A is stopped for ring garbage; then a well-behaved ringcheck gets TAP_A;</li>
 *   <li>{@code snapshot GUESTS TAP DIR}: netecho is paused with its ring in use, snapshotted,
 *       resumed; then stopped and a clone restored from the snapshot on the same tap.</li>
 * </ul>
 */
public final class RingScenario {
    static final byte[] MAC = DeviceAttachment.Net.parseMac("02:00:00:77:00:02");
    /** How the scenario's rings are served (-Dkiln.test.netRing=AT_POLL|IO_THREAD). */
    static final NetRingService SERVICE = NetRingService.valueOf(System.getProperty("kiln.test.netRing", "AT_POLL"));
    static final BufferedReader STDIN = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

    public static void main(String[] args) throws Exception {
        Path guests = Path.of(args[1]);
        try (Monitor monitor = Monitor.open()) {
            switch (args[0]) {
                case "isolation" -> isolation(monitor, guests, args[2], args[3]);
                case "snapshot" -> snapshot(monitor, guests, args[2], Path.of(args[3]));
                default -> throw new IllegalArgumentException(args[0]);
            }
        }
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }

    static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static void expect(String what) throws Exception {
        String line = STDIN.readLine();
        if (!what.equals(line)) throw new IllegalStateException("expected '" + what + "' on stdin, got '" + line + "'");
    }

    static InstanceSpec netecho(Path guests, String tap, WatchedConsole console) throws Exception {
        return InstanceSpec.of(HvtImage.read(guests.resolve("netecho.hvt")), console, "ip=10.77.0.2/24")
                .withMemory(32L << 20).withDevices(List.of(new DeviceAttachment.Net("service0", tap, MAC))).withNetRing(SERVICE);
    }

    static InstanceSpec ringcheck(Path guests, String tap, java.io.OutputStream console, String mode) throws Exception {
        return InstanceSpec.of(HvtImage.read(guests.resolve("ringcheck.hvt")), console, mode)
                .withMemory(16L << 20).withDevices(List.of(new DeviceAttachment.Net("service0", tap, null))).withNetRing(SERVICE);
    }

    static String ring(Instance i) {
        NetRingIo.Stats s = i.stats().netRing();
        return s == null ? "no ring" : "frames in " + s.framesIn() + " out " + s.framesOut();
    }

    static void isolation(Monitor monitor, Path guests, String tapA, String tapB) throws Exception {
        WatchedConsole echoConsole = new WatchedConsole();
        try (Instance healthy = monitor.create(netecho(guests, tapB, echoConsole))) {
            healthy.start();
            if (!echoConsole.await("netecho: ready", Duration.ofSeconds(30))) throw new IllegalStateException(echoConsole.toString());
            say("ready");
            expect("hostile"); // the test has traffic flowing to the healthy guest now
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (Instance hostile = monitor.create(ringcheck(guests, tapA, out, "ahead"))) {
                hostile.start();
                say("hostile: " + hostile.outcome().get(30, TimeUnit.SECONDS).describe());
            }
            try (Instance again = monitor.create(ringcheck(guests, tapA, out, "entries"))) {
                say("again: " + again.run().describe() + ": " + out.toString(StandardCharsets.UTF_8).strip());
            }
            expect("end");
            say("healthy: " + (healthy.outcome().isDone() ? "ended" : "running") + ", " + ring(healthy));
            healthy.stop(dev.kiln.monitor.StopCause.REQUESTED);
        }
        say("done");
    }

    static void snapshot(Monitor monitor, Path guests, String tap, Path dir) throws Exception {
        Path file = dir.resolve("netecho.snap");
        WatchedConsole console = new WatchedConsole();
        InstanceSpec spec = netecho(guests, tap, console);
        try (Instance original = monitor.create(spec)) {
            original.start();
            if (!console.await("netecho: ready", Duration.ofSeconds(30))) throw new IllegalStateException(console.toString());
            say("up");
            expect("pause");
            original.pause();
            original.snapshot(file);
            original.resume();
            say("resumed");
            expect("restore");
            say("original: " + ring(original));
            original.stop(dev.kiln.monitor.StopCause.REQUESTED);
            Outcome o = original.outcome().get(30, TimeUnit.SECONDS);
            if (!(o instanceof Outcome.Stopped)) throw new IllegalStateException("original: " + o.describe());
        }
        try (Snapshot snap = Snapshot.open(file);
             Instance clone = monitor.restore(snap, netecho(guests, tap, new WatchedConsole()))) {
            clone.start();
            say("restored");
            expect("end");
            say("clone: " + (clone.outcome().isDone() ? clone.outcome().get().describe() : "running") + ", " + ring(clone));
            clone.stop(dev.kiln.monitor.StopCause.REQUESTED);
        }
        say("done");
    }
}
