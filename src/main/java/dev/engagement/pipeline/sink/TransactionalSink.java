package dev.engagement.pipeline.sink;

import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A sink that stores its Kafka position inside its own atomic write ("store the offset alongside
 * the output"), so a crash at any point neither loses nor repeats an event. Writes are also
 * idempotent by event id, which absorbs the duplicates an at-least-once source can emit.
 */
public interface TransactionalSink extends AutoCloseable {

    String name();

    /**
     * Takes ownership of partitions, fencing any earlier owner, and returns the position stored for
     * each (empty: nothing stored yet, start from the beginning).
     *
     * @param sourceId the Kafka topic id of the input topic; the store remembers it and refuses
     *                 ({@link ForeignStateException}) to resume from state built from another topic
     */
    Map<TopicPartition, OptionalLong> claim(Collection<TopicPartition> partitions, String sourceId) throws Exception;

    /** Applies a batch and records {@code nextOffsets} in the same atomic step. */
    WriteResult write(List<SinkRecord> batch, Map<TopicPartition, Long> nextOffsets) throws Exception;

    /** A short human status for /health: "connected", or what is wrong. */
    String status();

    @Override
    void close();

    record WriteResult(int applied, int duplicates) {
    }
}
