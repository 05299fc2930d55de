package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.monitor.rootfs.RootfsImage;
import org.apache.commons.cli.Options;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * {@code kiln pack DIR -o IMAGE}: packs a folder into a KFS1 root file system image
 * (docs/kiln-abi.md 6) at build time, for {@code kiln run --rootfs IMAGE}; the same folder content
 * always gives the same bytes.
 */
final class PackCommand {
    static final String SYNTAX = "kiln pack DIR -o IMAGE";
    private final PrintStream out;
    private final PrintStream err;

    PackCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    static Options options() {
        return new Options()
                .addOption(CommandLines.valued("o", "output", "IMAGE", "the image to write (replaced if it exists)"))
                .addOption(CommandLines.flag("help", "show this help"));
    }

    int execute(String[] args) {
        Options options = options();
        Path dir, image;
        try {
            ParsedLine cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "Pack a folder into a read-only root file system image (KFS1) for kiln run --rootfs.",
                        options, "Only regular files and folders are packed; symbolic links, devices, FIFOs and sockets are refused.");
                return 0;
            }
            if (cl.getArgList().isEmpty()) throw new UsageException("missing DIR");
            if (cl.getArgList().size() > 1) throw new UsageException("unexpected argument " + cl.getArgList().get(1));
            String o = cl.getOptionValue("output");
            if (o == null || o.isEmpty()) throw new UsageException("missing -o IMAGE");
            dir = Path.of(cl.getArgList().getFirst());
            image = Path.of(o);
        } catch (UsageException e) {
            err.println("kiln pack: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        try {
            RootfsImage.Summary s = RootfsImage.pack(dir, image);
            out.println(image + ": " + s.inodeCount() + " inodes (" + s.files() + " files, " + s.directories()
                    + " folders), " + s.imageSize() + " bytes");
            return 0;
        } catch (IOException e) {
            err.println("kiln pack: " + e.getMessage());
            return 1;
        }
    }
}
