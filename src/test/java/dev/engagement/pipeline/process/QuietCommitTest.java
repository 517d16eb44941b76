package dev.engagement.pipeline.process;

import dev.engagement.pipeline.testing.Cdc;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The processor asks Kafka Streams for a commit at once for the first records after a quiet spell
 * (an event on an idle pipeline is not held for the commit interval), and never under a steady
 * flow, where the commit interval alone decides (each commit is a broker transaction and a batch
 * in every sink).
 */
class QuietCommitTest {
    private static final String VIDEO = "123e4567-e89b-12d3-a456-426614174000";

    private final EnrichmentProcessor.Counters counters =
            new EnrichmentProcessor.Counters(new SimpleMeterRegistry(), null);
    private MockProcessorContext<String, byte[]> context;
    private EnrichmentProcessor processor;
    private long now = 1_000_000;
    private long nextId = 1;

    @BeforeEach
    void setUp() {
        context = newContext();
        processor = newProcessor(context);
    }

    private MockProcessorContext<String, byte[]> newContext() {
        MockProcessorContext<String, byte[]> c = new MockProcessorContext<>();
        for (String name : new String[] {EnrichmentTopology.CONTENT_STORE, EnrichmentTopology.PENDING_STORE}) {
            KeyValueStore<String, byte[]> store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(name),
                    Serdes.String(), Serdes.ByteArray()).withLoggingDisabled().build();
            store.init(c.getStateStoreContext(), store);
            c.addStateStore(store);
        }
        c.setCurrentSystemTimeMs(now);
        return c;
    }

    /** A task's processor; every one made here shares {@link #counters}, as the tasks of one topology do. */
    private EnrichmentProcessor newProcessor(MockProcessorContext<String, byte[]> c) {
        EnrichmentProcessor p = new EnrichmentProcessor(Duration.ofSeconds(30), counters, new AtomicLong());
        p.init(c);
        c.setRecordMetadata(Topics.CDC_CONTENT, 0, 0);
        p.process(new Record<>(VIDEO, Cdc.insert(Cdc.contentRow(VIDEO, "Intro", "video", 1800)), now));
        return p;
    }

    @Test
    void aTrickleOverTwoTasksIsQuietForNeither() {
        MockProcessorContext<String, byte[]> other = newContext();
        EnrichmentProcessor otherTask = newProcessor(other);
        event(EnrichmentProcessor.QUIET_MS);
        for (int i = 0; i < 10; i++) {
            // each task takes a record every 120 ms, the processor one every 60 ms
            now += 60;
            other.setCurrentSystemTimeMs(now);
            other.resetCommit();
            other.setRecordMetadata(Topics.CDC_EVENTS, 1, nextId);
            otherTask.process(new Record<>(VIDEO, Cdc.insert(Cdc.eventRow(nextId++, VIDEO, "play", 1000,
                    "2025-08-10T14:30:20Z")), now));
            assertThat(other.committed()).as("the other task's record %d", i).isFalse();
            context.resetCommit();
            event(60);
            assertThat(context.committed()).as("this task's record %d", i).isFalse();
        }
    }

    @Test
    void anEventAfterAQuietSpellIsCommittedAtOnce() {
        context.resetCommit();
        event(EnrichmentProcessor.QUIET_MS);
        assertThat(context.committed()).as("the first event after %d ms without one", EnrichmentProcessor.QUIET_MS)
                .isTrue();
    }

    @Test
    void aSteadyFlowWaitsForTheCommitInterval() {
        event(EnrichmentProcessor.QUIET_MS);
        for (int i = 0; i < 100; i++) {
            context.resetCommit();
            event(5); // 200 records a second: never quiet
            if (i * 5 > EnrichmentProcessor.BURST_HEAD_MS) {
                assertThat(context.committed()).as("record %d of a steady flow", i).isFalse();
            }
        }
    }

    @Test
    void aFlowThatPausesCommitsAgainWhenItResumes() {
        event(EnrichmentProcessor.QUIET_MS);
        for (int i = 0; i < 20; i++) {
            event(5);
        }
        context.resetCommit();
        event(EnrichmentProcessor.QUIET_MS - 1);
        assertThat(context.committed()).as("a pause shorter than the quiet spell").isFalse();
        event(EnrichmentProcessor.QUIET_MS + 50);
        assertThat(context.committed()).as("after a pause as long as the quiet spell").isTrue();
    }

    private void event(long afterMs) {
        now += afterMs;
        context.setCurrentSystemTimeMs(now);
        context.setRecordMetadata(Topics.CDC_EVENTS, 0, nextId);
        processor.process(new Record<>(VIDEO, Cdc.insert(Cdc.eventRow(nextId++, VIDEO, "play", 1000,
                "2025-08-10T14:30:20Z")), now));
    }
}
