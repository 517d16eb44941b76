package dev.engagement.pipeline.sink.http;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class ApiClientTest {
    private static final Instant NOW = Instant.parse("2025-08-10T14:30:00Z");

    @Test
    void readsRetryAfterInSeconds() {
        assertThat(ApiClient.retryAfter("120", NOW)).contains(Duration.ofSeconds(120));
        assertThat(ApiClient.retryAfter(" 0 ", NOW)).contains(Duration.ZERO);
        assertThat(ApiClient.retryAfter("-3", NOW)).isEmpty();
    }

    @Test
    void readsRetryAfterAsAnHttpDate() {
        assertThat(ApiClient.retryAfter("Sun, 10 Aug 2025 14:30:45 GMT", NOW)).contains(Duration.ofSeconds(45));
        assertThat(ApiClient.retryAfter("Sun, 10 Aug 2025 14:29:00 GMT", NOW)).contains(Duration.ZERO);
        assertThat(ApiClient.retryAfter("tomorrow", NOW)).isEqualTo(Optional.empty());
    }
}
