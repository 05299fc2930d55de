package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.daemon.DaemonClient;
import dev.kiln.daemon.DaemonConfig;
import dev.kiln.daemon.Json;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The commands that drive a running {@code kiln daemon} over its Unix socket: {@code run -d},
 * {@code ps}, {@code logs}, {@code start}, {@code stop}, {@code rm}, {@code pause}, {@code unpause},
 * {@code images}, {@code snapshot}. The socket is {@code --socket PATH}, else $KILN_SOCKET, else the
 * daemon's default. The daemon's refusals are printed as {@code kiln: MESSAGE}, exit status 1.
 */
final class ClientCommand {
    static final List<String> SYNTAXES = List.of(
            "kiln run -d [--name NAME] [--mem MiB] [--net] [-p HOST_PORT:GUEST_PORT]... [--scale-to-zero IDLE_MS] [--socket PATH] IMAGE [ARGS...]",
            "kiln ps [--socket PATH]",
            "kiln logs [-f] [--socket PATH] ID",
            "kiln start|stop|rm|pause|unpause [--socket PATH] ID...",
            "kiln images [--socket PATH]",
            "kiln snapshot [--socket PATH] ID");
    static final List<String> COMMANDS = List.of("ps", "logs", "start", "stop", "rm", "pause", "unpause", "images", "snapshot");

    private final PrintStream out;
    private final PrintStream err;

    ClientCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** True when a {@code kiln run} command line asks for the daemon: -d or --detach before IMAGE. */
    static boolean detached(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-d") || a.equals("--detach")) return true;
            if (VALUED.contains(a)) i++;
            else if (!a.startsWith("-")) return false;
        }
        return false;
    }

    private static final List<String> VALUED = List.of("--name", "--socket", "--mem", "-p", "--publish", "--scale-to-zero");

    /** A command's words after its options, and the options. */
    private record Parsed(List<String> words, Path socket, String name, Long memMiB, boolean follow,
                          boolean net, List<String> ports, Long scaleToZeroMillis) {
        boolean runOnly() {
            return name != null || memMiB != null || net || !ports.isEmpty() || scaleToZeroMillis != null;
        }
    }

    private static Parsed parse(String command, String[] args, boolean stopAtWord) throws CommandLines.UsageException {
        List<String> words = new ArrayList<>();
        String socket = null;
        String name = null;
        Long mem = null;
        boolean follow = false;
        boolean net = false;
        List<String> ports = new ArrayList<>();
        Long scaleToZero = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!words.isEmpty() && stopAtWord) {
                words.add(a);
                continue;
            }
            String value = null;
            if (a.startsWith("--") && a.contains("=")) {
                value = a.substring(a.indexOf('=') + 1);
                a = a.substring(0, a.indexOf('='));
            }
            switch (a) {
                case "-d", "--detach" -> { }
                case "-f", "--follow" -> follow = true;
                case "--net" -> net = true;
                case "--socket", "--name", "--mem", "-p", "--publish", "--scale-to-zero" -> {
                    if (value == null) {
                        if (++i >= args.length) throw new CommandLines.UsageException(a + " needs a value");
                        value = args[i];
                    }
                    switch (a) {
                        case "--socket" -> socket = value;
                        case "--name" -> name = value;
                        case "-p", "--publish" -> ports.add(value); // the daemon checks HOST:GUEST, naming the field
                        case "--scale-to-zero" -> scaleToZero = number(a, value, "a number of milliseconds");
                        default -> mem = number(a, value, "a number of MiB");
                    }
                }
                default -> {
                    if (a.startsWith("-") && words.isEmpty()) throw new CommandLines.UsageException("unknown option " + a + " for " + command);
                    words.add(args[i]);
                }
            }
        }
        Path sock = socket != null ? Path.of(socket)
                : System.getenv("KILN_SOCKET") != null ? Path.of(System.getenv("KILN_SOCKET")) : DaemonConfig.defaultSocket();
        return new Parsed(words, sock, name, mem, follow, net, ports, scaleToZero);
    }

    private static long number(String option, String value, String what) throws CommandLines.UsageException {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new CommandLines.UsageException(option + " must be " + what + ", got '" + value + "'");
        }
    }

    /** {@code kiln run -d ...}: creates and starts an instance in the daemon; prints its id. */
    int runDetached(String[] args) {
        return execute("run", args, true);
    }

    int execute(String command, String[] args) {
        return execute(command, args, false);
    }

    private int execute(String command, String[] args, boolean run) {
        Parsed p;
        try {
            p = parse(command, args, run);
            if (run && p.words().isEmpty()) throw new CommandLines.UsageException("missing IMAGE");
            if (!run && p.runOnly()) throw new CommandLines.UsageException("--name, --mem, --net, -p and --scale-to-zero are for run -d");
            if (p.follow() && !command.equals("logs")) throw new CommandLines.UsageException("-f is for logs");
            switch (command) {
                case "ps", "images" -> {
                    if (!p.words().isEmpty()) throw new CommandLines.UsageException(command + " takes no arguments");
                }
                case "logs", "snapshot" -> {
                    if (p.words().size() != 1) throw new CommandLines.UsageException(command + " takes one ID");
                }
                case "run" -> { }
                default -> {
                    if (p.words().isEmpty()) throw new CommandLines.UsageException(command + " needs an ID");
                }
            }
        } catch (CommandLines.UsageException e) {
            err.println("kiln " + command + ": " + e.getMessage());
            err.println("usage: " + SYNTAXES.stream().filter(s -> s.contains(" " + command + " ") || s.contains(command + "|")
                    || s.contains("|" + command)).findFirst().orElse(SYNTAXES.getFirst()));
            return Main.EXIT_USAGE;
        }
        try (DaemonClient client = DaemonClient.connect(p.socket())) {
            return switch (command) {
                case "run" -> run(client, p);
                case "ps" -> ps(client);
                case "images" -> images(client);
                case "logs" -> logs(client, p.words().getFirst(), p.follow());
                case "snapshot" -> {
                    JsonNode r = call(client.post("/v1/instances/" + id(p.words().getFirst()) + "/snapshot", null));
                    out.println(r.path("path").asText());
                    yield 0;
                }
                default -> act(client, command, p.words());
            };
        } catch (Refused e) {
            err.println("kiln: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("kiln: " + e.getMessage());
            return 1;
        }
    }

    /** The daemon said no; its message is what the user sees. */
    private static final class Refused extends IOException {
        Refused(String message) {
            super(message);
        }
    }

    private static JsonNode call(DaemonClient.Response r) throws IOException {
        if (r.status() >= 300) throw new Refused(r.errorMessage());
        return r.json();
    }

    private static String id(String word) {
        return URLEncoder.encode(word, StandardCharsets.UTF_8);
    }

    private int run(DaemonClient client, Parsed p) throws IOException {
        String image = p.words().getFirst();
        // A file names itself by path (the daemon's working directory is not ours); anything else
        // is a registered name or sha256.
        Path file = Path.of(image);
        if (Files.isRegularFile(file)) image = file.toAbsolutePath().normalize().toString();
        var body = Json.object("image", image, "name", p.name(), "memory_mib", p.memMiB(),
                "args", p.words().subList(1, p.words().size()), "start", true,
                // -p implies --net (the daemon's default when ports are given)
                "net", p.net() ? Boolean.TRUE : null, "ports", p.ports().isEmpty() ? null : p.ports(),
                "scale_to_zero_ms", p.scaleToZeroMillis());
        out.println(call(client.post("/v1/instances", body)).path("id").asText());
        return 0;
    }

    private int act(DaemonClient client, String command, List<String> ids) throws IOException {
        int status = 0;
        for (String word : ids) {
            DaemonClient.Response r = switch (command) {
                case "rm" -> client.delete("/v1/instances/" + id(word));
                case "unpause" -> client.post("/v1/instances/" + id(word) + "/resume", null);
                default -> client.post("/v1/instances/" + id(word) + "/" + command, null);
            };
            if (r.status() >= 300) {
                err.println("kiln: " + r.errorMessage());
                status = 1;
            } else {
                out.println(word);
            }
        }
        return status;
    }

    private int ps(DaemonClient client) throws IOException {
        JsonNode list = call(client.get("/v1/instances"));
        // A clustered daemon lists the whole cluster: each instance names the host it runs on.
        boolean clustered = false;
        for (JsonNode i : list) clustered |= i.has("host");
        String format = "%-12s  %-16s  %-16s  %-8s  %-6s  %6s  %-15s  %-12s  " + (clustered ? "%-16s  " : "%s") + "%s%n";
        out.printf(Locale.ROOT, format, "ID", "NAME", "IMAGE", "STATE", "STATUS", "MEM", "ADDRESS", "PORTS", clustered ? "HOST" : "", "ARGS");
        for (JsonNode i : list) {
            String sha = i.path("image").path("sha256").asText("");
            out.printf(Locale.ROOT, format, i.path("id").asText(), i.path("name").asText("-"),
                    i.path("image").path("name").asText(sha.length() >= 12 ? sha.substring(0, 12) : sha),
                    i.path("state").asText(), i.path("exit_status").isNumber() ? i.path("exit_status").asText() : "-",
                    i.path("memory_mib").asText() + "M", i.path("net").path("address").asText("-"),
                    i.path("net").path("ports").isEmpty() ? "-" : String.join(",", Json.MAPPER.convertValue(i.path("net").path("ports"), String[].class)), clustered ? i.path("host").asText("-") : "",
                    String.join(" ", Json.MAPPER.convertValue(i.path("args"), String[].class)));
        }
        return 0;
    }

    private int images(DaemonClient client) throws IOException {
        JsonNode list = call(client.get("/v1/images"));
        String format = "%-64s  %-20s  %10s%n";
        out.printf(Locale.ROOT, format, "SHA256", "NAME", "SIZE");
        for (JsonNode i : list) out.printf(Locale.ROOT, format, i.path("sha256").asText(), i.path("name").asText(), i.path("size").asText());
        return 0;
    }

    private int logs(DaemonClient client, String word, boolean follow) throws IOException {
        OutputStream sink = new OutputStream() { // straight to our stdout, as the guest writes
            @Override
            public void write(int b) {
                out.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                out.write(b, off, len);
            }

            @Override
            public void flush() {
                out.flush();
            }
        };
        DaemonClient.Response r = client.stream("GET", "/v1/instances/" + id(word) + "/logs" + (follow ? "?follow=true" : ""), sink);
        if (r.status() != 200) throw new Refused(r.errorMessage());
        out.flush();
        return 0;
    }
}
