package dev.engagement.pipeline.bench;

import dev.engagement.pipeline.Progress;
import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.generate.EventGenerator;
import dev.engagement.pipeline.local.DemoReceiver;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.local.LocalStack;
import dev.engagement.pipeline.metrics.StageCpu;
import dev.engagement.pipeline.source.Backfill;
import io.lettuce.core.RedisClient;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Measures the pipeline on this machine, everything on it, each figure beside the limit it is a
 * ratio of, measured in the same run: a private PostgreSQL, Redis and Kafka broker (the broker, the
 * load generator and a stand-in for the external API in this process), the pipeline in a process of
 * its own ({@link ChildPipeline}) so that its CPU and heap are its own.
 *
 * <ul>
 *   <li>limits: the broker, Redis and DuckDB on their own ({@link Limits});</li>
 *   <li>throughput: three workloads, each until all three sinks have every event, each against
 *       {@code pg_recvlogical} reading the same rows from a slot made before them;</li>
 *   <li>latency: commit to each stage at fixed rates (1,000 and 5,000 events/s and half the measured
 *       maximum);</li>
 *   <li>backfill: every event in PostgreSQL through a fresh broker into fresh sinks, against the
 *       backfill's own rate into Kafka;</li>
 *   <li>source: the source alone against pg_recvlogical and Debezium ({@link SourceBench}).</li>
 * </ul>
 */
public final class Benchmark {
    private static final String TOKEN = "bench-token";
    private static final List<String> SINKS = List.of("redis", "warehouse", "http");
    private static final List<String> LATENCY_STAGES = List.of("source", "processor", "redis", "warehouse", "http");
    private static final String LATENCY = "pipeline_end_to_end_latency_seconds";

    /** What one run measures. */
    public enum Phase { LIMITS, THROUGHPUT, LATENCY, IDLE, BACKFILL, RESTART, BIG_TRANSACTION, SOURCE }

    /**
     * @param rates the latency phase's rates; 0 stands for half the maximum measured by the COPY workload
     */
    public record Settings(long events, long insertEvents, long singleRowEvents, List<Integer> rates, Duration warmup,
                           Duration latencyFor, Path dir, Set<Phase> phases, long sourceRows, long bigTransactionRows) {
    }

    private final Settings settings;
    private final PrintStream out;
    private final Map<String, Object> summary = new LinkedHashMap<>();
    private Map<String, Object> limits = Map.of();

    public Benchmark(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    public Map<String, Object> run() throws Exception {
        Path runDir = settings.dir().resolve("run-" + System.currentTimeMillis()).toAbsolutePath();
        Files.createDirectories(runDir);
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("machine", machine());
        report.put("pipeline_jvm", ChildPipeline.JVM_OPTIONS);
        report.put("summary", summary);
        Set<Phase> phases = settings.phases();
        try (LocalStack stack = LocalStack.up(Map.of(), runDir.resolve("local"));
             DemoReceiver api = new DemoReceiver(TOKEN)) {
            Map<String, String> env = settings(stack.overrides(), api, runDir.resolve("data"), "bench");
            PipelineConfig config = ConfigLoader.load(env);
            Schema.init(config.postgres());
            EventGenerator generator = new EventGenerator(config.postgres(), 42);
            generator.ensureContent(1000);
            if (phases.contains(Phase.LIMITS)) {
                limits = new Limits(config, runDir.resolve("limits"), out).run(1_000_000, 1_000_000, 1_000_000);
                report.put("limits", limits);
            }
            if (phases.contains(Phase.THROUGHPUT) || phases.contains(Phase.LATENCY)) {
                try (ChildPipeline pipeline = ChildPipeline.start(env, "source,processor,redis,warehouse,http,api", runDir.resolve("pipeline"),
                        ChildPipeline.JVM_OPTIONS)) {
                    Stages stages = new Stages(pipeline, api);
                    out.println("warming up (the first 20,000 events through every stage)...");
                    Map<String, Long> base = stages.snapshot();
                    generator.bulk(20_000, 5_000, n -> { });
                    stages.awaitAll(base, 20_000, Duration.ofMinutes(5));
                    double max = 0;
                    if (phases.contains(Phase.THROUGHPUT)) {
                        Map<String, Object> t = new LinkedHashMap<>();
                        Map<String, Object> copy = workload("copy", "COPY batches of 10,000 rows", stages, config,
                                runDir, settings.events(), () -> generator.bulk(settings.events(), 10_000, n -> { }));
                        t.put("copy", copy);
                        max = ((Number) copy.get("end_to_end_events_per_s")).doubleValue();
                        t.put("insert_select", workload("insert_select", "INSERT ... SELECT, 20,000 rows a transaction",
                                stages, config, runDir, settings.insertEvents(),
                                () -> generator.insertSelect(settings.insertEvents(), 20_000, n -> { })));
                        // each commit waiting for the disk, as an application's do: PostgreSQL's own
                        // commit rate is the bound here, and the figure says whether the pipeline keeps up
                        t.put("single_row", workload("single_row", "single-row transactions from 8 clients",
                                stages, config, runDir, settings.singleRowEvents(),
                                () -> generator.singleRows(settings.singleRowEvents(), 8, true, n -> { })));
                        // the same without waiting for the disk, so the rows come faster than the pipeline
                        t.put("single_row_async_commit", workload("single_row_async_commit",
                                "single-row transactions from 8 clients, synchronous_commit=off", stages, config,
                                runDir, settings.singleRowEvents() * 2,
                                () -> generator.singleRows(settings.singleRowEvents() * 2, 8, false, n -> { })));
                        report.put("throughput", t);
                    }
                    if (phases.contains(Phase.LATENCY)) {
                        List<Object> l = new ArrayList<>();
                        for (int rate : settings.rates()) {
                            int r = rate > 0 ? rate : (int) Math.max(1000, Math.round(max > 0 ? max / 2 : 10_000));
                            String note = rate > 0 ? null : max > 0 ? "half the measured maximum"
                                    : "no maximum measured in this run: 10,000";
                            l.add(latency(stages, generator, r, note));
                        }
                        report.put("latency", l);
                    }
                    Map<String, Object> memory = new LinkedHashMap<>();
                    pipeline.scrape();
                    memory.put("pipeline_peak_heap_mib", Math.round(pipeline.peakHeapBytes() / (1024 * 1024)));
                    memory.put("pipeline_max_heap_mib", Math.round(pipeline.metrics().sum("jvm_memory_max_bytes", "area",
                            "heap") / (1024 * 1024)));
                    memory.put("pipeline_peak_rss_mib", pipeline.peakRssMib());
                    memory.put("pipeline_gc_pause_seconds", round(pipeline.metrics().sum("jvm_gc_pause_seconds_sum", null,
                            null)));
                    report.put("memory", memory);
                    summary.put("pipeline peak heap (MiB; target <= 1024)", memory.get("pipeline_peak_heap_mib"));
                    out.println("memory of the pipeline process: " + memory);
                }
            }
            if (phases.contains(Phase.IDLE)) {
                Map<String, String> idleEnv = settings(stack.overrides(), api, runDir.resolve("idle-data"), "bench-idle");
                Map<String, Object> r = new IdleBench(new PhaseSetup(idleEnv, config, generator, runDir.resolve("idle"), out)).run();
                report.put("idle", r);
                summary.put("idle: pipeline process cores (target <= 0.03)", r.get("pipeline_cores"));
                summary.put("idle: broker (and the idle bench) cores (target <= 0.03)", r.get("broker_and_bench_cores"));
                summary.put("idle: one event, commit -> Redis, median / max ms, existing content (target <= 50 / 100)",
                        r.get("single_event_existing_content_median_ms") + " / " + r.get("single_event_existing_content_max_ms"));
                summary.put("idle: one event, commit -> Redis, median / max ms, new content (target <= 50 / 100)",
                        r.get("single_event_new_content_median_ms") + " / " + r.get("single_event_new_content_max_ms"));
            }
            if (phases.contains(Phase.BACKFILL)) {
                report.put("backfill", backfill(config, stack, runDir));
            }
            if (phases.contains(Phase.RESTART)) {
                Map<String, String> restartEnv = settings(stack.overrides(), api, runDir.resolve("restart-data"), "");
                restartEnv.remove("INSTANCE_ID"); // as a user starts it: the id kept in DATA_DIR
                Map<String, Object> r = new RestartBench(new PhaseSetup(restartEnv, config, generator, runDir.resolve("restart"), out)).run();
                report.put("restart", r);
                summary.put("restart: process start to first new event in Redis, median of 5 kills (target <= 5 s)",
                        r.get("start_to_first_event_median_s") + " s");
                summary.put("restart: backlog drain / warm drain, median (target >= 0.8)", r.get("drain_to_warm_median"));
            }
            if (phases.contains(Phase.BIG_TRANSACTION)) {
                report.put("big_transaction", bigTransaction(env, generator, api, runDir));
            }
            if (phases.contains(Phase.SOURCE)) {
                Map<String, String> sourceEnv = settings(stack.overrides(), api, runDir.resolve("source-data"), "bench-source");
                report.put("source", new SourceBench(sourceEnv, runDir.resolve("source"), settings.sourceRows(), out).run());
            }
        }
        out.println();
        out.println("summary (each pipeline figure as a ratio of its limit, same run):");
        summary.forEach((k, v) -> out.printf("  %-72s %s%n", k, v));
        return report;
    }

    /**
     * One PostgreSQL transaction of {@code bigTransactionRows} events into a pipeline started idle:
     * the time from its commit until every sink has them, and the pipeline process's peak resident
     * set (heap and native: DuckDB, Kafka buffers, thread stacks) beside its peak heap, against the
     * memory budget the README documents for the defaults.
     */
    private Map<String, Object> bigTransaction(Map<String, String> env, EventGenerator generator, DemoReceiver api,
                                               Path runDir) throws Exception {
        long n = settings.bigTransactionRows();
        Map<String, Object> r = new LinkedHashMap<>();
        try (ChildPipeline pipeline = ChildPipeline.start(env, "source,processor,redis,warehouse,http,api",
                runDir.resolve("big-transaction"), ChildPipeline.JVM_OPTIONS)) {
            Stages stages = new Stages(pipeline, api);
            Map<String, Long> warm = stages.snapshot();
            generator.bulk(20_000, 5_000, x -> { }); // every stage started and through its first events
            stages.awaitAll(warm, 20_000, Duration.ofMinutes(5));
            long idleRss = Procfs.rssMib(pipeline.process.pid());
            out.printf("big transaction: %,d events in one INSERT ... SELECT...%n", n);
            Map<String, Long> base = stages.snapshot();
            long t0 = System.nanoTime();
            generator.insertSelect(n, (int) n, x -> { });
            long committed = System.nanoTime();
            stages.awaitAll(base, n, Duration.ofMinutes(20));
            long done = System.nanoTime();
            pipeline.scrape();
            r.put("rows", n);
            r.put("insert_s", round((committed - t0) / 1e9));
            r.put("commit_to_every_sink_s", round((done - committed) / 1e9));
            r.put("rss_idle_mib", idleRss);
            r.put("peak_rss_mib", pipeline.peakRssMib());
            r.put("peak_heap_mib", Math.round(pipeline.peakHeapBytes() / (1024 * 1024)));
            r.put("budget_mib", MEMORY_BUDGET_MIB);
            summary.put("big transaction: peak RSS (MiB; budget " + MEMORY_BUDGET_MIB + ")", r.get("peak_rss_mib"));
            out.println("big transaction: " + r);
        }
        return r;
    }

    /** The documented memory budget of one pipeline process with the default settings (README, Memory). */
    static final long MEMORY_BUDGET_MIB = dev.engagement.pipeline.config.Memory.budgetMib(896L * 1024 * 1024, 256);

    @FunctionalInterface
    private interface Load {
        void run() throws Exception;
    }

    /**
     * One workload: its rows written while the pipeline runs, timed from the first write until each
     * stage has them all; then pg_recvlogical reads the same rows from a slot made before them.
     */
    private Map<String, Object> workload(String name, String what, Stages stages, PipelineConfig config, Path runDir,
                                         long n, Load load) throws Exception {
        out.printf("throughput, %s: %,d events...%n", what, n);
        String slot = "bench_limit_" + name;
        Path recvLog = runDir.resolve("pg_recvlogical.log");
        PgRecvlogical.createSlot(config.postgres(), slot, recvLog);
        Map<String, Long> base = stages.snapshot();
        CpuSnapshot cpu0 = CpuSnapshot.take(stages.pipeline);
        MachineCpu machine = new MachineCpu();
        long t0 = System.nanoTime();
        long[] insertedAt = {0};
        Exception[] failed = {null};
        Thread loader = new Thread(() -> {
            try {
                load.run();
                insertedAt[0] = System.nanoTime();
            } catch (Exception e) {
                failed[0] = e;
            }
        }, "bench-loader");
        loader.start();
        Map<String, Long> doneAt = new LinkedHashMap<>();
        try (Progress bar = Progress.of("bench " + name + ", slowest stage", "events", n)) {
            stages.pipeline.await(() -> {
                if (failed[0] != null) {
                    throw new IllegalStateException("the " + name + " workload failed", failed[0]);
                }
                long now = System.nanoTime();
                stages.counters.forEach((stage, c) -> {
                    if (!doneAt.containsKey(stage) && c.getAsLong() - base.get(stage) >= n) {
                        doneAt.put(stage, now);
                    }
                });
                bar.accept(stages.slowest(base));
                return doneAt.size() == stages.counters.size();
            }, Duration.ofMinutes(20), () -> stages.progress(base));
        }
        loader.join();
        MachineCpu.Usage used = machine.stop();
        CpuSnapshot cpu1 = CpuSnapshot.take(stages.pipeline);
        long last = doneAt.values().stream().mapToLong(Long::longValue).max().orElseThrow();

        PgRecvlogical.Read recv = PgRecvlogical.readTo(config.postgres(), slot, Database.currentWalLsn(config.postgres()),
                recvLog);
        PgRecvlogical.dropSlot(config.postgres(), slot, recvLog);
        double limit = recv.perSecond(n);

        Map<String, Object> r = new LinkedHashMap<>();
        r.put("events", n);
        r.put("insert_events_per_s", rate(n, insertedAt[0] - t0));
        Map<String, Object> perStage = new LinkedHashMap<>();
        doneAt.forEach((stage, at) -> perStage.put(stage, rate(n, at - t0)));
        r.put("events_per_s_to_stage", perStage);
        double e2e = rate(n, last - t0);
        r.put("end_to_end_events_per_s", e2e);
        r.put("seconds", round((last - t0) / 1e9));
        r.put("pg_recvlogical_rows_per_s", Math.round(limit));
        r.put("end_to_end_to_pg_recvlogical", round2(e2e / limit));
        r.put("machine_cores_busy", round(used.machineCores()));
        r.put("cpu_us_per_event", cpu1.minus(cpu0).perEvent(n));
        // each stage against what its own service takes on its own (the API stand-in has no such figure)
        Map<String, Object> stageRatios = new LinkedHashMap<>();
        stageRatios.put("source_to_pg_recvlogical", round2(((Number) perStage.get("source")).doubleValue() / limit));
        ratio(stageRatios, "processor_to_kafka_produce", perStage.get("processor"), "kafka_produce_records_per_s");
        ratio(stageRatios, "redis_to_pipelined_hincrby", perStage.get("redis"), "redis_pipelined_hincrby_per_s");
        ratio(stageRatios, "warehouse_to_duckdb_appender", perStage.get("warehouse"), "duckdb_appender_rows_per_s");
        r.put("stage_ratios", stageRatios);
        out.printf("  %,.0f events/s end to end (all three sinks) in %.1f s = %.2f x pg_recvlogical on the same rows "
                        + "(%,.0f rows/s); PostgreSQL took %,.0f rows/s; %.2f of %d cores busy%n", e2e, r.get("seconds"),
                e2e / limit, limit, r.get("insert_events_per_s"), used.machineCores(), used.cores());
        out.println("  events/s to each stage: " + perStage);
        out.println("  CPU per event, microseconds: " + r.get("cpu_us_per_event"));
        out.println("  each stage as a ratio of its service's own limit: " + stageRatios);
        if ("single_row".equals(name)) { // bound by PostgreSQL's commit rate: does the pipeline keep up?
            double inserted = ((Number) r.get("insert_events_per_s")).doubleValue();
            summary.put(String.format("end to end, %s, against what PostgreSQL committed", what),
                    String.format("%,.0f events/s / %,.0f = %.2f x (pg_recvlogical %,.0f)", e2e, inserted, e2e / inserted,
                            limit));
        } else {
            double target = "copy".equals(name) ? 0.25 : 0.15;
            summary.put(String.format("end to end, %s (target >= %.2f x pg_recvlogical)", what, target),
                    String.format("%,.0f events/s / %,.0f = %.2f x %s", e2e, limit, e2e / limit,
                            e2e / limit >= target ? "(met)" : "(missed)"));
        }
        return r;
    }

    /** A steady rate: warm-up, then the measured window; percentiles from the window alone. */
    private Map<String, Object> latency(Stages stages, EventGenerator generator, int rate, String note) throws Exception {
        out.printf("latency: %,d events/s%s for %d s (after %d s of warm-up)...%n", rate,
                note == null ? "" : " (" + note + ")", settings.latencyFor().toSeconds(), settings.warmup().toSeconds());
        Exception[] failed = {null};
        Thread load = new Thread(() -> {
            try {
                generator.tick(Duration.ofMillis(20)).run(rate, 0, settings.warmup().plus(settings.latencyFor()), 0,
                        w -> { });
            } catch (Exception e) {
                failed[0] = e;
            }
        }, "bench-load");
        load.start();
        long warmedAt = System.nanoTime() + settings.warmup().toNanos();
        Map<String, Long> before = stages.snapshot();
        ChildPipeline.Scrape start;
        Map<String, Long> base;
        MachineCpu machine;
        long t0;
        try (Progress bar = Progress.timed(String.format("bench latency at %,d/s, into Redis", rate), "events",
                settings.warmup().plus(settings.latencyFor()))) {
            stages.pipeline.await(() -> {
                bar.accept(stages.counters.get("redis").getAsLong() - before.get("redis"));
                return System.nanoTime() >= warmedAt;
            }, settings.warmup().plusMinutes(1), () -> "warming up");
            start = stages.pipeline.scrape();
            base = stages.snapshot();
            machine = new MachineCpu();
            t0 = System.nanoTime();
            stages.pipeline.await(() -> {
                bar.accept(stages.counters.get("redis").getAsLong() - before.get("redis"));
                return !load.isAlive();
            }, settings.latencyFor().plusMinutes(1), () -> "measuring");
        }
        load.join();
        if (failed[0] != null) {
            throw failed[0];
        }
        ChildPipeline.Scrape end = stages.pipeline.scrape();
        long t1 = System.nanoTime();
        MachineCpu.Usage used = machine.stop();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("target_events_per_s", rate);
        if (note != null) {
            r.put("note", note);
        }
        r.put("redis_events_per_s", rate(stages.counters.get("redis").getAsLong() - base.get("redis"), t1 - t0));
        Map<String, Object> perStage = new LinkedHashMap<>();
        for (String stage : LATENCY_STAGES) {
            NavigableMap<Double, Double> a = start.buckets(LATENCY, "stage", stage);
            NavigableMap<Double, Double> b = end.buckets(LATENCY, "stage", stage);
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("p50_ms", round(percentileMs(a, b, 0.50)));
            p.put("p99_ms", round(percentileMs(a, b, 0.99)));
            p.put("p999_ms", round(percentileMs(a, b, 0.999)));
            p.put("events", Math.round(total(b) - total(a)));
            perStage.put(stage, p);
        }
        r.put("commit_to_stage", perStage);
        r.put("machine_cores_busy", round(used.machineCores()));
        Map<?, ?> redis = (Map<?, ?>) perStage.get("redis");
        out.printf("  at %,.0f events/s into Redis: commit -> Redis p50 %s ms, p99 %s ms; %.2f cores busy%n",
                r.get("redis_events_per_s"), redis.get("p50_ms"), redis.get("p99_ms"), used.machineCores());
        perStage.forEach((stage, v) -> out.println("  " + stage + ": " + v));
        String label = String.format("p99 commit -> Redis / warehouse / API at %,d events/s%s (target Redis <= 300 ms)",
                rate, note == null ? "" : " (" + note + ")");
        summary.put(label, String.format("%s / %s / %s ms", redis.get("p99_ms"),
                ((Map<?, ?>) perStage.get("warehouse")).get("p99_ms"), ((Map<?, ?>) perStage.get("http")).get("p99_ms")));
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
            try (ChildPipeline pipeline = ChildPipeline.start(env, "processor,redis,warehouse,http,api",
                    runDir.resolve("backfill-pipeline"), ChildPipeline.JVM_OPTIONS)) {
                // timed from a pipeline that is ready: every sink owns its partitions, the processor runs
                pipeline.await(() -> SINKS.stream().allMatch(s -> pipeline.logContains(s + " sink owns partitions"))
                        && pipeline.logContains("-> RUNNING"), Duration.ofMinutes(3), () -> "starting");
                Stages stages = new Stages(pipeline, api);
                stages.counters.remove("source");
                Map<String, Long> zero = stages.snapshot();
                CpuSnapshot cpu0 = CpuSnapshot.take(pipeline);
                MachineCpu machine = new MachineCpu();
                long t0 = System.nanoTime();
                Backfill.Result sent = new Backfill(config).run(null, null, n -> { });
                stages.awaitAll(zero, m, Duration.ofMinutes(30));
                long t1 = System.nanoTime();
                MachineCpu.Usage used = machine.stop();
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("events", m);
                r.put("to_kafka_events_per_s", round(sent.eventsPerSecond()));
                double e2e = rate(m, t1 - t0);
                r.put("end_to_end_events_per_s", e2e);
                r.put("end_to_end_to_kafka", round2(e2e / sent.eventsPerSecond()));
                r.put("seconds", round((t1 - t0) / 1e9));
                r.put("machine_cores_busy", round(used.machineCores()));
                r.put("cpu_us_per_event", CpuSnapshot.take(pipeline).minus(cpu0).perEvent(m));
                out.printf("  %,.0f events/s into the CDC topic; %,.0f events/s end to end (all three sinks), %.1f s "
                        + "= %.2f x%n", sent.eventsPerSecond(), e2e, r.get("seconds"), e2e / sent.eventsPerSecond());
                summary.put("backfill end to end (target >= 0.5 x its own rate into Kafka)",
                        String.format("%,.0f events/s / %,.0f = %.2f x %s", e2e, sent.eventsPerSecond(),
                                e2e / sent.eventsPerSecond(), e2e / sent.eventsPerSecond() >= 0.5 ? "(met)" : "(missed)"));
                return r;
            }
        }
    }

    /** The stages' event counters, read from the pipeline's last scrape (and the API stand-in's own count). */
    private static final class Stages {
        final ChildPipeline pipeline;
        final Map<String, LongSupplier> counters = new LinkedHashMap<>();

        Stages(ChildPipeline pipeline, DemoReceiver api) {
            this.pipeline = pipeline;
            counters.put("source", () -> (long) pipeline.metrics().sum("pipeline_source_records_total", "table",
                    "engagement_events"));
            counters.put("processor", () -> (long) pipeline.metrics().sum("pipeline_processor_records_total", "outcome",
                    "enriched"));
            for (String sink : List.of("redis", "warehouse")) {
                counters.put(sink, () -> (long) pipeline.metrics().sum("pipeline_sink_events_total", "sink", sink));
            }
            counters.put("http", api::events);
        }

        Map<String, Long> snapshot() {
            pipeline.scrape();
            Map<String, Long> m = new HashMap<>();
            counters.forEach((k, v) -> m.put(k, v.getAsLong()));
            return m;
        }

        String progress(Map<String, Long> base) {
            Map<String, Long> m = new LinkedHashMap<>();
            counters.forEach((k, v) -> m.put(k, v.getAsLong() - base.getOrDefault(k, 0L)));
            return m.toString();
        }

        void awaitAll(Map<String, Long> base, long n, Duration within) throws Exception {
            try (Progress bar = Progress.of("bench backfill, slowest stage", "events", n)) {
                pipeline.await(() -> {
                    bar.accept(slowest(base));
                    return counters.entrySet().stream().allMatch(e -> e.getValue().getAsLong() - base.get(e.getKey()) >= n);
                }, within, () -> progress(base));
            }
        }

        /** Events the slowest stage has taken since {@code base}. */
        long slowest(Map<String, Long> base) {
            return counters.entrySet().stream().mapToLong(e -> e.getValue().getAsLong() - base.getOrDefault(e.getKey(), 0L))
                    .min().orElse(0);
        }
    }

    /**
     * CPU so far: the pipeline's by stage (its own meter), the pipeline process's, PostgreSQL's and
     * Redis's processes (from /proc), and this process (the broker and the load generator).
     */
    private record CpuSnapshot(Map<String, Double> stages, double pipeline, double postgres, double redis,
                               double benchProcess) {
        static CpuSnapshot take(ChildPipeline p) {
            ChildPipeline.Scrape s = p.scrape();
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            return new CpuSnapshot(s.byLabel("pipeline_cpu_seconds_total", "stage"), p.cpuNanos() / 1e9,
                    Procfs.cpuNanosOfAll("postgres") / 1e9, Procfs.cpuNanosOfAll("redis-server") / 1e9,
                    os.getProcessCpuTime() / 1e9);
        }

        CpuSnapshot minus(CpuSnapshot o) {
            Map<String, Double> m = new LinkedHashMap<>();
            for (String stage : StageCpu.STAGES) {
                m.put(stage, stages.getOrDefault(stage, 0.0) - o.stages.getOrDefault(stage, 0.0));
            }
            return new CpuSnapshot(m, pipeline - o.pipeline, postgres - o.postgres, redis - o.redis,
                    benchProcess - o.benchProcess);
        }

        Map<String, Object> perEvent(long n) {
            Map<String, Object> r = new LinkedHashMap<>();
            stages.forEach((stage, sec) -> r.put("pipeline." + stage, round(sec * 1e6 / n)));
            r.put("pipeline process", round(pipeline * 1e6 / n));
            r.put("postgresql", round(postgres * 1e6 / n));
            r.put("redis-server", round(redis * 1e6 / n));
            r.put("broker and generator", round(benchProcess * 1e6 / n));
            return r;
        }
    }

    private void ratio(Map<String, Object> into, String name, Object stageRate, String limit) {
        Object l = limits.get(limit);
        if (l instanceof Number n && n.doubleValue() > 0) {
            into.put(name, round2(((Number) stageRate).doubleValue() / n.doubleValue()));
        }
    }

    private static double total(NavigableMap<Double, Double> buckets) {
        return buckets.isEmpty() ? 0 : buckets.lastEntry().getValue();
    }

    /**
     * A percentile of what a histogram counted between two readings of its cumulative buckets,
     * interpolated linearly inside a bucket; NaN when it counted nothing.
     */
    static double percentileMs(NavigableMap<Double, Double> start, NavigableMap<Double, Double> end, double p) {
        double count = total(end) - total(start);
        if (count <= 0) {
            return Double.NaN;
        }
        double rank = p * count;
        double lower = 0;
        double below = 0;
        for (Map.Entry<Double, Double> e : end.entrySet()) {
            double cumulative = e.getValue() - start.getOrDefault(e.getKey(), 0.0);
            double upper = e.getKey() * 1000;
            if (cumulative >= rank) {
                if (Double.isInfinite(upper)) {
                    return Double.POSITIVE_INFINITY; // beyond the last bucket
                }
                double inBucket = cumulative - below;
                double fraction = inBucket == 0 ? 1 : (rank - below) / inBucket;
                return lower + fraction * (upper - lower);
            }
            below = cumulative;
            lower = upper;
        }
        return Double.POSITIVE_INFINITY;
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
        m.put("date", java.time.LocalDate.now().toString());
        return m;
    }

    private static double rate(long n, long nanos) {
        return nanos <= 0 ? 0 : Math.round(n / (nanos / 1e9));
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static double round2(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
