package dev.engagement.pipeline.sink;

import org.apache.kafka.common.TopicPartition;

import java.util.Map;

/**
 * The store's stored position is not where the batch starts: the store went back in time (Redis
 * restarted from an older snapshot, a file restored from a backup) and lost what was written after.
 * The write was refused; the runtime seeks back to the stored positions and applies again.
 */
public class RewindException extends Exception {
    private final Map<TopicPartition, Long> stored;

    public RewindException(Map<TopicPartition, Long> stored, Map<TopicPartition, Long> expected) {
        super("the store is at " + stored + " but the batch starts at " + expected);
        this.stored = Map.copyOf(stored);
    }

    /** Per partition whose position differs: the next offset the store holds (0: nothing stored). */
    public Map<TopicPartition, Long> stored() {
        return stored;
    }
}
