package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.model.EnrichedEvent;
import org.apache.kafka.common.TopicPartition;

/**
 * One record of {@code engagement.enriched}, parsed once by the runtime: where it sits in Kafka,
 * when its row was committed in PostgreSQL, its key and bytes as they came (the http sink sends
 * them as they are) and the event they hold.
 */
public record SinkRecord(TopicPartition partition, long offset, long commitTsMs, String key, byte[] value,
                         EnrichedEvent event) {
}
