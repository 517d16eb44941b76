package dev.engagement.pipeline.sink.warehouse.bigquery;

import com.google.protobuf.ByteString;
import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.sink.StoreRefusedException;
import dev.engagement.pipeline.sink.warehouse.Warehouse;
import dev.engagement.pipeline.sink.warehouse.bigquery.fake.FakeBigQuery;
import io.grpc.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Storage Write client against the fake: the offset semantics the sink relies on, the errors
 * it must tell apart, the table it creates, and queries answered through the REST API.
 */
class StorageWriteFakeTest {
    private FakeBigQuery fake;
    private PipelineConfig.Warehouse config;
    private BigQueryRest rest;
    private StorageWrite write;

    @BeforeEach
    void start() throws Exception {
        fake = FakeBigQuery.start("proj-test");
        config = config(Map.of());
        GoogleAuth auth = GoogleAuth.of(config);
        rest = new BigQueryRest(config, auth);
        write = new StorageWrite(config, auth);
        rest.ensureTable();
    }

    private PipelineConfig.Warehouse config(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(fake.settings("analytics"));
        env.putAll(extra);
        return ConfigLoader.load(env).warehouse();
    }

    @AfterEach
    void stop() {
        write.close();
        fake.close();
    }

    static EnrichedEvent event(long id, String type, String device, long engagementMs) {
        return new EnrichedEvent(id, "c-" + (id % 3), "Title " + (id % 3), id % 2 == 0 ? "video" : "podcast", 120,
                "u-" + (id % 5), EventType.parse(type).orElseThrow(), "2026-12-01T10:0" + (id % 10) + ":00Z",
                engagementMs, new BigDecimal("12.50"), device, "2026-12-01T10:10:00.123456Z");
    }

    private static List<ByteString> rows(long fromId, int n) throws Exception {
        List<ByteString> out = new ArrayList<>();
        byte[] buffer = new byte[4096];
        for (long id = fromId; id < fromId + n; id++) {
            out.add(BigQueryTable.row(event(id, "play", "web", 1500), buffer));
        }
        return out;
    }

    @Test
    void explicitOffsetsAreExactlyOnce() throws Exception {
        String stream = write.createStream();
        try (StorageWrite.Connection c = write.connect(stream)) {
            assertThat(c.append(0, rows(1, 3), Duration.ofSeconds(10))).isEqualTo(new StorageWrite.Appended(0));
        }
        try (StorageWrite.Connection c = write.connect(stream)) {
            // again at 0: the rows are there, and the answer says where the stream ends
            var again = c.append(0, rows(1, 3), Duration.ofSeconds(10));
            assertThat(again).isInstanceOf(StorageWrite.AlreadyExists.class);
            assertThat(((StorageWrite.AlreadyExists) again).expected()).isEqualTo(3);
        }
        try (StorageWrite.Connection c = write.connect(stream)) {
            var gap = c.append(5, rows(6, 1), Duration.ofSeconds(10));
            assertThat(gap).isInstanceOf(StorageWrite.OutOfRange.class);
            assertThat(((StorageWrite.OutOfRange) gap).expected()).isEqualTo(3);
        }
        try (StorageWrite.Connection c = write.connect(stream)) {
            assertThat(c.append(3, rows(4, 2), Duration.ofSeconds(10))).isEqualTo(new StorageWrite.Appended(3));
        }
        assertThat(write.finalizeStream(stream)).isEqualTo(5);
        assertThat(write.finalizeStream(stream)).as("finalizing again says the same").isEqualTo(5);
        try (StorageWrite.Connection c = write.connect(stream)) {
            assertThat(c.append(5, rows(6, 1), Duration.ofSeconds(10))).isInstanceOf(StorageWrite.Finalized.class);
        }
        assertThat(fake.sql("SELECT count(*), count(DISTINCT event_id) FROM analytics.engagement_events_enriched"))
                .containsExactly(List.of(5L, 5L));
    }

    @Test
    void missingStreamsOversizedRequestsAndBadDaysAreToldApart() throws Exception {
        String stream = write.createStream();
        fake.deleteStream(stream);
        try (StorageWrite.Connection c = write.connect(stream)) {
            assertThat(c.append(0, rows(1, 1), Duration.ofSeconds(10))).isInstanceOf(StorageWrite.NotFound.class);
        }
        assertThatThrownBy(() -> write.finalizeStream(stream)).isInstanceOf(StorageWrite.OutcomeException.class)
                .satisfies(e -> assertThat(((StorageWrite.OutcomeException) e).outcome).isInstanceOf(StorageWrite.NotFound.class));

        String big = write.createStream();
        List<ByteString> huge = new ArrayList<>();
        for (int i = 0; i < 11; i++) {
            huge.add(ByteString.copyFrom(new byte[1024 * 1024]));
        }
        try (StorageWrite.Connection c = write.connect(big)) {
            var r = c.append(0, huge, Duration.ofSeconds(30));
            assertThat(r).isInstanceOf(StorageWrite.Refused.class);
            assertThat(((StorageWrite.Refused) r).message()).contains("too large");
        }

        fake.failAppends(Status.Code.RESOURCE_EXHAUSTED, Duration.ofMinutes(1));
        try (StorageWrite.Connection c = write.connect(big)) {
            var r = c.append(0, rows(1, 1), Duration.ofSeconds(10));
            assertThat(r).isInstanceOf(StorageWrite.Transient.class);
            assertThat(((StorageWrite.Transient) r).code()).isEqualTo("RESOURCE_EXHAUSTED");
        }
        fake.failAppends(Status.Code.UNAVAILABLE, Duration.ofMinutes(1));
        try (StorageWrite.Connection c = write.connect(big)) {
            assertThat(((StorageWrite.Transient) c.append(0, rows(1, 1), Duration.ofSeconds(10))).code())
                    .isEqualTo("UNAVAILABLE");
        }
        fake.failAppends(Status.Code.UNAVAILABLE, Duration.ZERO);
        fake.loseAnswers(1);
        try (StorageWrite.Connection c = write.connect(big)) {
            assertThat(c.append(0, rows(1, 2), Duration.ofSeconds(10))).isInstanceOf(StorageWrite.Transient.class);
        }
        try (StorageWrite.Connection c = write.connect(big)) {
            // the lost answer's rows went in: the resend is told so
            assertThat(((StorageWrite.AlreadyExists) c.append(0, rows(1, 2), Duration.ofSeconds(10))).expected()).isEqualTo(2);
        }
    }

    @Test
    void theTableIsPartitionedClusteredAndAnotherSchemaIsRefused() throws Exception {
        var table = rest.ensureTable();
        assertThat(table.path("timePartitioning").path("field").asText()).isEqualTo("event_ts");
        assertThat(table.path("timePartitioning").path("type").asText()).isEqualTo("DAY");
        assertThat(table.path("clustering").path("fields").toString()).isEqualTo("[\"user_id\",\"content_id\"]");
        assertThat(BigQueryTable.problems(table)).isEmpty();

        var other = table.deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) other.path("schema").path("fields").get(0)).put("type", "STRING");
        assertThat(BigQueryTable.problems(other)).containsExactly("column event_id is STRING, not INTEGER");

        // a table someone made with other columns, through the REST API
        ((com.fasterxml.jackson.databind.node.ObjectNode) other.path("tableReference")).put("tableId", "other");
        var made = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(fake.restEndpoint() + "/bigquery/v2/projects/proj-test/datasets/analytics/tables"))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(other.toString())).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(made.statusCode()).as(made.body()).isEqualTo(200);
        var wrong = new BigQueryRest(config(Map.of("BIGQUERY_TABLE", "other")), GoogleAuth.of(config));
        assertThatThrownBy(wrong::ensureTable).isInstanceOf(StoreRefusedException.class)
                .hasMessageContaining("exists with another schema").hasMessageContaining("event_id is STRING");
    }

    @Test
    void queriesAnswerThroughTheRestApiAndOnlySelectsRun() throws Exception {
        String stream = write.createStream();
        try (StorageWrite.Connection c = write.connect(stream)) {
            c.append(0, rows(1, 4), Duration.ofSeconds(10));
        }
        BigQueryWarehouse w = new BigQueryWarehouse(config);
        var r = w.select("SELECT event_id, event_ts, engagement_seconds, content_length_seconds FROM "
                + "`proj-test.analytics.engagement_events_enriched` ORDER BY event_id", Warehouse.QueryLimits.GENEROUS);
        assertThat(r.columns()).containsExactly("event_id", "event_ts", "engagement_seconds", "content_length_seconds");
        assertThat(r.rows()).hasSize(4);
        assertThat(r.rows().get(0)).containsExactly(1L, "2026-12-01T10:01:00Z", new BigDecimal("1.5"), 120L);
        var cut = w.select("SELECT event_id FROM analytics.engagement_events_enriched",
                new Warehouse.QueryLimits(Duration.ofSeconds(10), 3));
        assertThat(cut.truncated()).isTrue();
        assertThat(cut.rows()).hasSize(3);
        assertThatThrownBy(() -> w.select("DELETE FROM analytics.engagement_events_enriched WHERE true",
                Warehouse.QueryLimits.GENEROUS)).isInstanceOf(Warehouse.RefusedQueryException.class)
                .hasMessageContaining("DELETE");
        assertThat(fake.sql("SELECT count(*) FROM analytics.engagement_events_enriched")).containsExactly(List.of(4L));
    }
}
