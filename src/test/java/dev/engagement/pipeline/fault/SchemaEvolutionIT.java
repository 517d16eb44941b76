package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.FaultSeeds;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.Sql;
import dev.engagement.pipeline.testing.TestServices;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.admin.Admin;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 23: the source tables change under a running pipeline. Columns added to either table
 * while events flow (and filled) change nothing downstream: the oracle is exact. A column the
 * pipeline needs that is retyped or dropped stops capture with an error naming it, in /health and
 * the log, before any row of the new shape becomes an event (no {@code malformed}, Redis does not
 * move); the README's way back (restore the column, re-create the source position) then ends on
 * the exact oracle. Odd seeds run the native source, even ones Debezium.
 */
class SchemaEvolutionIT {
    private static String source(long seed) {
        return seed % 2 == 1 ? "native" : "debezium";
    }

    @FaultSeeds(value = {22001, 22002, 22011, 22012, 22021}, quick = 1)
    void columnsAddedWhileEventsFlowChangeNothing(long seed) throws Exception {
        String source = source(seed);
        try (Scenario s = Scenario.create("schema_add", seed, Map.of("SOURCE", source))) {
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

    /** A needed column changed (per seed: retyped or dropped), then restored. */
    private record Change(String alter, String insert, String expected, String restore) {
    }

    private static final List<Change> CHANGES = List.of(
            new Change("ALTER TABLE engagement_events ALTER COLUMN device TYPE integer USING length(device)",
                    "INSERT INTO engagement_events (content_id, user_id, event_type, event_ts, duration_ms, device) "
                            + "VALUES ('%s', gen_random_uuid(), 'play', now(), 1000, 7)",
                    "engagement_events.device is integer: the pipeline needs it as text",
                    "ALTER TABLE engagement_events ALTER COLUMN device TYPE text"),
            new Change("ALTER TABLE engagement_events DROP COLUMN user_id",
                    "INSERT INTO engagement_events (content_id, event_type, event_ts, duration_ms, device) "
                            + "VALUES ('%s', 'play', now(), 1000, 'tv')",
                    "engagement_events.user_id is missing (dropped or renamed)",
                    "ALTER TABLE engagement_events ADD COLUMN user_id UUID"));

    @FaultSeeds(value = {22003, 22004, 22013, 22014, 22023}, quick = 1)
    void aNeededColumnChangedStopsCaptureNamingIt(long seed) throws Exception {
        String source = source(seed);
        try (Scenario s = Scenario.create("schema_break", seed, Map.of("SOURCE", source))) {
            Change change = CHANGES.get(s.random.nextInt(CHANGES.size()));
            s.startLoad(300, 2);
            PipelineProcess pipeline = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= 300);
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            long counted = s.redisEvents();
            UUID content;
            try (Sql sql = new Sql(s.config.postgres())) {
                content = sql.content("Before the change", "podcast", 900);
                sql.execute(change.alter());
                for (int i = 0; i < 5; i++) {
                    sql.execute(String.format(change.insert(), content));
                }
            }
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() ->
                    assertThat(s.get(s.port(), "/health").body()).contains(change.expected()));
            assertThat(pipeline.output()).contains(change.expected());
            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
                    .until(() -> s.redisEvents() == counted);
            assertThat(s.metric(s.port(), "pipeline_processor_records_total", "reason=\"malformed\"")).isZero();

            // the README's way back: restore the column, re-create the source position, a new snapshot
            try (Sql sql = new Sql(s.config.postgres())) {
                sql.execute(change.restore());
                sql.event(content, "finish", 2000);
            }
            assertThat(pipeline.terminate(60)).isIn(0, 143);
            TestServices.dropSlot(s.config.postgres().slotName());
            String position = "native".equals(source) ? Topics.SOURCE_POSITION : Topics.SOURCE_OFFSETS;
            try (Admin admin = Admin.create(KafkaClients.admin(s.config))) {
                admin.deleteTopics(List.of(position)).all().get(30, TimeUnit.SECONDS);
                await().atMost(Duration.ofSeconds(30)).until(() ->
                        !admin.listTopics().names().get(10, TimeUnit.SECONDS).contains(position));
            }
            s.start();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            s.report("faults", change.alter() + " while running (" + source + " source), then restored and a new "
                    + "snapshot");
        }
    }
}
