package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.config.PipelineConfig;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * What to do after an attempt, as a pure function: delivered, refused for good, try again after a
 * wait (Retry-After when the API gave one, else exponential back-off with full jitter), or give up
 * when attempts or time run out.
 */
public final class RetryPolicy {
    static final Duration BASE = Duration.ofMillis(200);
    static final Duration CAP = Duration.ofSeconds(30);

    private final int maxAttempts;
    private final Duration maxRetryTime;
    private final RandomGenerator random;

    public RetryPolicy(int maxAttempts, Duration maxRetryTime, RandomGenerator random) {
        this.maxAttempts = maxAttempts;
        this.maxRetryTime = maxRetryTime;
        this.random = random;
    }

    /** The policy the settings ask for, with fresh jitter. */
    static RetryPolicy of(PipelineConfig.ExternalApi config) {
        return new RetryPolicy(config.maxAttempts(), config.maxRetryTime(), ThreadLocalRandom.current());
    }

    public sealed interface Decision {
    }

    public record Delivered() implements Decision {
    }

    /** The API refused the batch for good (a 4xx other than 408 and 429). */
    public record Rejected() implements Decision {
    }

    public record Retry(Duration delay) implements Decision {
    }

    public record GiveUp(String why) implements Decision {
    }

    /**
     * @param attempts attempts made so far, this one included
     * @param spent    time spent in attempts and back-off so far (breaker pauses excluded)
     */
    public Decision after(ApiClient.Outcome outcome, int attempts, Duration spent) {
        if (outcome.delivered()) {
            return new Delivered();
        }
        if (!outcome.retriable()) {
            return new Rejected();
        }
        if (attempts >= maxAttempts) {
            return new GiveUp(attempts + " attempts, the last " + outcome.describe());
        }
        Duration wait = outcome.retryAfter().orElseGet(() -> backoff(attempts));
        if (spent.plus(wait).compareTo(maxRetryTime) > 0) {
            return new GiveUp("retry time of " + maxRetryTime.toSeconds() + " s used up, the last " + outcome.describe());
        }
        return new Retry(wait);
    }

    /** Full jitter: uniformly random between 0 and min(cap, base x 2^(attempt-1)). */
    Duration backoff(int attempt) {
        long ceiling = Math.min(CAP.toMillis(), BASE.toMillis() << Math.min(attempt - 1, 20));
        return Duration.ofMillis(random.nextLong(ceiling + 1));
    }
}
