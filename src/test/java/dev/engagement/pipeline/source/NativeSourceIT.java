package dev.engagement.pipeline.source;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.testing.Sql;
import dev.engagement.pipeline.testing.TestServices;
import dev.engagement.pipeline.testing.TopicReader;
import dev.engagement.pipeline.topic.TopicAdmin;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

import java.io.StringReader;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The native source against the Debezium source on one workload, each into its own broker from its
 * own slot: the CDC topics must hold the same records, partition by partition, in order, field for
 * field (the envelope's processing time and a snapshot's own position aside). Then the native source
 * is stopped and started again: every row is in its topic once.
 */
class NativeSourceIT {
    private static EmbeddedKafka debeziumKafka;
    private static EmbeddedKafka nativeKafka;
    private static PipelineConfig debeziumConfig;
    private static PipelineConfig nativeConfig;

    @BeforeAll
    static void startServices() throws Exception {
        debeziumKafka = TestServices.kafka();
        nativeKafka = TestServices.kafka();
        Map<String, String> d = TestServices.env("native_source_it", debeziumKafka);
        d.put("SOURCE_SLOT_NAME", "diff_debezium");
        d.put("SOURCE", "debezium");
        Map<String, String> n = TestServices.env("native_source_it", nativeKafka);
        n.put("SOURCE_SLOT_NAME", "diff_native");
        n.put("SOURCE", "native");
        debeziumConfig = TestServices.config(d);
        nativeConfig = TestServices.config(n);
        Schema.init(nativeConfig.postgres());
        TopicAdmin.ensureTopics(debeziumConfig);
        TopicAdmin.ensureTopics(nativeConfig);
    }

    @AfterAll
    static void stop() {
        debeziumKafka.close();
        nativeKafka.close();
    }

    @Test
    void writesWhatDebeziumWritesFieldForFieldAndEveryRowOnceAcrossARestart() throws Exception {
        Random random = new Random(11_001);
        long expectedEvents = 0;
        long expectedContent = 0;
        UUID plain;
        try (Sql sql = new Sql(nativeConfig.postgres())) {
            plain = sql.content("Plain", "video", 600);
            sql.content("Quotes \" back\\slash\ttab\nnewline é 😀 中文", "podcast", null);
            expectedContent += 2;
            sql.event(plain, "play", 1000);
            sql.event(plain, "pause", null);
            sql.execute("INSERT INTO engagement_events (content_id, event_type, event_ts) VALUES (NULL, 'click', now())");
            expectedEvents += 3;
        }
        try (NativeSource nativeSource = new NativeSource(nativeConfig, new SimpleMeterRegistry());
             DebeziumSource debezium = new DebeziumSource(debeziumConfig, new SimpleMeterRegistry())) {
            nativeSource.start();
            debezium.start();
            long snapshotEvents = expectedEvents;
            await().atMost(Duration.ofSeconds(90)).until(() -> count(nativeConfig, Topics.CDC_EVENTS) == snapshotEvents
                    && count(debeziumConfig, Topics.CDC_EVENTS) == snapshotEvents);
            try (Sql sql = new Sql(nativeConfig.postgres())) {
                UUID streamed = sql.content("Streamed", "newsletter", 0);
                UUID doomed = sql.content("Doomed", "video", 10);
                StringBuilder big = new StringBuilder();
                while (big.length() < 20_000) {
                    big.append(UUID.randomUUID());
                }
                UUID toasted = sql.content(big.toString(), "video", 300);
                expectedContent += 3;
                sql.event(streamed, "finish", 0);
                sql.event(streamed, "click", -5);
                expectedEvents += 2;
                // a multi-row transaction, one that rolls back, a COPY batch
                sql.execute("BEGIN; INSERT INTO engagement_events (content_id, user_id, event_type, event_ts, duration_ms, "
                        + "device, raw_payload) SELECT '" + plain + "', gen_random_uuid(), 'play', now() - g * interval '1 ms', "
                        + "g, 'tv', jsonb_build_object('n', g, 'u', 'ü') FROM generate_series(1, 1000) g; "
                        + "UPDATE content SET title = 'Plain, renamed' WHERE id = '" + plain + "'; COMMIT");
                expectedEvents += 1000;
                expectedContent += 1;
                sql.execute("BEGIN; INSERT INTO engagement_events (content_id, event_type, event_ts) VALUES ('" + plain
                        + "', 'play', now()); ROLLBACK");
                StringBuilder copy = new StringBuilder();
                for (int i = 0; i < 2000; i++) {
                    copy.append(streamed).append('\t').append(UUID.randomUUID()).append('\t')
                            .append(i % 2 == 0 ? "play" : "pause").append('\t').append("2025-08-10 14:30:2")
                            .append(i % 10).append('.').append(random.nextInt(1000)).append("+02\t")
                            .append(i % 7 == 0 ? "\\N" : Integer.toString(random.nextInt(100_000))).append('\t')
                            .append("web").append('\t').append("{\"i\": ").append(i).append("}\n");
                }
                sql.connection().unwrap(PGConnection.class).getCopyAPI().copyIn("COPY engagement_events (content_id, "
                        + "user_id, event_type, event_ts, duration_ms, device, raw_payload) FROM STDIN",
                        new StringReader(copy.toString()));
                expectedEvents += 2000;
                // a 10 MB row, an unchanged TOASTed title, a deleted content row, a mutated event
                sql.execute("INSERT INTO engagement_events (content_id, event_type, event_ts, raw_payload) VALUES ('"
                        + streamed + "', 'play', now(), jsonb_build_object('blob', repeat('x', 10000000)))");
                expectedEvents += 1;
                sql.execute("UPDATE content SET length_seconds = 301 WHERE id = '" + toasted + "'");
                sql.execute("DELETE FROM content WHERE id = '" + doomed + "'");
                expectedContent += 3; // the update, the delete and its tombstone
                sql.execute("UPDATE engagement_events SET duration_ms = 1 WHERE id = (SELECT min(id) FROM engagement_events)");
                expectedEvents += 1;
                // a column added while both run: captured from the next change on, without a restart
                sql.execute("ALTER TABLE content ADD COLUMN rating INTEGER");
                sql.execute("UPDATE content SET rating = 4 WHERE id = '" + streamed + "'");
                sql.content("Rated later", "podcast", 60);
                expectedContent += 2;
            }
            long events = expectedEvents;
            long contents = expectedContent;
            await().atMost(Duration.ofSeconds(120)).until(() -> count(nativeConfig, Topics.CDC_EVENTS) >= events
                    && count(debeziumConfig, Topics.CDC_EVENTS) >= events
                    && count(nativeConfig, Topics.CDC_CONTENT) >= contents
                    && count(debeziumConfig, Topics.CDC_CONTENT) >= contents);
        }
        for (String topic : List.of(Topics.CDC_CONTENT, Topics.CDC_EVENTS)) {
            Map<Integer, List<String>> ours = normalized(nativeConfig, topic);
            Map<Integer, List<String>> theirs = normalized(debeziumConfig, topic);
            for (int p : theirs.keySet()) {
                assertThat(ours.get(p)).as(topic + " partition " + p).containsExactlyElementsOf(theirs.get(p));
            }
            assertThat(ours.keySet()).isEqualTo(theirs.keySet());
        }
        assertThat(normalized(nativeConfig, Topics.CDC_CONTENT).values().stream().flatMap(List::stream)
                .filter(r -> r.contains("\"rating\":4"))).as("the added column, captured").hasSize(1);
        String toastedTitle = normalized(nativeConfig, Topics.CDC_CONTENT).values().stream().flatMap(List::stream)
                .filter(r -> r.contains("\"length_seconds\":301")).findFirst().orElseThrow();
        assertThat(toastedTitle).contains("__debezium_unavailable_value");

        // stopped and started again: nothing twice, and what came meanwhile is there
        try (Sql sql = new Sql(nativeConfig.postgres())) {
            sql.event(plain, "click", 7);
        }
        long all = expectedEvents + 1;
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (NativeSource again = new NativeSource(nativeConfig, registry)) {
            again.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> count(nativeConfig, Topics.CDC_EVENTS) >= all);
            // a TRUNCATE is counted and logged, and writes nothing that would wipe what the sinks hold
            long before = count(nativeConfig, Topics.CDC_EVENTS);
            try (Sql sql = new Sql(nativeConfig.postgres())) {
                sql.execute("TRUNCATE engagement_events");
                sql.event(plain, "click", 8);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> count(nativeConfig, Topics.CDC_EVENTS) == before + 1);
            assertThat(registry.get("pipeline.source.truncates").tag("table", "engagement_events").counter().count())
                    .isEqualTo(1.0);

            // a database blip (its replication connection cut) is not a lost slot: retried, nothing lost or twice
            try (Sql sql = new Sql(nativeConfig.postgres())) {
                assertThat(sql.count("SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots "
                        + "WHERE slot_name = 'diff_native' AND active")).isEqualTo(1);
            }
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() ->
                    again.status().state() == ChangeSource.State.RETRYING
                            && again.status().detail().startsWith("not capturing, retrying in 1 s"));
            try (Sql sql = new Sql(nativeConfig.postgres())) {
                sql.event(plain, "click", 9);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> count(nativeConfig, Topics.CDC_EVENTS) == before + 2
                    && again.status().state() == ChangeSource.State.STREAMING);

            // this database idle while another writes: the heartbeat moves the slot on, so it pins no WAL
            String target;
            try (Connection other = Database.connect(nativeConfig.postgres(), "postgres"); Statement st = other.createStatement()) {
                st.execute("CREATE TABLE IF NOT EXISTS wal_elsewhere (n int)");
                st.execute("INSERT INTO wal_elsewhere SELECT generate_series(1, 10000)");
                try (ResultSet rs = st.executeQuery("SELECT pg_current_wal_lsn()::text")) {
                    rs.next();
                    target = rs.getString(1);
                }
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                try (Sql sql = new Sql(nativeConfig.postgres())) {
                    return sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'diff_native' "
                            + "AND confirmed_flush_lsn >= '" + target + "'::pg_lsn") == 1;
                }
            });
            try (Connection other = Database.connect(nativeConfig.postgres(), "postgres"); Statement st = other.createStatement()) {
                st.execute("DROP TABLE wal_elsewhere");
            }
            double captured = registry.find("pipeline.source.records").counters().stream()
                    .mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
            assertThat(captured).isPositive();
            assertThat((double) registry.get(dev.engagement.pipeline.metrics.Latency.NAME).tag("stage", "source").timer()
                    .count()).as("commit-to-Kafka latency counted per row, as for every stage").isEqualTo(captured);
        }
        List<Long> ids = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : TopicReader.readAll(nativeConfig, Topics.CDC_EVENTS)) {
            JsonNode env = Json.MAPPER.readTree(r.value());
            if (!"u".equals(env.get("op").asText())) {
                ids.add(env.get("after").get("id").asLong());
            }
        }
        assertThat(ids).doesNotHaveDuplicates().hasSize((int) all + 1);
    }

    private static long count(PipelineConfig config, String topic) {
        return TopicReader.readAll(config, topic).size();
    }

    /** Each record as key and envelope, the envelope's processing time and a snapshot's own position left out. */
    private static Map<Integer, List<String>> normalized(PipelineConfig config, String topic) throws Exception {
        Map<Integer, List<String>> out = new TreeMap<>();
        for (ConsumerRecord<String, byte[]> r : TopicReader.readAll(config, topic)) {
            String value = "null";
            if (r.value() != null) {
                ObjectNode env = (ObjectNode) Json.MAPPER.readTree(r.value());
                env.remove("ts_ms");
                ObjectNode source = (ObjectNode) env.get("source");
                if ("r".equals(env.get("op").asText())) {
                    source.remove(List.of("lsn", "txId", "ts_ms"));
                    source.put("snapshot", "true");
                }
                if ("d".equals(env.get("op").asText()) && env.get("before") instanceof ObjectNode before) {
                    // a key-only old row: Debezium invents "" and the epoch for the NOT NULL columns it lacks,
                    // the native source leaves them null; the key is what both carry
                    before.retain("id");
                }
                value = env.toString();
            }
            // Debezium stamps snapshot reads and tombstones with the time it sent them, the native source with
            // the snapshot's and the commit's time
            String stamp = r.value() == null || value.contains("\"op\":\"r\"") ? "" : "@" + r.timestamp();
            // a record without a key (an event without content_id) lands on any partition
            out.computeIfAbsent(r.key() == null ? -1 : r.partition(), p -> new ArrayList<>()).add(r.key() + stamp + " " + value);
        }
        return out;
    }
}
