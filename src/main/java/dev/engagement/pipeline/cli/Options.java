package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.config.Durations;
import picocli.CommandLine;

import java.time.Duration;

/** Checks of option values that picocli's types cannot express; each failure names the flag. */
final class Options {
    private Options() {
    }

    static void between(CommandLine.Model.CommandSpec spec, String flag, double value, double min, double max) {
        if (value < min || value > max) {
            throw new CommandLine.ParameterException(spec.commandLine(), flag + " must be between "
                    + plain(min) + " and " + plain(max) + ", but was " + plain(value));
        }
    }

    static Duration duration(CommandLine.Model.CommandSpec spec, String flag, String text) {
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), flag + " " + e.getMessage() + ", but was '"
                    + text + "'");
        }
    }

    static void oneOf(CommandLine.Model.CommandSpec spec, String flag, String value, String... allowed) {
        if (!java.util.List.of(allowed).contains(value)) {
            throw new CommandLine.ParameterException(spec.commandLine(), flag + " must be one of "
                    + String.join(", ", allowed) + ", but was '" + value + "'");
        }
    }

    private static String plain(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
