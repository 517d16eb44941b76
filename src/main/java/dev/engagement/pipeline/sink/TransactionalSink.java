package dev.engagement.pipeline.sink;

import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A store that keeps its Kafka position inside its own atomic write ("store the offset alongside
 * the output"), so a crash at any point neither loses nor repeats an event. Writes are also
 * idempotent by event id, which absorbs what a source emits twice. Run by {@link StoreSink}.
 */
public interface TransactionalSink extends AutoCloseable {

    String name();

    /**
     * A stable identity of this store, created in it on first use (the consumer group carries it).
     *
     * @throws StoreRefusedException the store cannot keep the promise (e.g. it evicts keys)
     */
    String storeId() throws Exception;

    /**
     * Takes ownership of partitions, fencing any earlier owner, and returns the position stored for
     * each (empty: nothing stored yet).
     *
     * @param sourceId the Kafka topic id of the input topic; the store remembers it and refuses
     *                 ({@link ForeignStateException}) to resume from state built from another topic
     */
    Map<TopicPartition, OptionalLong> claim(Collection<TopicPartition> partitions, String sourceId) throws Exception;

    /**
     * Applies a batch and records {@code batch.next()} in the same atomic step, provided the store
     * stands at {@code batch.start()} for each partition ({@link RewindException} otherwise) and
     * this instance still owns them ({@link FencedException} otherwise).
     */
    WriteResult write(SinkBatch batch) throws Exception;

    /** A short human status for /health: "connected", or what is wrong. */
    String status();

    @Override
    void close();

    record WriteResult(int applied, int duplicates) {
    }
}
