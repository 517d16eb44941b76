package dev.engagement.pipeline.bench;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.generate.EventGenerator;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * The bench's restart phase: the whole pipeline killed (kill -9) while it moves a backlog, more
 * events written while it is down, then started again with the same DATA_DIR, five times. For each:
 * the time from the process start to the first new event in Redis, and the rate at which it drains
 * the backlog from then on, against the rate at which the same pipeline, warm, drains a backlog of
 * the same size. Redis's own count ({@code stats:global events}) is the measure: it survives the
 * process.
 */
final class RestartBench {
    private static final int KILLS = 5;
    private static final int BACKLOG = 30_000;
    private static final int WARM_UP = 100_000;
    private static final String COMPONENTS = "source,processor,redis,warehouse,http,api";

    private final Map<String, String> env;
    private final PipelineConfig config;
    private final EventGenerator generator;
    private final Path dir;
    private final PrintStream out;

    RestartBench(Map<String, String> env, PipelineConfig config, EventGenerator generator, Path dir, PrintStream out) {
        this.env = env;
        this.config = config;
        this.generator = generator;
        this.dir = dir;
        this.out = out;
    }

    Map<String, Object> run() throws Exception {
        RedisClient client = RedisClient.create(config.redis().url().reveal());
        try (StatefulRedisConnection<String, String> redis = client.connect()) {
            Counter events = () -> {
                String v = redis.sync().hget("stats:global", "events");
                return v == null ? 0 : Long.parseLong(v);
            };
            ChildPipeline pipeline = ChildPipeline.start(env, COMPONENTS, dir, ChildPipeline.JVM_OPTIONS);
            try {
                long base = events.get();
                // warm: the JIT has compiled the hot paths, so that the warm rate is the one to beat
                generator.bulk(WARM_UP, 5_000, n -> { });
                await(pipeline, () -> events.get() >= base + WARM_UP, Duration.ofMinutes(5));
                double warm = drain(pipeline, events, events.get(), System.nanoTime());
                out.printf("restart: warm drain of %,d events at %,.0f events/s%n", BACKLOG, warm);
                List<Double> firstEventS = new ArrayList<>();
                List<Double> drainRatio = new ArrayList<>();
                for (int kill = 1; kill <= KILLS; kill++) {
                    long before = events.get();
                    generator.bulk(BACKLOG, 5_000, n -> { });
                    await(pipeline, () -> events.get() >= before + BACKLOG / 3, Duration.ofMinutes(5));
                    pipeline.kill9();
                    generator.bulk(BACKLOG, 5_000, n -> { }); // written while it is down
                    long atKill = events.get();
                    long started = System.nanoTime();
                    pipeline = ChildPipeline.start(env, COMPONENTS, dir, ChildPipeline.JVM_OPTIONS);
                    ChildPipeline p = pipeline;
                    await(p, () -> events.get() > atKill, Duration.ofMinutes(3));
                    long first = System.nanoTime();
                    firstEventS.add(round((first - started) / 1e9));
                    double rate = drainFrom(p, events, atKill, before + 2L * BACKLOG, first);
                    drainRatio.add(round(rate / warm));
                    out.printf("restart %d: first new event in Redis %.1f s after the process started; the backlog "
                            + "at %,.0f events/s (%.2f x warm)%n", kill, (first - started) / 1e9, rate, rate / warm);
                }
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("kills", KILLS);
                r.put("backlog_events", 2 * BACKLOG);
                r.put("warm_drain_events_per_s", Math.round(warm));
                r.put("start_to_first_event_s", firstEventS);
                r.put("start_to_first_event_median_s", median(firstEventS));
                r.put("drain_to_warm", drainRatio);
                r.put("drain_to_warm_median", median(drainRatio));
                return r;
            } finally {
                pipeline.close();
            }
        } finally {
            client.shutdown();
        }
    }

    /** Writes a backlog into a running, warm pipeline; its drain rate from the first event it applies. */
    private double drain(ChildPipeline p, Counter events, long before, long t0) throws Exception {
        generator.bulk(BACKLOG, 5_000, n -> { });
        await(p, () -> events.get() > before, Duration.ofMinutes(1));
        return drainFrom(p, events, before, before + BACKLOG, System.nanoTime());
    }

    private static double drainFrom(ChildPipeline p, Counter events, long from, long to, long since) throws Exception {
        long at = events.get();
        await(p, () -> events.get() >= to, Duration.ofMinutes(10));
        double s = (System.nanoTime() - since) / 1e9;
        return (to - Math.min(at, from + 1)) / Math.max(s, 1e-3);
    }

    private static void await(ChildPipeline p, BooleanSupplier done, Duration within) throws Exception {
        p.await(done, within, () -> "waiting for Redis");
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    @FunctionalInterface
    private interface Counter {
        long get();
    }
}
