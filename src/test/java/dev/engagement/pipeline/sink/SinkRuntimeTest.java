package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.testing.Events;
import dev.engagement.pipeline.testing.MutableClock;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The sink runtime against Kafka's MockConsumer, a fake sink and a clock the test moves:
 * rebalance, claim, retry, rewind, gap, fencing and supervision, turn by turn, nothing sleeps.
 */
class SinkRuntimeTest {
    private static final TopicPartition P0 = new TopicPartition(Topics.ENRICHED, 0);
    private static final TopicPartition P1 = new TopicPartition(Topics.ENRICHED, 1);

    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-02T10:00:00Z"));
    private final List<Duration> sleeps = new ArrayList<>();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final FakeSink sink = new FakeSink();
    private final FakeKafka kafka = new FakeKafka();
    private SinkRuntime runtime;

    @BeforeEach
    void setUp() {
        runtime = new SinkRuntime(sink, kafka, registry, clock, d -> {
            sleeps.add(d);
            clock.advance(d);
        });
    }

    private MockConsumer<String, byte[]> consumer() {
        return kafka.last();
    }

    /** A session that has subscribed, with {@code partitions} assigned (not claimed yet). */
    private SinkRuntime.Session session(TopicPartition... partitions) throws Exception {
        SinkRuntime.Session s = runtime.newSession();
        s.init();
        MockConsumer<String, byte[]> c = consumer();
        Map<TopicPartition, Long> zero = new HashMap<>();
        for (TopicPartition tp : List.of(P0, P1)) {
            zero.put(tp, 0L);
        }
        c.updateBeginningOffsets(zero);
        c.updateEndOffsets(zero);
        c.rebalance(List.of(partitions));
        return s;
    }

    private void records(TopicPartition tp, long from, long to) {
        for (long o = from; o < to; o++) {
            consumer().addRecord(new ConsumerRecord<>(tp.topic(), tp.partition(), o, "c",
                    Events.event(o + 1000L * tp.partition(), "c", EventType.PLAY, 10L, clock.instant()).toJson()));
        }
    }

    @Test
    void claimsAfterTheRebalanceAndResumesFromTheStoredPositionNotTheGroups() throws Exception {
        sink.stored.put(P0, 5L);
        SinkRuntime.Session s = session(P0, P1);
        assertThat(consumer().paused()).as("nothing is read before the claim").containsExactlyInAnyOrder(P0, P1);
        s.turn();
        assertThat(sink.opened).containsExactly(List.of(P0, P1));
        assertThat(consumer().position(P0)).isEqualTo(5);
        assertThat(consumer().position(P1)).isEqualTo(0);
        assertThat(consumer().paused()).isEmpty();
        records(P0, 5, 8);
        records(P1, 0, 2);
        s.turn();
        SinkBatch b = sink.puts.getLast();
        assertThat(b.start()).containsEntry(P0, 5L).containsEntry(P1, 0L);
        assertThat(b.next()).containsEntry(P0, 8L).containsEntry(P1, 2L);
        assertThat(b.records()).extracting(SinkRecord::offset).containsExactlyInAnyOrder(5L, 6L, 7L, 0L, 1L);
        records(P0, 8, 9);
        s.turn();
        assertThat(sink.puts.getLast().start()).as("the next batch follows on").containsExactly(Map.entry(P0, 8L));
    }

    @Test
    void aFailedWriteIsKeptAndRetriedWithBackOffWhileNothingElseIsRead() throws Exception {
        SinkRuntime.Session s = session(P0);
        s.turn();
        sink.failures.add(new IllegalStateException("store away"));
        sink.failures.add(new IllegalStateException("store away"));
        records(P0, 0, 3);
        s.turn();
        assertThat(sink.puts).hasSize(1);
        assertThat(runtime.status()).startsWith("retrying since").contains("store away").contains("3 events waiting");
        records(P0, 3, 5);
        s.turn();
        assertThat(consumer().paused()).as("paused while a batch waits").containsExactly(P0);
        assertThat(sink.puts).as("not due yet: no attempt").hasSize(1);
        clock.advance(Duration.ofMillis(100));
        s.turn();
        assertThat(sink.puts).hasSize(2);
        clock.advance(Duration.ofMillis(150));
        s.turn();
        assertThat(sink.puts).as("the second wait is twice the first").hasSize(2);
        clock.advance(Duration.ofMillis(50));
        s.turn();
        assertThat(sink.puts).hasSize(3);
        assertThat(sink.applied).extracting(SinkRecord::offset).containsExactly(0L, 1L, 2L);
        assertThat(registry.get("pipeline.sink.failures").counter().count()).isEqualTo(2);
        assertThat(runtime.status()).isEqualTo("connected");
        s.turn();
        assertThat(consumer().paused()).isEmpty();
    }

    @Test
    void aStoreThatWentBackInTimeIsReadAgainFromWhereItStands() throws Exception {
        SinkRuntime.Session s = session(P0, P1);
        s.turn();
        records(P0, 0, 10);
        records(P1, 0, 4);
        s.turn();
        assertThat(sink.puts.getLast().next()).containsEntry(P0, 10L);
        // Redis restarted from a snapshot taken when P0 stood at 6
        sink.failures.add(new RewindException(Map.of(P0, 6L), Map.of(P0, 10L)));
        records(P0, 10, 12);
        records(P1, 4, 5);
        s.turn();
        assertThat(consumer().position(P0)).isEqualTo(6);
        assertThat(consumer().position(P1)).as("the rest of the refused batch is read again too").isEqualTo(4);
        assertThat(registry.get("pipeline.sink.rewinds").counter().count()).isEqualTo(1);
        records(P0, 6, 12);
        records(P1, 4, 5);
        s.turn();
        SinkBatch again = sink.puts.getLast();
        assertThat(again.start()).containsEntry(P0, 6L).containsEntry(P1, 4L);
        assertThat(again.records()).filteredOn(r -> r.partition().equals(P0)).extracting(SinkRecord::offset)
                .containsExactly(6L, 7L, 8L, 9L, 10L, 11L);
    }

    @Test
    void recordsThatExpiredUnappliedStopTheirPartitionUntilAnOperatorAcceptsTheGap() throws Exception {
        sink.stored.put(P0, 5L);
        SinkRuntime.Session s = session(P0, P1);
        consumer().updateBeginningOffsets(Map.of(P0, 20L));
        consumer().updateEndOffsets(Map.of(P0, 30L));
        s.turn();
        assertThat(runtime.status()).startsWith("failed: records expired").contains("partition 0 offsets 5 to 19")
                .contains("accept-gap --stage fake");
        assertThat(registry.get("pipeline.sink.gap.records").gauge().value()).isEqualTo(15);
        assertThat(consumer().paused()).containsExactly(P0);
        records(P1, 0, 3);
        s.turn();
        assertThat(sink.applied).as("the other partitions flow").hasSize(3);

        kafka.accepted.put(P0, 20L);
        s.turn();
        assertThat(consumer().paused()).as("checked every 5 s, not at every turn").containsExactly(P0);
        clock.advance(Duration.ofSeconds(5));
        s.turn();
        assertThat(consumer().paused()).isEmpty();
        assertThat(consumer().position(P0)).isEqualTo(20);
        records(P0, 20, 22);
        s.turn();
        SinkBatch b = sink.puts.getLast();
        assertThat(b.start()).as("the store stays at its own position").containsEntry(P0, 5L);
        assertThat(b.records()).extracting(SinkRecord::offset).containsExactly(20L, 21L);
        assertThat(registry.get("pipeline.sink.gap.records").gauge().value()).isZero();
        assertThat(runtime.status()).isEqualTo("connected");
    }

    @Test
    void anAcceptanceOlderThanTheGapDoesNotCoverIt() throws Exception {
        sink.stored.put(P0, 5L);
        SinkRuntime.Session s = session(P0);
        consumer().updateBeginningOffsets(Map.of(P0, 20L));
        kafka.accepted.put(P0, 3L);
        s.turn();
        clock.advance(Duration.ofSeconds(5));
        s.turn();
        assertThat(consumer().paused()).containsExactly(P0);
        assertThat(runtime.status()).startsWith("failed: records expired");
    }

    @Test
    void aPositionThatExpiresWhileReadingIsAGapNotASilentReset() throws Exception {
        SinkRuntime.Session s = session(P0);
        s.turn();
        records(P0, 0, 4);
        s.turn();
        consumer().updateBeginningOffsets(Map.of(P0, 50L)); // retention deleted what the sink had not read
        records(P0, 60, 61);
        s.turn();
        assertThat(runtime.status()).contains("partition 0 offsets 4 to 49");
        s.turn();
        assertThat(consumer().paused()).containsExactly(P0);
    }

    @Test
    void aFencedWriteDropsTheBatchRejoinsAndClaimsAfresh() throws Exception {
        SinkRuntime.Session s = session(P0);
        s.turn();
        sink.failures.add(new FencedException("partition 0 is now owned by another instance"));
        records(P0, 0, 3);
        s.turn();
        assertThat(registry.get("pipeline.sink.fenced").counter().count()).isEqualTo(1);
        assertThat(consumer().shouldRebalance()).as("asks the group to rebalance").isTrue();
        s.turn();
        assertThat(consumer().paused()).as("nothing written while fenced").containsExactly(P0);
        sink.stored.put(P0, 2L); // what the new owner wrote meanwhile
        consumer().rebalance(List.of(P0)); // still ours after the rebalance
        s.turn();
        assertThat(sink.opened).hasSize(2);
        assertThat(consumer().position(P0)).isEqualTo(2);
    }

    @Test
    void aRevokedPartitionLeavesTheWaitingBatchAndItsEventsAreCountedAsAbandoned() throws Exception {
        SinkRuntime.Session s = session(P0, P1);
        s.turn();
        sink.failures.add(new IllegalStateException("down"));
        records(P0, 0, 3);
        records(P1, 0, 2);
        s.turn();
        consumer().rebalance(List.of(P1));
        assertThat(registry.get("pipeline.sink.abandoned").counter().count()).isEqualTo(3);
        clock.advance(Duration.ofSeconds(1));
        s.turn();
        assertThat(sink.puts.getLast().next()).containsExactly(Map.entry(P1, 2L));
        assertThat(sink.closed).containsExactly(P0);
    }

    @Test
    void claimsThatFailAreRetriedFromTheLoopWithoutHoldingUpThePoll() throws Exception {
        sink.openFailures = 2;
        SinkRuntime.Session s = session(P0);
        s.turn();
        assertThat(runtime.status()).startsWith("cannot claim partitions since");
        s.turn();
        assertThat(sink.openCalls).as("not due yet").isEqualTo(1);
        clock.advance(Duration.ofMillis(100));
        s.turn();
        assertThat(sink.openCalls).isEqualTo(2);
        clock.advance(Duration.ofMillis(200));
        s.turn();
        assertThat(sink.openCalls).isEqualTo(3);
        assertThat(consumer().paused()).isEmpty();
        assertThat(sleeps).as("the loop never slept").isEmpty();
    }

    @Test
    void aStoreThatRefusesEndsTheSessionAndTheRuntimeReportsIt() throws Exception {
        sink.refuseOpen = new StoreRefusedException("Redis has maxmemory-policy allkeys-lru");
        SinkRuntime.Session s = session(P0);
        assertThatThrownBy(s::turn).isInstanceOf(StoreRefusedException.class);
    }

    @Test
    void aSessionThatDiesIsStartedAgainWithBackOffAndShowsFailedUntilItRecovers() {
        sink.tickCrashes = 2;
        List<String> statusWhileDown = new ArrayList<>();
        runtime = new SinkRuntime(sink, kafka, registry, clock, d -> {
            sleeps.add(d);
            statusWhileDown.add(runtime.status());
            clock.advance(d);
        });
        sink.runtime = runtime;
        sink.onTick = () -> {
            clock.advance(Duration.ofSeconds(1));
            if (sink.ticks > 12) {
                runtime.close();
            }
        };
        runtime.run();
        assertThat(sleeps).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2));
        assertThat(statusWhileDown).allSatisfy(st -> assertThat(st).startsWith("failed since").contains("injected"));
        assertThat(registry.get("pipeline.sink.restarts").counter().count()).isEqualTo(2);
        assertThat(kafka.consumers).as("a new consumer for each session").hasSize(3);
        assertThat(kafka.consumers.get(0).closed()).isTrue();
        assertThat(sink.statusAtTick).as("healthy again after the new session ran a while").endsWith("connected");
    }

    /** A sink that records what it is given and fails when told to. */
    private static final class FakeSink implements Sink {
        final Map<TopicPartition, Long> stored = new ConcurrentHashMap<>();
        final Deque<SinkBatch> puts = new ArrayDeque<>();
        final List<SinkRecord> applied = new ArrayList<>();
        final List<List<TopicPartition>> opened = new ArrayList<>();
        final List<TopicPartition> closed = new ArrayList<>();
        final Deque<Exception> failures = new ArrayDeque<>();
        final Map<TopicPartition, OffsetAndMetadata> written = new HashMap<>();
        int openFailures;
        int openCalls;
        StoreRefusedException refuseOpen;
        int tickCrashes;
        int ticks;
        Runnable onTick = () -> { };
        String statusAtTick = "";
        SinkRuntime runtime;

        @Override
        public String name() {
            return "fake";
        }

        @Override
        public String group() {
            return "engagement-sink-fake-1";
        }

        @Override
        public void start(Context context) {
        }

        @Override
        public Map<TopicPartition, OptionalLong> open(Collection<TopicPartition> partitions, String sourceId)
                throws Exception {
            openCalls++;
            if (refuseOpen != null) {
                throw refuseOpen;
            }
            if (openFailures > 0) {
                openFailures--;
                throw new IllegalStateException("store not ready");
            }
            opened.add(List.copyOf(partitions));
            Map<TopicPartition, OptionalLong> out = new HashMap<>();
            for (TopicPartition tp : partitions) {
                Long s = stored.get(tp);
                out.put(tp, s == null ? OptionalLong.empty() : OptionalLong.of(s));
            }
            return out;
        }

        @Override
        public void put(SinkBatch batch) throws Exception {
            puts.add(batch);
            Exception e = failures.poll();
            if (e != null) {
                throw e;
            }
            applied.addAll(batch.records());
            batch.next().forEach((tp, n) -> {
                stored.put(tp, n);
                written.put(tp, new OffsetAndMetadata(n));
            });
        }

        @Override
        public void tick() {
            ticks++;
            if (tickCrashes > 0) {
                tickCrashes--;
                throw new IllegalStateException("injected crash");
            }
            onTick.run();
            statusAtTick = runtimeStatus();
        }

        private String runtimeStatus() {
            return runtime == null ? "" : runtime.status();
        }

        @Override
        public Map<TopicPartition, OffsetAndMetadata> committable() {
            return Map.copyOf(written);
        }

        @Override
        public void close(Collection<TopicPartition> partitions) {
            closed.addAll(partitions);
        }

        @Override
        public String status() {
            return "connected";
        }

        @Override
        public void close() {
        }
    }

    private static final class FakeKafka implements SinkRuntime.Kafka {
        final List<MockConsumer<String, byte[]>> consumers = new ArrayList<>();
        final Map<TopicPartition, Long> accepted = new HashMap<>();

        MockConsumer<String, byte[]> last() {
            return consumers.get(consumers.size() - 1);
        }

        @Override
        public Consumer<String, byte[]> consumer(String group) {
            MockConsumer<String, byte[]> c = new MockConsumer<>("none");
            consumers.add(c);
            return c;
        }

        @Override
        public String topicId(String topic) {
            return "topic-id";
        }

        @Override
        public Map<TopicPartition, Long> acceptedGaps(String stage) {
            return Map.copyOf(accepted);
        }
    }

    static Set<TopicPartition> set(TopicPartition... tps) {
        return Set.of(tps);
    }
}
