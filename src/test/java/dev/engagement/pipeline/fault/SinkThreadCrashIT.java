package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 14: the http sink's thread dies of an unexpected error mid-stream (a test hook throws
 * from its loop). The runtime's supervisor starts it again after a back-off, and every event is
 * delivered; the process lives on.
 */
class SinkThreadCrashIT {
    @FaultSeeds(value = {15001, 15002, 15003, 15004, 15005}, quick = 1)
    void aDeadSinkThreadIsStartedAgainAndDeliversEverything(long seed) throws Exception {
        try (Scenario s = Scenario.create("sink_thread_crash", seed)) {
            int at = 100 + s.random.nextInt(200);
            s.startLoad(300, 2);
            PipelineProcess pipeline = s.start(Map.of("PIPELINE_TEST_FAULT", "http.loop@" + at + ":crash"));
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(90)).until(() ->
                    pipeline.output().contains("http sink stopped: fault point http.loop crashed this thread"));
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    s.metric(s.port(), "pipeline_sink_restarts_total", "sink=\"http\"") == 1.0);
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            assertThat(pipeline.alive()).isTrue();
            s.report("faults", "the http sink's thread killed by an error thrown from its loop, turn " + at);
        }
    }
}
