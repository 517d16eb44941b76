package dev.engagement.pipeline.quality;

import java.util.Locale;

/** What a data-quality anomaly is about; the thresholds are {@link QualityWatch}'s and the README's. */
public enum AnomalyKind {
    /** The event rate (its median second) fell below half its baseline (and 4 standard deviations under it). */
    RATE_DROP,
    /** The event rate (its median second) rose above three times its baseline (and 4 standard deviations over it). */
    RATE_SPIKE,
    /** The share of invalid events of one reason rose 5 points (or 4 standard deviations) above its baseline. */
    INVALID_RATIO,
    /** The share of events with engagement_percentage over 100 rose 5 points (or 4 sd) above its baseline. */
    ENGAGEMENT_OVER_100,
    /** A content type's mean engagement_percentage moved by a quarter of its baseline (and 4 sd, and 5 points). */
    ENGAGEMENT_SHIFT,
    /**
     * A content expected at least 10 events per bucket (its baseline, scaled by how the whole rate
     * moved) had none for a whole bucket.
     */
    CONTENT_STOPPED;

    private final String wire = name().toLowerCase(Locale.ROOT);

    public String wire() {
        return wire;
    }
}
