package dev.engagement.pipeline.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;

/** The commit-to-stage latency timer, one per stage, with the same buckets everywhere. */
public final class Latency {
    private static final Duration[] SLOS = {ms(10), ms(25), ms(50), ms(100), ms(200), ms(300), ms(500), ms(1000),
            ms(2000), ms(5000), ms(10_000), ms(30_000), ms(120_000)};

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

    private static Duration ms(long n) {
        return Duration.ofMillis(n);
    }
}
