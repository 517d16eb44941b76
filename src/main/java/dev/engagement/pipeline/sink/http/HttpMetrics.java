package dev.engagement.pipeline.sink.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** The http sink's meters, registered once. */
final class HttpMetrics {
    private final MeterRegistry registry;
    private final Map<String, Counter> requests = new ConcurrentHashMap<>();
    private final Counter retries;
    private final Counter splits;
    final Counter deadLettered;
    final Counter redeliveries;
    private final Timer requestDuration;

    HttpMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.retries = Counter.builder("pipeline.http.retries").description("Retried POSTs to the external API")
                .register(registry);
        this.splits = Counter.builder("pipeline.http.splits")
                .description("Refused batches split to isolate the records at fault").register(registry);
        this.deadLettered = Counter.builder("pipeline.http.dlq.records").description("Events sent to sink.http.dlq")
                .register(registry);
        this.redeliveries = Counter.builder("pipeline.http.redeliveries")
                .description("Events sent again after a restart because their delivery was not known to be settled")
                .register(registry);
        this.requestDuration = Timer.builder("pipeline.http.request.duration")
                .description("Duration of one POST to the external API").publishPercentiles(0.5, 0.99)
                .register(registry);
    }

    void request(ApiClient.Outcome outcome) {
        String statusClass = outcome.status() == 0 ? "error" : (outcome.status() / 100) + "xx";
        requests.computeIfAbsent(statusClass, c -> Counter.builder("pipeline.http.requests").tag("status_class", c)
                .description("POSTs to the external API by status class").register(registry)).increment();
        requestDuration.record(outcome.took().toNanos(), TimeUnit.NANOSECONDS);
    }

    void retry() {
        retries.increment();
    }

    void split() {
        splits.increment();
    }
}
