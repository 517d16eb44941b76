package dev.engagement.pipeline.source;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The native source's position in {@link Topics#SOURCE_POSITION}: key the slot, value
 * {@code {"lsn":…,"commit_ts_ms":…}}, where lsn is the end of the last PostgreSQL transaction
 * written (every transaction that committed before it is in the CDC topics; none after it is). It
 * is written in the Kafka transaction that carries that transaction's rows, so a read_committed
 * reader sees the rows and the position together or neither.
 */
final class SourcePositions {
    private static final int TAIL = 1000;

    record Position(long lsn, long commitTsMs) {
    }

    private SourcePositions() {
    }

    static ProducerRecord<String, byte[]> record(String slot, Position p) {
        byte[] value = ("{\"lsn\":" + p.lsn() + ",\"commit_ts_ms\":" + p.commitTsMs() + "}").getBytes(StandardCharsets.UTF_8);
        return new ProducerRecord<>(Topics.SOURCE_POSITION, 0, p.commitTsMs() > 0 ? p.commitTsMs() : null, slot, value);
    }

    /** The slot's last committed position; empty when this slot never completed a snapshot. */
    static Optional<Position> read(PipelineConfig config, String slot) {
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(KafkaClients.reader(config, "cdc-source-position"))) {
            TopicPartition tp = new TopicPartition(Topics.SOURCE_POSITION, 0);
            if (KafkaClients.partitions(consumer, Topics.SOURCE_POSITION).isEmpty()) {
                return Optional.empty();
            }
            consumer.assign(List.of(tp));
            long end = consumer.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
            long begin = consumer.beginningOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
            long from = Math.max(begin, end - TAIL);
            Optional<Position> found = scan(consumer, tp, from, end, slot);
            if (found.isEmpty() && from > begin) {
                found = scan(consumer, tp, begin, end, slot); // another slot's positions filled the tail
            }
            return found;
        }
    }

    private static Optional<Position> scan(KafkaConsumer<String, byte[]> consumer, TopicPartition tp, long from, long end,
                                           String slot) {
        consumer.seek(tp, from);
        Position last = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (consumer.position(tp) < end) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("reading " + Topics.SOURCE_POSITION + " did not reach its end in 60 s "
                        + "(a transaction still open on it?)");
            }
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (!slot.equals(r.key())) {
                    continue;
                }
                if (r.value() == null) {
                    last = null; // a tombstone: the operator asked for a new snapshot
                    continue;
                }
                try {
                    JsonNode v = Json.MAPPER.readTree(r.value());
                    last = new Position(v.get("lsn").asLong(), v.path("commit_ts_ms").asLong());
                } catch (IOException | NullPointerException e) {
                    throw new IllegalStateException("unreadable position in " + Topics.SOURCE_POSITION + " at offset "
                            + r.offset() + ": " + e.getMessage(), e);
                }
            }
        }
        return Optional.ofNullable(last);
    }
}
