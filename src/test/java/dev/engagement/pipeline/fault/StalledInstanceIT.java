package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 3: an instance freezes (SIGSTOP) with a Redis batch in hand, past its session time-out,
 * while a second instance takes over its partitions, claims them (bumping their fencing epochs) and
 * freezes too, before it applied anything of them. The first one wakes: its stale batch carries
 * events nobody has applied, so the seen set cannot absorb it; the epoch must refuse it, and it
 * applies nothing. Then both run on; its processor re-joins instead of dying; nothing counts twice.
 */
class StalledInstanceIT {

    @FaultSeeds(value = {3301, 77, 5150, 606, 1234567}, quick = 1)
    void aFrozenInstancesStaleWriteIsRefusedByTheEpochAndNothingCountsTwice(long seed) throws Exception {
        try (Scenario s = Scenario.create("stalled", seed)) {
            s.startLoad(200, 2);
            s.start(Map.of("INSTANCE_ID", "source", "HTTP_PORT", Integer.toString(Ports.free())),
                    "run", "--components", "source");
            int portA = s.port();
            int portB = Ports.free();
            Path dataB = s.dir.resolve("data-b");
            Files.createDirectories(dataB);
            // B first, alone: it owns every partition; A joins and takes half of them
            PipelineProcess b = s.start(Map.of("INSTANCE_ID", "b", "HTTP_PORT", Integer.toString(portB),
                    "DATA_DIR", dataB.toString(), "PIPELINE_TEST_FAULT", "redis.after-takeover@1:stop"),
                    "run", "--components", "processor,redis,http,api");
            await().atMost(Duration.ofSeconds(90)).until(() -> b.output().contains("redis sink owns partitions"));
            int writes = 8 + s.random.nextInt(10);
            PipelineProcess a = s.start(Map.of("INSTANCE_ID", "a",
                    "PIPELINE_TEST_FAULT", "redis.before-write@" + writes + ":stop"),
                    "run", "--components", "processor,redis,warehouse,http,api");

            await().atMost(Duration.ofSeconds(120)).until(() -> a.stopped());
            Instant frozen = Instant.now();
            // A's session times out; B claims A's partitions and freezes before writing anything of them
            await().atMost(Duration.ofSeconds(60)).until(() -> b.stopped());
            Duration takeover = Duration.between(frozen, Instant.now());
            long atTakeover = s.redisEvents();
            a.signal("CONT");
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() ->
                    assertThat(s.metric(portA, "pipeline_sink_fenced_total", "sink=\"redis\"")).isPositive());
            assertThat(s.redisEvents()).as("the refused stale batch applied nothing (no one else wrote meanwhile)")
                    .isEqualTo(atTakeover);
            assertThat(s.metric(portA, "pipeline_sink_abandoned_total", "sink=\"redis\""))
                    .as("refused by the epoch, not dropped before the write").isZero();
            b.signal("CONT");

            s.awaitHealthy(portA, Duration.ofSeconds(90));
            s.awaitHealthy(portB, Duration.ofSeconds(90));
            s.stopLoad();
            s.awaitExact(portA, Duration.ofSeconds(120));
            assertThat(a.alive()).as("the resumed instance kept running").isTrue();
            assertThat(b.alive()).isTrue();
            s.report("faults", "SIGSTOP of one of two instances holding a Redis batch past its session time-out; the "
                    + "other claims its partitions and is frozen before writing; SIGCONT of the first: its stale "
                    + "write, carrying events nobody applied, is refused by the epoch");
            s.report("freeze_to_takeover_ms", takeover.toMillis());
            s.report("fenced_batches", s.metric(portA, "pipeline_sink_fenced_total", "sink=\"redis\""));
        }
    }

}
