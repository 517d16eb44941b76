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

    private Headers() {
    }

    public static byte[] utf8(Object value) {
        return String.valueOf(value).getBytes(StandardCharsets.UTF_8);
    }

    public static String text(org.apache.kafka.common.header.Headers headers, String name) {
        Header h = headers.lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
