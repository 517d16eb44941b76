package dev.engagement.pipeline.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;

/** The commit-to-stage latency timer, one per stage, with the same buckets everywhere. */
public final class Latency {
    /** Fine where the targets are (tens to hundreds of ms), coarse beyond. */
    public static final long[] BUCKETS_MS = {5, 10, 20, 30, 40, 50, 60, 80, 100, 125, 150, 175, 200, 250, 300, 400, 500,
            750, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000, 120_000};
    private static final Duration[] SLOS = java.util.Arrays.stream(BUCKETS_MS).mapToObj(Duration::ofMillis)
            .toArray(Duration[]::new);

    private Latency() {
    }

    /** Time from the PostgreSQL commit of a row until {@code stage} has it ("source", "processor", a sink). */
    public static Timer timer(MeterRegistry registry, String stage) {
        return Timer.builder("pipeline.end.to.end.latency").tag("stage", stage)
                .description("From the PostgreSQL commit of a row until a stage has it")
                .serviceLevelObjectives(SLOS)
                .publishPercentiles(0.5, 0.99)
                .distributionStatisticExpiry(Duration.ofSeconds(30))
                .distributionStatisticBufferLength(3)
                .register(registry);
    }
}
