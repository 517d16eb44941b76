package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.metrics.Latency;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.atomic.AtomicLong;

/** The meters every sink has, tagged with its name; registered once per sink by its runtime. */
public final class SinkMetrics {
    public final Counter applied;
    public final Counter duplicates;
    public final Counter failures;
    public final Counter fenced;
    public final Counter abandoned;
    public final Counter malformed;
    public final Counter rewinds;
    public final Counter restarts;
    public final Timer latency;
    final AtomicLong lag = new AtomicLong();
    final AtomicLong gapRecords = new AtomicLong();
    private final MeterRegistry registry;
    private final String sink;
    private String lagGroup;

    public SinkMetrics(MeterRegistry registry, String sink) {
        this.registry = registry;
        this.sink = sink;
        applied = counter("pipeline.sink.events", "Events applied by a sink");
        duplicates = counter("pipeline.sink.duplicates", "Redelivered events a sink recognised and skipped");
        failures = counter("pipeline.sink.failures", "Failed batch writes (retried)");
        fenced = counter("pipeline.sink.fenced", "Batches refused because another instance took the partitions");
        abandoned = counter("pipeline.sink.abandoned", "Events of an unwritten batch dropped because their partitions "
                + "moved to another instance, which reads them again");
        malformed = counter("pipeline.sink.malformed", "Records on engagement.enriched that are not enriched events, skipped");
        rewinds = counter("pipeline.sink.rewinds", "Partitions sent back to the store's stored position because the "
                + "store had gone back in time (restored from an older snapshot)");
        restarts = counter("pipeline.sink.restarts", "Times the sink's runtime died and was started again");
        latency = Latency.timer(registry, sink);
        Gauge.builder("pipeline.sink.gap.records", gapRecords, AtomicLong::doubleValue).tag("sink", sink)
                .description("Records that expired from engagement.enriched before this sink applied them, on "
                        + "partitions stopped until the gap is accepted").register(registry);
    }

    private Counter counter(String name, String description) {
        return Counter.builder(name).tag("sink", sink).description(description).register(registry);
    }

    /** Records on engagement.enriched this sink has not applied yet, as last measured. */
    public long lag() {
        return lag.get();
    }

    /** The lag gauge carries the consumer group, known once the sink has named its store. */
    synchronized void lagGauge(String group) {
        if (group.equals(lagGroup)) {
            return;
        }
        lagGroup = group;
        Gauge.builder("pipeline.consumer.lag", lag, AtomicLong::doubleValue).tag("group", group)
                .description("Records on engagement.enriched not yet applied by a sink").register(registry);
    }
}
