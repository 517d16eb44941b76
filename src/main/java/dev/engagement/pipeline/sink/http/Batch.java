package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.sink.SinkRecord;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Consecutive records of one partition, sent as one POST. Its idempotency key is a function of
 * where the records sit in Kafka, so every retry, and a resend after a crash, carries the same key.
 * Attempts and time spent survive a breaker pause.
 */
final class Batch {
    final TopicPartition partition;
    final List<SinkRecord> records;
    int attempts;
    Instant firstAttempt;
    Duration spent = Duration.ZERO;

    /** Sent again after a restart, as the batch that was in flight when the previous owner stopped. */
    final boolean redelivery;
    /** Records cut with this batch but left out: the API already has their events. */
    final int skipped;

    Batch(TopicPartition partition, List<SinkRecord> records) {
        this(partition, records, false, 0);
    }

    Batch(TopicPartition partition, List<SinkRecord> records, boolean redelivery, int skipped) {
        this.partition = partition;
        this.records = List.copyOf(records);
        this.redelivery = redelivery;
        this.skipped = skipped;
    }

    long firstOffset() {
        return records.get(0).offset();
    }

    long lastOffset() {
        return records.get(records.size() - 1).offset();
    }

    int size() {
        return records.size();
    }

    String key() {
        return key(partition, firstOffset(), lastOffset());
    }

    static String key(TopicPartition tp, long first, long last) {
        return tp.topic() + "-" + tp.partition() + "-" + first + "-" + last;
    }

    Batch left() {
        return new Batch(partition, records.subList(0, records.size() / 2));
    }

    Batch right() {
        return new Batch(partition, records.subList(records.size() / 2, records.size()));
    }

    /** The JSON array body, spliced from the records' bytes (each already one JSON object) into one exact array. */
    byte[] body() {
        int size = records.isEmpty() ? 2 : 1 + records.size();
        for (SinkRecord r : records) {
            size += r.value().length;
        }
        byte[] out = new byte[size];
        int at = 0;
        out[at++] = '[';
        for (int i = 0; i < records.size(); i++) {
            if (i > 0) {
                out[at++] = ',';
            }
            byte[] v = records.get(i).value();
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        out[at] = ']';
        return out;
    }
}
