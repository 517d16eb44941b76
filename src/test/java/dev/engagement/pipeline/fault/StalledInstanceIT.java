package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 3: an instance freezes (SIGSTOP) with a Redis batch in hand, past its session time-out,
 * while a second instance takes over its partitions; then it resumes. Its late write must be
 * refused (fencing), its processor must re-join instead of dying, and nothing is counted twice.
 */
class StalledInstanceIT {

    @Test
    void aFrozenInstanceIsFencedWhenItWakesUpAndNothingCountsTwice() throws Exception {
        try (Scenario s = Scenario.create("stalled")) {
            s.startLoad(200, 2);
            s.start(Map.of("INSTANCE_ID", "source", "HTTP_PORT", Integer.toString(Ports.free())),
                    "run", "--components", "source");
            int portA = s.port();
            PipelineProcess a = s.start(Map.of("INSTANCE_ID", "a", "PIPELINE_TEST_FAULT", "redis.before-write@12:stop"),
                    "run", "--components", "processor,redis,warehouse,http,api");
            int portB = Ports.free();
            Path dataB = s.dir.resolve("data-b");
            Files.createDirectories(dataB);
            PipelineProcess b = s.start(Map.of("INSTANCE_ID", "b", "HTTP_PORT", Integer.toString(portB),
                    "DATA_DIR", dataB.toString()), "run", "--components", "processor,redis,http,api");

            await().atMost(Duration.ofSeconds(120)).until(() -> stopped(a.pid()));
            Instant frozen = Instant.now();
            int seenOfB = b.output().length();
            long atFreeze = s.redisEvents();
            Duration takeover = s.awaitFlow(frozen, atFreeze, Duration.ofSeconds(60));
            // A's session times out; B takes every partition, A's included, and carries the flow
            await().atMost(Duration.ofSeconds(60)).until(() ->
                    b.output().substring(seenOfB).contains("redis sink owns partitions [0, 1, 2, 3, 4, 5]"));
            long grown = s.redisEvents();
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > grown + 200);
            a.signal("CONT");

            // its stale batch is not applied: refused by the fencing epoch in Redis, or, if the consumer
            // learns first that its partitions moved, dropped before it is written
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(s.metric(portA, "pipeline_sink_fenced_total", "sink=\"redis\"")
                            + s.metric(portA, "pipeline_sink_abandoned_total", "sink=\"redis\"")).isPositive());
            s.awaitHealthy(portA, Duration.ofSeconds(90));
            s.awaitHealthy(portB, Duration.ofSeconds(90));
            s.stopLoad();
            s.awaitExact(portA, Duration.ofSeconds(120));
            assertThat(a.alive()).as("the resumed instance kept running").isTrue();
            assertThat(b.alive()).isTrue();
            s.report("faults", "SIGSTOP of one of two instances, holding a Redis batch, past its session time-out; SIGCONT");
            s.report("takeover_to_flow_ms", takeover.toMillis());
            s.report("fenced_batches", s.metric(portA, "pipeline_sink_fenced_total", "sink=\"redis\""));
            s.report("abandoned_events", s.metric(portA, "pipeline_sink_abandoned_total", "sink=\"redis\""));
        }
    }

    private static boolean stopped(long pid) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).startsWith("T");
    }
}
