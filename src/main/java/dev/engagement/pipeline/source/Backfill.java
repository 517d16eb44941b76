package dev.engagement.pipeline.source;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.TopicAdmin;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;

/**
 * Sends rows that already exist in PostgreSQL through the pipeline again: content rows, then the
 * events of an id range, written to the CDC topics as reads (op "r", snapshot "backfill") in the
 * same envelope the source writes. The processor enriches them as usual; the sinks ignore event
 * ids they already hold, so a backfill is idempotent. Rows stream through a server-side cursor.
 */
public final class Backfill {
    private static final int FETCH = 10_000;

    private final PipelineConfig config;

    public Backfill(PipelineConfig config) {
        this.config = config;
    }

    public record Result(long content, long events, long millis) {
        public double eventsPerSecond() {
            return millis == 0 ? 0 : events * 1000.0 / millis;
        }
    }

    public Result run(Long fromId, Long toId, LongConsumer progress) throws SQLException, InterruptedException {
        TopicAdmin.ensureTopics(config);
        Map<String, Object> props = KafkaClients.producer(config, "backfill");
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, 1024 * 1024);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        long start = System.nanoTime();
        AtomicReference<Exception> failed = new AtomicReference<>();
        long contents = 0;
        long events = 0;
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props);
             Connection c = Database.connect(config.postgres())) {
            c.setAutoCommit(false); // a cursor, not the whole table in memory
            long now = System.currentTimeMillis();
            try (PreparedStatement q = c.prepareStatement("SELECT id::text, slug, title, content_type, length_seconds, "
                    + iso("publish_ts") + " FROM content")) {
                q.setFetchSize(FETCH);
                try (ResultSet rs = q.executeQuery()) {
                    while (rs.next()) {
                        String id = rs.getString(1);
                        byte[] value = envelope("content", now, g -> {
                            g.writeStringField("id", id);
                            g.writeStringField("slug", rs.getString(2));
                            g.writeStringField("title", rs.getString(3));
                            g.writeStringField("content_type", rs.getString(4));
                            nullableInt(g, "length_seconds", rs, 5);
                            g.writeStringField("publish_ts", rs.getString(6));
                        });
                        producer.send(new ProducerRecord<>(Topics.CDC_CONTENT, null, now, id, value), failure(failed));
                        contents++;
                    }
                }
            }
            try (PreparedStatement q = c.prepareStatement("SELECT id, content_id::text, user_id::text, event_type, "
                    + iso("event_ts") + ", duration_ms, device, raw_payload::text FROM engagement_events "
                    + "WHERE id >= ? AND id <= ? ORDER BY id")) {
                q.setFetchSize(FETCH);
                q.setLong(1, fromId == null ? Long.MIN_VALUE : fromId);
                q.setLong(2, toId == null ? Long.MAX_VALUE : toId);
                try (ResultSet rs = q.executeQuery()) {
                    while (rs.next()) {
                        if (failed.get() != null) {
                            throw new IllegalStateException("writing to Kafka failed: " + failed.get().getMessage(), failed.get());
                        }
                        long id = rs.getLong(1);
                        String contentId = rs.getString(2);
                        byte[] value = envelope("engagement_events", now, g -> {
                            g.writeNumberField("id", id);
                            g.writeStringField("content_id", contentId);
                            g.writeStringField("user_id", rs.getString(3));
                            g.writeStringField("event_type", rs.getString(4));
                            g.writeStringField("event_ts", rs.getString(5));
                            nullableInt(g, "duration_ms", rs, 6);
                            g.writeStringField("device", rs.getString(7));
                            String raw = rs.getString(8);
                            g.writeFieldName("raw_payload");
                            if (raw == null) {
                                g.writeNull();
                            } else {
                                g.writeRawValue(raw); // jsonb text is valid JSON: embedded as the source does
                            }
                        });
                        producer.send(OversizedChanges.recordFor(Topics.CDC_EVENTS, now, contentId, value, null),
                                failure(failed));
                        if (++events % FETCH == 0) {
                            progress.accept(events);
                        }
                    }
                }
            }
            c.commit();
            producer.flush();
        }
        if (failed.get() != null) {
            throw new IllegalStateException("writing to Kafka failed: " + failed.get().getMessage(), failed.get());
        }
        progress.accept(events);
        return new Result(contents, events, (System.nanoTime() - start) / 1_000_000);
    }

    private static org.apache.kafka.clients.producer.Callback failure(AtomicReference<Exception> failed) {
        return (meta, e) -> {
            if (e != null) {
                failed.compareAndSet(null, e);
            }
        };
    }

    /** A timestamp column as ISO-8601 UTC text, the form the source writes. */
    private static String iso(String column) {
        return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
    }

    @FunctionalInterface
    private interface Row {
        void write(JsonGenerator g) throws IOException, SQLException;
    }

    private static byte[] envelope(String table, long now, Row row) {
        AtomicReference<SQLException> sqlFailure = new AtomicReference<>();
        byte[] out = Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("op", "r");
            g.writeNumberField("ts_ms", now);
            g.writeObjectFieldStart("source");
            g.writeNumberField("ts_ms", now);
            g.writeStringField("snapshot", "backfill");
            g.writeStringField("table", table);
            g.writeEndObject();
            g.writeNullField("before");
            g.writeObjectFieldStart("after");
            try {
                row.write(g);
            } catch (SQLException e) {
                sqlFailure.set(e);
            }
            g.writeEndObject();
            g.writeEndObject();
        });
        if (sqlFailure.get() != null) {
            throw new IllegalStateException(sqlFailure.get());
        }
        return out;
    }

    private static void nullableInt(JsonGenerator g, String field, ResultSet rs, int column) throws IOException, SQLException {
        int v = rs.getInt(column);
        if (rs.wasNull()) {
            g.writeNullField(field);
        } else {
            g.writeNumberField(field, v);
        }
    }
}
