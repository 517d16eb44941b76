package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 17: every event is emitted again (a backfill of everything, as after a redone
 * snapshot), after a kill -9 and a restart, so what the http sink knows it delivered must come
 * from Kafka, not from memory. Redis and the warehouse recognise the repeats by event id; the
 * external API receives none of them.
 */
class BackfillRepeatIT {
    @FaultSeeds(value = {18001, 18002, 18003, 18004, 18005}, quick = 1)
    void eventsEmittedAgainReachTheApiNoSecondTime(long seed) throws Exception {
        try (Scenario s = Scenario.create("backfill_repeat", seed)) {
            s.startLoad(300, 2);
            PipelineProcess pipeline = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            long more = 1000 + s.random.nextInt(1000);
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= more);
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            pipeline.kill9();
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(60)).until(() ->
                    s.metric(s.port(), "pipeline_consumer_lag", "group=\"engagement-sink-http\"") == 0.0);
            long deliveredBefore = s.receiver.deliveredEventCount();
            long valid = s.awaitExact(s.port(), Duration.ofSeconds(60)).validIds().size();

            PipelineProcess backfill = s.start(Map.of(), "backfill");
            assertThat(backfill.waitFor(120)).as(backfill.output()).isZero();
            await().atMost(Duration.ofSeconds(90)).until(() ->
                    s.metric(s.port(), "pipeline_sink_duplicates_total", "sink=\"http\"") >= valid
                            && s.metric(s.port(), "pipeline_sink_duplicates_total", "sink=\"redis\"") >= valid);
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            assertThat(s.receiver.deliveredEventCount()).as("the backfill sends the API nothing")
                    .isEqualTo(deliveredBefore);
            s.assertOrderPerContent();
            s.report("faults", "kill -9, restart, then a backfill of all " + valid + " events already delivered");
            s.report("http_repeats_recognised", s.metric(s.port(), "pipeline_sink_duplicates_total", "sink=\"http\""));
        }
    }
}
