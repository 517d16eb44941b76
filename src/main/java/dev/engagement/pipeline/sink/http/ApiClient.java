package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.config.PipelineConfig;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * POSTs one batch to the external API: a JSON array, bearer token, idempotency key.
 * Turns every outcome, including connection errors and time-outs, into an {@link Outcome}.
 */
public final class ApiClient implements Api, AutoCloseable {
    private final HttpClient http;
    private final URI url;
    private final String authorization;
    private final Duration requestTimeout;
    private final boolean gzip;

    public ApiClient(PipelineConfig.ExternalApi config) {
        this.url = config.url().orElseThrow(() -> new IllegalArgumentException("EXTERNAL_API_URL is not set"));
        this.authorization = config.token().isEmpty() ? null : "Bearer " + config.token().reveal();
        this.requestTimeout = config.requestTimeout();
        this.gzip = config.gzip();
        this.http = HttpClient.newBuilder().connectTimeout(config.connectTimeout())
                .version(HttpClient.Version.HTTP_1_1).build();
    }

    @Override
    public CompletableFuture<Outcome> post(byte[] body, String idempotencyKey) {
        HttpRequest.Builder request = HttpRequest.newBuilder(url)
                .timeout(requestTimeout)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", idempotencyKey)
                .POST(HttpRequest.BodyPublishers.ofByteArray(gzip ? gzip(body) : body));
        if (gzip) {
            request.header("Content-Encoding", "gzip");
        }
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        long start = System.nanoTime();
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.discarding())
                .handle((response, error) -> {
                    Duration took = Duration.ofNanos(System.nanoTime() - start);
                    if (error != null) {
                        Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                                ? error.getCause() : error;
                        return new Outcome(0, Optional.empty(), describe(cause), took);
                    }
                    return new Outcome(response.statusCode(),
                            response.headers().firstValue("Retry-After").flatMap(v -> retryAfter(v, Instant.now())),
                            null, took);
                });
    }

    private static byte[] gzip(byte[] body) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(body.length / 4 + 64);
        try (java.util.zip.GZIPOutputStream z = new java.util.zip.GZIPOutputStream(out)) {
            z.write(body);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Retry-After in either form: delay-seconds or an HTTP date. */
    static Optional<Duration> retryAfter(String value, Instant now) {
        String v = value.strip();
        try {
            long seconds = Long.parseLong(v);
            return seconds < 0 ? Optional.empty() : Optional.of(Duration.ofSeconds(seconds));
        } catch (NumberFormatException notSeconds) {
            try {
                Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                Duration d = Duration.between(now, at);
                return Optional.of(d.isNegative() ? Duration.ZERO : d);
            } catch (DateTimeParseException notDate) {
                return Optional.empty();
            }
        }
    }

    private static String describe(Throwable t) {
        String name = t.getClass().getSimpleName();
        return t.getMessage() == null ? name : name + ": " + t.getMessage();
    }

    @Override
    public void close() {
        // java.net.http.HttpClient has no close() before Java 21; its threads end with the JVM
    }

    /**
     * What one POST came to. {@code status} 0 means no HTTP answer (connection error or time-out,
     * described by {@code error}).
     */
    public record Outcome(int status, Optional<Duration> retryAfter, String error, Duration took) {
        public boolean delivered() {
            return status >= 200 && status < 300;
        }

        /** 408, 429, 5xx and no answer at all are worth another try; other 4xx are not. */
        public boolean retriable() {
            return status == 0 || status == 408 || status == 429 || status >= 500;
        }

        /** 401 and 403: the API refuses our credentials, not this batch; nothing works until they do. */
        public boolean authRefused() {
            return status == 401 || status == 403;
        }

        /** The API cannot take anything now: what the breaker counts as a failure. */
        public boolean apiDown() {
            return retriable() || authRefused();
        }

        public String describe() {
            return status == 0 ? error : "HTTP " + status;
        }
    }
}
