package dev.engagement.pipeline.server;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Runs the service checks (in parallel, each bounded in time) and folds them into one status:
 * unhealthy when a critical service is down, degraded when any other is, healthy otherwise.
 * Results are cached for a second so a busy /health cannot hammer the services.
 */
public final class HealthService {
    private static final Duration CACHE = Duration.ofSeconds(1);
    private static final long CHECK_TIMEOUT_MS = 3000;

    private final List<ServiceCheck> checks;
    private final Supplier<Optional<Instant>> lastProcessed;
    private Report cached;
    private volatile Report last;
    private long cachedAtNanos;

    private final Supplier<Map<String, Object>> holds;

    public HealthService(List<ServiceCheck> checks, Supplier<Optional<Instant>> lastProcessed) {
        this(checks, lastProcessed, Map::of);
    }

    /**
     * {@code holds}: per stage this process runs, what of the work it holds now (the partitions of a
     * processor or sink, a source's capturing or standby), for {@code /health}'s {@code partitions}.
     */
    public HealthService(List<ServiceCheck> checks, Supplier<Optional<Instant>> lastProcessed,
                         Supplier<Map<String, Object>> holds) {
        this.checks = List.copyOf(checks);
        this.lastProcessed = lastProcessed;
        this.holds = holds;
    }

    public synchronized Report report() {
        if (cached != null && System.nanoTime() - cachedAtNanos < CACHE.toNanos()) {
            return cached;
        }
        Map<String, CompletableFuture<ServiceCheck.Result>> running = new LinkedHashMap<>();
        for (ServiceCheck c : checks) {
            running.put(c.service(), CompletableFuture.supplyAsync(() -> {
                try {
                    return c.check();
                } catch (RuntimeException e) {
                    return new ServiceCheck.Result("disconnected", e.getMessage(), false);
                }
            }));
        }
        Map<String, ServiceCheck.Result> results = new LinkedHashMap<>();
        running.forEach((name, f) -> {
            try {
                results.put(name, f.get(CHECK_TIMEOUT_MS, TimeUnit.MILLISECONDS));
            } catch (Exception e) {
                results.put(name, new ServiceCheck.Result("disconnected", "no answer within " + CHECK_TIMEOUT_MS + " ms",
                        false));
            }
        });
        String status = "healthy";
        for (ServiceCheck.Result r : results.values()) {
            if (!r.ok()) {
                status = r.critical() ? "unhealthy" : ("unhealthy".equals(status) ? status : "degraded");
            }
        }
        cached = new Report(status, results, lastProcessed.get(), holds.get());
        cachedAtNanos = System.nanoTime();
        last = cached;
        return cached;
    }

    /**
     * {@code pipeline_service_up{service}}: 1 while a service this process uses answers (connected or
     * degraded), 0 while it is disconnected; absent (NaN) for services it does not use. Read from the
     * last report, which the telemetry refreshes every second: a scrape runs no check.
     */
    public void bindTo(io.micrometer.core.instrument.MeterRegistry registry) {
        for (ServiceCheck c : checks) {
            io.micrometer.core.instrument.Gauge.builder("pipeline.service.up", this, h -> h.up(c.service()))
                    .tag("service", c.service())
                    .description("1 while a service this process uses answers, 0 while it is disconnected (NaN: not used)")
                    .register(registry);
        }
    }

    private double up(String service) {
        Report r = last;
        ServiceCheck.Result result = r == null ? null : r.services().get(service);
        if (result == null || "not_used".equals(result.state())) {
            return Double.NaN;
        }
        return "disconnected".equals(result.state()) ? 0 : 1;
    }

    public record Report(String status, Map<String, ServiceCheck.Result> services, Optional<Instant> lastProcessed,
                         Map<String, Object> partitions) {
        public boolean healthy() {
            return "healthy".equals(status);
        }

        /**
         * Every service the process uses answers and every stage it runs moves: none is
         * {@code disconnected} or {@code stalled} (degraded ones still work).
         */
        public boolean ready() {
            return services.values().stream().noneMatch(r -> "disconnected".equals(r.state())
                    || "stalled".equals(r.state()));
        }
    }
}
