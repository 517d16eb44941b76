package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.FaultSeeds;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 26: the services are reset or moved, the working folder kept. A first pipeline runs on
 * one broker, is killed (kill -9), restarted and stopped cleanly, leaving its processor state and
 * instance id in DATA_DIR. A second pipeline starts with that DATA_DIR against a new broker, a new
 * database and a wiped Redis. It must flow to the exact oracle, not loop healthy and idle: the
 * processor notices that its local state belongs to another Kafka and starts fresh.
 */
class NewKafkaSameDataDirIT {

    @FaultSeeds(value = {26001, 26002, 26003, 26004, 26005}, quick = 1)
    void aDataDirFromAnotherKafkaStartsFreshAndEndsExact(long seed) throws Exception {
        Path kept;
        try (Scenario first = Scenario.create("old_kafka", seed)) {
            first.startLoad(400, 2);
            PipelineProcess p = first.start();
            first.awaitHealthy(first.port(), Duration.ofSeconds(90));
            long more = 1000 + first.random.nextInt(2000);
            await().atMost(Duration.ofSeconds(60)).until(() -> first.redisEvents() >= more);
            p.kill9();
            p = first.start();
            first.awaitHealthy(first.port(), Duration.ofSeconds(90));
            first.stopLoad();
            first.awaitExact(first.port(), Duration.ofSeconds(120));
            p.terminate(60);
            assertThat(p.output()).contains("stopped");
            kept = first.dir.resolve("data");
        }
        assertThat(kept.resolve("state/streams/engagement-processor")).exists();

        // a new broker, a new database, Redis flushed; the warehouse moved with the services
        try (Scenario second = Scenario.create("new_kafka", seed + 1)) {
            second.startLoad(400, 2);
            PipelineProcess p = second.start(Map.of("DATA_DIR", kept.toString(),
                    "DUCKDB_PATH", second.dir.resolve("warehouse.duckdb").toString()));
            second.awaitHealthy(second.port(), Duration.ofSeconds(90));
            long more = 1000 + second.random.nextInt(2000);
            await().atMost(Duration.ofSeconds(90)).until(() -> second.redisEvents() >= more);
            second.stopLoad();
            second.awaitExact(second.port(), Duration.ofSeconds(120));
            assertThat(p.output()).contains("was built from another Kafka");
            assertThat(second.metric(second.port(), "pipeline_stage_restarts_total", "stage=\"processor\""))
                    .as("the processor did not loop").isLessThanOrEqualTo(1);
            assertThat(Files.readString(kept.resolve("state/streams/kafka-binding.properties")))
                    .as("the state is now bound to the new cluster").isNotBlank();
            second.report("faults", "a DATA_DIR from a killed and cleanly stopped run, then a new broker, database "
                    + "and Redis");
        }
    }
}
