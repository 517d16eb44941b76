package dev.engagement.pipeline.process;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.testing.Cdc;
import dev.engagement.pipeline.topic.Headers;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

class EnrichmentTopologyTest {
    private static final String VIDEO = "123e4567-e89b-12d3-a456-426614174000";
    private static final String NEWSLETTER = "9b2d7c1e-0000-4000-8000-000000000001";
    private static final Instant START = Instant.parse("2025-08-10T14:30:25Z");
    private static final Duration GRACE = Duration.ofSeconds(30);

    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> content;
    private TestInputTopic<String, byte[]> events;
    private TestOutputTopic<String, byte[]> enriched;
    private TestOutputTopic<String, byte[]> invalid;

    @BeforeEach
    void setUp() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "topology-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(EnrichmentTopology.build(GRACE, new SimpleMeterRegistry()), props, START);
        content = driver.createInputTopic(Topics.CDC_CONTENT, Serdes.String().serializer(), Serdes.ByteArray().serializer());
        events = driver.createInputTopic(Topics.CDC_EVENTS, Serdes.String().serializer(), Serdes.ByteArray().serializer());
        enriched = driver.createOutputTopic(Topics.ENRICHED, Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
        invalid = driver.createOutputTopic(Topics.INVALID, Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    @Test
    void enrichesTheSpecExampleFieldForField() throws IOException {
        content.pipeInput(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, "Introduction to Data Engineering", "video", 1800)));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(42, VIDEO, "pause", 900_000, "2025-08-10T14:30:20Z")));

        TestRecord<String, byte[]> out = enriched.readRecord();
        assertThat(out.key()).isEqualTo(VIDEO);
        assertThat(Headers.fromProcessor(out.headers())).as("marked as the processor's own").isTrue();
        JsonNode json = Json.MAPPER.readTree(out.value());
        assertThat(fieldNames(json)).containsExactly("event_id", "content_id", "content_title", "content_type",
                "content_length_seconds", "user_id", "event_type", "event_ts", "engagement_seconds",
                "engagement_percentage", "device", "processed_at");
        assertThat(json.get("event_id").asLong()).isEqualTo(42);
        assertThat(json.get("content_id").asText()).isEqualTo(VIDEO);
        assertThat(json.get("content_title").asText()).isEqualTo("Introduction to Data Engineering");
        assertThat(json.get("content_type").asText()).isEqualTo("video");
        assertThat(json.get("content_length_seconds").asInt()).isEqualTo(1800);
        assertThat(json.get("user_id").asText()).isEqualTo("7f1b9a54-2f6e-4c1e-9d7b-0c1f3a2b4c5d");
        assertThat(json.get("event_type").asText()).isEqualTo("pause");
        assertThat(json.get("event_ts").asText()).isEqualTo("2025-08-10T14:30:20Z");
        assertThat(json.get("engagement_seconds").decimalValue()).isEqualByComparingTo("900");
        assertThat(json.get("engagement_percentage").decimalValue()).isEqualByComparingTo("50");
        assertThat(json.get("device").asText()).isEqualTo("mobile");
        assertThat(json.get("processed_at").asText()).isEqualTo("2025-08-10T14:30:25Z");
        assertThat(enriched.isEmpty()).isTrue();
        assertThat(invalid.isEmpty()).isTrue();
    }

    @Test
    void newsletterWithoutLengthHasNullPercentage() throws IOException {
        content.pipeInput(NEWSLETTER, Cdc.insert(Cdc.contentRow(NEWSLETTER, "Weekly digest", "newsletter", null)));
        events.pipeInput(NEWSLETTER, Cdc.insert(Cdc.eventRow(1, NEWSLETTER, "finish", 45_500, "2025-08-10T14:30:20Z")));

        JsonNode json = Json.MAPPER.readTree(enriched.readValue());
        assertThat(json.get("content_length_seconds").isNull()).isTrue();
        assertThat(json.get("engagement_seconds").decimalValue()).isEqualByComparingTo("45.5");
        assertThat(json.get("engagement_percentage").isNull()).isTrue();
    }

    @Test
    void zeroLengthContentHasNullPercentage() throws IOException {
        content.pipeInput(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, "Trailer", "video", 0)));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(1, VIDEO, "play", 1000, "2025-08-10T14:30:20Z")));

        assertThat(Json.MAPPER.readTree(enriched.readValue()).get("engagement_percentage").isNull()).isTrue();
    }

    @Test
    void clickWithoutDurationHasNullSecondsAndPercentage() throws IOException {
        content.pipeInput(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, "Intro", "video", 1800)));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(7, VIDEO, "click", null, "2025-08-10T14:30:20Z")));

        JsonNode json = Json.MAPPER.readTree(enriched.readValue());
        assertThat(json.get("engagement_seconds").isNull()).isTrue();
        assertThat(json.get("engagement_percentage").isNull()).isTrue();
    }

    @Test
    void roundsPercentageHalfUpToTwoDecimalsAndKeepsSecondsExact() throws IOException {
        content.pipeInput(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, "Short", "video", 3)));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(1, VIDEO, "pause", 1000, "2025-08-10T14:30:20Z")));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(2, VIDEO, "pause", 2000, "2025-08-10T14:30:21Z")));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(3, VIDEO, "pause", 1, "2025-08-10T14:30:22Z")));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(4, VIDEO, "pause", 15, "2025-08-10T14:30:23Z")));

        List<JsonNode> out = readAll(enriched);
        assertThat(out).extracting(j -> j.get("engagement_percentage").decimalValue().toPlainString())
                .containsExactly("33.33", "66.67", "0.03", "0.5");
        assertThat(out).extracting(j -> j.get("engagement_seconds").decimalValue().toPlainString())
                .containsExactly("1.0", "2.0", "0.001", "0.015");
    }

    @Test
    void eventsWaitForLateContentAndLeaveInArrivalOrder() throws IOException {
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(20, VIDEO, "play", 1000, "2025-08-10T14:30:20Z")));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(10, VIDEO, "pause", 2000, "2025-08-10T14:30:21Z")));
        assertThat(enriched.isEmpty()).isTrue();
        assertThat(invalid.isEmpty()).isTrue();

        driver.advanceWallClockTime(GRACE.minusSeconds(1));
        assertThat(invalid.isEmpty()).as("still within the grace period").isTrue();

        content.pipeInput(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, "Late", "video", 100)));
        List<JsonNode> out = readAll(enriched);
        assertThat(out).extracting(j -> j.get("event_id").asLong()).containsExactly(20L, 10L);
        assertThat(out).allSatisfy(j -> assertThat(j.get("content_title").asText()).isEqualTo("Late"));

        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(30, VIDEO, "finish", 3000, "2025-08-10T14:30:22Z")));
        assertThat(readAll(enriched)).extracting(j -> j.get("event_id").asLong()).containsExactly(30L);
        driver.advanceWallClockTime(GRACE.multipliedBy(2));
        assertThat(invalid.isEmpty()).as("released events must not expire later").isTrue();
    }

    @Test
    void contentThatNeverArrivesMakesItsEventsUnknownAfterTheGracePeriod() throws IOException {
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(5, VIDEO, "play", 1000, "2025-08-10T14:30:20Z")));
        driver.advanceWallClockTime(GRACE.plusSeconds(1));

        assertThat(enriched.isEmpty()).isTrue();
        TestRecord<String, byte[]> out = invalid.readRecord();
        JsonNode json = Json.MAPPER.readTree(out.value());
        assertThat(json.get("reason").asText()).isEqualTo("unknown_content");
        assertThat(json.get("row").get("id").asLong()).isEqualTo(5);
        assertThat(Headers.text(out.headers(), Headers.REASON)).isEqualTo("unknown_content");

        content.pipeInput(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, "Too late", "video", 100)));
        assertThat(enriched.isEmpty()).as("an expired event is not enriched later").isTrue();
    }

    @Test
    void aNewTitleAppliesToLaterEventsOnly() throws IOException {
        content.pipeInput(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, "Old title", "video", 100)));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(1, VIDEO, "play", 1000, "2025-08-10T14:30:20Z")));
        content.pipeInput(VIDEO, Cdc.envelope("u", null, Cdc.contentRow(VIDEO, "New title", "video", 200), 1L));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(2, VIDEO, "play", 1000, "2025-08-10T14:30:21Z")));

        List<JsonNode> out = readAll(enriched);
        assertThat(out).extracting(j -> j.get("content_title").asText()).containsExactly("Old title", "New title");
        assertThat(out).extracting(j -> j.get("content_length_seconds").asInt()).containsExactly(100, 200);
    }

    @Test
    void anUpdateThatLeftALargeTitleAloneKeepsTheTitle() throws IOException {
        String large = "A long title ".repeat(500);
        content.pipeInput(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, large, "video", 100)));
        // PostgreSQL did not log the unchanged TOASTed title: the change carries the placeholder
        content.pipeInput(VIDEO, Cdc.envelope("u", null,
                Cdc.contentRow(VIDEO, dev.engagement.pipeline.model.CdcCodec.UNCHANGED_TOAST, "video", 200), 1L));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(1, VIDEO, "play", 1000, "2025-08-10T14:30:20Z")));

        JsonNode out = readAll(enriched).get(0);
        assertThat(out.get("content_title").asText()).isEqualTo(large);
        assertThat(out.get("content_length_seconds").asInt()).isEqualTo(200);
    }

    @Test
    void aDeletedContentMakesLaterEventsUnknownWithoutWaiting() throws IOException {
        content.pipeInput(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, "Gone soon", "video", 100)));
        content.pipeInput(VIDEO, Cdc.envelope("d", Cdc.contentRow(VIDEO, null, null, null), null, 1L));
        content.pipeInput(VIDEO, (byte[]) null);
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(3, VIDEO, "play", 1000, "2025-08-10T14:30:20Z")));

        assertThat(enriched.isEmpty()).isTrue();
        assertThat(Json.MAPPER.readTree(invalid.readValue()).get("reason").asText()).isEqualTo("unknown_content");
    }

    @Test
    void invalidRowsGoToTheInvalidTopicWithTheirReason() throws IOException {
        content.pipeInput(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, "Intro", "video", 100)));
        events.pipeInput(null, Cdc.insert(Cdc.eventRow(1, null, "play", 1000, "2025-08-10T14:30:20Z")));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(2, VIDEO, "play", -5, "2025-08-10T14:30:20Z")));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(3, VIDEO, "rewind", 1000, "2025-08-10T14:30:20Z")));
        events.pipeInput(VIDEO, "this is not json".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        events.pipeInput(VIDEO, Cdc.envelope("u", null, Cdc.eventRow(4, VIDEO, "play", 1, "2025-08-10T14:30:20Z"), 1L));
        events.pipeInput(VIDEO, Cdc.envelope("d", Cdc.eventRow(5, VIDEO, "play", 1, "2025-08-10T14:30:20Z"), null, 1L));
        events.pipeInput(VIDEO, new byte[] {(byte) 0xff, 0x00, (byte) 0xfe});

        List<JsonNode> out = readAll(invalid);
        assertThat(out).extracting(j -> j.get("reason").asText()).containsExactly("missing_content_id",
                "negative_duration", "bad_event_type", "malformed", "event_mutated", "event_mutated", "malformed");
        assertThat(out.get(1).get("row").get("duration_ms").asInt()).isEqualTo(-5);
        assertThat(out.get(3).get("raw_text").asText()).isEqualTo("this is not json");
        assertThat(out.get(6).get("raw_base64").asText()).isEqualTo("/wD+");
        assertThat(out).allSatisfy(j -> assertThat(j.get("source_topic").asText()).isEqualTo(Topics.CDC_EVENTS));
        assertThat(enriched.isEmpty()).isTrue();
    }

    @Test
    void deadLettersForeignRecordsOnTheEnrichedTopicWithTheirBytes() throws IOException {
        TestInputTopic<String, byte[]> enrichedIn = driver.createInputTopic(Topics.ENRICHED,
                Serdes.String().serializer(), Serdes.ByteArray().serializer());
        byte[] valid = new dev.engagement.pipeline.model.EnrichedEvent(1, VIDEO, "t", "video", 10, "u",
                dev.engagement.pipeline.model.EventType.PLAY, "2025-08-10T14:30:20Z", 5L, null, "tv",
                "2025-08-10T14:30:21Z").toJson();
        enrichedIn.pipeInput(VIDEO, valid);
        enrichedIn.pipeInput(VIDEO, new byte[] {1, 2, 3});
        enrichedIn.pipeInput(VIDEO, "{\"op\":\"c\",\"after\":{}}".getBytes(java.nio.charset.StandardCharsets.UTF_8));

        List<TestRecord<String, byte[]>> out = invalid.readRecordsToList();
        assertThat(out).hasSize(2);
        JsonNode first = Json.MAPPER.readTree(out.get(0).value());
        assertThat(first.get("reason").asText()).isEqualTo("malformed");
        assertThat(first.get("source_topic").asText()).isEqualTo(Topics.ENRICHED);
        assertThat(java.util.Base64.getDecoder().decode(first.get("raw_base64").asText())).containsExactly(1, 2, 3);
        assertThat(Headers.text(out.get(0).headers(), Headers.TOPIC)).isEqualTo(Topics.ENRICHED);
        assertThat(Headers.text(out.get(0).headers(), Headers.OFFSET)).isEqualTo("1");
        assertThat(Json.MAPPER.readTree(out.get(1).value()).has("row")).as("kept as raw bytes, not as a row").isFalse();
    }

    @Test
    void marksItsOwnEnrichedRecordsSoThatItsGuardSkipsThemAndOnlyThose() {
        TestInputTopic<String, byte[]> enrichedIn = driver.createInputTopic(Topics.ENRICHED,
                Serdes.String().serializer(), Serdes.ByteArray().serializer());
        // a record marked as the processor's own is not parsed again (the sinks skip it if it lies)
        enrichedIn.pipeInput(new TestRecord<>(VIDEO, new byte[] {1, 2, 3}, Headers.processorOrigin(), 0L));
        // a wrong mark counts as none
        enrichedIn.pipeInput(new TestRecord<>(VIDEO, new byte[] {4, 5, 6},
                new org.apache.kafka.common.header.internals.RecordHeaders().add(Headers.ORIGIN, Headers.utf8("someone")), 0L));
        List<TestRecord<String, byte[]>> out = invalid.readRecordsToList();
        assertThat(out).hasSize(1);
        assertThat(Headers.text(out.get(0).headers(), Headers.OFFSET)).isEqualTo("1");
    }

    private static List<JsonNode> readAll(TestOutputTopic<String, byte[]> topic) {
        return topic.readValuesToList().stream().map(v -> {
            try {
                return Json.MAPPER.readTree(v);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }).toList();
    }

    private static List<String> fieldNames(JsonNode json) {
        List<String> names = new java.util.ArrayList<>();
        json.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void anInvalidEventIsLoggedWithItsEventAndContentIdsAsJsonFields() throws IOException {
        try (dev.engagement.pipeline.testing.LogCapture log = new dev.engagement.pipeline.testing.LogCapture(EnrichmentProcessor.class)) {
            events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(4211, VIDEO, "pause", -1200, "2025-08-10T14:30:20Z")));
            assertThat(invalid.readRecord()).isNotNull();
            JsonNode line = log.lines().stream().filter(l -> l.path("message").asText().startsWith("invalid event"))
                    .findFirst().orElseThrow();
            assertThat(line.path("event_id").asLong()).isEqualTo(4211);
            assertThat(line.path("content_id").asText()).isEqualTo(VIDEO);
            assertThat(line.path("message").asText()).isEqualTo("invalid event 4211 of content " + VIDEO
                    + " to engagement.invalid: negative_duration (duration_ms is -1200)");
        }
    }

    @Test
    void theDataQualityWatchSeesEveryValidAndInvalidEvent() {
        driver.close();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        dev.engagement.pipeline.testing.MutableClock clock = new dev.engagement.pipeline.testing.MutableClock(START);
        dev.engagement.pipeline.quality.QualityWatch watch = new dev.engagement.pipeline.quality.QualityWatch(
                Duration.ofSeconds(10), 4, registry, clock);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "topology-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(EnrichmentTopology.build(GRACE, registry, watch), props, START);
        content = driver.createInputTopic(Topics.CDC_CONTENT, Serdes.String().serializer(), Serdes.ByteArray().serializer());
        events = driver.createInputTopic(Topics.CDC_EVENTS, Serdes.String().serializer(), Serdes.ByteArray().serializer());
        content.pipeInput(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, "Introduction to Data Engineering", "video", 100)));
        for (int i = 0; i < 8; i++) {
            events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(100 + i, VIDEO, "play", 150_000, "2025-08-10T14:30:20Z")));
        }
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(200, VIDEO, "pause", -5, "2025-08-10T14:30:20Z")));
        events.pipeInput(VIDEO, Cdc.insert(Cdc.eventRow(201, VIDEO, "jump", 5, "2025-08-10T14:30:20Z")));
        clock.advance(Duration.ofSeconds(1));
        watch.tick();
        assertThat(watch.readings().get("rate")).as("10 events over a 10 s window").isEqualTo(1.0);
        assertThat(watch.readings().get("invalid:negative_duration")).isEqualTo(0.1);
        assertThat(watch.readings().get("invalid:bad_event_type")).isEqualTo(0.1);
        assertThat(watch.readings().get("over100")).as("150 s of a 100 s video, 8 times").isEqualTo(1.0);
    }
}
