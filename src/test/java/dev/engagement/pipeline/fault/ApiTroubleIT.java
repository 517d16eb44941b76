package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.ApiReceiver;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 6: the API answers 500, then 429 with Retry-After, then hangs past the client's
 * time-out, then recovers, while a snapshot of 100,000 rows and live events flow. Nothing is lost,
 * nothing lands in the dead-letter topic, no event of a content arrives after a later one, and the
 * token shows nowhere: not in logs, errors, /health or /metrics.
 */
class ApiTroubleIT {

    @FaultSeeds(value = {6001, 271828, 14, 5005, 900}, quick = 1)
    void anApiHavingABadDayLosesNothingAndFillsNoDeadLetters(long seed) throws Exception {
        try (Scenario s = Scenario.create("api_trouble", seed)) {
            s.seedEvents(100_000); // a snapshot of a new user's table, still in flight when the trouble starts
            s.startLoad(300, 2);
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            Instant start = Instant.now();
            s.receiver.respond(r -> {
                long t = Duration.between(start, Instant.now()).toSeconds();
                if (t < 8) {
                    return ApiReceiver.Reply.status(500);
                }
                if (t < 16) {
                    return ApiReceiver.Reply.withHeader(429, "Retry-After", "2");
                }
                if (t < 24) {
                    return ApiReceiver.Reply.delayed(200, 15_000); // hangs past the 2 s client time-out
                }
                return ApiReceiver.Reply.status(200);
            });
            s.holdFor(Duration.ofSeconds(24), start);
            String health = s.get(s.port(), "/health").body();
            String metrics = s.get(s.port(), "/metrics").body();
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            assertThat(s.deadLetteredIds()).as("trouble that passes fills no dead-letter topic").isEmpty();
            s.assertOrderPerContent();
            metrics = metrics + s.get(s.port(), "/metrics").body();
            s.assertNoSecretsIn(health + metrics + s.get(s.port(), "/health").body());
            assertThat(s.metric(s.port(), "pipeline_http_breaker_transitions_total", "to=\"open\"")).isPositive();
            assertThat(s.metric(s.port(), "pipeline_http_requests_total", "status_class=\"5xx\"")).isPositive();
            assertThat(s.metric(s.port(), "pipeline_http_requests_total", "status_class=\"4xx\"")).isPositive();
            assertThat(s.metric(s.port(), "pipeline_http_requests_total", "status_class=\"error\"")).isPositive();
            s.report("faults", "API: 500 for 8 s, 429 Retry-After 2 for 8 s, hanging 15 s (client time-out 2 s) for 8 s");
            s.report("breaker_openings", s.metric(s.port(), "pipeline_http_breaker_transitions_total", "to=\"open\""));
            s.report("retries", s.metric(s.port(), "pipeline_http_retries_total", null));
        }
    }
}
