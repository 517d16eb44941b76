package dev.engagement.pipeline.fault;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.Sql;
import dev.engagement.pipeline.testing.TopicReader;
import dev.engagement.pipeline.topic.Headers;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 8: malformed and hostile input. Rule-breaking rows go to engagement.invalid with their
 * reason; odd but valid rows (a 10 MB payload, deep nesting, CR/LF and SQL in strings) count;
 * garbage bytes on the input topics are dead-lettered once with their bytes; processing goes on.
 */
class MalformedInputIT {

    @FaultSeeds(value = {8001, 13, 256, 1999, 777}, quick = 1)
    void badInputIsReportedOnceAndEverythingElseCounts(long seed) throws Exception {
        try (Scenario s = Scenario.create("malformed", seed)) {
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            try (Sql sql = new Sql(s.config.postgres())) {
                UUID content = sql.content("Hostile 'title'; DROP TABLE content; --\r\nline two", "video", 600);
                sql.event(content, "play", -250);            // negative_duration
                sql.event(null, "click", null);              // missing_content_id
                try (PreparedStatement ps = sql.connection().prepareStatement("INSERT INTO engagement_events "
                        + "(content_id, user_id, event_type, event_ts, duration_ms, device, raw_payload) "
                        + "VALUES (?, ?, 'pause', now(), ?, ?, ?::jsonb)")) {
                    String big = "{\"blob\": \"" + "x".repeat(10 * 1024 * 1024) + "\"}";
                    String deep = "[".repeat(400) + "1" + "]".repeat(400);
                    String deeper = "[".repeat(3000) + "1" + "]".repeat(3000); // past Jackson's default depth
                    String tooLarge = "{\"blob\": \"" + "y".repeat(40 * 1024 * 1024) + "\"}"; // over the record limit
                    String[][] rows = {
                            {"1000", "tablet", big},
                            {"2000", "tv", deep},
                            {"2500", "deep", deeper},
                            {"2600", "huge", tooLarge},
                            {"3000", "mobile\r\n'); DELETE FROM engagement_events; --", "{\"q\": \"SELECT * FROM users WHERE a='1'\\r\\n\"}"}};
                    for (String[] r : rows) {
                        ps.setObject(1, content);
                        ps.setObject(2, UUID.randomUUID());
                        ps.setInt(3, Integer.parseInt(r[0]));
                        ps.setString(4, r[1]);
                        ps.setString(5, r[2]);
                        ps.executeUpdate();
                    }
                }
            }
            byte[] garbage = {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef, 0, 1, 2};
            try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(KafkaClients.producer(s.config, "garbage"))) {
                p.send(new ProducerRecord<>(Topics.CDC_EVENTS, "k", garbage));
                p.send(new ProducerRecord<>(Topics.CDC_CONTENT, "k", "{\"op\": \"c\", \"after\": [".getBytes(StandardCharsets.UTF_8)));
                p.send(new ProducerRecord<>(Topics.ENRICHED, "k", garbage));
                p.send(new ProducerRecord<>(Topics.ENRICHED, "k", "{\"event_id\": \"not a number\"}".getBytes(StandardCharsets.UTF_8)));
                p.flush();
            }
            s.startLoad(200, 0); // processing goes on after all of it
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > 1000);
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));

            Map<String, Long> reasons = new HashMap<>();
            Map<String, Long> malformedBySource = new HashMap<>();
            for (var r : TopicReader.readAll(s.config, Topics.INVALID)) {
                JsonNode n = Json.MAPPER.readTree(r.value());
                reasons.merge(n.get("reason").asText(), 1L, Long::sum);
                if ("malformed".equals(n.get("reason").asText())) {
                    malformedBySource.merge(n.get("source_topic").asText(), 1L, Long::sum);
                    assertThat(Headers.text(r.headers(), Headers.OFFSET)).isNotBlank();
                    if (n.has("raw_base64") && Topics.CDC_EVENTS.equals(n.get("source_topic").asText())) {
                        assertThat(Base64.getDecoder().decode(n.get("raw_base64").asText())).isEqualTo(garbage);
                    }
                }
            }
            assertThat(reasons).containsEntry("negative_duration", 1L).containsEntry("missing_content_id", 1L)
                    .containsEntry("malformed", 4L).containsEntry("too_large", 1L);
            JsonNode tooBig = TopicReader.readAll(s.config, Topics.INVALID).stream().map(r -> {
                try {
                    return Json.MAPPER.readTree(r.value());
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            }).filter(n -> "too_large".equals(n.get("reason").asText())).findFirst().orElseThrow();
            assertThat(tooBig.path("row").path("id").asLong()).as("the too_large row keeps its id").isPositive();
            assertThat(tooBig.path("original_bytes").asLong()).isGreaterThan(40L * 1024 * 1024);
            assertThat(tooBig.path("truncated_copy").asText()).hasSizeLessThanOrEqualTo(4096);
            assertThat(s.metric(s.port(), "pipeline_source_too_large_total", null)).isEqualTo(1.0);
            assertThat(malformedBySource).containsEntry(Topics.CDC_EVENTS, 1L).containsEntry(Topics.CDC_CONTENT, 1L)
                    .containsEntry(Topics.ENRICHED, 2L);
            List<Long> bigOnes = s.receiver.requests().stream().flatMap(r -> r.events.stream())
                    .filter(e -> "tablet".equals(e.path("device").asText())).map(e -> e.get("event_id").asLong())
                    .collect(Collectors.toList());
            assertThat(bigOnes).as("the 10 MB-payload event is a valid event and reached the API").isNotEmpty();
            assertThat(s.receiver.requests().stream().flatMap(r -> r.events.stream())
                    .filter(e -> "deep".equals(e.path("device").asText()))).as("3,000 deep is a valid event").isNotEmpty();
            s.report("faults", "negative duration, null content_id, 10 MB raw_payload, 400- and 3,000-deep JSON, a "
                    + "40 MB row (too_large), CR/LF and SQL in strings, garbage bytes on both CDC topics and on "
                    + "engagement.enriched");
            s.report("invalid_by_reason", reasons);
        }
    }
}
