package dev.engagement.pipeline.bench;

import dev.engagement.pipeline.Pipeline;
import dev.engagement.pipeline.config.Component;
import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.generate.EventGenerator;
import dev.engagement.pipeline.local.DemoReceiver;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.local.LocalStack;
import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.metrics.Meters;
import dev.engagement.pipeline.source.Backfill;
import io.lettuce.core.RedisClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Measures the pipeline on this machine, everything on it: a private PostgreSQL, Redis and Kafka
 * broker, the pipeline in this JVM and a stand-in for the external API. Three phases:
 * end-to-end throughput (rows COPYed into PostgreSQL as fast as it takes them, until every sink
 * has them all), commit-to-sink latency at a fixed rate, and a backfill through fresh sinks.
 */
public final class Benchmark {
    private static final String TOKEN = "bench-token";
    private static final List<String> STAGES = List.of("source", "processor", "redis", "warehouse", "http");

    /** What one run measures: the pipeline's phases, and the source alone ({@link SourceBench}). */
    public enum Phase { THROUGHPUT, LATENCY, BACKFILL, SOURCE }

    public record Settings(long events, int rate, Duration warmup, Duration latencyFor, Path dir, Set<Phase> phases,
                           long sourceRows) {
    }

    private final Settings settings;
    private final PrintStream out;
    private final AtomicLong peakHeap = new AtomicLong();

    public Benchmark(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    public Map<String, Object> run() throws Exception {
        Path runDir = settings.dir().resolve("run-" + System.currentTimeMillis()).toAbsolutePath();
        Files.createDirectories(runDir);
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("machine", machine());
        Thread heapSampler = new Thread(this::sampleHeap, "bench-heap");
        heapSampler.setDaemon(true);
        heapSampler.start();
        try (LocalStack stack = LocalStack.up(Map.of(), runDir.resolve("local"));
             DemoReceiver api = new DemoReceiver(TOKEN)) {
            Map<String, String> env = settings(stack.overrides(), api, runDir.resolve("data"), "bench");
            env.put("HTTP_PORT", Integer.toString(Ports.free()));
            PipelineConfig config = ConfigLoader.load(env);
            Schema.init(config.postgres());
            EventGenerator generator = new EventGenerator(config.postgres(), 42);
            generator.ensureContent(1000);

            Set<Phase> phases = settings.phases();
            if (phases.contains(Phase.THROUGHPUT) || phases.contains(Phase.LATENCY)) {
                PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
                try (Pipeline pipeline = Pipeline.start(config, Component.all(), registry)) {
                    out.println("warming up (the first 20,000 events through every stage)...");
                    generator.bulk(20_000, 5_000, n -> { });
                    awaitAll(counters(pipeline.registry(), api), 20_000, Duration.ofMinutes(5));
                    if (phases.contains(Phase.THROUGHPUT)) {
                        report.put("throughput", throughput(pipeline.registry(), api, generator));
                    }
                    if (phases.contains(Phase.LATENCY)) {
                        report.put("latency", latency(pipeline.registry(), api, generator));
                    }
                }
            }
            if (phases.contains(Phase.BACKFILL)) {
                report.put("backfill", backfill(config, stack, runDir));
            }
            if (phases.contains(Phase.SOURCE)) {
                Map<String, String> sourceEnv = settings(stack.overrides(), api, runDir.resolve("source-data"), "bench-source");
                report.put("source", new SourceBench(sourceEnv, runDir.resolve("source"), settings.sourceRows(), out).run());
            }
        } finally {
            heapSampler.interrupt();
        }
        report.put("memory", memory());
        return report;
    }

    /** Rows COPYed into PostgreSQL as fast as it takes them; time until every stage has them all. */
    private Map<String, Object> throughput(MeterRegistry registry, DemoReceiver api, EventGenerator generator)
            throws Exception {
        long n = settings.events();
        out.printf("throughput: %,d events COPYed into PostgreSQL as fast as it takes them...%n", n);
        Map<String, LongSupplier> stages = counters(registry, api);
        Map<String, Long> base = snapshot(stages);
        MachineCpu cpu = new MachineCpu();
        long t0 = System.nanoTime();
        long[] insertedAt = {0};
        Thread loader = new Thread(() -> {
            try {
                generator.bulk(n, 10_000, w -> { });
                insertedAt[0] = System.nanoTime();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "bench-loader");
        loader.start();
        Map<String, Long> doneAt = new LinkedHashMap<>();
        while (doneAt.size() < stages.size()) {
            for (Map.Entry<String, LongSupplier> s : stages.entrySet()) {
                if (!doneAt.containsKey(s.getKey()) && s.getValue().getAsLong() - base.get(s.getKey()) >= n) {
                    doneAt.put(s.getKey(), System.nanoTime());
                }
            }
            if (System.nanoTime() - t0 > Duration.ofMinutes(20).toNanos()) {
                throw new IllegalStateException("throughput phase did not finish in 20 minutes: " + progress(stages, base));
            }
            Thread.sleep(20);
        }
        loader.join();
        MachineCpu.Usage used = cpu.stop();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("events", n);
        r.put("insert_events_per_s", rate(n, insertedAt[0] - t0));
        Map<String, Object> perStage = new LinkedHashMap<>();
        doneAt.forEach((stage, at) -> perStage.put(stage, rate(n, at - t0)));
        r.put("events_per_s_to_stage", perStage);
        long last = doneAt.values().stream().mapToLong(Long::longValue).max().orElseThrow();
        r.put("end_to_end_events_per_s", rate(n, last - t0));
        r.put("seconds", round((last - t0) / 1e9));
        r.put("machine_cores_busy", round(used.machineCores()));
        r.put("jvm_cores_busy", round(used.jvmCores()));
        out.printf("  %,.0f events/s end to end (all three sinks), %.1f s; PostgreSQL took %,.0f rows/s; "
                        + "%.2f of %d cores busy (the JVM %.2f)%n", r.get("end_to_end_events_per_s"), r.get("seconds"),
                r.get("insert_events_per_s"), used.machineCores(), used.cores(), used.jvmCores());
        out.println("  per stage, events/s over the same span: " + perStage);
        return r;
    }

    /** A steady rate for warm-up plus the measured window; latency from the window alone. */
    private Map<String, Object> latency(MeterRegistry registry, DemoReceiver api, EventGenerator generator)
            throws Exception {
        int rate = settings.rate();
        out.printf("latency: %,d events/s for %d s (after %d s of warm-up)...%n", rate,
                settings.latencyFor().toSeconds(), settings.warmup().toSeconds());
        Thread load = new Thread(() -> {
            try {
                generator.tick(Duration.ofMillis(20)).run(rate, 0, settings.warmup().plus(settings.latencyFor()), 0,
                        w -> { });
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "bench-load");
        load.start();
        Thread.sleep(settings.warmup().toMillis());
        Map<String, LatencyWindow> windows = new LinkedHashMap<>();
        for (String stage : STAGES) {
            windows.put(stage, LatencyWindow.open(registry, stage));
        }
        Map<String, LongSupplier> stages = counters(registry, api);
        Map<String, Long> base = snapshot(stages);
        MachineCpu cpu = new MachineCpu();
        long t0 = System.nanoTime();
        load.join();
        long t1 = System.nanoTime();
        MachineCpu.Usage used = cpu.stop();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("target_events_per_s", rate);
        r.put("redis_events_per_s", rate(stages.get("redis").getAsLong() - base.get("redis"), t1 - t0));
        Map<String, Object> perStage = new LinkedHashMap<>();
        windows.forEach((stage, w) -> {
            LatencyWindow.Result res = w.close();
            perStage.put(stage, Map.of("p50_ms", round(res.p50Ms()), "p99_ms", round(res.p99Ms()),
                    "p999_ms", round(res.p999Ms()), "events", res.count()));
        });
        r.put("commit_to_stage", perStage);
        r.put("machine_cores_busy", round(used.machineCores()));
        out.printf("  at %,.0f events/s into Redis: commit -> Redis p50 %s ms, p99 %s ms; %.2f cores busy%n",
                r.get("redis_events_per_s"), ((Map<?, ?>) perStage.get("redis")).get("p50_ms"),
                ((Map<?, ?>) perStage.get("redis")).get("p99_ms"), used.machineCores());
        perStage.forEach((stage, v) -> out.println("  " + stage + ": " + v));
        return r;
    }

    /** Every event in PostgreSQL, backfilled through a fresh broker into fresh sinks. */
    private Map<String, Object> backfill(PipelineConfig base, LocalStack stack, Path runDir) throws Exception {
        long m;
        try (Connection c = Database.connect(base.postgres()); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM engagement_events")) {
            rs.next();
            m = rs.getLong(1);
        }
        out.printf("backfill: all %,d events, through a fresh broker into fresh sinks...%n", m);
        RedisClient redis = RedisClient.create(base.redis().url().reveal());
        try (var c = redis.connect()) {
            c.sync().flushall();
        } finally {
            redis.shutdown();
        }
        try (EmbeddedKafka kafka = EmbeddedKafka.start(runDir.resolve("backfill-kafka"), 0);
             DemoReceiver api = new DemoReceiver(TOKEN)) {
            Map<String, String> env = settings(stack.overrides(), api, runDir.resolve("backfill-data"), "bench-backfill");
            env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
            PipelineConfig config = ConfigLoader.load(env);
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            Set<Component> downstream = EnumSet.of(Component.PROCESSOR, Component.REDIS, Component.WAREHOUSE,
                    Component.HTTP);
            try (Pipeline pipeline = Pipeline.start(config, downstream, registry)) {
                Map<String, LongSupplier> stages = counters(pipeline.registry(), api);
                stages.remove("source");
                MachineCpu cpu = new MachineCpu();
                long t0 = System.nanoTime();
                Backfill.Result sent = new Backfill(config).run(null, null, n -> { });
                awaitAll(stages, m, Duration.ofMinutes(30));
                long t1 = System.nanoTime();
                MachineCpu.Usage used = cpu.stop();
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("events", m);
                r.put("to_kafka_events_per_s", round(sent.eventsPerSecond()));
                r.put("end_to_end_events_per_s", rate(m, t1 - t0));
                r.put("seconds", round((t1 - t0) / 1e9));
                r.put("machine_cores_busy", round(used.machineCores()));
                out.printf("  %,.0f events/s into the CDC topic; %,.0f events/s end to end (all three sinks), %.1f s%n",
                        r.get("to_kafka_events_per_s"), r.get("end_to_end_events_per_s"), r.get("seconds"));
                return r;
            }
        }
    }

    /** The pipeline's settings for a run: the local services, the API stand-in, its own data directory. */
    private static Map<String, String> settings(Map<String, String> services, DemoReceiver api, Path data,
                                                String instance) {
        Map<String, String> env = new HashMap<>(services);
        env.put("EXTERNAL_API_URL", api.url());
        env.put("EXTERNAL_API_TOKEN", TOKEN);
        env.put("DATA_DIR", data.toString());
        env.put("DUCKDB_PATH", data.resolve("warehouse.duckdb").toString());
        env.put("INSTANCE_ID", instance);
        return env;
    }

    private Map<String, LongSupplier> counters(MeterRegistry registry, DemoReceiver api) {
        Map<String, LongSupplier> m = new LinkedHashMap<>();
        m.put("source", () -> count(registry, "pipeline.source.records", "table", "engagement_events"));
        m.put("processor", () -> count(registry, "pipeline.processor.records", "outcome", "enriched"));
        m.put("redis", () -> count(registry, "pipeline.sink.events", "sink", "redis"));
        m.put("warehouse", () -> count(registry, "pipeline.sink.events", "sink", "warehouse"));
        m.put("http", api::events);
        return m;
    }

    private static long count(MeterRegistry registry, String name, String tag, String value) {
        return (long) Meters.count(registry, name, tag, value);
    }

    private static Map<String, Long> snapshot(Map<String, LongSupplier> stages) {
        Map<String, Long> m = new HashMap<>();
        stages.forEach((k, v) -> m.put(k, v.getAsLong()));
        return m;
    }

    private static String progress(Map<String, LongSupplier> stages, Map<String, Long> base) {
        Map<String, Long> m = new LinkedHashMap<>();
        stages.forEach((k, v) -> m.put(k, v.getAsLong() - base.getOrDefault(k, 0L)));
        return m.toString();
    }

    private static void awaitAll(Map<String, LongSupplier> stages, long n, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (stages.values().stream().anyMatch(s -> s.getAsLong() < n)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("stages did not reach " + n + " events: " + progress(stages, Map.of()));
            }
            Thread.sleep(20);
        }
    }

    private void sampleHeap() {
        var memory = ManagementFactory.getMemoryMXBean();
        while (!Thread.currentThread().isInterrupted()) {
            peakHeap.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private Map<String, Object> memory() throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("peak_heap_mib", peakHeap.get() / (1024 * 1024));
        r.put("max_heap_mib", Runtime.getRuntime().maxMemory() / (1024 * 1024));
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                r.put("peak_rss_mib", Long.parseLong(line.replaceAll("\\D", "")) / 1024);
            }
        }
        r.put("note", "one JVM holds the pipeline, the Kafka broker and the load generator");
        out.println("memory: " + r);
        return r;
    }

    private static Map<String, Object> machine() throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("memory_gib", Math.round(((com.sun.management.OperatingSystemMXBean)
                ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize() / Math.pow(1024, 3)));
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("model name")) {
                m.put("cpu", line.substring(line.indexOf(':') + 1).trim());
                break;
            }
        }
        m.put("java", System.getProperty("java.version"));
        return m;
    }

    private static double rate(long n, long nanos) {
        return nanos <= 0 ? 0 : Math.round(n / (nanos / 1e9));
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
