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

    record BoolOption(String name, boolean dflt, String help) implements OptionSpec {
        @Override
        public OptionValue defaultValue() {
            return new OptionValue.Bool(dflt);
        }

        @Override
        public String check(OptionValue value) {
            return value instanceof OptionValue.Bool ? null : "expects true or false, got " + value.describe();
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
    }
}
