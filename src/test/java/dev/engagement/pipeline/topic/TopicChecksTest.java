package dev.engagement.pipeline.topic;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The rules an existing topic is held to, one at a time. */
class TopicChecksTest {
    private static final Map<String, Topics.TopicSpec> SPECS = Topics.all(6, (short) 1).stream()
            .collect(java.util.stream.Collectors.toMap(Topics.TopicSpec::name, t -> t));

    @Test
    void topicsAsCreatedHaveNoProblem() {
        for (Topics.TopicSpec spec : SPECS.values()) {
            String policy = spec.compacted() ? "compact" : "delete";
            String retention = spec.config().getOrDefault("retention.ms", "604800000");
            assertThat(TopicAdmin.problems(spec, spec.partitions(), policy, retention)).as(spec.name()).isEmpty();
        }
    }

    @Test
    void aKeyedTopicWithAnotherPartitionCountIsNamed() {
        assertThat(TopicAdmin.problems(SPECS.get(Topics.ENRICHED), 3, "delete", "-1"))
                .singleElement().asString().contains("engagement.enriched has 3 partitions, the pipeline needs 6");
        assertThat(TopicAdmin.problems(SPECS.get(Topics.SOURCE_POSITION), 2, "compact", null))
                .singleElement().asString().contains("read whole, from partition 0");
    }

    @Test
    void compactionOnAnEventTopicAndDeletionOnACompactedOneAreRefused() {
        assertThat(TopicAdmin.problems(SPECS.get(Topics.CDC_EVENTS), 6, "compact", "-1"))
                .singleElement().asString().contains("cleanup.policy=compact, it must be delete");
        assertThat(TopicAdmin.problems(SPECS.get(Topics.HTTP_DELIVERED), 1, "compact,delete", "604800000"))
                .singleElement().asString().contains("cleanup.policy=compact,delete, it must be compact");
        assertThat(TopicAdmin.problems(SPECS.get(Topics.CDC_CONTENT), 6, "delete", "604800000"))
                .singleElement().asString().contains("it must be compact");
    }

    @Test
    void retentionBelowTheMinimumIsRefusedAndInfiniteIsFine() {
        assertThat(TopicAdmin.problems(SPECS.get(Topics.ENRICHED), 6, "delete", "3600000"))
                .singleElement().asString().contains("retention.ms=3600000 (PT1H), shorter than the minimum 86400000");
        assertThat(TopicAdmin.problems(SPECS.get(Topics.HTTP_DLQ), 6, "delete", "86400000"))
                .singleElement().asString().contains("sink.http.dlq").contains("minimum 604800000 (PT168H)");
        assertThat(TopicAdmin.problems(SPECS.get(Topics.ENRICHED), 6, "delete", "-1")).isEmpty();
        assertThat(TopicAdmin.problems(SPECS.get(Topics.ENRICHED), 6, "delete", "86400000")).isEmpty();
    }

    @Test
    void deadLettersAndInvalidEventsAreCreatedWithAnExplicitRetention() {
        assertThat(SPECS.get(Topics.HTTP_DLQ).config()).containsEntry("retention.ms", "2592000000");
        assertThat(SPECS.get(Topics.INVALID).config()).containsEntry("retention.ms", "1209600000");
    }
}
