package dev.engagement.pipeline.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;

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
 * the same size and shape. Redis's own count ({@code stats:global events}) is the measure: it
 * survives the process.
 *
 * <p>The warm backlog is committed in one transaction, so that, as after a restart, every stage
 * (the source decoding it, the processor, the sinks) has the whole of it to do from the first event
 * on. A backlog written in pieces while the pipeline runs would be mostly through the source and
 * the processor by the time the last piece commits, and its "drain" would measure the sinks' tail
 * alone: faster than the whole pipeline can be, and different from run to run (11,800 to 23,400
 * events/s on one machine and one day).
 */
final class RestartBench {
    private static final int KILLS = 5;
    private static final int BACKLOG = 30_000;
    private static final int WARM_UP = 100_000;
    /** What waits when a restarted pipeline starts: two thirds of one backlog and the whole of the next. */
    private static final int WARM_BACKLOG = 2 * BACKLOG - BACKLOG / 3;
    private static final String COMPONENTS = "source,processor,redis,warehouse,http,api";

    private final PhaseSetup setup;

    RestartBench(PhaseSetup setup) {
        this.setup = setup;
    }

    Map<String, Object> run() throws Exception {
        RedisClient client = RedisClient.create(setup.config().redis().url().reveal());
        try (StatefulRedisConnection<String, String> redis = client.connect()) {
            Counter events = () -> {
                String v = redis.sync().hget("stats:global", "events");
                return v == null ? 0 : Long.parseLong(v);
            };
            ChildPipeline pipeline = ChildPipeline.start(setup.env(), COMPONENTS, setup.dir(), ChildPipeline.JVM_OPTIONS);
            try {
                long base = events.get();
                // warm: the JIT has compiled the hot paths, so that the warm rate is the one to beat
                setup.generator().bulk(WARM_UP, 5_000, n -> { });
                await(pipeline, () -> events.get() >= base + WARM_UP, Duration.ofMinutes(5));
                double warm = drain(pipeline, events, events.get());
                setup.out().printf("restart: warm drain of %,d events committed at once, at %,.0f events/s%n", WARM_BACKLOG,
                        warm);
                List<Double> firstEventS = new ArrayList<>();
                List<Double> drainRatio = new ArrayList<>();
                for (int kill = 1; kill <= KILLS; kill++) {
                    long before = events.get();
                    setup.generator().bulk(BACKLOG, 5_000, n -> { });
                    await(pipeline, () -> events.get() >= before + BACKLOG / 3, Duration.ofMinutes(5));
                    pipeline.kill9();
                    setup.generator().bulk(BACKLOG, 5_000, n -> { }); // written while it is down
                    long atKill = events.get();
                    long started = System.nanoTime();
                    pipeline = ChildPipeline.start(setup.env(), COMPONENTS, setup.dir(), ChildPipeline.JVM_OPTIONS);
                    ChildPipeline p = pipeline;
                    await(p, () -> events.get() > atKill, Duration.ofMinutes(3));
                    long first = System.nanoTime();
                    firstEventS.add(round((first - started) / 1e9));
                    double rate = drainFrom(p, events, atKill, before + 2L * BACKLOG, first);
                    drainRatio.add(round(rate / warm));
                    setup.out().printf("restart %d: first new event in Redis %.1f s after the process started; the backlog "
                            + "at %,.0f events/s (%.2f x warm)%n", kill, (first - started) / 1e9, rate, rate / warm);
                }
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("kills", KILLS);
                r.put("backlog_events", 2 * BACKLOG);
                r.put("warm_backlog_events", WARM_BACKLOG);
                r.put("warm_drain_events_per_s", Math.round(warm));
                r.put("start_to_first_event_s", firstEventS);
                r.put("start_to_first_event_median_s", PhaseSetup.median(firstEventS));
                r.put("drain_to_warm", drainRatio);
                r.put("drain_to_warm_median", PhaseSetup.median(drainRatio));
                return r;
            } finally {
                pipeline.close();
            }
        } finally {
            client.shutdown();
        }
    }

    /**
     * Commits a backlog in one transaction into a running, warm pipeline; its drain rate from the
     * first event it applies to the last.
     */
    private double drain(ChildPipeline p, Counter events, long before) throws Exception {
        setup.generator().bulk(WARM_BACKLOG, WARM_BACKLOG, n -> { });
        await(p, () -> events.get() > before, Duration.ofMinutes(1));
        return drainFrom(p, events, before, before + WARM_BACKLOG, System.nanoTime());
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

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    @FunctionalInterface
    private interface Counter {
        long get();
    }
}
