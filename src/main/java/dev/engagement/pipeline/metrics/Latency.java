package dev.engagement.pipeline.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The commit-to-stage latency timer, one per stage, with the same buckets everywhere. */
public final class Latency {
    public static final String NAME = "pipeline.end.to.end.latency";
    /** Fine where the targets are (tens to hundreds of ms), coarse beyond. */
    public static final long[] BUCKETS_MS = {5, 10, 20, 30, 40, 50, 60, 80, 100, 125, 150, 175, 200, 250, 300, 400, 500,
            750, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000, 120_000};
    private static final Duration[] SLOS = java.util.Arrays.stream(BUCKETS_MS).mapToObj(Duration::ofMillis)
            .toArray(Duration[]::new);

    private Latency() {
    }

    /** Time from the PostgreSQL commit of a row until {@code stage} has it ("source", "processor", a sink). */
    public static Timer timer(MeterRegistry registry, String stage) {
        return Timer.builder(NAME).tag("stage", stage)
                .description("From the PostgreSQL commit of a row until a stage has it")
                .serviceLevelObjectives(SLOS)
                .publishPercentiles(0.5, 0.99)
                .distributionStatisticExpiry(Duration.ofSeconds(30))
                .distributionStatisticBufferLength(3)
                .register(registry);
    }

    /** A stage's timer as registered, or null when that stage does not run in this process. */
    public static Timer find(MeterRegistry registry, String stage) {
        return registry.find(NAME).tag("stage", stage).timer();
    }

    /** A stage's latency percentile in milliseconds over the timer's recent window, or NaN before any. */
    public static double percentileMs(MeterRegistry registry, String stage, double percentile) {
        Timer timer = find(registry, stage);
        if (timer == null || timer.count() == 0) {
            return Double.NaN;
        }
        for (ValueAtPercentile v : timer.takeSnapshot().percentileValues()) {
            if (Math.abs(v.percentile() - percentile) < 1e-9) {
                return v.value(TimeUnit.MILLISECONDS);
            }
        }
        return Double.NaN;
    }
}
