package dev.kiln.builder.manifest;

/**
 * A typed, documented configuration option a library declares ({@code [options.NAME]}). Each
 * becomes {@code #define CONFIG_NAME value} in the generated config header.
 */
public sealed interface OptionSpec {
    String name();

    String help();

    /** The value used when nobody sets it. */
    OptionValue defaultValue();

    /** Checks a value for this option; returns null when it is acceptable, else why not. */
    String check(OptionValue value);

    /** The type and, for an int, its range, as a reader would write them: {@code int in 1..1000}. */
    String typeAndRange();

    record BoolOption(String name, boolean dflt, String help) implements OptionSpec {
        @Override
        public OptionValue defaultValue() {
            return new OptionValue.Bool(dflt);
        }

        @Override
        public String check(OptionValue value) {
            return value instanceof OptionValue.Bool ? null : "expects true or false, got " + value.describe();
        }

        @Override
        public String typeAndRange() {
            return "bool";
        }
    }

    record IntOption(String name, long dflt, long min, long max, String help) implements OptionSpec {
        @Override
        public OptionValue defaultValue() {
            return new OptionValue.Int(dflt);
        }

        @Override
        public String check(OptionValue value) {
            if (!(value instanceof OptionValue.Int(long v))) return "expects an integer, got " + value.describe();
            if (v < min || v > max) return "value " + v + " is out of range [" + min + ", " + max + "]";
            return null;
        }

        @Override
        public String typeAndRange() {
            // No range in the manifest leaves the whole 64-bit range, which is no help to print.
            return min == Long.MIN_VALUE && max == Long.MAX_VALUE ? "int (64-bit)" : "int in " + min + ".." + max;
        }
    }

    record StringOption(String name, String dflt, String help) implements OptionSpec {
        @Override
        public OptionValue defaultValue() {
            return new OptionValue.Str(dflt);
        }

        @Override
        public String check(OptionValue value) {
            return value instanceof OptionValue.Str ? null : "expects a string, got " + value.describe();
        }

        @Override
        public String typeAndRange() {
            return "string";
        }
    }
}
