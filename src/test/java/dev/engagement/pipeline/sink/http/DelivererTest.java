package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.testing.ApiReceiver;
import dev.engagement.pipeline.testing.MutableClock;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import dev.engagement.pipeline.sink.SinkRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The delivery state machine against a real HTTP server on loopback. Waits are recorded and skipped
 * by the timer, and the breaker runs on a clock the test moves: nothing here sleeps.
 */
class DelivererTest {
    private static final TopicPartition TP = new TopicPartition("engagement.enriched", 2);
    private final MutableClock clock = new MutableClock(Instant.parse("2025-08-10T14:30:00Z"));
    private final List<Long> waitsMs = new CopyOnWriteArrayList<>();
    private ApiReceiver receiver;
    private ScheduledThreadPoolExecutor timer;
    private SimpleMeterRegistry registry;
    private ApiBreaker breaker;
    private Deliverer deliverer;

    @BeforeEach
    void setUp() throws Exception {
        receiver = new ApiReceiver();
        build(Map.of());
    }

    private void build(Map<String, String> extra) {
        timer = new ScheduledThreadPoolExecutor(1) {
            @Override
            public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
                waitsMs.add(unit.toMillis(delay));
                return super.schedule(command, 0, TimeUnit.MILLISECONDS);
            }
        };
        registry = new SimpleMeterRegistry();
        Map<String, String> env = new java.util.HashMap<>(Map.of("EXTERNAL_API_URL", receiver.url(),
                "EXTERNAL_API_TOKEN", "t0ken-abc", "HTTP_SINK_REQUEST_TIMEOUT", "300ms", "HTTP_SINK_MAX_ATTEMPTS", "4",
                "HTTP_SINK_BREAKER_OPEN_FOR", "10s"));
        env.putAll(extra);
        PipelineConfig.ExternalApi config = ConfigLoader.load(env).externalApi();
        breaker = new ApiBreaker(config, clock, registry);
        deliverer = new Deliverer(new ApiClient(config), breaker, new RetryPolicy(config.maxAttempts(),
                config.maxRetryTime(), new Random(3)), timer, clock, new HttpMetrics(registry));
    }

    @AfterEach
    void tearDown() {
        receiver.close();
        timer.shutdownNow();
    }

    private static Batch batch(int n) {
        List<SinkRecord> records = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            records.add(new SinkRecord(TP, 100 + i, 0, "c",
                    ("{\"event_id\":" + (i + 1) + "}").getBytes(StandardCharsets.UTF_8), null));
        }
        return new Batch(TP, records);
    }

    private Settlement deliver(Batch b) throws Exception {
        return deliverer.deliver(b).get(30, TimeUnit.SECONDS);
    }

    @Test
    void deliversWithTheContractHeaders() throws Exception {
        Settlement s = deliver(batch(3));
        assertThat(s.delivered()).hasSize(3);
        assertThat(s.deadLetters()).isEmpty();
        ApiReceiver.Request r = receiver.requests().get(0);
        assertThat(r.header("Authorization")).isEqualTo("Bearer t0ken-abc");
        assertThat(r.header("Idempotency-Key")).isEqualTo("engagement.enriched-2-100-102");
        assertThat(r.events).extracting(e -> e.get("event_id").asInt()).containsExactly(1, 2, 3);
    }

    @Test
    void retriesServerErrorsAndThrottlingWithTheSameKeyUntilDelivered() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        receiver.respond(r -> switch (calls.incrementAndGet()) {
            case 1 -> ApiReceiver.Reply.status(500);
            case 2 -> ApiReceiver.Reply.status(408);
            case 3 -> ApiReceiver.Reply.status(503);
            default -> ApiReceiver.Reply.status(202);
        });
        Settlement s = deliver(batch(2));
        assertThat(s.delivered()).hasSize(2);
        assertThat(receiver.requests()).hasSize(4)
                .extracting(r -> r.header("Idempotency-Key")).containsOnly("engagement.enriched-2-100-101");
        assertThat(waitsMs).hasSize(3);
    }

    @Test
    void waitsAsLongAsRetryAfterSaysInSeconds() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        receiver.respond(r -> calls.incrementAndGet() == 1 ? ApiReceiver.Reply.withHeader(429, "Retry-After", "7")
                : ApiReceiver.Reply.status(200));
        assertThat(deliver(batch(1)).delivered()).hasSize(1);
        assertThat(waitsMs).containsExactly(7000L);
    }

    @Test
    void waitsUntilTheDateRetryAfterGives() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(Instant.now().plusSeconds(20).atOffset(ZoneOffset.UTC));
        receiver.respond(r -> calls.incrementAndGet() == 1 ? ApiReceiver.Reply.withHeader(503, "Retry-After", date)
                : ApiReceiver.Reply.status(200));
        assertThat(deliver(batch(1)).delivered()).hasSize(1);
        assertThat(waitsMs).hasSize(1);
        assertThat(waitsMs.get(0)).isBetween(18_000L, 20_000L);
    }

    @Test
    void aTimeOutIsRetried() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        receiver.respond(r -> calls.incrementAndGet() == 1 ? ApiReceiver.Reply.delayed(200, 2000)
                : ApiReceiver.Reply.status(200));
        assertThat(deliver(batch(1)).delivered()).hasSize(1);
        assertThat(registry.get("pipeline.http.requests").tag("status_class", "error").counter().count()).isEqualTo(1);
    }

    @Test
    void deadLettersABatchWhoseAttemptsRunOutWhileTheApiIsOtherwiseHealthy() throws Exception {
        receiver.respond(r -> ApiReceiver.Reply.status(502));
        for (int i = 0; i < 16; i++) { // the rest of the traffic succeeds: the breaker stays closed
            breaker.record(new ApiClient.Outcome(200, java.util.Optional.empty(), null, Duration.ZERO));
        }
        Settlement s = deliver(batch(1));
        assertThat(s.deadLetters()).singleElement().satisfies(d -> {
            assertThat(d.reason()).isEqualTo("retries_exhausted");
            assertThat(d.status()).isEqualTo(502);
            assertThat(d.attempts()).isEqualTo(4);
        });
    }

    @Test
    void splitsARefusedBatchSoOnlyTheRecordAtFaultIsDeadLettered() throws Exception {
        receiver.respond(r -> r.events.stream().anyMatch(e -> e.get("event_id").asInt() == 6)
                ? ApiReceiver.Reply.status(422) : ApiReceiver.Reply.status(200));
        Settlement s = deliver(batch(8));
        assertThat(s.delivered()).extracting(SinkRecord::offset).containsExactly(100L, 101L, 102L, 103L, 104L, 106L, 107L);
        assertThat(s.deadLetters()).singleElement().satisfies(d -> {
            assertThat(d.record().offset()).isEqualTo(105);
            assertThat(d.reason()).isEqualTo("rejected");
            assertThat(d.status()).isEqualTo(422);
        });
        List<Long> deliveredInOrder = new ArrayList<>();
        receiver.requests().stream().filter(r -> r.answered() == 200)
                .forEach(r -> r.events.forEach(e -> deliveredInOrder.add(e.get("event_id").asLong())));
        assertThat(deliveredInOrder).containsExactly(1L, 2L, 3L, 4L, 5L, 7L, 8L);
    }

    @Test
    void breakerOpensOnFailuresHoldsBatchesWithoutCallingThenProbesAndCloses() throws Exception {
        receiver.respond(r -> ApiReceiver.Reply.status(503));
        for (int i = 0; i < 5 && breaker.state() == CircuitBreaker.State.CLOSED; i++) {
            deliverer.deliver(batch(1)).get(30, TimeUnit.SECONDS);
        }
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);
        int callsWhenOpened = receiver.requests().size();

        Settlement held = deliver(batch(4));
        assertThat(held.held()).isPresent();
        assertThat(held.held().get().key()).isEqualTo("engagement.enriched-2-100-103");
        assertThat(held.deadLetters()).isEmpty();
        assertThat(receiver.requests()).as("an open breaker calls nobody").hasSize(callsWhenOpened);

        clock.advance(Duration.ofSeconds(9));
        assertThat(breaker.readyToProbe()).isFalse();
        assertThat(deliver(batch(1)).held()).isPresent();
        clock.advance(Duration.ofSeconds(2));
        assertThat(breaker.readyToProbe()).isTrue();

        receiver.respond(r -> ApiReceiver.Reply.status(200));
        assertThat(deliver(held.held().get()).delivered()).hasSize(4);
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
        assertThat(deliver(batch(1)).delivered()).hasSize(1);
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.CLOSED);
        assertThat(registry.get("pipeline.http.breaker.transitions").tag("from", "closed").tag("to", "open").counter()
                .count()).isEqualTo(1);
        assertThat(registry.get("pipeline.http.breaker.transitions").tag("from", "half_open").tag("to", "closed")
                .counter().count()).isEqualTo(1);
    }

    @Test
    void failuresThatFindTheApiDownCostTheBatchNoAttempts() throws Exception {
        receiver.respond(r -> ApiReceiver.Reply.status(503));
        Batch b = batch(2);
        Settlement s = deliver(b);
        while (s.held().isEmpty()) {
            s = deliver(batch(1));
        }
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);
        for (int probe = 0; probe < 20; probe++) { // a long outage: a failed probe every time the wait is over
            clock.advance(Duration.ofSeconds(11));
            s = deliver(s.held().orElseThrow());
            assertThat(s.deadLetters()).isEmpty();
            assertThat(s.held()).isPresent();
        }
        assertThat(s.held().get().attempts).isLessThanOrEqualTo(4);
        receiver.respond(r -> ApiReceiver.Reply.status(200));
        clock.advance(Duration.ofSeconds(11));
        assertThat(deliver(s.held().get()).delivered()).isNotEmpty();
    }

    @Test
    void gzipsTheBodyWhenAskedTo() throws Exception {
        build(Map.of("HTTP_SINK_GZIP", "true"));
        assertThat(deliver(batch(3)).delivered()).hasSize(3);
        ApiReceiver.Request r = receiver.requests().get(0);
        assertThat(r.header("Content-Encoding")).isEqualTo("gzip");
        assertThat(r.events).extracting(e -> e.get("event_id").asInt()).containsExactly(1, 2, 3);
    }

    @Test
    void slowCallsOpenTheBreakerToo() throws Exception {
        build(Map.of("HTTP_SINK_SLOW_CALL", "50ms", "HTTP_SINK_REQUEST_TIMEOUT", "5s"));
        receiver.respond(r -> ApiReceiver.Reply.delayed(200, 120)); // every call succeeds, slowly
        for (int i = 0; i < 5; i++) {
            assertThat(deliver(batch(1)).delivered()).hasSize(1);
        }
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);
        assertThat(deliver(batch(1)).held()).as("an open breaker holds the next batch").isPresent();
    }

    @Test
    void refusedRequestsDoNotOpenTheBreaker() throws Exception {
        receiver.respond(r -> ApiReceiver.Reply.status(400));
        for (int i = 0; i < 10; i++) {
            assertThat(deliver(batch(1)).deadLetters()).hasSize(1);
        }
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.CLOSED);
    }

    @Test
    void aRefusedTokenOpensTheBreakerAtOnceAndHoldsTheBatchWithoutCostingAnAttempt() throws Exception {
        for (int status : new int[] {401, 403}) {
            timer.shutdownNow();
            build(Map.of());
            receiver.respond(r -> ApiReceiver.Reply.status(status));
            Settlement s = deliver(batch(3));
            assertThat(s.held()).as("refused credentials say nothing about the batch").isPresent();
            assertThat(s.deadLetters()).isEmpty();
            assertThat(s.held().get().attempts).isZero();
            assertThat(breaker.state()).as("one " + status + " is enough").isEqualTo(CircuitBreaker.State.OPEN);
            for (int probe = 0; probe < 10; probe++) { // the token stays bad for a long time
                clock.advance(Duration.ofSeconds(11));
                s = deliver(s.held().orElseThrow());
                assertThat(s.deadLetters()).isEmpty();
                assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);
            }
            assertThat(s.held().orElseThrow().attempts).isZero();
            receiver.respond(r -> ApiReceiver.Reply.status(200));
            clock.advance(Duration.ofSeconds(11));
            assertThat(deliver(s.held().get()).delivered()).hasSize(3);
        }
    }
}
