package dev.engagement.pipeline.sink.http;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One partition's records on their way to the API, in offset order, with at most one batch in
 * flight: so each content id's events (one content id, one partition) arrive in order.
 */
final class Lane {
    final TopicPartition partition;
    final ArrayDeque<ConsumerRecord<String, byte[]>> queue = new ArrayDeque<>();
    /** A batch the breaker handed back: sent again first, with the same boundaries and key. */
    Batch held;
    Batch inFlight;
    /** The next offset to commit: everything before it is delivered or dead-lettered. -1: nothing yet. */
    long committed = -1;
    /** After a restart, the last offset of the batch that was in flight: cut exactly that batch again. */
    long replayUntil = -1;
    long firstQueuedAtNanos;
    boolean dirty;

    Lane(TopicPartition partition) {
        this.partition = partition;
    }

    void add(ConsumerRecord<String, byte[]> r, long nowNanos) {
        if (queue.isEmpty()) {
            firstQueuedAtNanos = nowNanos;
        }
        queue.add(r);
    }

    /** Nothing queued, held or in flight: a skipped record may move the committed offset on its own. */
    boolean idle() {
        return queue.isEmpty() && held == null && inFlight == null;
    }

    int waiting() {
        return queue.size() + (held == null ? 0 : held.size()) + (inFlight == null ? 0 : inFlight.size());
    }

    /** The next batch to send now, or null: the held one, the replayed one, or a full or lingered one. */
    Batch next(int batchSize, long lingerNanos, long nowNanos) {
        if (inFlight != null) {
            return null;
        }
        if (held != null) {
            Batch b = held;
            held = null;
            return b;
        }
        if (queue.isEmpty()) {
            return null;
        }
        if (replayUntil >= 0) {
            if (queue.peekLast().offset() < replayUntil) {
                return null; // the rest of the replayed batch is still being fetched
            }
            List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
            while (!queue.isEmpty() && queue.peek().offset() <= replayUntil) {
                records.add(queue.poll());
            }
            replayUntil = -1;
            firstQueuedAtNanos = nowNanos;
            return new Batch(partition, records, true);
        }
        if (queue.size() < batchSize && nowNanos - firstQueuedAtNanos < lingerNanos) {
            return null;
        }
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>(Math.min(batchSize, queue.size()));
        while (!queue.isEmpty() && records.size() < batchSize) {
            records.add(queue.poll());
        }
        firstQueuedAtNanos = nowNanos;
        return new Batch(partition, records);
    }
}
