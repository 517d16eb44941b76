package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.FaultSeeds;
import dev.engagement.pipeline.testing.Sql;
import org.postgresql.PGConnection;

import java.io.StringReader;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 21: the native source killed (halt, as kill -9) inside its snapshot, then between a
 * Kafka transaction's last send and its commit, then inside a 100,000-row COPY (one PostgreSQL
 * transaction, one Kafka transaction), then between a commit and the confirmation to PostgreSQL,
 * at points drawn from the seed, events flowing all along: afterwards the CDC topic holds every
 * committed event exactly once (no duplicate at all, snapshot reads included) and the full oracle
 * holds.
 */
class NativeSourceCrashIT {

    static final int COPY_ROWS = 100_000;

    @FaultSeeds(value = {21001, 21002, 21003, 21004, 21005}, quick = 1)
    void everyCommittedRowOnceAfterKillsInsideSnapshotAndAroundCommits(long seed) throws Exception {
        Random random = new Random(seed);
        try (Scenario s = Scenario.create("native_source_crash", seed, Map.of("SOURCE", "native"))) {
            s.startLoad(300, 2);
            List<String> points = List.of("source.snapshot-row@" + (20 + random.nextInt(200)),
                    "source.after-send@" + (5 + random.nextInt(40)),
                    "source.stream-row@" + (5_000 + random.nextInt(90_000)),
                    "source.after-commit@" + (5 + random.nextInt(40)));
            for (String point : points) {
                if (point.startsWith("source.stream-row")) {
                    copyEvents(s, COPY_ROWS); // the next process is killed inside this one transaction
                }
                PipelineProcess doomed = s.start(Map.of("PIPELINE_TEST_FAULT", point + ":halt"));
                assertThat(doomed.waitFor(120)).as(doomed.output()).isEqualTo(137);
                assertThat(doomed.output()).contains("fault point " + point.substring(0, point.indexOf('@')));
            }
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(60));
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            long duplicates = s.cdcDuplicates();
            s.report("copy_rows", COPY_ROWS);
            s.report("faults", "halt at " + String.join(", then ", points) + " (as kill -9), a restart after each");
            s.report("cdc_duplicates", duplicates);
            assertThat(duplicates).as("every committed row once on the CDC topic, snapshot reads included").isZero();
        }
    }

    /** One COPY of {@code rows} events, one PostgreSQL transaction, for content that exists. */
    private static void copyEvents(Scenario s, int rows) throws Exception {
        try (Sql sql = new Sql(s.config.postgres())) {
            UUID content = sql.content("Copied in bulk", "video", 600);
            StringBuilder copy = new StringBuilder(rows * 100);
            for (int i = 0; i < rows; i++) {
                copy.append(content).append('\t').append(UUID.randomUUID()).append('\t')
                        .append(i % 2 == 0 ? "play" : "finish").append('\t').append("2026-12-01 10:00:00.")
                        .append(i % 1000).append("+00\t").append(i % 5 == 0 ? "\\N" : Integer.toString(i % 90_000))
                        .append("\tweb\t{\"i\": ").append(i).append("}\n");
            }
            sql.connection().unwrap(PGConnection.class).getCopyAPI().copyIn("COPY engagement_events (content_id, "
                    + "user_id, event_type, event_ts, duration_ms, device, raw_payload) FROM STDIN",
                    new StringReader(copy.toString()));
        }
    }
}
