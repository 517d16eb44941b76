package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Scenario 1: kill -9 of the whole pipeline at random moments, five times in a row, while events flow. */
class KillNineIT {

    @FaultSeeds(value = {8226563514373L, 17, 4242, 90001, 31337}, quick = 1)
    void countsEachEventOnceAcrossFiveKillNinesAtRandomMoments(long seed) throws Exception {
        try (Scenario s = Scenario.create("kill_nine", seed)) {
            s.startLoad(300, 2);
            PipelineProcess pipeline = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            List<Long> recoveryMs = new ArrayList<>();
            for (int kill = 1; kill <= 5; kill++) {
                long base = Math.max(0, s.redisEvents());
                long more = 100 + s.random.nextInt(1500); // a random moment: after a random amount of work
                await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= base + more);
                pipeline.kill9();
                long before = s.redisEvents();
                Instant restart = Instant.now();
                pipeline = s.start();
                Duration flow = s.awaitFlow(restart, before, Duration.ofSeconds(60));
                recoveryMs.add(flow.toMillis());
                System.out.printf("[kill_nine] kill %d after %d more events; flow back %d ms after restart%n", kill,
                        more, flow.toMillis());
            }
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            s.assertOrderPerContent();
            s.report("faults", "5 x kill -9 of the whole pipeline at random moments");
            s.report("restart_to_flow_ms", recoveryMs);
            s.report("redelivery_metric", s.metric(s.port(), "pipeline_http_redeliveries_total", null));
            assertThat(recoveryMs).allSatisfy(ms -> assertThat(ms).isLessThan(30_000));
        }
    }
}
