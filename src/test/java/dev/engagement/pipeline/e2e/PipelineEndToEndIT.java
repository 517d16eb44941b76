package dev.engagement.pipeline.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.Pipeline;
import dev.engagement.pipeline.config.Component;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.testing.ApiReceiver;
import dev.engagement.pipeline.testing.Oracle;
import dev.engagement.pipeline.testing.Sql;
import dev.engagement.pipeline.testing.TestServices;
import dev.engagement.pipeline.testing.TopicReader;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The whole data flow on real services: PostgreSQL logical replication, a Kafka broker, Redis,
 * DuckDB and an HTTP receiver. Rows before the first start, rows while running, invalid rows,
 * and a clean restart all end exactly where they belong.
 */
class PipelineEndToEndIT {
    private static final String TOKEN = "e2e-token-5f0c1d";
    private static EmbeddedKafka kafka;
    private static ApiReceiver receiver;
    private static PipelineConfig config;

    @BeforeAll
    static void services() throws Exception {
        kafka = TestServices.kafka();
        receiver = new ApiReceiver();
        Map<String, String> env = new HashMap<>(TestServices.env("e2e", kafka));
        env.put("EXTERNAL_API_URL", receiver.url());
        env.put("EXTERNAL_API_TOKEN", TOKEN);
        env.put("HTTP_SINK_LINGER", "10ms");
        env.put("CONTENT_GRACE_PERIOD", "5s");
        config = TestServices.config(env);
        Schema.init(config.postgres());
    }

    @AfterAll
    static void stop() {
        receiver.close();
        kafka.close();
    }

    @Test
    void everyRowEndsWhereItBelongsAcrossACleanRestart() throws Exception {
        UUID video;
        UUID newsletter;
        UUID podcast;
        long firstValid;
        try (Sql sql = new Sql(config.postgres())) {
            video = sql.content("Introduction to Data Engineering", "video", 1800);
            newsletter = sql.content("Weekly digest", "newsletter", null);
            podcast = sql.content("Streaming, explained", "podcast", 3000);
            firstValid = sql.event(video, "pause", 900_000);
            insertMix(sql, List.of(video, newsletter, podcast), 30);
            sql.event(video, "play", -5);               // negative_duration
            sql.event(null, "play", 1000);              // missing_content_id
        }

        Oracle oracle = new Oracle(config);
        PrometheusMeterRegistry registry = dev.engagement.pipeline.metrics.KafkaMeters.registry();
        try (Pipeline pipeline = Pipeline.start(config, Component.all(), registry)) {
            awaitExact(oracle, pipeline); // the rows that existed before the start, through the snapshot
            try (Sql sql = new Sql(config.postgres())) {
                UUID late = sql.content("Added while running", "video", 600);
                insertMix(sql, List.of(video, newsletter, podcast, late), 40);
                sql.event(podcast, "finish", -1);       // negative_duration
                sql.execute("UPDATE engagement_events SET device = 'tv' WHERE id = " + firstValid); // event_mutated
            }
            awaitExact(oracle, pipeline);

            assertEnrichedRecordMatchesTheSource(firstValid);
            assertInvalidRowsCarryTheirReason();
            assertReceiverSawTheContract();
            assertHealthAndApi(pipeline);
        }

        // a clean stop, rows written while it is down, and a start again: nothing lost, nothing twice
        try (Sql sql = new Sql(config.postgres())) {
            insertMix(sql, List.of(video, newsletter, podcast), 25);
        }
        try (Pipeline pipeline = Pipeline.start(config, Component.all(),
                dev.engagement.pipeline.metrics.KafkaMeters.registry())) {
            awaitExact(oracle, pipeline);
            assertThat(receiver.deliveredEventCount()).as("no event delivered twice after a clean restart")
                    .isEqualTo(oracle.truth().validIds().size());
        }
    }

    private static void awaitExact(Oracle oracle, Pipeline pipeline) {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            Oracle.Truth truth = oracle.truth();
            assertThat(oracle.redisMismatches(truth)).isEmpty();
            assertThat(Oracle.warehouseMismatches(truth, pipeline.warehouse().orElseThrow())).isEmpty();
            assertThat(receiver.deliveredEventIds()).isEqualTo(truth.validIds());
        });
    }

    private static void insertMix(Sql sql, List<UUID> contents, int n) throws Exception {
        String[] types = {"play", "pause", "finish", "click"};
        java.util.Random random = new java.util.Random(n);
        for (int i = 0; i < n; i++) {
            String type = types[i % types.length];
            Integer duration = "click".equals(type) ? null : 1 + random.nextInt(1_000_000);
            sql.event(contents.get(i % contents.size()), type, duration);
        }
    }

    private void assertEnrichedRecordMatchesTheSource(long eventId) throws Exception {
        ConsumerRecord<String, byte[]> record = TopicReader.readAll(config, Topics.ENRICHED).stream()
                .filter(r -> readTree(r.value()).get("event_id").asLong() == eventId).findFirst().orElseThrow();
        JsonNode e = readTree(record.value());
        try (Sql sql = new Sql(config.postgres())) {
            Object[] row = sql.rows("SELECT e.content_id::text, e.user_id::text, e.event_type, e.duration_ms, e.device, "
                    + "c.title, c.content_type, c.length_seconds, e.event_ts FROM engagement_events e "
                    + "JOIN content c ON c.id = e.content_id WHERE e.id = " + eventId).get(0);
            assertThat(record.key()).isEqualTo(row[0]);
            assertThat(e.get("content_id").asText()).isEqualTo(row[0]);
            assertThat(e.get("user_id").asText()).isEqualTo(row[1]);
            assertThat(e.get("event_type").asText()).isEqualTo(row[2]);
            assertThat(e.get("engagement_seconds").decimalValue()).isEqualByComparingTo(BigDecimal.valueOf((Integer) row[3], 3));
            assertThat(row[4]).as("the row was updated in PostgreSQL").isEqualTo("tv");
            assertThat(e.get("device").asText()).as("an update of an event is not applied").isEqualTo("mobile");
            assertThat(e.get("content_title").asText()).isEqualTo(row[5]);
            assertThat(e.get("content_type").asText()).isEqualTo(row[6]);
            assertThat(e.get("content_length_seconds").asInt()).isEqualTo(row[7]);
            assertThat(e.get("engagement_percentage").decimalValue()).isEqualByComparingTo("50");
            assertThat(Instant.parse(e.get("event_ts").asText())).isEqualTo(((java.sql.Timestamp) row[8]).toInstant());
            assertThat(Instant.parse(e.get("processed_at").asText())).isAfter(Instant.now().minusSeconds(300));
        }
    }

    private void assertInvalidRowsCarryTheirReason() throws Exception {
        Map<String, Long> reasons = TopicReader.readAll(config, Topics.INVALID).stream()
                .map(r -> readTree(r.value()).get("reason").asText())
                .collect(Collectors.groupingBy(r -> r, Collectors.counting()));
        assertThat(reasons).containsEntry("negative_duration", 2L).containsEntry("missing_content_id", 1L)
                .containsEntry("event_mutated", 1L).hasSize(3);
        Set<Long> invalidIds = TopicReader.readAll(config, Topics.INVALID).stream()
                .map(r -> readTree(r.value()).get("row").get("id").asLong()).collect(Collectors.toSet());
        assertThat(invalidIds).containsAll(new Oracle(config).truth().invalidIds());
    }

    private static void assertReceiverSawTheContract() {
        assertThat(receiver.requests()).allSatisfy(r -> {
            assertThat(r.method).isEqualTo("POST");
            assertThat(r.header("Authorization")).isEqualTo("Bearer " + TOKEN);
            assertThat(r.header("Content-Type")).isEqualTo("application/json");
            assertThat(r.header("Idempotency-Key")).isNotBlank();
            assertThat(r.json).isTrue();
        });
    }

    private void assertHealthAndApi(Pipeline pipeline) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + pipeline.apiPort().orElseThrow();
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
        JsonNode h = Json.MAPPER.readTree(health.body());
        assertThat(h.get("status").asText()).isEqualTo("healthy");
        assertThat(h.get("services").fieldNames()).toIterable()
                .containsExactly("kafka", "postgres", "redis", "warehouse", "external_api");
        assertThat(h.get("last_processed").isNull()).isFalse();
        assertThat(health.body()).doesNotContain(TOKEN);

        JsonNode stats = Json.MAPPER.readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/api/stats")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        assertThat(stats.get("events").asLong()).isEqualTo(new Oracle(config).truth().validIds().size());
        String metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertThat(metrics).contains("pipeline_sink_events_total{sink=\"redis\"}")
                .contains("pipeline_end_to_end_latency_seconds_bucket").doesNotContain(TOKEN)
                // the Kafka clients' own meters (the processor's, each sink's consumer) and the breaker's
                .containsPattern("kafka_stream_thread_process_total\\{[^}]*\\} [1-9]")
                .containsPattern("kafka_consumer_fetch_manager_records_lag_max\\{")
                .contains("resilience4j_circuitbreaker_state{name=\"external_api\",state=\"closed\"} 1.0");
    }

    private static JsonNode readTree(byte[] bytes) {
        try {
            return Json.MAPPER.readTree(bytes);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
