package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.config.PipelineConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The resilience4j circuit breaker in front of the external API. Failures are outcomes worth a
 * retry (408, 429, 5xx, no answer) and refused credentials (401, 403: one is enough, it opens at
 * once); a refused batch (other 4xx) says the API is up. Slow calls count too. While it is open
 * the http sink pauses: the backlog waits in Kafka.
 */
public final class ApiBreaker {
    private static final Logger LOG = LoggerFactory.getLogger(ApiBreaker.class);

    private final CircuitBreaker breaker;
    private final Clock clock;
    private final java.time.Duration openFor;
    private volatile Instant openedAt;

    public ApiBreaker(PipelineConfig.ExternalApi config, Clock clock, MeterRegistry registry) {
        CircuitBreakerConfig cbc = CircuitBreakerConfig.custom()
                .clock(clock)
                .slidingWindow(20, 5, CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .failureRateThreshold(config.breakerFailureRate())
                .slowCallDurationThreshold(config.slowCall())
                .slowCallRateThreshold(80)
                .waitDurationInOpenState(config.breakerOpenFor())
                .permittedNumberOfCallsInHalfOpenState(2)
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .recordResult(r -> r instanceof ApiClient.Outcome o && o.apiDown())
                .build();
        var breakers = io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry.of(cbc);
        this.breaker = breakers.circuitBreaker("external_api");
        this.clock = clock;
        this.openFor = config.breakerOpenFor();
        // the breaker's own meters (resilience4j_circuitbreaker_*: state, calls by kind, failure and slow-call rates)
        io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics
                .ofCircuitBreakerRegistry(breakers).bindTo(registry);
        Gauge.builder("pipeline.http.breaker.state", breaker, b -> code(b.getState()))
                .description("External API circuit breaker: 0 closed, 1 open, 2 half-open").register(registry);
        breaker.getEventPublisher().onStateTransition(e -> {
            CircuitBreaker.State to = e.getStateTransition().getToState();
            if (to == CircuitBreaker.State.OPEN || to == CircuitBreaker.State.FORCED_OPEN) {
                openedAt = clock.instant();
            }
            Counter.builder("pipeline.http.breaker.transitions")
                    .tag("from", name(e.getStateTransition().getFromState())).tag("to", name(to))
                    .description("Circuit breaker state changes").register(registry).increment();
            LOG.warn("external API circuit breaker {} -> {}", name(e.getStateTransition().getFromState()), name(to));
        });
    }

    /** Whether a call may go out now (an open breaker turns half-open here once its wait is over). */
    public boolean tryAcquire() {
        return breaker.tryAcquirePermission();
    }

    public void record(ApiClient.Outcome outcome) {
        breaker.onResult(outcome.took().toNanos(), TimeUnit.NANOSECONDS, outcome);
        if (outcome.authRefused() && !open()) {
            breaker.transitionToOpenState(); // more calls with the same token would only be refused too
        }
    }

    public CircuitBreaker.State state() {
        return breaker.getState();
    }

    public boolean open() {
        CircuitBreaker.State s = breaker.getState();
        return s == CircuitBreaker.State.OPEN || s == CircuitBreaker.State.FORCED_OPEN;
    }

    /** Open, or half-open (a call now is a probe of whether the API is back). */
    public boolean probingOrOpen() {
        return open() || breaker.getState() == CircuitBreaker.State.HALF_OPEN;
    }

    /** Open, and its wait is over: the next permitted call is a half-open probe. */
    public boolean readyToProbe() {
        Instant at = openedAt;
        return open() && at != null && !clock.instant().isBefore(at.plus(openFor));
    }

    public Instant openedAt() {
        return openedAt;
    }

    static String name(CircuitBreaker.State s) {
        return s.name().toLowerCase(Locale.ROOT);
    }

    private static double code(CircuitBreaker.State s) {
        return switch (s) {
            case CLOSED -> 0;
            case OPEN, FORCED_OPEN -> 1;
            case HALF_OPEN -> 2;
            default -> -1;
        };
    }
}
