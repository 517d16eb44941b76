package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.LocalPrometheus;
import dev.engagement.pipeline.testing.Scenario;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A stage made to stall on purpose: the Redis sink's thread hangs in a write (a store call that
 * never returns) while events keep coming. Within a minute, with the default STALL_AFTER, the
 * stage is {@code stalled} in /health (503, and on /health/ready), {@code pipeline_stage_stalled}
 * is 1 for it alone, and a real Prometheus evaluating ops/prometheus-alerts.yml fires StageStalled;
 * the other sinks go on.
 */
class StageStalledIT {

    @Test
    void aSinkThatHangsIsStalledInHealthAndMetricsAndItsAlertFiresWithinAMinute() throws Exception {
        assertThat(LocalPrometheus.available()).as("Debian's prometheus (./pipeline test installs it)").isTrue();
        try (Scenario s = Scenario.create("stage_stalled", 27001)) {
            s.startLoad(200, 0);
            s.start(Map.of("PIPELINE_TEST_FAULT", "redis.before-write@20:hang"));
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            try (LocalPrometheus prometheus = LocalPrometheus.start(s.dir.resolve("prometheus"), s.port())) {
                await().atMost(Duration.ofSeconds(30)).until(prometheus::scraping);
                await().atMost(Duration.ofSeconds(90)).until(() -> s.redisEvents() > 0);
                long hungAt = s.redisEvents();
                // the 20th write hangs: from then on Redis does not move while the warehouse does
                await().atMost(Duration.ofSeconds(60)).until(() -> s.metric(s.port(), "pipeline_sink_events_total",
                        "sink=\"warehouse\"") > hungAt + 2000);
                Instant hung = Instant.now();
                assertThat(s.metric(s.port(), "pipeline_stage_stalled", "stage=\"processor\"")).isZero();
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                    HttpResponse<String> health = s.get(s.port(), "/health");
                    assertThat(health.statusCode()).isEqualTo(503);
                    assertThat(health.body()).contains("\"redis\":\"stalled\"").contains("redis stalled: ");
                    assertThat(s.get(s.port(), "/health/ready").statusCode()).isEqualTo(503);
                    assertThat(s.metric(s.port(), "pipeline_stage_stalled", "stage=\"redis\"")).isEqualTo(1);
                });
                long stalledMs = Duration.between(hung, Instant.now()).toMillis();
                assertThat(s.metric(s.port(), "pipeline_stage_stalled", "stage=\"warehouse\"")).isZero();
                assertThat(s.metric(s.port(), "pipeline_stage_stalled", "stage=\"http\"")).isZero();
                await().atMost(Duration.ofSeconds(60)).until(() -> prometheus.firing().contains("StageStalled"));
                long alertMs = Duration.between(hung, Instant.now()).toMillis();
                s.report("faults", "the redis sink's 20th write hangs while events flow at 200/s");
                s.report("stalled_in_health_ms", stalledMs);
                s.report("alert_firing_ms", alertMs);
            }
        }
    }
}
