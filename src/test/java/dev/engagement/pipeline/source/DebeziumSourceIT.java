package dev.engagement.pipeline.source;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.model.CdcCodec;
import dev.engagement.pipeline.model.CdcEvent;
import dev.engagement.pipeline.model.ChangeOp;
import dev.engagement.pipeline.model.EngagementRow;
import dev.engagement.pipeline.testing.Sql;
import dev.engagement.pipeline.testing.TestServices;
import dev.engagement.pipeline.testing.TopicReader;
import dev.engagement.pipeline.topic.TopicAdmin;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class DebeziumSourceIT {
    private static EmbeddedKafka kafka;
    private static PipelineConfig config;

    @BeforeAll
    static void startServices() throws Exception {
        kafka = TestServices.kafka();
        config = TestServices.config(TestServices.env("source_it", kafka));
        Schema.init(config.postgres());
        TopicAdmin.ensureTopics(config);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    @Test
    void capturesExistingRowsThenStreamsNewOnesKeyedByContentId() throws Exception {
        UUID before;
        try (Sql sql = new Sql(config.postgres())) {
            before = sql.content("Existing", "video", 600);
            sql.event(before, "play", 1000);
        }
        try (DebeziumSource source = new DebeziumSource(config, new SimpleMeterRegistry())) {
            source.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> eventRecords().size() == 1);

            UUID after;
            try (Sql sql = new Sql(config.postgres())) {
                after = sql.content("Streamed", "podcast", null);
                sql.event(after, "click", null);
                sql.execute("BEGIN; INSERT INTO engagement_events (content_id, event_type, event_ts) "
                        + "VALUES ('" + after + "', 'play', now()); ROLLBACK");
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> eventRecords().size() == 2);
            List<ConsumerRecord<String, byte[]>> events = eventRecords();
            CdcEvent<EngagementRow> first = CdcCodec.readEvent(events.get(0).value());
            CdcEvent<EngagementRow> second = CdcCodec.readEvent(events.get(1).value());
            assertThat(first.op()).isEqualTo(ChangeOp.READ);
            assertThat(first.snapshot()).isTrue();
            assertThat(events.get(0).key()).isEqualTo(before.toString());
            assertThat(second.op()).isEqualTo(ChangeOp.CREATE);
            assertThat(second.snapshot()).isFalse();
            assertThat(events.get(1).key()).isEqualTo(after.toString());
            assertThat(second.after().durationMs()).isNull();
            assertThat(second.after().eventType()).isEqualTo("click");
            assertThat(dev.engagement.pipeline.model.Json.MAPPER.readTree(events.get(1).value()).get("after")
                    .get("raw_payload").get("test").asBoolean()).as("jsonb embedded as JSON").isTrue();
            assertThat(second.sourceTsMs()).isEqualTo(events.get(1).timestamp());
            assertThat(TopicReader.readAll(config, Topics.CDC_CONTENT)).extracting(ConsumerRecord::key)
                    .containsExactlyInAnyOrder(before.toString(), after.toString());
        }
    }

    private static List<ConsumerRecord<String, byte[]>> eventRecords() {
        List<ConsumerRecord<String, byte[]>> all = new java.util.ArrayList<>(TopicReader.readAll(config, Topics.CDC_EVENTS));
        all.sort(java.util.Comparator.comparingLong(r -> {
            try {
                return CdcCodec.readEvent(r.value()).after().id();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }));
        return all;
    }
}
