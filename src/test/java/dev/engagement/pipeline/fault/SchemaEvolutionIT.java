package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.Oracle;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.Sql;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 23: the source tables change under a running pipeline. Columns added to either table
 * while events flow (and filled) change nothing downstream: the oracle is exact. A column the
 * pipeline needs that is retyped or dropped stops capture with an error naming it, in /health and
 * the log, before any row of the new shape becomes an event: no {@code malformed}, no wrong count.
 */
class SchemaEvolutionIT {
    @Test
    void columnsAddedWhileEventsFlowChangeNothingNative() throws Exception {
        columnsAddedWhileEventsFlowChangeNothing("native", 22001);
    }

    @Test
    void columnsAddedWhileEventsFlowChangeNothingDebezium() throws Exception {
        columnsAddedWhileEventsFlowChangeNothing("debezium", 22002);
    }

    private static void columnsAddedWhileEventsFlowChangeNothing(String source, long seed) throws Exception {
        try (Scenario s = Scenario.create("schema_add_" + source, seed, Map.of("SOURCE", source))) {
            s.startLoad(300, 2);
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= 300);
            try (Sql sql = new Sql(s.config.postgres())) {
                sql.execute("ALTER TABLE engagement_events ADD COLUMN campaign TEXT DEFAULT 'spring'");
                sql.execute("ALTER TABLE content ADD COLUMN author TEXT, ADD COLUMN rating NUMERIC(3,1)");
                UUID content = sql.content("Added columns", "video", 600);
                sql.execute("UPDATE content SET author = 'A. Writer', rating = 4.5 WHERE id = '" + content + "'");
                for (int i = 0; i < 20; i++) {
                    sql.execute("INSERT INTO engagement_events (content_id, user_id, event_type, event_ts, duration_ms, "
                            + "device, campaign) VALUES ('" + content + "', gen_random_uuid(), 'play', now(), " + (i * 250)
                            + ", 'tv', 'autumn " + i + "')");
                }
            }
            long before = s.redisEvents();
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > before + 300);
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            assertThat(s.metric(s.port(), "pipeline_processor_records_total", "reason=\"malformed\"")).isZero();
            s.report("faults", "ADD COLUMN on both tables while events flow (" + source + " source)");
        }
    }

    @Test
    void aRetypedColumnStopsCaptureNamingItNative() throws Exception {
        neededColumnChangedStopsCapture("native", 22003,
                "ALTER TABLE engagement_events ALTER COLUMN device TYPE integer USING length(device)",
                "INSERT INTO engagement_events (content_id, user_id, event_type, event_ts, duration_ms, device) "
                        + "VALUES ('%s', gen_random_uuid(), 'play', now(), 1000, 7)",
                "engagement_events.device is integer: the pipeline needs it as text");
    }

    @Test
    void aDroppedColumnStopsCaptureNamingItDebezium() throws Exception {
        neededColumnChangedStopsCapture("debezium", 22004,
                "ALTER TABLE engagement_events DROP COLUMN user_id",
                "INSERT INTO engagement_events (content_id, event_type, event_ts, duration_ms, device) "
                        + "VALUES ('%s', 'play', now(), 1000, 'tv')",
                "engagement_events.user_id is missing (dropped or renamed)");
    }

    private static void neededColumnChangedStopsCapture(String source, long seed, String alter, String insert,
                                                        String expected) throws Exception {
        try (Scenario s = Scenario.create("schema_break_" + source, seed, Map.of("SOURCE", source))) {
            s.startLoad(300, 2);
            PipelineProcess pipeline = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= 300);
            s.stopLoad();
            Oracle.Truth truth = s.awaitExact(s.port(), Duration.ofSeconds(120));
            long counted = s.redisEvents();
            try (Sql sql = new Sql(s.config.postgres())) {
                UUID content = sql.content("Before the change", "podcast", 900);
                sql.execute(alter);
                for (int i = 0; i < 5; i++) {
                    sql.execute(String.format(insert, content));
                }
            }
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() ->
                    assertThat(s.get(s.port(), "/health").body()).contains(expected));
            assertThat(pipeline.output()).contains(expected);
            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
                    .until(() -> s.redisEvents() == counted);
            assertThat(s.metric(s.port(), "pipeline_processor_records_total", "reason=\"malformed\"")).isZero();
            s.report("faults", alter + " while running (" + source + " source)");
            s.report("events_before_change", truth.validIds().size());
        }
    }
}
