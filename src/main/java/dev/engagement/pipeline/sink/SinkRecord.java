package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.model.EnrichedEvent;
import org.apache.kafka.common.TopicPartition;

/** An enriched event with where it sits in Kafka and when its row was committed in PostgreSQL. */
public record SinkRecord(TopicPartition partition, long offset, long commitTsMs, EnrichedEvent event) {
}
