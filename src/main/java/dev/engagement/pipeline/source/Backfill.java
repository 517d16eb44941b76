package dev.engagement.pipeline.source;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.source.pg.Lsn;
import dev.engagement.pipeline.source.pg.SnapshotCopier;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.TopicAdmin;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;

import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;

/**
 * Sends rows that already exist in PostgreSQL through the pipeline again: content rows, then the
 * events of an id range, written to the CDC topics as reads (op "r", snapshot "backfill") in the
 * same envelope the source writes. The processor enriches them as usual; the sinks ignore event
 * ids they already hold, so a backfill is idempotent. The rows are read by the native source's
 * snapshot reader ({@link SnapshotCopier}): {@code COPY ... TO STDOUT} in one snapshot of its own,
 * over two connections, each table in two key ranges.
 */
public final class Backfill {
    private final PipelineConfig config;

    public Backfill(PipelineConfig config) {
        this.config = config;
    }

    public record Result(long content, long events, long millis) {
        public double eventsPerSecond() {
            return millis == 0 ? 0 : events * 1000.0 / millis;
        }
    }

    /** How many events a backfill of this id range sends (each bound may be null: open). */
    public static long events(dev.engagement.pipeline.config.PipelineConfig.Postgres pg, Long fromId, Long toId)
            throws SQLException {
        String sql = "SELECT count(*) FROM engagement_events WHERE true"
                + (fromId == null ? "" : " AND id >= ?") + (toId == null ? "" : " AND id <= ?");
        try (java.sql.Connection c = Database.connect(pg); java.sql.PreparedStatement ps = c.prepareStatement(sql)) {
            int i = 1;
            if (fromId != null) {
                ps.setLong(i++, fromId);
            }
            if (toId != null) {
                ps.setLong(i, toId);
            }
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    public Result run(Long fromId, Long toId, LongConsumer progress) throws SQLException, InterruptedException {
        TopicAdmin.ensureTopics(config);
        Map<String, Object> props = KafkaClients.producer(config, "backfill");
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, 1024 * 1024);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        long start = System.nanoTime();
        AtomicReference<Exception> failed = new AtomicReference<>();
        Callback callback = (meta, e) -> {
            if (e != null) {
                failed.compareAndSet(null, e);
            }
        };
        long now = System.currentTimeMillis();
        long lsn = Lsn.parse(Database.currentWalLsn(config.postgres())); // the rows are as of about then
        long[] copied;
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props)) {
            copied = new SnapshotCopier(config.postgres()).copy(null, lsn, now, "backfill", fromId, toId,
                    (table, key, envelope, ts) -> {
                        if (failed.get() != null) {
                            throw new IllegalStateException("writing to Kafka failed: " + failed.get().getMessage(),
                                    failed.get());
                        }
                        producer.send(OversizedChanges.recordFor(table.topic(), ts, key, envelope, null), callback);
                    }, progress);
            producer.flush();
        }
        if (failed.get() != null) {
            throw new IllegalStateException("writing to Kafka failed: " + failed.get().getMessage(), failed.get());
        }
        progress.accept(copied[1]);
        return new Result(copied[0], copied[1], (System.nanoTime() - start) / 1_000_000);
    }
}
