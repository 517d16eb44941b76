package dev.engagement.pipeline.sink;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A destination of {@code engagement.enriched}, driven by {@link SinkRuntime}: the runtime polls,
 * parses, pauses, rebalances, retries, commits and supervises; a sink says where its partitions
 * resume, takes batches, and says how far it got. Synchronous stores come through
 * {@link StoreSink}; the http sink works asynchronously inside {@link #tick()}.
 */
public interface Sink extends AutoCloseable {

    String name();

    /**
     * The consumer group this sink reads in. Two sinks that write different stores must not share
     * a group (they would split the events between them), so a store's group carries its identity.
     *
     * @throws StoreRefusedException the store cannot keep the sink's promise (not retried quickly)
     */
    String group() throws Exception;

    /** A new runtime session (a new consumer) begins; {@code context} is valid until the next call. */
    void start(Context context);

    /**
     * Takes ownership of partitions, fencing any earlier owner, and says where each resumes: the
     * next offset stored with the sink's data; empty when nothing is stored (the topic's start).
     */
    Map<TopicPartition, OptionalLong> open(Collection<TopicPartition> partitions, String sourceId) throws Exception;

    /**
     * Takes a batch: a store writes it atomically with its positions, checking that it starts
     * where the store stands ({@link RewindException}) and that no one claimed the partitions since
     * ({@link FencedException}); an asynchronous sink queues it. Any other exception: the runtime
     * keeps the batch, pauses, and hands it over again after a back-off.
     */
    void put(SinkBatch batch) throws Exception;

    /** Called on every turn of the runtime's loop, on its thread: asynchronous work settles here. */
    default void tick() throws Exception {
    }

    /** Offsets the consumer group may commit now (the http sink's own position; lag tooling for stores). */
    Map<TopicPartition, OffsetAndMetadata> committable();

    /** Partitions the sink cannot take more records of for now (breaker open, queue full). */
    default Set<TopicPartition> full() {
        return Set.of();
    }

    /** Events taken but not settled yet. */
    default long backlog() {
        return 0;
    }

    /** The session ends cleanly: finish what is in flight, for at most {@code max}. */
    default void drain(Duration max) {
    }

    /** The partitions are no longer this sink's: forget what it holds for them. */
    void close(Collection<TopicPartition> partitions);

    /** A short human status for /health: "connected", or what is wrong. */
    String status();

    @Override
    void close();

    /** What the runtime lends a sink during a session. */
    interface Context {
        SinkMetrics metrics();

        /** The group's committed offsets of {@code partitions} (absent: none). */
        Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions);

        /** Commits now and waits: for a sink that must record something before it acts. */
        void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets);

        /**
         * The consumer's group membership, for a sink that commits its offsets inside its own Kafka
         * transaction ({@code sendOffsetsToTransaction}): the group refuses the commit of a member
         * that lost its partitions, so a zombie's transaction aborts.
         */
        org.apache.kafka.clients.consumer.ConsumerGroupMetadata groupMetadata();
    }
}
