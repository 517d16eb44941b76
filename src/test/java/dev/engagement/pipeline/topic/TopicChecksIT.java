package dev.engagement.pipeline.topic;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.testing.TestServices;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Topics an operator made by hand, on a real broker: every wrong one is named at start, and nothing is changed. */
class TopicChecksIT {
    @Test
    void wrongTopicsAreReportedTogetherAndTheStartIsRefused() throws Exception {
        try (EmbeddedKafka kafka = TestServices.kafka()) {
            PipelineConfig config = TestServices.config(Map.of("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers()));
            try (Admin admin = Admin.create(KafkaClients.admin(config))) {
                admin.createTopics(List.of(
                        new NewTopic(Topics.ENRICHED, 3, (short) 1),
                        new NewTopic(Topics.CDC_CONTENT, 6, (short) 1).configs(Map.of("cleanup.policy", "delete")),
                        new NewTopic(Topics.CDC_EVENTS, 6, (short) 1).configs(Map.of("retention.ms", "3600000"))))
                        .all().get(30, TimeUnit.SECONDS);
            }
            assertThatThrownBy(() -> TopicAdmin.ensureTopics(config))
                    .hasMessageContaining("engagement.enriched has 3 partitions, the pipeline needs 6")
                    .hasMessageContaining("pipeline.public.content has cleanup.policy=delete, it must be compact")
                    .hasMessageContaining("pipeline.public.engagement_events has retention.ms=3600000")
                    .hasMessageNotContaining("sink.http.dlq");
            try (Admin admin = Admin.create(KafkaClients.admin(config))) {
                assertThat(admin.describeTopics(List.of(Topics.ENRICHED)).allTopicNames().get(30, TimeUnit.SECONDS)
                        .get(Topics.ENRICHED).partitions()).as("reported, not changed").hasSize(3);
                var dlq = new ConfigResource(ConfigResource.Type.TOPIC, Topics.HTTP_DLQ);
                assertThat(admin.describeConfigs(List.of(dlq)).all().get(30, TimeUnit.SECONDS).get(dlq)
                        .get("retention.ms").value()).as("the missing ones were created as specified").isEqualTo("2592000000");
            }
        }
    }

    @Test
    void topicsItCreatedPassItsOwnCheck() {
        try (EmbeddedKafka kafka = TestServices.kafka()) {
            PipelineConfig config = TestServices.config(Map.of("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers()));
            TopicAdmin.ensureTopics(config);
            TopicAdmin.ensureTopics(config); // again, with every topic there
        }
    }
}
