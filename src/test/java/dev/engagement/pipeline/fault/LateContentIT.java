package dev.engagement.pipeline.fault;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.Sql;
import dev.engagement.pipeline.testing.TopicReader;
import dev.engagement.pipeline.topic.Topics;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 9: events whose content row arrives late wait for it and count; events whose content
 * never arrives go to engagement.invalid as unknown_content after the grace period (5 s here).
 * The foreign key is dropped for this scenario, as in a source that does not enforce it.
 */
class LateContentIT {

    @FaultSeeds(value = {9001, 21, 512, 31415, 2718}, quick = 1)
    void lateContentIsWaitedForAndMissingContentEndsUnknown(long seed) throws Exception {
        try (Scenario s = Scenario.create("late_content", seed, java.util.Map.of("CONTENT_GRACE_PERIOD", "5s"))) {
            try (Sql sql = new Sql(s.config.postgres())) {
                sql.execute("ALTER TABLE engagement_events DROP CONSTRAINT engagement_events_content_id_fkey");
            }
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            UUID late = UUID.randomUUID();
            UUID never = UUID.randomUUID();
            List<Long> lateIds = new ArrayList<>();
            Set<Long> neverIds = new TreeSet<>();
            try (Sql sql = new Sql(s.config.postgres())) {
                for (int i = 0; i < 20; i++) {
                    lateIds.add(sql.event(late, i % 2 == 0 ? "play" : "click", i % 2 == 0 ? 1000 * i : null));
                    neverIds.add(sql.event(never, "play", 500));
                }
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                        s.metric(s.port(), "pipeline_processor_pending_events", null)).isEqualTo(40.0));
                try (PreparedStatement ps = sql.connection().prepareStatement("INSERT INTO content (id, slug, title, "
                        + "content_type, length_seconds, publish_ts) VALUES (?, 'late', 'Arrived late', 'video', 60, now())")) {
                    ps.setObject(1, late);
                    ps.executeUpdate();
                }
            }
            s.awaitExact(s.port(), Duration.ofSeconds(60));
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                Set<Long> unknown = new TreeSet<>();
                for (var r : TopicReader.readAll(s.config, Topics.INVALID)) {
                    JsonNode n = Json.MAPPER.readTree(r.value());
                    if ("unknown_content".equals(n.get("reason").asText())) {
                        unknown.add(n.get("row").get("id").asLong());
                    }
                }
                assertThat(unknown).isEqualTo(neverIds);
            });
            assertThat(s.receiver.deliveredEventIds()).containsAll(lateIds).doesNotContainAnyElementsOf(neverIds);
            s.report("faults", "20 events before their content row (it arrives later), 20 whose content never arrives");
        }
    }
}
