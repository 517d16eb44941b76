package dev.engagement.pipeline.bench;

import dev.engagement.pipeline.db.Database;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;

import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;

/**
 * The bench's idle phase: what a started pipeline costs while nothing happens, and how fast it
 * answers the first event after a quiet spell. The pipeline is started and taken through 20,000
 * events (every stage started), left alone for {@link #SETTLE} (the JIT finishes what those events
 * started), then for {@link #IDLE}: the CPU of its process, by thread, and of this process (the
 * broker's, mostly: the bench does nothing meanwhile), from /proc. Then single events, each after {@link #QUIET} of silence, each in a transaction of its own,
 * for content Redis already knows and for brand-new content (the content row and the event in one
 * transaction): the time from the commit's return to the event in Redis ({@code content:<id>}'s
 * {@code events}), polled every millisecond.
 */
final class IdleBench {
    static final Duration IDLE = Duration.ofSeconds(60);
    private static final Duration QUIET = Duration.ofSeconds(3);
    /** Before the idle window: the JIT is still compiling what the first events ran (a third of the idle CPU if measured at once). */
    static final Duration SETTLE = Duration.ofSeconds(30);
    private static final int SINGLES = 10;
    private static final String COMPONENTS = "source,processor,redis,warehouse,http,api";

    private final PhaseSetup setup;

    IdleBench(PhaseSetup setup) {
        this.setup = setup;
    }

    Map<String, Object> run() throws Exception {
        RedisClient client = RedisClient.create(setup.config().redis().url().reveal());
        try (StatefulRedisConnection<String, String> redis = client.connect();
             ChildPipeline pipeline = ChildPipeline.start(setup.env(), COMPONENTS, setup.dir(), ChildPipeline.JVM_OPTIONS);
             Connection pg = Database.connect(setup.config().postgres())) {
            long base = count(redis.sync().hget("stats:global", "events"));
            setup.generator().bulk(20_000, 5_000, n -> { });
            pipeline.await(() -> count(redis.sync().hget("stats:global", "events")) >= base + 20_000,
                    Duration.ofMinutes(5), () -> "waiting for Redis");
            setup.out().printf("idle: the pipeline left alone for %d s, measured over the last %d s...%n",
                    SETTLE.plus(IDLE).toSeconds(), IDLE.toSeconds());
            LockSupport.parkNanos(SETTLE.toNanos());
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            Map<String, Long> threads0 = Procfs.cpuNanosByThread(pipeline.process.pid());
            long pipeline0 = pipeline.cpuNanos();
            long bench0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            LockSupport.parkNanos(IDLE.toNanos());
            double seconds = (System.nanoTime() - t0) / 1e9;
            double pipelineCores = (pipeline.cpuNanos() - pipeline0) / 1e9 / seconds;
            double benchCores = (os.getProcessCpuTime() - bench0) / 1e9 / seconds;
            Map<String, Object> byThread = new LinkedHashMap<>();
            Procfs.cpuNanosByThread(pipeline.process.pid()).entrySet().stream()
                    .map(e -> Map.entry(e.getKey(), e.getValue() - threads0.getOrDefault(e.getKey(), 0L)))
                    .filter(e -> e.getValue() > 0)
                    .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .limit(10)
                    .forEach(e -> byThread.put(e.getKey(), round3(e.getValue() / 1e9 / seconds)));
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("idle_s", Math.round(seconds));
            r.put("pipeline_cores", round3(pipelineCores));
            r.put("broker_and_bench_cores", round3(benchCores));
            r.put("pipeline_cores_by_thread", byThread);
            setup.out().printf("idle: the pipeline process %.3f cores, the broker (and the idle bench) %.3f cores; the "
                    + "pipeline's busiest threads: %s%n", pipelineCores, benchCores, byThread);
            pg.setAutoCommit(false);
            String known = knownContent(pg);
            List<Double> existing = new ArrayList<>();
            List<Double> fresh = new ArrayList<>();
            for (int i = 0; i < SINGLES; i++) {
                LockSupport.parkNanos(QUIET.toNanos());
                existing.add(single(pipeline, pg, redis, known, false));
                LockSupport.parkNanos(QUIET.toNanos());
                fresh.add(single(pipeline, pg, redis, UUID.randomUUID().toString(), true));
            }
            r.put("single_event_existing_content_ms", existing);
            r.put("single_event_existing_content_median_ms", PhaseSetup.median(existing));
            r.put("single_event_existing_content_max_ms", max(existing));
            r.put("single_event_new_content_ms", fresh);
            r.put("single_event_new_content_median_ms", PhaseSetup.median(fresh));
            r.put("single_event_new_content_max_ms", max(fresh));
            setup.out().printf("idle: one event, commit -> Redis: existing content median %.1f ms (max %.1f), new content "
                    + "median %.1f ms (max %.1f)%n", PhaseSetup.median(existing), max(existing), PhaseSetup.median(fresh), max(fresh));
            return r;
        } finally {
            client.shutdown();
        }
    }

    /** One event in a transaction of its own (with its content row when {@code newContent}): ms from commit to Redis. */
    private static double single(ChildPipeline pipeline, Connection pg, StatefulRedisConnection<String, String> redis,
                                 String contentId, boolean newContent) throws Exception {
        String key = "content:" + contentId;
        long before = count(redis.sync().hget(key, "events"));
        if (newContent) {
            try (PreparedStatement ps = pg.prepareStatement("INSERT INTO content (id, slug, title, content_type, "
                    + "length_seconds, publish_ts) VALUES (?::uuid, ?, ?, 'video', 600, now())")) {
                ps.setString(1, contentId);
                ps.setString(2, "idle-bench-" + contentId);
                ps.setString(3, "Idle bench " + contentId.substring(0, 8));
                ps.executeUpdate();
            }
        }
        try (PreparedStatement ps = pg.prepareStatement("INSERT INTO engagement_events (content_id, user_id, "
                + "event_type, event_ts, duration_ms, device) VALUES (?::uuid, gen_random_uuid(), 'play', now(), "
                + "1000, 'desktop')")) {
            ps.setString(1, contentId);
            ps.executeUpdate();
        }
        pg.commit();
        long committed = System.nanoTime();
        long until = committed + Duration.ofSeconds(30).toNanos();
        while (count(redis.sync().hget(key, "events")) <= before) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException("one event did not reach Redis within 30 s; see " + pipeline.log);
            }
            LockSupport.parkNanos(1_000_000);
        }
        return Math.round((System.nanoTime() - committed) / 1e5) / 10.0;
    }

    private static String knownContent(Connection pg) throws SQLException {
        try (PreparedStatement ps = pg.prepareStatement("SELECT content_id::text FROM engagement_events ORDER BY id "
                + "DESC LIMIT 1"); ResultSet rs = ps.executeQuery()) {
            rs.next();
            String id = rs.getString(1);
            pg.commit();
            return id;
        }
    }

    private static long count(String v) {
        return v == null ? 0 : Long.parseLong(v);
    }

    private static double max(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
