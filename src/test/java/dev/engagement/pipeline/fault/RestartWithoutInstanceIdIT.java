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
 * for its dead self's session to expire: after each restart every consumer group of the pipeline
 * (the processor's and each sink's) has one member, whose group.instance.id carries the id kept in
 * DATA_DIR (a stranger would join beside its dead self and wait out that session first), and events
 * flow again. How fast is reported, not asserted: timing is the benchmark's business.
 */
class RestartWithoutInstanceIdIT {
    @FaultSeeds(value = {16001, 16002, 16003, 16004, 16005}, quick = 1)
    void aKilledProcessRestartedWithoutInstanceIdRejoinsUnderItsKeptId(long seed) throws Exception {
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
                // a loose bound that catches a stall (waiting out a session, a transaction, a crash
                // loop); the 5 s target is the bench's restart phase
                flowMs.add(s.awaitFlow(restart, before, Duration.ofSeconds(30)).toMillis());
                String id = Files.readString(s.dir.resolve("data/instance-id")).strip();
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> assertRejoinedAs(s, id));
            }
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            String id = Files.readString(s.dir.resolve("data/instance-id")).strip();
            assertThat(pipeline.output()).contains("instance id " + id);
            s.report("faults", "3 x kill -9 and restart with the same DATA_DIR, no INSTANCE_ID");
            s.report("restart_to_flow_ms", flowMs);
        }
    }

    /** Each of the pipeline's groups has exactly one member, the restarted process under its kept id. */
    private static void assertRejoinedAs(Scenario s, String id) throws Exception {
        try (var admin = org.apache.kafka.clients.admin.Admin.create(
                dev.engagement.pipeline.topic.KafkaClients.admin(s.config))) {
            var groups = admin.listGroups().all().get(10, java.util.concurrent.TimeUnit.SECONDS).stream()
                    .map(g -> g.groupId()).filter(g -> g.startsWith("engagement-processor") || g.startsWith("engagement-sink-"))
                    .toList();
            assertThat(groups).as("the processor's and the sinks' groups").hasSizeGreaterThanOrEqualTo(4);
            var described = admin.describeConsumerGroups(groups).all().get(10, java.util.concurrent.TimeUnit.SECONDS);
            described.forEach((group, d) -> {
                assertThat(d.members()).as(group + ": one member, not a stranger beside its dead self").hasSize(1);
                assertThat(d.members().iterator().next().groupInstanceId()).as(group)
                        .hasValueSatisfying(v -> assertThat(v).contains("-" + id)); // Streams adds its thread index
            });
        }
    }
}
