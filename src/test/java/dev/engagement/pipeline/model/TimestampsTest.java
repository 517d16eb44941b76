package dev.engagement.pipeline.model;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The hand-written fast paths agree with java.time on every form they handle. */
class TimestampsTest {
    private static final DateTimeFormatter FIXED =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter MINUTE = DateTimeFormatter.ofPattern("yyyyMMddHHmm").withZone(ZoneOffset.UTC);

    @Test
    void agreesWithJavaTimeOnRandomInstants() {
        Random random = new Random(11);
        for (int i = 0; i < 200_000; i++) {
            long secs = random.nextLong(-62_135_596_800L, 253_402_300_799L); // years 0001 to 9999
            int nanos = switch (i % 4) {
                case 0 -> 0;
                case 1 -> random.nextInt(1000) * 1_000_000;
                case 2 -> random.nextInt(1_000_000) * 1000;
                default -> random.nextInt(1_000_000_000);
            };
            Instant t = Instant.ofEpochSecond(secs, nanos);
            assertThat(Timestamps.iso(t)).isEqualTo(t.toString());
            assertThat(Timestamps.parse(t.toString())).isEqualTo(t);
            assertThat(Timestamps.fixedMillis(t)).isEqualTo(FIXED.format(t));
            assertThat(Timestamps.minute(t)).isEqualTo(MINUTE.format(t));
        }
    }

    @Test
    void readsEveryFractionWidthAndFallsBackForOffsets() {
        assertThat(Timestamps.parse("2025-08-10T14:30:20.1Z")).isEqualTo(Instant.parse("2025-08-10T14:30:20.100Z"));
        assertThat(Timestamps.parse("2025-08-10T14:30:20.12345Z")).isEqualTo(Instant.parse("2025-08-10T14:30:20.123450Z"));
        assertThat(Timestamps.parse("2025-08-10T16:30:20+02:00")).isEqualTo(Instant.parse("2025-08-10T14:30:20Z"));
        assertThat(Timestamps.parseUtc("2025-02-30T14:30:20Z")).as("no 30 February").isNull();
        assertThat(Timestamps.parseUtc("2025-08-10 14:30:20Z")).isNull();
    }
}
