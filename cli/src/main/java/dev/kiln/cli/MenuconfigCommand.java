package dev.kiln.cli;

import com.googlecode.lanterna.TerminalSize;
import com.googlecode.lanterna.TextColor;
import com.googlecode.lanterna.gui2.ActionListBox;
import com.googlecode.lanterna.gui2.BasicWindow;
import com.googlecode.lanterna.gui2.BorderLayout;
import com.googlecode.lanterna.gui2.Borders;
import com.googlecode.lanterna.gui2.DefaultWindowManager;
import com.googlecode.lanterna.gui2.EmptySpace;
import com.googlecode.lanterna.gui2.Label;
import com.googlecode.lanterna.gui2.MultiWindowTextGUI;
import com.googlecode.lanterna.gui2.Panel;
import com.googlecode.lanterna.gui2.Window;
import com.googlecode.lanterna.gui2.dialogs.MessageDialog;
import com.googlecode.lanterna.gui2.dialogs.MessageDialogButton;
import com.googlecode.lanterna.gui2.dialogs.TextInputDialogBuilder;
import com.googlecode.lanterna.input.KeyStroke;
import com.googlecode.lanterna.screen.Screen;
import com.googlecode.lanterna.screen.TerminalScreen;
import com.googlecode.lanterna.terminal.DefaultTerminalFactory;
import dev.kiln.builder.manifest.AppOptionsEditor;
import dev.kiln.builder.manifest.LibraryManifest;
import dev.kiln.builder.manifest.ManifestException;
import dev.kiln.builder.manifest.OptionSpec;
import dev.kiln.builder.manifest.OptionValue;
import dev.kiln.builder.resolve.LibraryCatalog;
import dev.kiln.builder.resolve.ResolvedBuild;
import dev.kiln.cli.CommandLines.UsageException;
import org.apache.commons.cli.Options;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code kiln menuconfig APP_DIR}: a terminal UI (Lanterna) to browse the libraries of an app's
 * build and the ones it could use, read every option's help, and change option values. Values are
 * checked against their type and range as they are typed; saving writes them into the app's
 * kiln.toml ([options]) and resolves again, so a saved configuration always builds.
 *
 * <p>Keys: arrows move, Enter edits (a bool toggles), the last two entries save or leave.
 */
final class MenuconfigCommand {
    static final String SYNTAX = "kiln menuconfig APP_DIR";
    private final PrintStream out;
    private final PrintStream err;

    MenuconfigCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int execute(String[] args) {
        Options options = BuildCommand.common();
        ParsedLine cl;
        try {
            cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "Browse libraries and options; change values.", options, "");
                return 0;
            }
            if (cl.getArgList().size() != 1) throw new UsageException("expected one APP_DIR");
        } catch (UsageException e) {
            err.println("kiln menuconfig: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        Path appDir = Path.of(cl.getArgList().getFirst());
        Path guest = BuildCommand.guestRoot(cl);
        ResolvedBuild build = BuildCommand.resolve(appDir, guest, err);
        if (build == null) return 1;
        LibraryCatalog catalog;
        try {
            catalog = LibraryCatalog.scan(guest);
        } catch (ManifestException e) {
            err.println("kiln: " + e.getMessage());
            return 1;
        }
        if (System.console() == null) {
            err.println("kiln menuconfig: needs a terminal (use 'kiln config' in scripts)");
            return Main.EXIT_USAGE;
        }
        Map<String, OptionValue> changes = new LinkedHashMap<>();
        boolean save;
        try {
            save = new Ui(build, catalog, changes).show();
        } catch (IOException e) {
            err.println("kiln menuconfig: terminal error: " + e.getMessage());
            return 1;
        }
        if (!save || changes.isEmpty()) {
            out.println("kiln menuconfig: no changes written");
            return 0;
        }
        try {
            for (Map.Entry<String, OptionValue> c : changes.entrySet()) {
                ResolvedBuild.Option o = build.options().get(c.getKey());
                // Back to the default: drop the line rather than pin the default in the manifest.
                boolean isDefault = c.getValue().equals(o.spec().defaultValue()) && !o.source().startsWith("selected");
                AppOptionsEditor.set(appDir, c.getKey(), isDefault ? null : c.getValue());
                out.println("kiln menuconfig: " + c.getKey() + " = " + c.getValue().toml());
            }
        } catch (ManifestException e) {
            err.println("kiln menuconfig: " + e.getMessage());
            return 1;
        }
        return BuildCommand.resolve(appDir, guest, err) == null ? 1 : 0;
    }

    /** The window: one list of libraries and options, a help panel under it. */
    private static final class Ui {
        private final ResolvedBuild build;
        private final LibraryCatalog catalog;
        private final Map<String, OptionValue> changes;
        private MultiWindowTextGUI gui;
        private final Label help = new Label("");
        private boolean save;

        Ui(ResolvedBuild build, LibraryCatalog catalog, Map<String, OptionValue> changes) {
            this.build = build;
            this.catalog = catalog;
            this.changes = changes;
        }

        /** An entry whose label is computed when drawn, so a changed value shows at once. */
        private abstract static class Entry implements Runnable {
            abstract String help();
        }

        boolean show() throws IOException {
            Screen screen = new TerminalScreen(new DefaultTerminalFactory().createTerminal());
            screen.startScreen();
            try {
                gui = new MultiWindowTextGUI(screen, new DefaultWindowManager(), new EmptySpace(TextColor.ANSI.BLUE));
                BasicWindow window = new BasicWindow(" kiln menuconfig: " + build.app().name() + " ");
                window.setHints(List.of(Window.Hint.FULL_SCREEN));
                TerminalSize size = screen.getTerminalSize();
                ActionListBox list = new ActionListBox(new TerminalSize(Math.max(40, size.getColumns() - 4),
                        Math.max(5, size.getRows() - 10))) {
                    @Override
                    public Result handleKeyStroke(KeyStroke key) {
                        Result r = super.handleKeyStroke(key);
                        showHelp(this);
                        return r;
                    }
                };
                fill(list, window);
                Panel panel = new Panel(new BorderLayout());
                panel.addComponent(list.withBorder(Borders.singleLine(" libraries and options (Enter: change) ")),
                        BorderLayout.Location.CENTER);
                panel.addComponent(help.withBorder(Borders.singleLine(" help ")), BorderLayout.Location.BOTTOM);
                window.setComponent(panel);
                showHelp(list);
                gui.addWindowAndWait(window);
                return save;
            } finally {
                screen.stopScreen();
            }
        }

        private void showHelp(ActionListBox list) {
            Runnable r = list.getSelectedItem();
            help.setText(r instanceof Entry e ? e.help() : "");
        }

        private void fill(ActionListBox list, BasicWindow window) {
            for (LibraryManifest l : build.libraries()) {
                list.addItem(library(l, true));
                for (ResolvedBuild.Option o : build.options().values()) {
                    if (o.owner() == l) list.addItem(option(o, list));
                }
            }
            for (LibraryManifest l : catalog.all()) {
                if (!build.libraries().contains(l)) list.addItem(library(l, false));
            }
            list.addItem(new Entry() {
                public void run() {
                    save = true;
                    window.close();
                }

                String help() {
                    return "Write the changed values into " + build.app().file() + " and leave.";
                }

                public String toString() {
                    return "< Save and exit >" + (changes.isEmpty() ? "" : "  (" + changes.size() + " changed)");
                }
            });
            list.addItem(new Entry() {
                public void run() {
                    if (changes.isEmpty() || MessageDialog.showMessageDialog(gui, "Leave", "Discard "
                            + changes.size() + " change(s)?", MessageDialogButton.Yes, MessageDialogButton.No)
                            == MessageDialogButton.Yes) {
                        window.close();
                    }
                }

                String help() {
                    return "Leave without writing anything.";
                }

                public String toString() {
                    return "< Exit without saving >";
                }
            });
        }

        private Entry library(LibraryManifest l, boolean inBuild) {
            return new Entry() {
                public void run() {
                    MessageDialog.showMessageDialog(gui, l.name(), help(), MessageDialogButton.OK);
                }

                String help() {
                    return l.description() + "\nprovides: " + BuildCommand.list(l.provides()) + "   depends: "
                            + BuildCommand.list(l.depends()) + "\n" + (inBuild
                            ? "in this build through: " + String.join(" -> ", build.reasons().get(l.name()))
                            : "not in this build: add \"" + l.name() + "\" to [app] libraries to use it") + "\n" + l.file();
                }

                public String toString() {
                    return (inBuild ? "[*] " : "[ ] ") + l.name() + " - " + l.description();
                }
            };
        }

        private Entry option(ResolvedBuild.Option o, ActionListBox list) {
            OptionSpec spec = o.spec();
            return new Entry() {
                OptionValue value() {
                    return changes.getOrDefault(spec.name(), o.value());
                }

                public void run() {
                    if (o.source().startsWith("selected")) {
                        MessageDialog.showMessageDialog(gui, spec.name(), "This option is " + o.source()
                                + ": it cannot be turned off while that library is in the build.", MessageDialogButton.OK);
                        return;
                    }
                    OptionValue next;
                    if (spec instanceof OptionSpec.BoolOption) {
                        next = new OptionValue.Bool(!((OptionValue.Bool) value()).value());
                    } else {
                        String text = new TextInputDialogBuilder().setTitle(spec.name()).setDescription(help())
                                .setInitialContent(value() instanceof OptionValue.Str(String s) ? s : value().toml())
                                .setValidator(t -> spec.check(OptionValue.parse(spec, t)))
                                .build().showDialog(gui);
                        if (text == null) return;
                        next = OptionValue.parse(spec, text);
                    }
                    if (next.equals(o.value())) changes.remove(spec.name());
                    else changes.put(spec.name(), next);
                    list.invalidate();
                }

                String help() {
                    String range = spec instanceof OptionSpec.IntOption i && (i.min() != Long.MIN_VALUE || i.max() != Long.MAX_VALUE)
                            ? ", range [" + i.min() + ", " + i.max() + "]" : "";
                    return spec.help() + "\n" + spec.name() + ": " + typeOf(spec) + ", default "
                            + spec.defaultValue().toml() + range + "; now " + o.source();
                }

                public String toString() {
                    return "      " + spec.name() + " = " + value().toml() + (changes.containsKey(spec.name()) ? "  *" : "");
                }
            };
        }

        private static String typeOf(OptionSpec s) {
            return switch (s) {
                case OptionSpec.BoolOption b -> "bool";
                case OptionSpec.IntOption i -> "int";
                case OptionSpec.StringOption t -> "string";
            };
        }
    }
}
