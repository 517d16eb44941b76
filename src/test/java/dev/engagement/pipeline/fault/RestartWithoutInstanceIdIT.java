package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 15: kill -9 and a restart with the same DATA_DIR but no INSTANCE_ID, as a user runs it.
 * The process keeps a stable id of its own, so it rejoins its groups at once instead of waiting
 * for its dead self's session to expire: events flow again sooner than that session's time-out
 * (10 s) after the kill, JVM start included; a process that joined as a stranger would wait it out
 * first. (The bound is the time-out, not a speed: on a loaded machine a start takes several seconds.)
 */
class RestartWithoutInstanceIdIT {
    @FaultSeeds(value = {16001, 16002, 16003, 16004, 16005}, quick = 1)
    void aKilledProcessRestartedWithoutInstanceIdFlowsAgainBeforeItsOldSessionExpires(long seed) throws Exception {
        try (Scenario s = Scenario.create("restart_without_instance_id", seed)) {
            assertThat(s.env).doesNotContainKey("INSTANCE_ID");
            s.startLoad(300, 2);
            PipelineProcess pipeline = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            List<Long> flowMs = new ArrayList<>();
            for (int kill = 1; kill <= 3; kill++) {
                long base = Math.max(0, s.redisEvents());
                long more = 200 + s.random.nextInt(1000);
                await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= base + more);
                pipeline.kill9();
                Instant restart = Instant.now();
                long before = s.redisEvents();
                pipeline = s.start();
                flowMs.add(s.awaitFlow(restart, before, Duration.ofSeconds(60)).toMillis());
            }
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            String id = Files.readString(s.dir.resolve("data/instance-id")).strip();
            assertThat(pipeline.output()).contains("instance id " + id);
            s.report("faults", "3 x kill -9 and restart with the same DATA_DIR, no INSTANCE_ID");
            s.report("restart_to_flow_ms", flowMs);
            assertThat(flowMs).allSatisfy(ms -> assertThat(ms).as("kill to flow, within the dead member's session "
                    + "time-out").isLessThan(10_000));
        }
    }
}
