package dev.engagement.pipeline;

import dev.engagement.pipeline.config.Component;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.process.StreamProcessor;
import dev.engagement.pipeline.server.ApiServer;
import dev.engagement.pipeline.server.DashboardSampler;
import dev.engagement.pipeline.server.HealthService;
import dev.engagement.pipeline.server.RedisQueries;
import dev.engagement.pipeline.server.ServiceCheck;
import dev.engagement.pipeline.sink.SinkRunner;
import dev.engagement.pipeline.sink.http.HttpSink;
import dev.engagement.pipeline.sink.redis.RedisSink;
import dev.engagement.pipeline.sink.warehouse.Warehouse;
import dev.engagement.pipeline.sink.warehouse.Warehouses;
import dev.engagement.pipeline.source.ChangeSource;
import dev.engagement.pipeline.source.DebeziumSource;
import dev.engagement.pipeline.source.SourceChecks;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.TopicAdmin;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.streams.KafkaStreams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Builds and runs the chosen stages in one process, in data-flow order, and stops them in reverse.
 * Each stage talks to the others only through Kafka, so any subset can run here and the rest
 * elsewhere.
 */
public final class Pipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);

    private final PipelineConfig config;
    private final Set<Component> components;
    private final PrometheusMeterRegistry registry;
    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    private ChangeSource source;
    private StreamProcessor processor;
    private SinkRunner redisSink;
    private SinkRunner warehouseSink;
    private Warehouse warehouse;
    private HttpSink httpSink;
    private RedisQueries redisQueries;
    private HealthService health;
    private ApiServer api;
    private Admin admin;

    private Pipeline(PipelineConfig config, Set<Component> components, PrometheusMeterRegistry registry) {
        this.config = config;
        this.components = EnumSet.copyOf(components);
        this.registry = registry;
    }

    public static Pipeline start(PipelineConfig config, Set<Component> components, PrometheusMeterRegistry registry)
            throws Exception {
        config.requireFor(components);
        Pipeline p = new Pipeline(config, components, registry);
        try {
            p.startAll();
        } catch (Exception | Error e) {
            p.close();
            throw e;
        }
        return p;
    }

    private void startAll() throws Exception {
        LOG.info("starting {} against Kafka {}, PostgreSQL {}, Redis {}", components.stream().map(Component::wire).toList(),
                config.kafka().bootstrapServers(), config.postgres(), config.redis());
        admin = Admin.create(KafkaClients.admin(config));
        started.push(admin);
        if (components.stream().anyMatch(c -> c != Component.API)) {
            TopicAdmin.ensureTopics(config);
        }
        if (components.contains(Component.SOURCE)) {
            SourceChecks.requireReady(config.postgres());
            source = new DebeziumSource(config, registry);
            started.push(source);
            source.start();
        }
        if (components.contains(Component.PROCESSOR)) {
            processor = new StreamProcessor(config, registry);
            started.push(processor);
            processor.start();
        }
        if (components.contains(Component.REDIS)) {
            redisSink = new SinkRunner(config, new RedisSink(config.redis(), Clock.systemUTC()), registry);
            started.push(redisSink);
            redisSink.start();
        }
        if (components.contains(Component.WAREHOUSE)) {
            warehouse = Warehouses.open(config.warehouse());
            warehouseSink = new SinkRunner(config, warehouse, registry);
            started.push(warehouseSink);
            warehouseSink.start();
        }
        if (components.contains(Component.HTTP)) {
            httpSink = new HttpSink(config, registry);
            started.push(httpSink);
            httpSink.start();
        }
        redisQueries = new RedisQueries(config.redis());
        started.push(redisQueries);
        health = new HealthService(checks(), this::lastProcessed);
        if (components.contains(Component.API)) {
            DashboardSampler sampler = new DashboardSampler(registry, () -> {
                String events = redisQueries.stats().get("events");
                return events == null ? 0 : Long.parseLong(events);
            });
            started.push(sampler);
            sampler.start();
            api = new ApiServer(config.httpPort(), health, registry, redisQueries, sampler, Optional.ofNullable(warehouse));
            started.push(api);
            api.start();
        }
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public HealthService health() {
        return health;
    }

    /** The warehouse this process writes, if it runs the warehouse component. */
    public Optional<Warehouse> warehouse() {
        return Optional.ofNullable(warehouse);
    }

    public Optional<Integer> apiPort() {
        return api == null ? Optional.empty() : Optional.of(api.port());
    }

    private Optional<Instant> lastProcessed() {
        long local = 0;
        if (redisSink != null) {
            local = Math.max(local, redisSink.lastWriteMs());
        }
        if (warehouseSink != null) {
            local = Math.max(local, warehouseSink.lastWriteMs());
        }
        if (httpSink != null) {
            local = Math.max(local, httpSink.lastDeliveryMs());
        }
        if (local > 0) {
            return Optional.of(Instant.ofEpochMilli(local));
        }
        try {
            return redisQueries.lastProcessed();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private List<ServiceCheck> checks() {
        boolean usesKafka = components.stream().anyMatch(c -> c != Component.API);
        List<ServiceCheck> checks = new ArrayList<>();
        checks.add(check("kafka", () -> {
            int nodes = admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).size();
            String detail = nodes + " broker(s) at " + config.kafka().bootstrapServers();
            if (processor != null && processor.state() == KafkaStreams.State.ERROR) {
                return new ServiceCheck.Result("disconnected", "stream processor failed; " + detail, true);
            }
            return new ServiceCheck.Result("connected", detail, false);
        }, usesKafka));
        checks.add(check("postgres", () -> {
            try (Connection c = Database.connect(config.postgres())) {
                c.isValid(2);
            }
            if (source == null) {
                return ServiceCheck.Result.connected(config.postgres().toString());
            }
            ChangeSource.SourceStatus s = source.status();
            return switch (s.state()) {
                case FAILED -> new ServiceCheck.Result("disconnected", "change data capture failed: " + s.detail(), true);
                case STOPPED -> new ServiceCheck.Result("disconnected", "change data capture stopped", true);
                default -> ServiceCheck.Result.connected("change data capture: " + s.detail());
            };
        }, source != null));
        checks.add(check("redis", () -> {
            redisQueries.ping();
            return redisSink == null ? ServiceCheck.Result.connected(config.redis().display())
                    : sinkResult(redisSink.status(), config.redis().display());
        }, false));
        checks.add(sinkCheck("warehouse", warehouseSink == null ? null : warehouseSink::status,
                config.warehouse().kind().name().toLowerCase(java.util.Locale.ROOT)));
        checks.add(sinkCheck("external_api", httpSink == null ? null : httpSink::status,
                config.externalApi().url().map(u -> u.getScheme() + "://" + u.getAuthority() + u.getPath()).orElse("not configured")));
        return checks;
    }

    private static ServiceCheck sinkCheck(String name, java.util.function.Supplier<String> status, String where) {
        return new ServiceCheck() {
            @Override
            public String service() {
                return name;
            }

            @Override
            public Result check() {
                return status == null ? Result.notUsed("not running in this process") : sinkResult(status.get(), where);
            }
        };
    }

    /** A sink's own status as a check: a sink that stopped for good is down, one that retries is degraded. */
    private static ServiceCheck.Result sinkResult(String status, String where) {
        if (status.startsWith("failed")) {
            return new ServiceCheck.Result("disconnected", status, true);
        }
        return "connected".equals(status) ? ServiceCheck.Result.connected(where)
                : new ServiceCheck.Result("degraded", status, false);
    }

    private interface Probe {
        ServiceCheck.Result run() throws Exception;
    }

    private static ServiceCheck check(String name, Probe probe, boolean critical) {
        return new ServiceCheck() {
            @Override
            public String service() {
                return name;
            }

            @Override
            public Result check() {
                try {
                    return probe.run();
                } catch (Exception e) {
                    Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null
                            ? e.getCause() : e;
                    return new Result("disconnected", cause.getClass().getSimpleName()
                            + (cause.getMessage() == null ? "" : ": " + cause.getMessage()), critical);
                }
            }
        };
    }

    /** Stops the stages in reverse start order: the API last, the source after the stages it feeds. */
    @Override
    public void close() {
        while (!started.isEmpty()) {
            AutoCloseable c = started.pop();
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("stopping {}: {}", c.getClass().getSimpleName(), e.getMessage());
            }
        }
        LOG.info("stopped");
    }
}
