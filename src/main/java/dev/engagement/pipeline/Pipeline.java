package dev.engagement.pipeline;

import dev.engagement.pipeline.config.Component;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.process.StreamProcessor;
import dev.engagement.pipeline.server.ApiServer;
import dev.engagement.pipeline.server.HealthService;
import dev.engagement.pipeline.server.RedisQueries;
import dev.engagement.pipeline.server.ServiceCheck;
import dev.engagement.pipeline.sink.KafkaAccess;
import dev.engagement.pipeline.sink.SinkRuntime;
import dev.engagement.pipeline.sink.StoreRefusedException;
import dev.engagement.pipeline.sink.StoreSink;
import dev.engagement.pipeline.sink.http.HttpSink;
import dev.engagement.pipeline.sink.redis.RedisSink;
import dev.engagement.pipeline.sink.warehouse.Warehouse;
import dev.engagement.pipeline.sink.Sink;
import dev.engagement.pipeline.sink.warehouse.bigquery.BigQuerySink;
import dev.engagement.pipeline.sink.warehouse.bigquery.BigQueryWarehouse;
import dev.engagement.pipeline.sink.warehouse.duckdb.DuckDbWarehouse;
import dev.engagement.pipeline.source.ChangeSource;
import dev.engagement.pipeline.source.DebeziumSource;
import dev.engagement.pipeline.source.NativeSource;
import dev.engagement.pipeline.source.SourceChecks;
import dev.engagement.pipeline.telemetry.BacklogWatch;
import dev.engagement.pipeline.telemetry.PipelineView;
import dev.engagement.pipeline.telemetry.ProgressWatch;
import dev.engagement.pipeline.telemetry.StageProgress;
import dev.engagement.pipeline.telemetry.Snapshot;
import dev.engagement.pipeline.telemetry.TelemetryPublisher;
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
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Builds and runs the chosen stages in one process: processor, source and sinks start side by
 * side, and stop in order, the sinks first (each drains what it holds), the processor last. Each
 * stage talks to the others only through Kafka, so any subset can run here and the rest elsewhere.
 */
public final class Pipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);

    private final PipelineConfig config;
    private final Set<Component> components;
    private final PrometheusMeterRegistry registry;
    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    private volatile ChangeSource source;
    private volatile StreamProcessor processor;
    private volatile SinkRuntime redisSink;
    private volatile SinkRuntime warehouseSink;
    private volatile Warehouse warehouse;
    private volatile SinkRuntime httpSink;
    private volatile HttpSink http;
    private RedisQueries redisQueries;
    private HealthService health;
    private ProgressWatch progress;
    private ApiServer api;
    private Admin admin;
    /** One connection kept for the health check, which runs every second (the telemetry reports it). */
    private final HealthConnection healthDb;

    private Pipeline(PipelineConfig config, Set<Component> components, PrometheusMeterRegistry registry) {
        this.config = config;
        this.components = EnumSet.copyOf(components);
        this.registry = registry;
        this.healthDb = new HealthConnection(config.postgres());
        started.push(healthDb);
    }

    /** A PostgreSQL connection for the health check: opened when needed, opened again when it broke. */
    private static final class HealthConnection implements AutoCloseable {
        private final PipelineConfig.Postgres postgres;
        private Connection connection;

        HealthConnection(PipelineConfig.Postgres postgres) {
            this.postgres = postgres;
        }

        synchronized void check() throws java.sql.SQLException {
            if (connection != null && !connection.isValid(2)) {
                close();
            }
            if (connection == null) {
                connection = Database.connect(postgres);
                if (!connection.isValid(2)) {
                    throw new java.sql.SQLException("PostgreSQL does not answer within 2 s");
                }
            }
        }

        @Override
        public synchronized void close() {
            try {
                if (connection != null) {
                    connection.close();
                }
            } catch (java.sql.SQLException e) {
                LOG.debug("closing the health check's connection: {}", e.getMessage());
            }
            connection = null;
        }
    }

    public static Pipeline start(PipelineConfig config, Set<Component> components, PrometheusMeterRegistry registry)
            throws Exception {
        config.requireFor(components);
        InstanceIdentity identity = null;
        if (config.instanceId().isEmpty()) {
            identity = InstanceIdentity.of(config.dataDir());
            config = config.withInstanceId(identity.id());
            LOG.info("instance id {} (kept in {}; set INSTANCE_ID to choose one)", identity.id(),
                    config.dataDir().resolve(InstanceIdentity.FILE));
        }
        Pipeline p = new Pipeline(config, components, registry);
        if (identity != null) {
            p.started.push(identity);
        }
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
        dev.engagement.pipeline.metrics.StageCpu.bind(registry);
        long duckdb = components.contains(Component.WAREHOUSE)
                && config.warehouse().kind() == PipelineConfig.WarehouseKind.DUCKDB ? config.warehouse().duckdbMemoryMib() : 0;
        long heap = dev.engagement.pipeline.config.Memory.heapMaxBytes();
        LOG.info("memory budget {} MiB: heap {} MiB, DuckDB {} MiB, the JVM's native share {} MiB (README: Memory)",
                dev.engagement.pipeline.config.Memory.budgetMib(heap, duckdb), heap / (1024 * 1024), duckdb,
                dev.engagement.pipeline.config.Memory.NATIVE_MIB);
        admin = Admin.create(KafkaClients.admin(config));
        started.push(admin);
        if (components.stream().anyMatch(c -> c != Component.API)) {
            TopicAdmin.ensureTopics(config);
        } else {
            TopicAdmin.ensure(config, List.of(dev.engagement.pipeline.topic.Topics.telemetry(
                    config.kafka().replicationFactor())));
        }
        // processor, source and sinks start side by side: a restart flows again as soon as the slowest
        // of them (the processor, restoring its stores) is ready, not after the sum of all three
        List<AutoCloseable> processorParts = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<AutoCloseable> sourceParts = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<AutoCloseable> sinkParts = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.ExecutorService steps = java.util.concurrent.Executors.newFixedThreadPool(3,
                Threads.daemon("pipeline-start"));
        Exception failed = null;
        try {
            List<java.util.concurrent.Future<?>> running = List.of(
                    steps.submit(() -> startProcessor(processorParts)),
                    steps.submit(() -> startSource(sourceParts)),
                    steps.submit(() -> startSinks(sinkParts)));
            for (java.util.concurrent.Future<?> f : running) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    if (failed == null) {
                        failed = e.getCause() instanceof Exception ex ? ex : new IllegalStateException(e.getCause());
                    }
                }
            }
        } finally {
            steps.shutdown();
            // closed in reverse: the sinks first, the processor last
            processorParts.forEach(started::push);
            sourceParts.forEach(started::push);
            sinkParts.forEach(started::push);
        }
        if (failed != null) {
            throw failed;
        }
        redisQueries = new RedisQueries(config.redis());
        started.push(redisQueries);
        progress = watchProgress();
        started.push(progress);
        progress.start();
        health = new HealthService(checks(), this::lastProcessed, this::holds);
        health.bindTo(registry);
        PipelineView view = null;
        BacklogWatch backlog = null;
        if (components.contains(Component.API)) {
            view = new PipelineView(config, instanceId(), Clock.systemUTC());
            started.push(view);
            view.start();
            backlog = new BacklogWatch(config, admin, registry);
            started.push(backlog);
            backlog.start();
        }
        long startedMs = System.currentTimeMillis();
        List<String> wire = components.stream().map(Component::wire).toList();
        StreamProcessor p = processor;
        PipelineView local = view;
        TelemetryPublisher telemetry = new TelemetryPublisher(config, instanceId(),
                () -> new Snapshot.Sources(instanceId(), wire, startedMs, registry, health.report(),
                        p == null ? null : p.quality()),
                local == null ? s -> { } : local::accept, Clock.systemUTC());
        started.push(telemetry);
        telemetry.start();
        if (components.contains(Component.API)) {
            api = new ApiServer(config.http(), health, registry, redisQueries, view, backlog, Optional.ofNullable(warehouse));
            started.push(api);
            api.start();
        }
    }

    /** Every stage this process runs, watched for progress (/health's stalled, pipeline_stage_stalled). */
    private ProgressWatch watchProgress() {
        ProgressWatch w = new ProgressWatch(admin, config.processor().stallAfter(), registry, Clock.systemUTC());
        StreamProcessor p = processor;
        if (p != null) {
            w.kafkaStage("processor", () -> StreamProcessor.APPLICATION_ID, StreamProcessor.inputs(), p::restarts);
        }
        for (SinkRuntime sink : new SinkRuntime[] {redisSink, warehouseSink, httpSink}) {
            if (sink != null) {
                w.kafkaStage(sink.name(), sink::group, List.of(dev.engagement.pipeline.topic.Topics.ENRICHED),
                        sink::restarts);
            }
        }
        ChangeSource src = source;
        if (src != null) {
            // the source's input is the slot; it waits whenever capture should go on and cannot
            w.stage("source", () -> {
                ChangeSource.State state = src.status().state();
                boolean stuck = state == ChangeSource.State.RETRYING || state == ChangeSource.State.FAILED;
                return new StageProgress.Sample(0, stuck ? 1 : 0, src.restarts());
            });
        }
        return w;
    }

    /** A check's result, or {@code stalled} when the stage it covers does not move. */
    private ServiceCheck.Result unlessStalled(String stage, ServiceCheck.Result r) {
        Optional<String> why = progress.stalled(stage);
        return why.isEmpty() || "disconnected".equals(r.state()) ? r
                : new ServiceCheck.Result("stalled", stage + " stalled: " + why.get() + "; " + r.detail(), true);
    }

    private String instanceId() {
        return config.instanceId().orElse("unnamed");
    }

    private Void startProcessor(List<AutoCloseable> parts) {
        if (components.contains(Component.PROCESSOR)) {
            processor = new StreamProcessor(config, registry);
            parts.add(processor);
            processor.start();
        }
        return null;
    }

    private Void startSource(List<AutoCloseable> parts) throws Exception {
        if (components.contains(Component.SOURCE)) {
            SourceChecks.requireReady(config.postgres());
            source = config.postgres().source() == PipelineConfig.SourceKind.DEBEZIUM
                    ? new DebeziumSource(config, registry) : new NativeSource(config, registry);
            parts.add(source);
            source.start();
        }
        return null;
    }

    private Void startSinks(List<AutoCloseable> parts) throws Exception {
        if (!components.contains(Component.REDIS) && !components.contains(Component.WAREHOUSE)
                && !components.contains(Component.HTTP)) {
            return null;
        }
        KafkaAccess kafka = new KafkaAccess(config);
        parts.add(kafka);
        if (components.contains(Component.REDIS)) {
            dev.engagement.pipeline.sink.TransactionalSink store = config.redis().cluster()
                    ? new dev.engagement.pipeline.sink.redis.RedisClusterSink(config.redis(), Clock.systemUTC())
                    : new RedisSink(config.redis(), Clock.systemUTC());
            refuseAtStart(store);
            redisSink = new SinkRuntime(new StoreSink(store, Clock.systemUTC()), kafka, registry, Clock.systemUTC());
            parts.add(redisSink);
            redisSink.start();
        }
        if (components.contains(Component.WAREHOUSE)) {
            Sink writer;
            if (config.warehouse().kind() == PipelineConfig.WarehouseKind.BIGQUERY) {
                warehouse = new BigQueryWarehouse(config.warehouse());
                writer = new BigQuerySink(config, Clock.systemUTC());
            } else {
                DuckDbWarehouse duckdb = new DuckDbWarehouse(config.warehouse().duckdbPath(), false,
                        config.warehouse().duckdbMemoryMib());
                warehouse = duckdb;
                writer = new StoreSink(duckdb, Clock.systemUTC());
            }
            warehouseSink = new SinkRuntime(writer, kafka, registry, Clock.systemUTC());
            parts.add(warehouseSink);
            warehouseSink.start();
        }
        if (components.contains(Component.HTTP)) {
            http = new HttpSink(config, registry);
            httpSink = new SinkRuntime(http, kafka, registry, Clock.systemUTC());
            parts.add(httpSink);
            httpSink.start();
        }
        return null;
    }

    /**
     * A store that cannot keep the sink's promise (a Redis that evicts keys) stops the start, when
     * it answers; one that is down now is checked again by its runtime when it comes back.
     */
    private static void refuseAtStart(dev.engagement.pipeline.sink.TransactionalSink store) throws Exception {
        try {
            store.storeId();
        } catch (StoreRefusedException e) {
            store.close();
            throw e;
        } catch (RuntimeException e) {
            LOG.warn("Redis does not answer yet ({}); the redis sink waits for it", e.getMessage());
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
        if (http != null) {
            local = Math.max(local, http.lastDeliveryMs());
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

    /** What of the shared work this instance holds now, per stage it runs; see /health's partitions. */
    private Map<String, Object> holds() {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        ChangeSource src = source;
        if (src != null) {
            out.put("source", src.status().state().name().toLowerCase(java.util.Locale.ROOT));
        }
        StreamProcessor p = processor;
        if (p != null) {
            out.put("processor", p.partitions());
        }
        for (SinkRuntime sink : new SinkRuntime[] {redisSink, warehouseSink, httpSink}) {
            if (sink != null) {
                out.put(sink.name(), sink.partitions());
            }
        }
        return out;
    }

    private List<ServiceCheck> checks() {
        boolean usesKafka = components.stream().anyMatch(c -> c != Component.API);
        List<ServiceCheck> checks = new ArrayList<>();
        checks.add(check("kafka", () -> {
            int nodes = admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).size();
            String detail = nodes + " broker(s) at " + config.kafka();
            if (processor != null && !processor.stoppedFor().isEmpty()) {
                return new ServiceCheck.Result("disconnected", "stream processor stopped: " + processor.stoppedFor()
                        + "; " + detail, true);
            }
            if (processor != null && processor.state() == KafkaStreams.State.ERROR) {
                return new ServiceCheck.Result("disconnected", "stream processor failed; " + detail, true);
            }
            return unlessStalled("processor", new ServiceCheck.Result("connected", detail, false));
        }, usesKafka));
        checks.add(check("postgres", () -> {
            healthDb.check();
            if (source == null) {
                return ServiceCheck.Result.connected(config.postgres().toString());
            }
            ChangeSource.SourceStatus s = source.status();
            return switch (s.state()) {
                case FAILED -> new ServiceCheck.Result("disconnected", "change data capture failed: " + s.detail(), true);
                case RETRYING -> new ServiceCheck.Result("disconnected", "change data capture: " + s.detail(), true);
                case STOPPED -> new ServiceCheck.Result("disconnected", "change data capture stopped", true);
                default -> unlessStalled("source", ServiceCheck.Result.connected("change data capture: " + s.detail()));
            };
        }, source != null));
        checks.add(check("redis", () -> {
            redisQueries.ping();
            return redisSink == null ? ServiceCheck.Result.connected(config.redis().display())
                    : unlessStalled("redis", sinkResult(redisSink.status(), config.redis().display()));
        }, false));
        checks.add(sinkCheck("warehouse", warehouseSink,
                config.warehouse().kind() == PipelineConfig.WarehouseKind.BIGQUERY
                        ? "bigquery " + config.warehouse().bigQueryTableName() : "duckdb"));
        checks.add(sinkCheck("external_api", httpSink,
                config.externalApi().url().map(u -> u.getScheme() + "://" + u.getAuthority() + u.getPath()).orElse("not configured")));
        return checks;
    }

    private ServiceCheck sinkCheck(String name, SinkRuntime sink, String where) {
        return new ServiceCheck() {
            @Override
            public String service() {
                return name;
            }

            @Override
            public Result check() {
                return sink == null ? Result.notUsed("not running in this process")
                        : unlessStalled(sink.name(), sinkResult(sink.status(), where));
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

    /** Stops the stages: the API, the sinks, the source, the processor, then what they shared. */
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
