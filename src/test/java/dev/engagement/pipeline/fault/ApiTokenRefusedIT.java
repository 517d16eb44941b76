package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.ApiReceiver;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 13: the external API refuses the token (401, or 403) for 20 s while events flow, as
 * when a token expires and is renewed. The sink pauses instead of dead-lettering everything,
 * /health says why, and once the token works every event is delivered.
 */
class ApiTokenRefusedIT {
    @FaultSeeds(value = {14001, 14002, 14003, 14004, 14005}, quick = 1)
    void aRefusedTokenPausesTheSinkFillsNoDeadLettersAndLosesNothing(long seed) throws Exception {
        try (Scenario s = Scenario.create("api_token_refused", seed)) {
            int status = s.random.nextBoolean() ? 401 : 403;
            s.startLoad(300, 2);
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            Instant start = Instant.now();
            s.receiver.respond(r -> Instant.now().isBefore(start.plusSeconds(20)) ? ApiReceiver.Reply.status(status)
                    : ApiReceiver.Reply.status(200));
            await().atMost(Duration.ofSeconds(15)).ignoreExceptions().untilAsserted(() ->
                    assertThat(s.get(s.port(), "/health").body())
                            .contains("external API refuses the token (" + status + ")"));
            s.holdFor(Duration.ofSeconds(20), start);
            long refusedCalls = s.receiver.requests().stream().filter(r -> r.answered() == status).count();
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            assertThat(s.deadLetteredIds()).as("a refused token dead-letters nothing").isEmpty();
            assertThat(refusedCalls).as("the paused sink probes, it does not hammer: calls in 20 s").isLessThan(30);
            assertThat(s.metric(s.port(), "pipeline_http_breaker_transitions_total", "to=\"open\"")).isPositive();
            s.report("faults", "the API answers " + status + " for 20 s while events flow at 300/s");
            s.report("refused_calls", refusedCalls);
        }
    }
}
