package dev.engagement.pipeline.bench;

import dev.engagement.pipeline.metrics.Latency;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;

import java.util.concurrent.TimeUnit;

/**
 * The commit-to-stage latency of one stage over a window of time: the difference of the timer's
 * cumulative bucket counts between {@link #open} and {@link #close}, so what came before the window
 * (warm-up, another phase) does not count. Percentiles interpolate linearly inside a bucket.
 */
final class LatencyWindow {
    private final Timer timer;
    private final CountAtBucket[] start;
    private final long startCount;

    private LatencyWindow(Timer timer) {
        this.timer = timer;
        this.start = timer.takeSnapshot().histogramCounts();
        this.startCount = timer.count();
    }

    static LatencyWindow open(MeterRegistry registry, String stage) {
        Timer t = Latency.find(registry, stage);
        if (t == null) {
            throw new IllegalStateException("no latency timer for stage " + stage);
        }
        return new LatencyWindow(t);
    }

    record Result(long count, double p50Ms, double p99Ms, double p999Ms) {
    }

    Result close() {
        CountAtBucket[] end = timer.takeSnapshot().histogramCounts();
        long total = timer.count() - startCount;
        return new Result(total, percentile(end, total, 0.50), percentile(end, total, 0.99), percentile(end, total, 0.999));
    }

    private double percentile(CountAtBucket[] end, long total, double p) {
        if (total == 0) {
            return Double.NaN;
        }
        double rank = p * total;
        double lowerBound = 0;
        double below = 0;
        for (int i = 0; i < end.length; i++) {
            double cumulative = end[i].count() - start[i].count();
            double upperBound = end[i].bucket(TimeUnit.MILLISECONDS);
            if (cumulative >= rank) {
                double inBucket = cumulative - below;
                double fraction = inBucket == 0 ? 1 : (rank - below) / inBucket;
                return lowerBound + fraction * (upperBound - lowerBound);
            }
            below = cumulative;
            lowerBound = upperBound;
        }
        return Double.POSITIVE_INFINITY; // beyond the last bucket
    }
}
