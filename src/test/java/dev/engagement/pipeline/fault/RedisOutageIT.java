package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.local.LocalRedis;
import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.TestServices;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Scenario 5: Redis is stopped for 30 s while events flow, then started again. */
class RedisOutageIT {

    @FaultSeeds(value = {5001, 99, 31, 4040, 161803}, quick = 1)
    void redisDownForThirtySecondsLosesNothingAndCountsNothingTwice(long seed) throws Exception {
        try (LocalRedis redis = LocalRedis.start(TestServices.fresh("redis-outage"), Ports.free());
             Scenario s = Scenario.create("redis_outage", seed, Map.of("REDIS_URL", redis.url()))) {
            s.startLoad(300, 2);
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > 1000);
            redis.stop();
            Instant down = Instant.now();
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                var health = s.get(s.port(), "/health");
                assertThat(health.statusCode()).isEqualTo(503);
                assertThat(health.body()).contains("\"redis\":\"disconnected\"");
                // not ready, since its Redis sink cannot work; still live: a restart would not bring Redis back
                var ready = s.get(s.port(), "/health/ready");
                assertThat(ready.statusCode()).isEqualTo(503);
                assertThat(ready.body()).contains("\"ready\":false");
                assertThat(s.get(s.port(), "/health/live").statusCode()).isEqualTo(200);
            });
            // the other sinks keep going while Redis is away: they are independent consumer groups
            double warehouseBefore = s.metric(s.port(), "pipeline_sink_events_total", "sink=\"warehouse\"");
            await().atMost(Duration.ofSeconds(20)).until(() ->
                    s.metric(s.port(), "pipeline_sink_events_total", "sink=\"warehouse\"") > warehouseBefore + 100);
            s.holdFor(Duration.ofSeconds(30), down); // the outage lasts 30 s
            long outageMs = Duration.between(down, Instant.now()).toMillis();
            long before = s.redisEvents() < 0 ? 0 : s.redisEvents();
            redis.start();
            Instant back = Instant.now();
            Duration flow = s.awaitFlow(back, before, Duration.ofSeconds(60));
            s.awaitHealthy(s.port(), Duration.ofSeconds(60));
            assertThat(s.get(s.port(), "/health/ready").statusCode()).isEqualTo(200);
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            s.report("faults", "Redis stopped for " + outageMs / 1000 + " s while events flow, then started");
            s.report("redis_back_to_flow_ms", flow.toMillis());
            s.report("failed_redis_writes_retried", s.metric(s.port(), "pipeline_sink_failures_total", "sink=\"redis\""));
        }
    }
}
