package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.sink.SinkRecord;
import org.apache.kafka.common.TopicPartition;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * One partition's records on their way to the API, in offset order, with at most one batch in
 * flight: so each content id's events (one content id, one partition) arrive in order.
 */
final class Lane {
    /** A batch is cut before it grows past this many bytes of records (one record always goes). */
    static final int MAX_BATCH_BYTES = 4 * 1024 * 1024;
    /** The partition is paused while its queue holds more than this: large records must not fill the heap. */
    static final long MAX_QUEUED_BYTES = 16L * 1024 * 1024;

    final TopicPartition partition;
    private final ArrayDeque<SinkRecord> queue = new ArrayDeque<>();
    /** A batch the breaker handed back: sent again first, with the same boundaries and key. */
    Batch held;
    Batch inFlight;
    /** The next offset to commit: everything before it is delivered or dead-lettered. -1: nothing yet. */
    long committed = -1;
    /** The offset after everything handed to this lane, records and skipped ones alike. */
    long covered = -1;
    /** After a restart, the last offset of the batch that was in flight: cut exactly that batch again. */
    long replayUntil = -1;
    long firstQueuedAtNanos;
    private long queuedBytes;
    boolean dirty;

    Lane(TopicPartition partition) {
        this.partition = partition;
    }

    void add(SinkRecord r, long nowNanos) {
        if (queue.isEmpty()) {
            firstQueuedAtNanos = nowNanos;
        }
        queue.add(r);
        queuedBytes += r.value().length;
    }

    private SinkRecord take() {
        SinkRecord r = queue.poll();
        queuedBytes -= r.value().length;
        return r;
    }

    /** Bytes of the records queued and not yet cut into a batch. */
    long queuedBytes() {
        return queuedBytes;
    }

    /** Everything before {@code next} has been handed to the lane (some of it skipped). */
    void cover(long next) {
        covered = Math.max(covered, next);
        settleIdle();
    }

    /** With nothing queued, held or in flight, the committed offset follows what was covered. */
    void settleIdle() {
        if (idle() && covered > committed) {
            committed = covered;
            dirty = true;
        }
    }

    /**
     * The last offset of a batch that may have reached the API without being settled: in flight,
     * handed back (its answer may have been lost), or still to be cut again after a restart. It
     * stays recorded beside the committed offset until settled, so that whoever owns the partition
     * next sends exactly that batch again, under its key. -1: none.
     */
    long unsettledLast() {
        return inFlight != null ? inFlight.lastOffset() : held != null ? held.lastOffset() : replayUntil;
    }

    /** The offset to commit: before any unsettled batch. -1: nothing yet. */
    long committable() {
        Batch open = inFlight != null ? inFlight : held;
        if (open == null) {
            return committed;
        }
        return committed >= 0 ? Math.min(committed, open.firstOffset()) : open.firstOffset();
    }

    boolean idle() {
        return queue.isEmpty() && held == null && inFlight == null;
    }

    int waiting() {
        return queue.size() + (held == null ? 0 : held.size()) + (inFlight == null ? 0 : inFlight.size());
    }

    /**
     * The next batch to send now, or null: the held one, the replayed one, or a full or lingered
     * one. Records {@code settled} says were delivered already are left out; a cut that leaves
     * nothing moves the committed offset past it.
     */
    Batch next(int batchSize, long lingerNanos, long nowNanos, Predicate<SinkRecord> settled) {
        if (inFlight != null) {
            return null;
        }
        if (held != null) {
            Batch b = held;
            held = null;
            return b;
        }
        while (!queue.isEmpty()) {
            boolean redelivery = replayUntil >= 0;
            List<SinkRecord> taken = new ArrayList<>();
            if (redelivery) {
                if (queue.peekLast().offset() < replayUntil) {
                    return null; // the rest of the replayed batch is still being fetched
                }
                while (!queue.isEmpty() && queue.peek().offset() <= replayUntil) {
                    taken.add(take());
                }
                replayUntil = -1;
                if (taken.isEmpty()) {
                    continue; // all of it was settled before the restart and skipped on arrival
                }
            } else {
                if (queue.size() < batchSize && queuedBytes < MAX_BATCH_BYTES
                        && nowNanos - firstQueuedAtNanos < lingerNanos) {
                    return null;
                }
                long bytes = 0;
                while (!queue.isEmpty() && taken.size() < batchSize
                        && (taken.isEmpty() || bytes + queue.peek().value().length <= MAX_BATCH_BYTES)) {
                    bytes += queue.peek().value().length;
                    taken.add(take());
                }
            }
            firstQueuedAtNanos = nowNanos;
            List<SinkRecord> kept = new ArrayList<>(taken.size());
            Set<Long> ids = new HashSet<>();
            for (SinkRecord r : taken) {
                if (!settled.test(r) && ids.add(r.event().eventId())) {
                    kept.add(r);
                }
            }
            if (!kept.isEmpty()) {
                return new Batch(partition, kept, redelivery, taken.size() - kept.size());
            }
            committed = Math.max(committed, taken.get(taken.size() - 1).offset() + 1);
            dirty = true;
            settleIdle();
        }
        return null;
    }
}
