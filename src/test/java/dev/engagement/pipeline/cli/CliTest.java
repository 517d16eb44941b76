package dev.engagement.pipeline.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

class CliTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        return Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "demo", "run", "db", "db init", "generate", "warehouse", "warehouse query", "kafka", "test", "dlq",
            "dlq list", "dlq replay", "backfill", "bench"})
    void everyCommandHasHelp(String command) {
        String[] args = (command.isEmpty() ? "--help" : command + " --help").split(" ");
        assertThat(run(args)).isZero();
        assertThat(out.toString()).startsWith("Usage: pipeline");
    }

    @Test
    void anUnknownFlagIsAOneLineErrorNamingItWithExitCode2() {
        assertThat(run("run", "--colour", "blue")).isEqualTo(2);
        assertThat(err.toString().strip()).doesNotContain("\n").contains("--colour").startsWith("error:");
    }

    @Test
    void aBadValueIsAOneLineErrorNamingTheFlag() {
        assertThat(run("generate", "--rate", "fast", "--count", "10")).isEqualTo(2);
        assertThat(err.toString().strip()).doesNotContain("\n").contains("--rate").contains("fast");
    }

    @Test
    void anUnknownComponentNamesTheFlag() {
        assertThat(run("run", "--components", "source,sparkles")).isEqualTo(2);
        assertThat(err.toString().strip()).doesNotContain("\n").contains("--components").contains("sparkles");
    }

    @Test
    void generateNeedsACountOrADuration() {
        assertThat(run("generate", "--rate", "10")).isEqualTo(2);
        assertThat(err.toString()).contains("--count").contains("--duration");
        err.getBuffer().setLength(0);
        assertThat(run("generate", "--count", "5", "--duration", "5s")).isEqualTo(2);
    }
}
