package dev.engagement.pipeline.source;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.data.Struct;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * After a crash, Debezium sends again every change after its last stored position: changes that
 * this source had already written to Kafka. They sit at the tail of the CDC topics. On start, the
 * source collects the identities of the records written since the stored position and drops those
 * changes when Debezium emits them again, so the CDC topics hold each streamed change once. A
 * change is (table, primary key, LSN): the LSN alone is not enough, since every row of a COPY or a
 * multi-row INSERT comes from one WAL record and shares its LSN. Snapshot reads are left alone: a
 * snapshot that is redone is a new snapshot.
 */
final class RestartFilter {
    private static final Logger LOG = LoggerFactory.getLogger(RestartFilter.class);
    /** Commit times are not in perfect commit order; look this much further back. */
    private static final long MARGIN_MS = 2000;
    /**
     * With no stored position (a crash before Debezium's first offset flush) Debezium streams again
     * from the slot's start: the changes written since are recent. Look back this far for them.
     */
    private static final long NO_POSITION_LOOKBACK_MS = 5 * 60 * 1000;

    private final Set<String> written;
    /** Whether Debezium had stored a capture position (else it will snapshot again). */
    private final boolean positionStored;
    /** The newest commit time among the written records: past it (and the margin) nothing can repeat. */
    private final long newestTsMs;

    private RestartFilter(Set<String> written, long newestTsMs, boolean positionStored) {
        this.written = written;
        this.newestTsMs = newestTsMs;
        this.positionStored = positionStored;
    }

    static RestartFilter none() {
        return new RestartFilter(new HashSet<>(), Long.MIN_VALUE, false);
    }

    boolean positionStored() {
        return positionStored;
    }

    /** Reads the stored capture position and the CDC records written since. */
    static RestartFilter load(PipelineConfig config, String engineName) {
        Map<String, Object> props = KafkaClients.reader(config, "cdc-restart-filter");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props)) {
            Long stored = storedCommitTimeMs(consumer, engineName);
            long storedTsMs = stored != null ? stored : System.currentTimeMillis() - NO_POSITION_LOOKBACK_MS;
            Set<String> changes = new HashSet<>();
            long newest = Long.MIN_VALUE;
            for (String topic : List.of(Topics.CDC_CONTENT, Topics.CDC_EVENTS)) {
                List<TopicPartition> parts = KafkaClients.partitions(consumer, topic);
                Map<TopicPartition, Long> query = new HashMap<>();
                parts.forEach(tp -> query.put(tp, storedTsMs - MARGIN_MS));
                Map<TopicPartition, OffsetAndTimestamp> from = consumer.offsetsForTimes(query);
                Map<TopicPartition, Long> end = consumer.endOffsets(parts);
                List<TopicPartition> reading = new ArrayList<>();
                consumer.assign(parts);
                for (TopicPartition tp : parts) {
                    OffsetAndTimestamp o = from.get(tp);
                    if (o != null) {
                        consumer.seek(tp, o.offset());
                        reading.add(tp);
                    }
                }
                consumer.assign(reading);
                while (KafkaClients.behind(consumer, reading, end)) {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                        String change = identity(topic, r.value());
                        if (change != null) {
                            changes.add(change);
                            newest = Math.max(newest, r.timestamp());
                        }
                    }
                }
            }
            if (!changes.isEmpty()) {
                LOG.info("capture resumes from {}; {} changes already written since will not be written again",
                        stored == null ? "no stored position" : "a position stored at commit time "
                                + java.time.Instant.ofEpochMilli(storedTsMs), changes.size());
            }
            return new RestartFilter(changes, newest, stored != null);
        }
    }

    /** Whether this change was written to Kafka before the restart; each is recognised once. */
    boolean repeat(String topic, Struct envelope) {
        if (written.isEmpty() || "r".equals(envelope.getString("op"))) {
            return false;
        }
        Struct source = envelope.getStruct("source");
        if (source == null) {
            return false;
        }
        Long ts = source.getInt64("ts_ms");
        if (ts != null && ts > newestTsMs + MARGIN_MS) {
            written.clear(); // capture is past everything written before the restart
            return false;
        }
        Object lsn = source.schema().field("lsn") == null ? null : source.get("lsn");
        Struct row = envelope.getStruct("after") != null ? envelope.getStruct("after") : envelope.getStruct("before");
        if (!(lsn instanceof Long) || row == null || row.schema().field("id") == null) {
            return false;
        }
        return written.remove(topic + "|" + row.get("id") + "|" + lsn);
    }

    int remaining() {
        return written.size();
    }

    /**
     * (table, primary key, LSN) of a streamed change as written to a CDC topic; null for snapshot
     * reads. Streamed, not parsed into a tree: a raw_payload may be deeper or larger than a tree takes.
     */
    private static String identity(String topic, byte[] value) {
        if (value == null) {
            return null;
        }
        String op = null;
        Long lsn = null;
        String id = null;
        try (com.fasterxml.jackson.core.JsonParser p = Json.parser(value)) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String f = p.currentName();
                com.fasterxml.jackson.core.JsonToken t = p.nextToken();
                switch (f) {
                    case "op" -> op = t == com.fasterxml.jackson.core.JsonToken.VALUE_STRING ? p.getText() : null;
                    case "source" -> lsn = field(p, t, "lsn", true) instanceof Long l ? l : null;
                    case "after", "before" -> {
                        Object v = field(p, t, "id", false);
                        if (v != null && (id == null || "after".equals(f))) {
                            id = String.valueOf(v);
                        }
                    }
                    default -> p.skipChildren();
                }
            }
        } catch (IOException e) {
            return null;
        }
        if ("r".equals(op) || lsn == null || id == null) {
            return null;
        }
        return topic + "|" + id + "|" + lsn;
    }

    /** The value of {@code name} in the object the parser stands on (a number, or text unless numeric only). */
    private static Object field(com.fasterxml.jackson.core.JsonParser p, com.fasterxml.jackson.core.JsonToken t,
                                String name, boolean numericOnly) throws IOException {
        if (t != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
            p.skipChildren();
            return null;
        }
        Object found = null;
        while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
            String f = p.currentName();
            com.fasterxml.jackson.core.JsonToken v = p.nextToken();
            if (name.equals(f) && v == com.fasterxml.jackson.core.JsonToken.VALUE_NUMBER_INT) {
                found = p.getLongValue();
            } else if (name.equals(f) && !numericOnly && v == com.fasterxml.jackson.core.JsonToken.VALUE_STRING) {
                found = p.getText();
            } else {
                p.skipChildren();
            }
        }
        return found;
    }

    /** The commit time of the last change Debezium stored as processed, from its offsets topic. */
    private static Long storedCommitTimeMs(KafkaConsumer<String, byte[]> consumer, String engineName) {
        List<TopicPartition> parts = KafkaClients.partitions(consumer, Topics.SOURCE_OFFSETS);
        if (parts.isEmpty()) {
            return null;
        }
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
        Map<TopicPartition, Long> end = consumer.endOffsets(parts);
        Long tsMs = null;
        while (KafkaClients.behind(consumer, parts, end)) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                if (r.key() == null || !r.key().contains("\"" + engineName + "\"") || r.value() == null) {
                    continue;
                }
                try {
                    JsonNode v = Json.MAPPER.readTree(r.value());
                    if (v.path("ts_usec").isNumber()) {
                        tsMs = v.get("ts_usec").asLong() / 1000;
                    }
                } catch (IOException e) {
                    LOG.warn("unreadable stored capture position at offset {}: {}", r.offset(), e.getMessage());
                }
            }
        }
        return tsMs;
    }
}
