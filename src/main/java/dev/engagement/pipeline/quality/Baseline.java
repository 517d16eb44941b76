package dev.engagement.pipeline.quality;

/**
 * An exponentially weighted mean and variance of one measure per bucket: recent buckets weigh
 * most, and a lasting change becomes the new normal after about one span of buckets.
 */
final class Baseline {
    private final double alpha;
    private final int span;
    private int held;
    private double mean;
    private double variance;
    private int samples;

    /** @param span buckets over which a sample's weight falls to about a third (alpha = 2 / (span + 1)) */
    Baseline(int span) {
        this.alpha = 2.0 / (span + 1);
        this.span = span;
    }

    /**
     * Adds a bucket's value, unless the measure is anomalous now: then the value is held out, so
     * that what is being judged does not move the baseline it is judged against, for at most a span
     * of buckets; after that the new level is taken as normal.
     */
    void fold(double x, boolean anomalous) {
        if (anomalous && held < span) {
            held++;
            return;
        }
        if (!anomalous) {
            held = 0;
        }
        add(x);
    }

    void add(double x) {
        if (samples == 0) {
            mean = x;
            variance = 0;
        } else {
            double d = x - mean;
            mean += alpha * d;
            variance = (1 - alpha) * (variance + alpha * d * d);
        }
        samples++;
    }

    double mean() {
        return mean;
    }

    double sd() {
        return Math.sqrt(variance);
    }

    int samples() {
        return samples;
    }
}
