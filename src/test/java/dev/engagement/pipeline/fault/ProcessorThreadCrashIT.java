package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.FaultSeeds;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 29: the processor's stream thread dies of an unexpected error in the middle of a
 * transaction (an error thrown while it processes an event, {@code processor.event@N:crash}). The
 * processor stops that client and starts a new one, whose thread keeps the failed one's
 * transactional id and so aborts its open transaction at once (a replaced thread would take a new
 * id and leave it to time out); every event is counted once, the process lives on.
 */
class ProcessorThreadCrashIT {
    @FaultSeeds(value = {29001, 29002, 29003, 29004, 29005}, quick = 1)
    void aFailedStreamThreadBringsANewClientThatResumesExactly(long seed) throws Exception {
        try (Scenario s = Scenario.create("processor_thread_crash", seed)) {
            int at = 500 + s.random.nextInt(1000);
            s.startLoad(300, 2);
            PipelineProcess pipeline = s.start(Map.of("PIPELINE_TEST_FAULT", "processor.event@" + at + ":crash"));
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(90)).until(() ->
                    pipeline.output().contains("starting the processor again in"));
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    s.metric(s.port(), "pipeline_stage_restarts_total", "stage=\"processor\"") == 1.0);
            long before = s.redisEvents();
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > before + 300);
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            assertThat(pipeline.alive()).isTrue();
            assertThat(pipeline.output()).as("a new client, not a replaced thread").doesNotContain("StreamThread-2");
            s.report("faults", "the processor's stream thread killed by an error at event " + at);
        }
    }
}
