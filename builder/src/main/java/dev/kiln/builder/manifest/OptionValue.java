package dev.kiln.builder.manifest;

/** A configuration value, as written in a manifest or on the command line. */
public sealed interface OptionValue {
    /** How it reads in an error message. */
    String describe();

    /** Its C spelling in the config header. */
    String c();

    /** Its TOML spelling, for writing it back into an app manifest. */
    String toml();

    record Bool(boolean value) implements OptionValue {
        public String describe() {
            return Boolean.toString(value);
        }

        public String c() {
            return value ? "1" : "0";
        }

        public String toml() {
            return Boolean.toString(value);
        }
    }

    record Int(long value) implements OptionValue {
        public String describe() {
            return Long.toString(value);
        }

        public String c() {
            return value == Long.MIN_VALUE ? "(-9223372036854775807LL - 1)" : value + "LL";
        }

        public String toml() {
            return Long.toString(value);
        }
    }

    record Str(String value) implements OptionValue {
        public String describe() {
            return "\"" + value + "\"";
        }

        public String c() {
            return quote(value, true);
        }

        public String toml() {
            return quote(value, false);
        }

        private static String quote(String s, boolean c) {
            StringBuilder b = new StringBuilder("\"");
            for (char ch : s.toCharArray()) {
                switch (ch) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\t' -> b.append("\\t");
                    default -> {
                        if (ch < 0x20 || ch == 0x7f) b.append(c ? String.format("\\%03o", (int) ch) : String.format("\\u%04x", (int) ch));
                        else b.append(ch);
                    }
                }
            }
            return b.append('"').toString();
        }
    }

    /** Parses a command-line value for {@code spec}: true/false, an integer, or any text for strings. */
    static OptionValue parse(OptionSpec spec, String text) {
        return switch (spec) {
            case OptionSpec.BoolOption b -> switch (text) {
                case "true", "y", "yes", "1" -> new Bool(true);
                case "false", "n", "no", "0" -> new Bool(false);
                default -> new Str(text);
            };
            case OptionSpec.IntOption i -> {
                try {
                    yield new Int(Long.decode(text.strip()));
                } catch (NumberFormatException e) {
                    yield new Str(text);
                }
            }
            case OptionSpec.StringOption s -> new Str(text);
        };
    }
}
