package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.Sql;
import dev.engagement.pipeline.testing.TopicReader;
import dev.engagement.pipeline.topic.Topics;
import dev.engagement.pipeline.testing.FaultSeeds;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 7: rolled-back transactions; a multi-row INSERT and a large COPY (many rows, one LSN per
 * WAL record), with the pipeline killed while it streams the COPY.
 */
class TransactionsIT {
    private static final int COPY_ROWS = 100_000;

    private static long endOffsets(Scenario s) {
        try (var admin = org.apache.kafka.clients.admin.Admin.create(dev.engagement.pipeline.topic.KafkaClients.admin(s.config))) {
            var parts = new java.util.HashMap<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec>();
            for (int p = 0; p < s.config.kafka().partitions(); p++) {
                parts.put(new org.apache.kafka.common.TopicPartition(Topics.CDC_EVENTS, p),
                        org.apache.kafka.clients.admin.OffsetSpec.latest());
            }
            long sum = 0;
            for (var r : admin.listOffsets(parts).all().get().values()) {
                sum += r.offset();
            }
            return sum;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @FaultSeeds(value = {7001, 3, 42, 8080, 65537}, quick = 1)
    void rolledBackRowsNeverAppearAndBatchesSurviveACrashMidway(long seed) throws Exception {
        try (Scenario s = Scenario.create("transactions", seed)) {
            s.startLoad(100, 2);
            PipelineProcess first = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > 300);
            Set<Long> rolledBack = new TreeSet<>();
            try (Sql sql = new Sql(s.config.postgres())) {
                UUID content = sql.content("Transactions", "video", 3600);
                Connection c = sql.connection();
                c.setAutoCommit(false);
                for (int t = 0; t < 3; t++) {
                    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                            "INSERT INTO engagement_events (content_id, event_type, event_ts, duration_ms) SELECT '"
                                    + content + "', 'play', now(), g FROM generate_series(1, 2000) g RETURNING id")) {
                        while (rs.next()) {
                            rolledBack.add(rs.getLong(1));
                        }
                    }
                    c.rollback();
                }
                try (Statement st = c.createStatement()) {
                    // one statement, 1000 rows; then one COPY-style batch of 20,000 rows in one transaction
                    st.execute("INSERT INTO engagement_events (content_id, event_type, event_ts, duration_ms) SELECT '"
                            + content + "', 'pause', now(), g FROM generate_series(1, 1000) g");
                    c.commit();
                    org.postgresql.copy.CopyManager copy = c.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
                    StringBuilder rows = new StringBuilder();
                    for (int i = 1; i <= COPY_ROWS; i++) {
                        rows.append(content).append("\t\\N\tfinish\t2025-08-10 14:30:00+00\t").append(i).append("\t\\N\t\\N\n");
                    }
                    copy.copyIn("COPY engagement_events (content_id, user_id, event_type, event_ts, duration_ms, device, "
                            + "raw_payload) FROM STDIN", new java.io.StringReader(rows.toString()));
                    c.commit();
                }
            }
            // kill -9 while the COPY streams: once part of it, not all of it, is in the CDC topic
            long before = endOffsets(s);
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(20))
                    .until(() -> endOffsets(s) > before + COPY_ROWS / 4);
            first.kill9();
            long atKill = endOffsets(s) - before;
            s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(180));
            Set<Long> seen = new TreeSet<>();
            for (String topic : new String[] {Topics.CDC_EVENTS, Topics.INVALID}) {
                for (var r : TopicReader.readAll(s.config, topic)) {
                    var n = Json.MAPPER.readTree(r.value());
                    var row = n.has("after") ? n.get("after") : n.get("row");
                    if (row != null && row.has("id")) {
                        seen.add(row.get("id").asLong());
                    }
                }
            }
            seen.retainAll(rolledBack);
            assertThat(seen).as("rolled-back rows anywhere").isEmpty();
            assertThat(s.cdcRepeats()).as("each streamed change once in the CDC topic").isZero();
            s.report("faults", "3 rolled-back transactions of 2,000 rows; a 1,000-row INSERT; a " + COPY_ROWS
                    + "-row COPY; kill -9 while streaming the COPY (" + atKill + " of its rows in Kafka)");
            s.report("rolled_back_rows", rolledBack.size());
        }
    }
}
