package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.source.SlotMonitor;
import dev.engagement.pipeline.testing.Oracle;
import dev.engagement.pipeline.testing.TopicReader;
import dev.engagement.pipeline.topic.Topics;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.Sql;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 10: the pipeline is down for minutes while PostgreSQL takes writes: the slot's lag rises,
 * and drains after a clean restart. And a lost slot fails loudly instead of skipping changes.
 */
class DowntimeIT {

    private static Set<Long> enrichedIds(Scenario s) throws Exception {
        Set<Long> ids = new TreeSet<>();
        for (var r : TopicReader.readAll(s.config, Topics.ENRICHED)) {
            ids.add(Json.MAPPER.readTree(r.value()).path("event_id").asLong());
        }
        return ids;
    }
    private static final Duration DOWN = Duration.ofSeconds(Long.getLong("fault.downtime.seconds", 90));

    @FaultSeeds(value = {10001, 10002, 10003, 10004, 10005}, quick = 1)
    void aPipelineDownForMinutesCatchesUpAndCountsEverythingOnce(long seed) throws Exception {
        try (Scenario s = Scenario.create("downtime", seed)) {
            s.startLoad(300, 2);
            PipelineProcess pipeline = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > 1000);
            assertThat(pipeline.terminate(60)).as("a clean stop").isIn(0, 143);
            assertThat(pipeline.output()).contains("stopped");
            Instant down = Instant.now();
            SlotMonitor slot = new SlotMonitor(s.config.postgres());
            long lagAtStop = slot.read().orElseThrow().lagBytes();
            s.holdFor(DOWN, down);
            long lagAfter = slot.read().orElseThrow().lagBytes();
            assertThat(lagAfter).as("the slot holds the WAL written while the pipeline is down").isGreaterThan(lagAtStop);

            Instant restart = Instant.now();
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(240));
            Duration drained = Duration.between(restart, Instant.now());
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(s.metric(s.port(), "pipeline_source_slot_lag_bytes", null)).isBetween(0.0, 1024.0 * 1024));
            s.report("faults", "clean stop (SIGTERM), " + DOWN.toSeconds() + " s of writes at 300 events/s, restart");
            s.report("slot_lag_bytes_at_restart", lagAfter);
            s.report("restart_to_caught_up_ms", drained.toMillis());
        }
    }

    @FaultSeeds(value = {11001, 11002, 11003, 11004, 11005}, quick = 1)
    void aLostSlotFailsLoudlyAndSkipsNothingSilently(long seed) throws Exception {
        try (Scenario s = Scenario.create("lost_slot", seed)) {
            s.startLoad(100, 0);
            PipelineProcess pipeline = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > 300);
            assertThat(pipeline.terminate(60)).isIn(0, 143);
            s.stopLoad();
            long lastBeforeLoss;
            try (Sql sql = new Sql(s.config.postgres())) {
                lastBeforeLoss = sql.count("SELECT max(id) FROM engagement_events");
                sql.execute("SELECT pg_drop_replication_slot('" + s.config.postgres().slotName() + "')");
            }
            s.startLoad(100, 0);
            PipelineProcess again = s.start();
            await().atMost(Duration.ofSeconds(90)).ignoreExceptions().untilAsserted(() -> {
                var health = s.get(s.port(), "/health");
                assertThat(health.statusCode()).isEqualTo(503);
                assertThat(health.body()).contains("\"status\":\"unhealthy\"").contains("\"postgres\":\"disconnected\"")
                        .contains("replication slot");
            });
            assertThat(again.output()).contains("change data capture failed: replication slot '"
                    + s.config.postgres().slotName() + "' does not exist");
            s.stopLoad();
            // nothing committed after the loss is captured from a new position...
            List<Long> capturedIds = new ArrayList<>();
            for (var r : TopicReader.readAll(s.config, Topics.CDC_EVENTS)) {
                capturedIds.add(Json.MAPPER.readTree(r.value()).path("after").path("id").asLong());
            }
            assertThat(capturedIds).allSatisfy(id -> assertThat(id).isLessThanOrEqualTo(lastBeforeLoss));
            // ...what was captured is applied exactly once, and the gap stays visible rather than papered over
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() == enrichedIds(s).size());
            try (Sql sql = new Sql(s.config.postgres())) {
                assertThat(sql.count("SELECT count(*) FROM engagement_events WHERE " + Oracle.VALID))
                        .isGreaterThan(s.redisEvents());
            }
            assertThat(s.get(s.port(), "/health").statusCode()).isEqualTo(503);
            s.report("faults", "replication slot dropped while the pipeline was stopped; restart");
        }
    }
}
