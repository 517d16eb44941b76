package dev.engagement.pipeline.fault;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.sink.warehouse.bigquery.fake.FakeBigQuery;
import dev.engagement.pipeline.testing.FaultSeeds;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 24: three full pipeline processes (every component, each its own DATA_DIR and port) on
 * one database, broker, Redis and BigQuery dataset (DuckDB is one process's file). They share the
 * partitions of every stage, which each one's /health shows; one source captures, two stand by.
 * kill -9 of one of them while events flow (the capturing one on some seeds): the other two take
 * its partitions, a standby takes over capture, and the oracle is exact.
 */
class ManyInstancesIT {
    private static final List<String> STAGES = List.of("processor", "redis", "warehouse", "http");

    @FaultSeeds(value = {24001, 24002, 24003, 24004, 24005}, quick = 1)
    void threeInstancesShareEveryStageAndSurviveAKillNine(long seed) throws Exception {
        try (FakeBigQuery fake = FakeBigQuery.start("fake-project");
             Scenario s = Scenario.create("many_instances", seed, fake.settings("many_instances"))) {
            s.startLoad(200, 2);
            List<PipelineProcess> processes = new ArrayList<>();
            List<Integer> ports = new ArrayList<>();
            for (String id : List.of("a", "b", "c")) {
                int port = Ports.free();
                Path data = s.dir.resolve("data-" + id);
                java.nio.file.Files.createDirectories(data);
                processes.add(s.start(Map.of("INSTANCE_ID", id, "HTTP_PORT", Integer.toString(port),
                        "DATA_DIR", data.toString())));
                ports.add(port);
            }
            for (int port : ports) {
                s.awaitHealthy(port, Duration.ofSeconds(120));
            }
            int partitions = s.config.kafka().partitions();
            await().atMost(Duration.ofSeconds(120)).ignoreExceptions().untilAsserted(() ->
                    assertShared(s, ports, partitions, 3));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= 300);

            boolean killCapturing = s.random.nextBoolean();
            int victim = -1;
            for (int i = 0; i < 3 && victim < 0; i++) {
                boolean capturing = "streaming".equals(health(s, ports.get(i)).path("partitions").path("source").asText());
                if (capturing == killCapturing) {
                    victim = i;
                }
            }
            long before = s.redisEvents();
            processes.get(victim).kill9();
            Instant killed = Instant.now();
            List<Integer> survivors = new ArrayList<>(ports);
            survivors.remove(victim);
            await().atMost(Duration.ofSeconds(120)).ignoreExceptions().untilAsserted(() ->
                    assertShared(s, survivors, partitions, 2));
            Duration takeover = Duration.between(killed, Instant.now());
            s.awaitFlow(killed, before, Duration.ofSeconds(60));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > before + 300);
            s.stopLoad();
            s.awaitExact(survivors.get(0), Duration.ofSeconds(180));
            s.report("faults", "three full instances; kill -9 of the " + (killCapturing ? "capturing" : "a standby")
                    + " one while events flow");
            s.report("kill_to_shared_ms", takeover.toMillis());
        }
    }

    /**
     * Among these instances' /health: each stage's partitions are all held, none twice, each
     * instance holds some of each; exactly one source streams, the others stand by.
     */
    private static void assertShared(Scenario s, List<Integer> ports, int partitions, int instances) throws Exception {
        assertThat(ports).hasSize(instances);
        Map<String, List<Integer>> held = new HashMap<>();
        List<String> sources = new ArrayList<>();
        for (int port : ports) {
            JsonNode holds = health(s, port).path("partitions");
            sources.add(holds.path("source").asText());
            for (String stage : STAGES) {
                List<Integer> mine = new ArrayList<>();
                holds.path(stage).forEach(p -> mine.add(p.asInt()));
                assertThat(mine).as("instance on port " + port + " holds some of " + stage).isNotEmpty();
                held.computeIfAbsent(stage, k -> new ArrayList<>()).addAll(mine);
            }
        }
        Set<Integer> all = new TreeSet<>();
        for (int p = 0; p < partitions; p++) {
            all.add(p);
        }
        for (String stage : STAGES) {
            assertThat(held.get(stage)).as(stage + " partitions, each held once").hasSize(partitions)
                    .containsExactlyInAnyOrderElementsOf(all);
        }
        assertThat(sources).as("one source captures, the others stand by")
                .containsOnly("streaming", "standby").containsOnlyOnce("streaming");
    }

    private static JsonNode health(Scenario s, int port) throws Exception {
        return Json.MAPPER.readTree(s.get(port, "/health").body());
    }
}
