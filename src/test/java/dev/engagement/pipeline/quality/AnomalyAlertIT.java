package dev.engagement.pipeline.quality;

import dev.engagement.pipeline.testing.LocalPrometheus;
import dev.engagement.pipeline.testing.Scenario;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The data-quality watch on a running pipeline, with a real Prometheus evaluating
 * ops/prometheus-alerts.yml against its /metrics: steady generated traffic fires nothing; a burst
 * of invalid events and then a drop in the event rate each raise their metric and their alert
 * within a minute. Buckets are 5 s here (a minute by default), so the baselines warm up in 15 s.
 */
class AnomalyAlertIT {
    private static final Duration MINUTE = Duration.ofSeconds(60);

    @Test
    void aBurstOfInvalidEventsAndADropInTheRateEachRaiseTheirAlertWithinAMinute() throws Exception {
        assertThat(LocalPrometheus.available()).as("Debian's prometheus (./pipeline test installs it)").isTrue();
        try (Scenario s = Scenario.create("anomalies", 21001, Map.of("QUALITY_BUCKET", "5s",
                "QUALITY_BASELINE_BUCKETS", "6"))) {
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            try (LocalPrometheus prometheus = LocalPrometheus.start(s.dir.resolve("prometheus"), s.port())) {
                await().atMost(Duration.ofSeconds(30)).until(prometheus::scraping);
                s.startLoad(60, 1);
                await().atMost(Duration.ofSeconds(90)).until(() ->
                        s.metric(s.port(), "pipeline_quality_event_rate_baseline", null) >= 45);

                // steady traffic: nothing raised and no alert fires, for 30 s (an alert may be pending:
                // e.g. the latency of the first events, slow while the JVM warms up, is in its 5 min window)
                await().during(Duration.ofSeconds(30)).atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofSeconds(1))
                        .untilAsserted(() -> {
                            assertThat(s.metric(s.port(), "pipeline_quality_anomalies", null)).isZero();
                            assertThat(prometheus.firing()).as("alerts firing").isEmpty();
                            assertThat(prometheus.alerts()).as("no data-quality alert even pending")
                                    .noneMatch(a -> a.labels().path("team").asText().equals("data"));
                        });
                assertThat(s.metric(s.port(), "pipeline_quality_anomalies_raised_total", null)).isZero();

                // a burst of invalid events at the same total rate
                s.stopLoad();
                s.startLoad(60, 30);
                long[] invalid = raised(s, prometheus, "invalid_ratio", "InvalidEventsAboveBaseline");
                assertThat(prometheus.firing()).as("the rate did not move").doesNotContain("EngagementRateDrop",
                        "EngagementRateSpike");

                // back to normal, then the event rate drops to a tenth
                s.stopLoad();
                s.startLoad(60, 1);
                await().atMost(MINUTE).until(() -> s.metric(s.port(), "pipeline_quality_anomalies", "kind=\"invalid_ratio\"") == 0);
                s.stopLoad();
                s.startLoad(6, 1);
                long[] drop = raised(s, prometheus, "rate_drop", "EngagementRateDrop");
                s.stopLoad();
                assertThat(s.metric(s.port(), "pipeline_quality_anomalies_raised_total", "kind=\"rate_drop\"")).isEqualTo(1);
                assertThat(s.metric(s.port(), "pipeline_quality_anomalies_raised_total", "kind=\"invalid_ratio\""))
                        .isGreaterThanOrEqualTo(1);

                s.report("faults", "steady load 60/s for 30 s, then 30 % invalid, then the rate down to 6/s");
                s.report("invalid_burst_metric_ms", invalid[0]);
                s.report("invalid_burst_alert_ms", invalid[1]);
                s.report("rate_drop_metric_ms", drop[0]);
                s.report("rate_drop_alert_ms", drop[1]);
            }
        }
    }

    /**
     * Waits, from now, for the anomaly {@code kind} on /metrics and then for {@code alert} firing in
     * Prometheus, both within a minute of now; returns the milliseconds each took.
     */
    private static long[] raised(Scenario s, LocalPrometheus prometheus, String kind, String alert) {
        Instant from = Instant.now();
        await().atMost(MINUTE).until(() -> s.metric(s.port(), "pipeline_quality_anomalies", "kind=\"" + kind + "\"") >= 1);
        long metricMs = Duration.between(from, Instant.now()).toMillis();
        await().atMost(MINUTE.minusMillis(metricMs)).until(() -> prometheus.firing().contains(alert));
        return new long[] {metricMs, Duration.between(from, Instant.now()).toMillis()};
    }
}
