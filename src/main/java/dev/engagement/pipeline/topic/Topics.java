package dev.engagement.pipeline.topic;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Every topic the pipeline reads or writes, declared once. */
public final class Topics {
    /** Change data capture of {@code public.content}: compacted, key = content id. */
    public static final String CDC_CONTENT = "pipeline.public.content";
    /** Change data capture of {@code public.engagement_events}: key = content_id, so per-content order holds. */
    public static final String CDC_EVENTS = "pipeline.public.engagement_events";
    /** One JSON record per valid event, key = content_id. */
    public static final String ENRICHED = "engagement.enriched";
    /** Events that failed validation and poison records, with a reason. */
    public static final String INVALID = "engagement.invalid";
    /** Deliveries the external API refused or that exhausted retries. */
    public static final String HTTP_DLQ = "sink.http.dlq";
    /** Event ids the http sink has settled, a bit each, so that events emitted again are not sent again. */
    public static final String HTTP_DELIVERED = "sink.http.delivered";
    /** Event ids the BigQuery sink has written, a bit each, per table: kept in the transaction that records its position. */
    public static final String BIGQUERY_WRITTEN = "sink.bigquery.written";
    /** The Debezium source's offsets (its position in the PostgreSQL WAL). */
    public static final String SOURCE_OFFSETS = "pipeline.source.offsets";
    /**
     * The native source's position: the WAL position after the last PostgreSQL transaction it wrote,
     * in the same Kafka transaction as that transaction's rows. One record per slot, compacted.
     */
    public static final String SOURCE_POSITION = "pipeline.source.position";
    /**
     * Each process's snapshot of itself once a second (counters, latency, health, breaker, data
     * quality), read by whichever process serves the dashboard. Kept an hour: the dashboard reads
     * back five minutes at start.
     */
    public static final String TELEMETRY = "pipeline.telemetry";
    public static final long TELEMETRY_RETENTION_MS = Duration.ofHours(1).toMillis();

    /** Records up to 32 MiB: a row with a 10 MB raw_payload is a valid event, not an error. */
    public static final int MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

    private Topics() {
    }

    /** Events are read by sinks that may be away for a while: a day at the least before they expire. */
    public static final long MIN_RETENTION_EVENTS_MS = Duration.ofDays(1).toMillis();
    /** Dead letters and invalid events wait for a person: a week at the least. */
    public static final long MIN_RETENTION_FOR_PEOPLE_MS = Duration.ofDays(7).toMillis();
    /** What sink.http.dlq is created with: time to notice, fix the API and replay. */
    public static final long DLQ_RETENTION_MS = Duration.ofDays(30).toMillis();
    /** What engagement.invalid is created with: time to find and fix the producer of bad rows. */
    public static final long INVALID_RETENTION_MS = Duration.ofDays(14).toMillis();

    /** The topics created at start-up with their configuration. */
    public static List<TopicSpec> all(int partitions, short replicationFactor) {
        String max = Integer.toString(MAX_MESSAGE_BYTES);
        return List.of(
                new TopicSpec(CDC_CONTENT, partitions, replicationFactor,
                        Map.of("cleanup.policy", "compact", "max.message.bytes", max), 0),
                new TopicSpec(CDC_EVENTS, partitions, replicationFactor, Map.of("max.message.bytes", max),
                        MIN_RETENTION_EVENTS_MS),
                new TopicSpec(ENRICHED, partitions, replicationFactor, Map.of(), MIN_RETENTION_EVENTS_MS),
                new TopicSpec(INVALID, partitions, replicationFactor, Map.of("max.message.bytes", max,
                        "retention.ms", Long.toString(INVALID_RETENTION_MS)), MIN_RETENTION_FOR_PEOPLE_MS),
                new TopicSpec(HTTP_DLQ, partitions, replicationFactor,
                        Map.of("retention.ms", Long.toString(DLQ_RETENTION_MS)), MIN_RETENTION_FOR_PEOPLE_MS),
                // one partition: a new owner of any enriched partition reads it whole; segments roll
                // often so that compaction keeps it near one record per chunk
                new TopicSpec(HTTP_DELIVERED, 1, replicationFactor, Map.of("cleanup.policy", "compact",
                        "segment.ms", "600000", "min.cleanable.dirty.ratio", "0.1"), 0),
                new TopicSpec(BIGQUERY_WRITTEN, 1, replicationFactor, Map.of("cleanup.policy", "compact",
                        "segment.ms", "600000", "min.cleanable.dirty.ratio", "0.1"), 0),
                new TopicSpec(SOURCE_POSITION, 1, replicationFactor, Map.of("cleanup.policy", "compact",
                        "segment.ms", "600000", "min.cleanable.dirty.ratio", "0.1"), 0),
                telemetry(replicationFactor));
    }

    /** {@link #TELEMETRY}: one partition (read whole), an hour's retention in ten-minute segments. */
    public static TopicSpec telemetry(short replicationFactor) {
        return new TopicSpec(TELEMETRY, 1, replicationFactor, Map.of("retention.ms", Long.toString(TELEMETRY_RETENTION_MS),
                "segment.ms", "600000"), 0);
    }

    /**
     * A topic as the pipeline needs it. {@code minRetentionMs} is the shortest retention.ms an
     * existing topic may have (0 for a compacted topic, where nothing expires by time).
     */
    public record TopicSpec(String name, int partitions, short replicationFactor, Map<String, String> config,
                            long minRetentionMs) {
        public boolean compacted() {
            return "compact".equals(config.get("cleanup.policy"));
        }
    }
}
