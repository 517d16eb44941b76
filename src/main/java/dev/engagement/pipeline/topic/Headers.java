package dev.engagement.pipeline.topic;

import org.apache.kafka.common.header.Header;

import java.nio.charset.StandardCharsets;

/** Record header names the pipeline writes on dead-letter and invalid records. */
public final class Headers {
    public static final String REASON = "dlq.reason";
    public static final String TOPIC = "dlq.topic";
    public static final String PARTITION = "dlq.partition";
    public static final String OFFSET = "dlq.offset";
    public static final String STATUS = "dlq.status";
    public static final String ATTEMPTS = "dlq.attempts";
    public static final String FIRST_ATTEMPT = "dlq.first_attempt";
    public static final String LAST_ATTEMPT = "dlq.last_attempt";
    public static final String DETAIL = "dlq.detail";
    /**
     * On every record the processor writes to {@code engagement.enriched}, value {@link #ORIGIN_PROCESSOR}:
     * its own guard does not parse those again.
     */
    public static final String ORIGIN = "pipeline.origin";
    public static final String ORIGIN_PROCESSOR = "processor";
    private static final byte[] ORIGIN_PROCESSOR_BYTES = utf8(ORIGIN_PROCESSOR);

    private Headers() {
    }

    public static byte[] utf8(Object value) {
        return String.valueOf(value).getBytes(StandardCharsets.UTF_8);
    }

    /** Whether the record says it was written by the processor (it may lie: see {@code EnrichedGuard}). */
    public static boolean fromProcessor(org.apache.kafka.common.header.Headers headers) {
        Header h = headers.lastHeader(ORIGIN);
        return h != null && java.util.Arrays.equals(h.value(), ORIGIN_PROCESSOR_BYTES);
    }

    /** The header set of the processor's enriched records; Kafka Streams copies it into each record. */
    public static org.apache.kafka.common.header.Headers processorOrigin() {
        return new org.apache.kafka.common.header.internals.RecordHeaders(
                new Header[] {new org.apache.kafka.common.header.internals.RecordHeader(ORIGIN, ORIGIN_PROCESSOR_BYTES)});
    }

    public static String text(org.apache.kafka.common.header.Headers headers, String name) {
        Header h = headers.lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
