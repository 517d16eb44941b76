package dev.engagement.pipeline.jmh;

import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.model.MalformedRecordException;
import dev.engagement.pipeline.sink.SinkBatch;
import dev.engagement.pipeline.sink.SinkRecord;
import dev.engagement.pipeline.testing.Cdc;
import org.apache.kafka.common.TopicPartition;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** The records the JMH benchmarks work on: shaped as the generator's, from a fixed seed. */
public final class Records {
    public static final int BATCH = 500;
    public static final TopicPartition PARTITION = new TopicPartition("engagement.enriched", 0);
    private static final String[] TYPES = {"play", "pause", "finish", "click"};

    private Records() {
    }

    public static String contentId(int i) {
        return new UUID(0x5eedL, i % 200).toString();
    }

    /** CDC envelopes of engagement rows, as the source writes them. */
    public static byte[][] cdcEvents(int n) {
        java.util.Random r = new java.util.Random(42);
        byte[][] out = new byte[n][];
        for (int i = 0; i < n; i++) {
            String type = TYPES[r.nextInt(TYPES.length)];
            out[i] = Cdc.insert(Cdc.eventRow(1_000_000L + i, contentId(i), type,
                    "click".equals(type) ? null : 1000 + r.nextInt(600_000), "2026-12-04T02:41:21.123456Z"));
        }
        return out;
    }

    /** Enriched records, as the processor writes them. */
    public static byte[][] enriched(int n) {
        byte[][] out = new byte[n][];
        for (int i = 0; i < n; i++) {
            out[i] = new EnrichedEvent(1_000_000L + i, contentId(i), "Introduction to Stream Processing", "video", 1800,
                    new UUID(i, 7).toString(), EventType.values()[i % 4], "2026-12-04T02:41:21.123456Z",
                    i % 4 == 3 ? null : 900_123L + i, i % 4 == 3 ? null : new BigDecimal("50.01"), "mobile",
                    "2026-12-04T02:41:21.223Z").toJson();
        }
        return out;
    }

    /** A sink batch of {@link #BATCH} parsed records on one partition. */
    public static SinkBatch batch() throws MalformedRecordException {
        byte[][] values = enriched(BATCH);
        List<SinkRecord> records = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            EnrichedEvent e = EnrichedEvent.parse(values[i]);
            records.add(new SinkRecord(PARTITION, i, 0, e.contentId(), values[i], e));
        }
        return new SinkBatch(records, Map.of(PARTITION, 0L), Map.of(PARTITION, (long) BATCH));
    }
}
