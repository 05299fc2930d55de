package dev.kiln.daemon;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * A {@code /bin/sh} started with the daemon, through which it runs {@code ip}, {@code nft} and
 * {@code sysctl}. Why a standing shell and not a process per command: once the daemon is under
 * the monitor's seccomp filter it can no longer execve, but a child made before the filter was
 * installed is not under it. Every argument is single-quoted (and checked to be plain on top), so
 * nothing a request names is ever read as shell syntax.
 */
final class HostShell implements AutoCloseable {
    /** Words a command may carry: names, addresses, ports, nft's punctuation. Nothing with quotes or $. */
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_.:/,{}@=<>!\\-+ ;]*");

    /** A command that failed, with what it printed. */
    static final class CommandException extends IOException {
        CommandException(String message) {
            super(message);
        }
    }

    private final Process shell;
    private final OutputStream in;
    private final BufferedReader out;
    private final String marker = "__kiln_" + UUID.randomUUID().toString().replace("-", "");

    HostShell() throws IOException {
        shell = new ProcessBuilder("/bin/sh", "-s").redirectErrorStream(true).start();
        in = shell.getOutputStream();
        out = new BufferedReader(new InputStreamReader(shell.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Runs one command and returns its output; a non-zero status is a {@link CommandException}. */
    synchronized String run(List<String> command) throws IOException {
        StringBuilder line = new StringBuilder();
        for (String word : command) {
            if (!PLAIN.matcher(word).matches()) throw new IllegalArgumentException("refusing to pass '" + word + "' to the host shell");
            line.append('\'').append(word).append("' ");
        }
        // stdin closed for the command, so one that reads never eats the next line of the script
        // the status is kept before the echo that ends a last line without a newline
        line.append("</dev/null 2>&1; kiln_status=$?; echo; echo ").append(marker).append(" $kiln_status\n");
        if (!shell.isAlive()) throw new IOException("the daemon's host shell is gone");
        in.write(line.toString().getBytes(StandardCharsets.UTF_8));
        in.flush();
        StringBuilder output = new StringBuilder();
        String l;
        while ((l = out.readLine()) != null) {
            if (l.startsWith(marker + " ")) {
                int status = Integer.parseInt(l.substring(marker.length() + 1).trim());
                String text = output.toString().strip();
                if (status != 0) throw new CommandException(String.join(" ", command) + " failed (" + status + "): " + text);
                return text;
            }
            output.append(l).append('\n');
        }
        throw new IOException("the daemon's host shell ended while running " + String.join(" ", command));
    }

    String run(String... command) throws IOException {
        return run(List.of(command));
    }

    /** As {@link #run}, for clean-up: a failure (already gone) is not a problem. */
    boolean tryRun(String... command) {
        try {
            run(command);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public synchronized void close() {
        try {
            in.close();
            shell.waitFor(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // the shell is ended below either way
        }
        shell.destroy();
    }
}
