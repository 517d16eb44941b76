package dev.engagement.pipeline.testing;

import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.sink.SinkRecord;
import org.apache.kafka.common.TopicPartition;

import java.math.BigDecimal;
import java.time.Instant;

/** Enriched events and sink records for sink tests. */
public final class Events {
    public static final TopicPartition P0 = new TopicPartition("engagement.enriched", 0);
    public static final TopicPartition P1 = new TopicPartition("engagement.enriched", 1);

    private Events() {
    }

    public static EnrichedEvent event(long id, String contentId, EventType type, Long ms, Instant ts) {
        return new EnrichedEvent(id, contentId, "Title " + contentId, "video", 1000, "u-" + id, type, ts.toString(), ms,
                ms == null ? null : BigDecimal.valueOf(ms).divide(BigDecimal.valueOf(10_000), 2, java.math.RoundingMode.HALF_UP),
                "mobile", Instant.now().toString());
    }

    public static SinkRecord record(TopicPartition tp, long offset, EnrichedEvent e) {
        return new SinkRecord(tp, offset, System.currentTimeMillis(), e);
    }
}
