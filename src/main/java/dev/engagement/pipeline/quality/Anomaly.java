package dev.engagement.pipeline.quality;

/**
 * One deviation from a baseline, active since {@code sinceMs}.
 *
 * @param subject what it is about beyond its kind: an invalid reason, a content type or a content
 *                id; empty for the event rate
 * @param detail  the measured value against its baseline, in words
 */
public record Anomaly(AnomalyKind kind, String subject, String detail, long sinceMs) {
    /** The kind and subject: one anomaly of each is active at a time. */
    public String key() {
        return subject.isEmpty() ? kind.wire() : kind.wire() + ":" + subject;
    }
}
