package dev.engagement.pipeline.sink;

import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What one poll brought: the events, and per partition where the batch starts (the position the
 * store must be at for the batch to follow on) and the position after it. Records that are not
 * events (malformed) are not in {@code records} but are covered by the positions.
 */
public record SinkBatch(List<SinkRecord> records, Map<TopicPartition, Long> start, Map<TopicPartition, Long> next) {

    public SinkBatch {
        records = List.copyOf(records);
        start = Map.copyOf(start);
        next = Map.copyOf(next);
    }

    /** The same batch without the records and positions of {@code partitions}. */
    public SinkBatch without(Collection<TopicPartition> partitions) {
        Map<TopicPartition, Long> s = new HashMap<>(start);
        Map<TopicPartition, Long> n = new HashMap<>(next);
        s.keySet().removeAll(partitions);
        n.keySet().removeAll(partitions);
        return new SinkBatch(records.stream().filter(r -> !partitions.contains(r.partition())).toList(), s, n);
    }

    public boolean isEmpty() {
        return next.isEmpty();
    }
}
