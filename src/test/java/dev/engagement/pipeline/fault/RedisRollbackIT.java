package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.local.LocalRedis;
import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.FaultSeeds;
import dev.engagement.pipeline.testing.TestServices;
import io.lettuce.core.RedisClient;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 11: Redis goes back in time mid-stream. It is snapshotted after a random amount of
 * work, counts on, then dies and comes back from that snapshot: aggregates, seen bits, stored
 * positions and fencing epochs all older, the epochs unchanged. The sink's next write does not
 * start where Redis now stands, so Redis refuses it; the sink goes back to the stored positions
 * and applies the lost window again, and the counts end exact.
 */
class RedisRollbackIT {
    @FaultSeeds(value = {12001, 12002, 12003, 12004, 12005}, quick = 1)
    void aRedisRestoredFromAnOlderSnapshotIsAppliedAgainFromWhereItStands(long seed) throws Exception {
        try (LocalRedis redis = LocalRedis.start(TestServices.fresh("redis-rollback"), Ports.free(),
                List.of("--appendonly", "no"));
             Scenario s = Scenario.create("redis_rollback", seed, Map.of("REDIS_URL", redis.url()))) {
            s.startLoad(300, 2);
            PipelineProcess pipeline = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            long snapshotAfter = 600 + s.random.nextInt(900);
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= snapshotAfter);
            long atSnapshot = snapshot(redis);
            Path saved = redis.dir().resolve("snapshot.rdb");
            Files.copy(redis.dir().resolve("dump.rdb"), saved, StandardCopyOption.REPLACE_EXISTING);
            long further = 800 + s.random.nextInt(1200);
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= atSnapshot + further);
            long beforeRollback = s.redisEvents();
            redis.kill();
            Files.copy(saved, redis.dir().resolve("dump.rdb"), StandardCopyOption.REPLACE_EXISTING);
            Instant back = Instant.now();
            redis.start();
            long afterRollback = s.redisEvents();
            assertThat(afterRollback).as("Redis went back to its snapshot").isLessThan(beforeRollback);
            await().atMost(Duration.ofSeconds(60)).until(() ->
                    s.metric(s.port(), "pipeline_sink_rewinds_total", "sink=\"redis\"") > 0);
            Duration caughtUp = s.awaitFlow(back, beforeRollback, Duration.ofSeconds(60));
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            assertThat(pipeline.output()).contains("redis sink: the store went back in time on partition");
            s.report("faults", "Redis snapshotted after " + atSnapshot + " events, killed after " + beforeRollback
                    + ", restarted from the snapshot (" + afterRollback + " events)");
            s.report("rewound_partitions", s.metric(s.port(), "pipeline_sink_rewinds_total", "sink=\"redis\""));
            s.report("rollback_to_caught_up_ms", caughtUp.toMillis());
        }
    }

    /** SAVE, and the events counted in the snapshot. */
    private static long snapshot(LocalRedis redis) {
        RedisClient client = RedisClient.create(redis.url());
        try (var c = client.connect()) {
            c.sync().save();
            String events = c.sync().hget("stats:global", "events");
            return events == null ? 0 : Long.parseLong(events);
        } finally {
            client.shutdown();
        }
    }
}
