package dev.engagement.pipeline.testing;

import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.sink.SinkBatch;
import dev.engagement.pipeline.sink.SinkRecord;
import org.apache.kafka.common.TopicPartition;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Map;

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
        return new SinkRecord(tp, offset, System.currentTimeMillis(), e.contentId(), e.toJson(), e);
    }

    /** A batch of {@code records} that follows on from {@code start} and ends before {@code next}. */
    public static SinkBatch batch(List<SinkRecord> records, Map<TopicPartition, Long> start,
                                  Map<TopicPartition, Long> next) {
        return new SinkBatch(records, start, next);
    }

    /** A batch of one partition's records, from offset {@code start} to the last record's. */
    public static SinkBatch batch(TopicPartition tp, long start, SinkRecord... records) {
        long next = records.length == 0 ? start : records[records.length - 1].offset() + 1;
        return new SinkBatch(List.of(records), Map.of(tp, start), Map.of(tp, next));
    }
}
