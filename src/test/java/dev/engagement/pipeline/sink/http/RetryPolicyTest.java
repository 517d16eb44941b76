package dev.engagement.pipeline.sink.http;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.Optional;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class RetryPolicyTest {
    private final RetryPolicy policy = new RetryPolicy(5, Duration.ofMinutes(1), new Random(1));

    private static ApiClient.Outcome status(int s) {
        return new ApiClient.Outcome(s, Optional.empty(), s == 0 ? "HttpTimeoutException: request timed out" : null,
                Duration.ofMillis(5));
    }

    @ParameterizedTest
    @ValueSource(ints = {200, 201, 202, 204, 299})
    void twoHundredsAreDelivered(int s) {
        assertThat(policy.after(status(s), 1, Duration.ZERO)).isInstanceOf(RetryPolicy.Delivered.class);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 408, 429, 500, 502, 503, 504})
    void timeoutsThrottlingAndServerErrorsAreRetried(int s) {
        assertThat(policy.after(status(s), 1, Duration.ZERO)).isInstanceOf(RetryPolicy.Retry.class);
    }

    @ParameterizedTest
    @ValueSource(ints = {400, 401, 403, 404, 409, 413, 422})
    void otherClientErrorsAreRefusedForGood(int s) {
        assertThat(policy.after(status(s), 1, Duration.ZERO)).isInstanceOf(RetryPolicy.Rejected.class);
    }

    @Test
    void honoursRetryAfter() {
        ApiClient.Outcome throttled = new ApiClient.Outcome(429, Optional.of(Duration.ofSeconds(7)), null, Duration.ZERO);
        assertThat(policy.after(throttled, 1, Duration.ZERO)).isEqualTo(new RetryPolicy.Retry(Duration.ofSeconds(7)));
    }

    @Test
    void backOffIsExponentialWithFullJitterAndCapped() {
        for (int attempt = 1; attempt <= 30; attempt++) {
            long ceiling = Math.min(30_000, 200L << Math.min(attempt - 1, 20));
            for (int i = 0; i < 200; i++) {
                assertThat(policy.backoff(attempt).toMillis()).isBetween(0L, ceiling);
            }
        }
        long max = 0;
        for (int i = 0; i < 2000; i++) {
            max = Math.max(max, policy.backoff(4).toMillis());
        }
        assertThat(max).as("full jitter reaches toward its ceiling").isGreaterThan(1400);
    }

    @Test
    void givesUpWhenAttemptsOrTimeRunOut() {
        assertThat(policy.after(status(503), 5, Duration.ZERO)).isInstanceOf(RetryPolicy.GiveUp.class);
        ApiClient.Outcome later = new ApiClient.Outcome(503, Optional.of(Duration.ofSeconds(30)), null, Duration.ZERO);
        assertThat(policy.after(later, 1, Duration.ofSeconds(40))).isInstanceOf(RetryPolicy.GiveUp.class);
        assertThat(policy.after(later, 1, Duration.ofSeconds(20))).isInstanceOf(RetryPolicy.Retry.class);
    }
}
