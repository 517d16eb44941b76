package dev.engagement.pipeline.server;

import dev.engagement.pipeline.metrics.Latency;
import dev.engagement.pipeline.metrics.Meters;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Samples this process's meters once a second into a five-minute ring of rates and latencies, so
 * the dashboard can draw throughput without a time-series database.
 */
public final class DashboardSampler implements AutoCloseable {
    private static final int KEEP = 300;
    private static final List<String> SINKS = List.of("redis", "warehouse", "http");

    private final MeterRegistry registry;
    private final LongSupplier globalEvents;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            dev.engagement.pipeline.Threads.daemon("dashboard-sampler"));
    private final ArrayDeque<Sample> samples = new ArrayDeque<>();
    private Map<String, Double> previous;
    private long previousAt;

    /** @param globalEvents events counted in Redis by every sink instance (-1 when unknown) */
    public DashboardSampler(MeterRegistry registry, LongSupplier globalEvents) {
        this.registry = registry;
        this.globalEvents = globalEvents;
    }

    public void start() {
        timer.scheduleAtFixedRate(this::sample, 0, 1, TimeUnit.SECONDS);
    }

    private void sample() {
        try {
            long now = System.currentTimeMillis();
            Map<String, Double> totals = new LinkedHashMap<>();
            totals.put("source", sum("pipeline.source.records", null, null));
            totals.put("enriched", sum("pipeline.processor.records", "outcome", "enriched"));
            totals.put("invalid", sum("pipeline.processor.records", "outcome", "invalid"));
            for (String sink : SINKS) {
                totals.put(sink, sum("pipeline.sink.events", "sink", sink));
            }
            long global = safeGlobal();
            totals.put("redis_global", (double) global);
            if (previous != null) {
                double secs = Math.max(0.001, (now - previousAt) / 1000.0);
                Map<String, Double> rates = new LinkedHashMap<>();
                totals.forEach((k, v) -> rates.put(k, Math.max(0, (v - previous.getOrDefault(k, v)) / secs)));
                Map<String, Double> p99 = new LinkedHashMap<>();
                for (String sink : SINKS) {
                    p99.put(sink, percentileMs(sink, 0.99));
                }
                synchronized (samples) {
                    samples.addLast(new Sample(now, rates, p99));
                    if (samples.size() > KEEP) {
                        samples.removeFirst();
                    }
                }
            }
            previous = totals;
            previousAt = now;
        } catch (RuntimeException e) {
            // a sample is best effort; the next one tries again
        }
    }

    private long safeGlobal() {
        try {
            return globalEvents.getAsLong();
        } catch (RuntimeException e) {
            return previous == null ? 0 : previous.getOrDefault("redis_global", 0.0).longValue();
        }
    }

    private double sum(String name, String tag, String value) {
        return Meters.count(registry, name, tag, value);
    }

    /** The latency percentile of a sink in milliseconds over the timer's recent window, or NaN. */
    public double percentileMs(String sink, double percentile) {
        return Latency.percentileMs(registry, sink, percentile);
    }

    public List<Sample> samples() {
        synchronized (samples) {
            return new ArrayList<>(samples);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    public record Sample(long at, Map<String, Double> rates, Map<String, Double> p99Ms) {
    }
}
