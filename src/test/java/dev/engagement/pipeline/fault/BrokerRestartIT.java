package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.TestServices;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Scenario 4: the Kafka broker is killed (kill -9) in the middle of transactions and started again. */
class BrokerRestartIT {

    @FaultSeeds(value = {4001, 12, 888, 70707, 2024}, quick = 1)
    void countsEachEventOnceAcrossABrokerKillAndRestart(long seed) throws Exception {
        int port = Ports.free();
        Path brokerDir = TestServices.fresh("broker");
        PipelineProcess broker = PipelineProcess.start(Map.of(), brokerDir, "kafka", "--port", Integer.toString(port),
                "--data-dir", brokerDir.resolve("kafka").toString());
        await().atMost(Duration.ofSeconds(60)).until(() -> broker.output().contains("Kafka broker on"));
        PipelineProcess restarted = null;
        try (Scenario s = Scenario.onBroker("broker_restart", seed, "127.0.0.1:" + port, Map.of())) {
            s.startLoad(300, 2);
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            long base = s.redisEvents();
            long more = 500 + s.random.nextInt(1500);
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= base + more);
            broker.kill9();
            Instant down = Instant.now();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(s.get(s.port(), "/health").body()).contains("\"kafka\":\"disconnected\""));
            long before = s.redisEvents();
            restarted = PipelineProcess.start(Map.of(), brokerDir, "kafka", "--port", Integer.toString(port),
                    "--data-dir", brokerDir.resolve("kafka").toString());
            PipelineProcess b = restarted;
            await().atMost(Duration.ofSeconds(60)).until(() -> b.output().contains("Kafka broker on"));
            Duration flow = s.awaitFlow(down, before, Duration.ofSeconds(120));
            s.awaitHealthy(s.port(), Duration.ofSeconds(120));
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            s.report("faults", "kill -9 of the broker after " + more + " events, restart on the same port and data");
            s.report("broker_down_to_flow_ms", flow.toMillis());
        } finally {
            broker.close();
            if (restarted != null) {
                restarted.close();
            }
        }
    }
}
