package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.sink.SinkRecord;
import dev.engagement.pipeline.testing.Events;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class LaneTest {
    private static final TopicPartition TP = new TopicPartition("engagement.enriched", 3);

    private static SinkRecord rec(long offset, long eventId) {
        return Events.record(TP, offset, Events.event(eventId, "c", EventType.PLAY, 1L, Instant.now()));
    }

    @Test
    void cutsABatchBeforeItPassesItsByteLimitAndCountsWhatIsQueued() {
        Lane lane = new Lane(TP);
        byte[] big = new byte[Lane.MAX_BATCH_BYTES / 3 + 1]; // three do not fit in one batch, two do
        for (int i = 0; i < 5; i++) {
            SinkRecord r = rec(i, i);
            lane.add(new SinkRecord(r.partition(), r.offset(), r.commitTsMs(), r.key(), big, r.event()), 0);
        }
        assertThat(lane.queuedBytes()).isEqualTo(5L * big.length);
        // the queue is past one batch's bytes: cut at once, without waiting for the count or the linger
        Batch first = lane.next(2000, Long.MAX_VALUE, 1, r -> false);
        assertThat(first.records).extracting(SinkRecord::offset).containsExactly(0L, 1L);
        assertThat(lane.queuedBytes()).isEqualTo(3L * big.length);
    }

    @Test
    void leavesOutEventsTheApiHasAndEventsTwiceInOneBatchAndKeepsTheBoundaries() {
        Lane lane = new Lane(TP);
        lane.committed = 10;
        for (long o = 10; o < 16; o++) {
            lane.add(rec(o, o == 13 ? 11 : o), 0); // offset 13 carries event 11 again
        }
        lane.cover(16);
        Set<Long> settled = Set.of(12L);
        Batch b = lane.next(100, 0, 1, r -> settled.contains(r.event().eventId()));
        assertThat(b.records).extracting(SinkRecord::offset).containsExactly(10L, 11L, 14L, 15L);
        assertThat(b.skipped).isEqualTo(2);
        assertThat(b.key()).isEqualTo("engagement.enriched-3-10-15");
    }

    @Test
    void anUnsettledBatchStaysRecordedUntilItIsSentAgainUnderItsKey() {
        Lane lane = new Lane(TP);
        lane.committed = 30;
        lane.covered = 30;
        lane.replayUntil = 33; // restarted: 30..33 were in flight when the last owner stopped
        assertThat(lane.unsettledLast()).as("recorded again by any commit before the replay is cut").isEqualTo(33);
        assertThat(lane.committable()).isEqualTo(30);
        for (long o = 30; o < 36; o++) {
            lane.add(rec(o, o), 0);
        }
        lane.cover(36);
        Batch replay = lane.next(100, 0, 1, r -> false);
        assertThat(replay.key()).isEqualTo("engagement.enriched-3-30-33");
        lane.inFlight = replay;
        assertThat(lane.unsettledLast()).isEqualTo(33);
        lane.inFlight = null;
        lane.held = replay; // its answer lost: handed back, maybe delivered
        assertThat(lane.unsettledLast()).isEqualTo(33);
        assertThat(lane.committable()).isEqualTo(30);
        lane.held = null;
        lane.committed = 34;
        assertThat(lane.unsettledLast()).as("settled: nothing to replay").isEqualTo(-1);
        assertThat(lane.committable()).isEqualTo(34);
    }

    @Test
    void aReplayedBatchThatWasSettledBeforeTheRestartIsNotSentAndTheOffsetMovesOn() {
        Lane lane = new Lane(TP);
        lane.committed = 20;
        lane.covered = 20;
        lane.replayUntil = 24;
        // offsets 20..24 were settled: they were skipped on arrival, only later ones are queued
        lane.add(rec(25, 125), 0);
        lane.cover(26);
        Batch b = lane.next(100, 0, 1, r -> false);
        assertThat(b.redelivery).as("only the range in flight at the crash is a redelivery").isFalse();
        assertThat(b.records).extracting(SinkRecord::offset).containsExactly(25L);
    }

    @Test
    void aCutWithNothingLeftToSendMovesTheCommittedOffsetPastIt() {
        Lane lane = new Lane(TP);
        lane.committed = 0;
        lane.add(rec(0, 1), 0);
        lane.add(rec(1, 2), 0);
        lane.cover(2);
        assertThat(lane.next(100, 0, 1, r -> true)).isNull();
        assertThat(lane.committed).isEqualTo(2);
        assertThat(lane.idle()).isTrue();
    }
}
