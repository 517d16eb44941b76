package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.local.LocalRedis;
import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.FaultSeeds;
import dev.engagement.pipeline.testing.TestServices;
import io.lettuce.core.RedisClient;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 12: a Redis that may evict any key (maxmemory-policy allkeys-lru) would silently lose
 * counts and count events twice. The pipeline refuses to start on it, naming the setting, and
 * writes nothing there; once the policy is noeviction it starts and ends exact.
 */
class EvictingRedisIT {
    @FaultSeeds(value = {13001, 13002, 13003, 13004, 13005}, quick = 2)
    void aRedisThatMayEvictKeysIsRefusedAtStartAndNothingIsWrittenToIt(long seed) throws Exception {
        String policy = seed % 2 == 0 ? "allkeys-lru" : "allkeys-random";
        try (LocalRedis redis = LocalRedis.start(TestServices.fresh("redis-evicting"), Ports.free(),
                List.of("--maxmemory-policy", policy));
             Scenario s = Scenario.create("evicting_redis", seed, Map.of("REDIS_URL", redis.url()))) {
            s.startLoad(200, 2);
            PipelineProcess refused = s.start();
            assertThat(refused.waitFor(120)).as(refused.output()).isNotZero();
            assertThat(refused.output()).contains("maxmemory-policy " + policy).contains("noeviction");
            RedisClient client = RedisClient.create(redis.url());
            try (var c = client.connect()) {
                assertThat(c.sync().keys("*")).as("nothing written to an evicting Redis").isEmpty();
                c.sync().configSet("maxmemory-policy", "noeviction");
            } finally {
                client.shutdown();
            }
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            s.report("faults", "Redis with maxmemory-policy " + policy + ": start refused; noeviction: runs");
        }
    }
}
