package dev.engagement.pipeline.model;

import java.util.Locale;

/** Why an event went to {@code engagement.invalid} instead of the sinks. */
public enum InvalidReason {
    MISSING_CONTENT_ID,
    NEGATIVE_DURATION,
    BAD_EVENT_TYPE,
    MALFORMED,
    UNKNOWN_CONTENT,
    EVENT_MUTATED,
    /** A captured change larger than Kafka's record limit: its id and a truncated copy go here instead. */
    TOO_LARGE;

    private final String wire = name().toLowerCase(Locale.ROOT);

    public String wire() {
        return wire;
    }
}
