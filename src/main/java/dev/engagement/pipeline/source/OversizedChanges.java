package dev.engagement.pipeline.source;

import dev.engagement.pipeline.model.InvalidReason;
import dev.engagement.pipeline.model.InvalidRecords;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.Counter;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;

/**
 * A captured change larger than a Kafka record may be would fail its send and, retried forever,
 * stop capture. Such a change goes to {@code engagement.invalid} as {@code too_large} instead, with
 * its id and a truncated copy, and capture goes on.
 */
final class OversizedChanges {
    private static final Logger LOG = LoggerFactory.getLogger(OversizedChanges.class);
    /** Room for the key, the headers and the record's own overhead. */
    static final int LIMIT = Topics.MAX_MESSAGE_BYTES - 64 * 1024;

    private OversizedChanges() {
    }

    /** The record for the change's CDC topic, or for engagement.invalid when it is too large ({@code tooLarge} may be null). */
    static ProducerRecord<String, byte[]> recordFor(String topic, long ts, String key, byte[] envelope, Counter tooLarge) {
        if (envelope.length <= LIMIT) {
            return new ProducerRecord<>(topic, null, ts, key, envelope);
        }
        if (tooLarge != null) {
            tooLarge.increment();
        }
        LOG.warn("a change of {} bytes on {} is over the {}-byte record limit: it goes to {} as too_large, with its "
                + "id and a truncated copy", envelope.length, topic, LIMIT, Topics.INVALID);
        return new ProducerRecord<>(Topics.INVALID, null, ts, key,
                InvalidRecords.tooLarge(topic, envelope, LIMIT, Instant.now()),
                InvalidRecords.headers(InvalidReason.TOO_LARGE, topic, -1, -1));
    }
}
