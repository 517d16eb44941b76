package dev.engagement.pipeline;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** Progress of long commands, on a clock moved by hand: a bar on a terminal, plain lines elsewhere. */
class ProgressTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    private String printed() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aPlainLineEveryFiveSecondsWithTotalRateAndTimeLeft() {
        Progress p = new Progress("backfill", "events", 50_000, null, out, false, now::get);
        p.accept(6_000);
        advance(Duration.ofSeconds(2));
        p.tick();
        assertThat(printed()).as("not yet: every 5 s").isEmpty();
        advance(Duration.ofSeconds(3));
        p.tick();
        assertThat(printed()).isEqualTo("backfill: 6,000 of 50,000 events (12 %), 1,200/s, 0:37 left\n");
        p.accept(12_000);
        advance(Duration.ofSeconds(1));
        p.tick();
        assertThat(printed().lines()).hasSize(1);
        p.close();
        assertThat(printed().lines()).as("no bar to finish off a terminal").hasSize(1);
    }

    @Test
    void aBarRedrawnInPlaceOnATerminalAndFinishedWithANewline() {
        Progress p = new Progress("generate", "events", 1_000, null, out, true, now::get);
        p.accept(250);
        advance(Duration.ofMillis(500));
        p.tick();
        assertThat(printed()).isEqualTo("\rgenerate [######------------------]  25 % 250/1,000 events 500/s ETA 0:02\033[K");
        p.accept(1_000);
        advance(Duration.ofMillis(1500));
        p.close();
        assertThat(printed()).endsWith("\rgenerate [########################] 100 % 1,000/1,000 events 500/s ETA 0:00\033[K"
                + System.lineSeparator());
    }

    @Test
    void timeIsTheMeasureWhenOnlyALengthIsKnown() {
        Progress p = new Progress("generate", "events", 0, Duration.ofMinutes(2), out, false, now::get);
        p.accept(3_000);
        advance(Duration.ofSeconds(30));
        assertThat(p.line(now.get())).isEqualTo("generate: 3,000 events (25 %), 100/s, 1:30 left");
    }

    @Test
    void aCountAloneWhenNothingElseIsKnownAndTheTotalOnceItIs() {
        Progress p = new Progress("dlq replay", "events", 0, null, out, false, now::get);
        p.accept(40);
        advance(Duration.ofSeconds(4));
        assertThat(p.line(now.get())).isEqualTo("dlq replay: 40 events, 10/s");
        p.total(80);
        assertThat(p.line(now.get())).isEqualTo("dlq replay: 40 of 80 events (50 %), 10/s, 0:04 left");
    }
}
