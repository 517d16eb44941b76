package dev.engagement.pipeline.process;

import dev.engagement.pipeline.testing.Cdc;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** An event that was waiting for its content when the processor went down waits a full grace period after it is back. */
class PendingAcrossRestartTest {
    private static final String CONTENT = "123e4567-e89b-12d3-a456-426614174000";

    @Test
    void downtimeDoesNotCountAsWaitingTime() {
        Duration grace = Duration.ofSeconds(30);
        MockProcessorContext<String, byte[]> context = new MockProcessorContext<>();
        KeyValueStore<String, byte[]> content = Stores.keyValueStoreBuilder(
                Stores.inMemoryKeyValueStore(EnrichmentTopology.CONTENT_STORE), Serdes.String(), Serdes.ByteArray())
                .withLoggingDisabled().build();
        KeyValueStore<String, byte[]> pending = Stores.keyValueStoreBuilder(
                Stores.inMemoryKeyValueStore(EnrichmentTopology.PENDING_STORE), Serdes.String(), Serdes.ByteArray())
                .withLoggingDisabled().build();
        content.init(context.getStateStoreContext(), content);
        pending.init(context.getStateStoreContext(), pending);
        context.addStateStore(content);
        context.addStateStore(pending);
        // waiting since t=1000 s, before the processor went down
        pending.put(EnrichmentProcessor.PendingKey.of(CONTENT, 7),
                EnrichmentProcessor.PendingValue.of(1_000_000, 1_000_000, 0,
                        Cdc.insert(Cdc.eventRow(7, CONTENT, "play", 10, "2025-08-10T14:30:20Z"))));

        context.setCurrentSystemTimeMs(5_000_000); // back up more than an hour later
        EnrichmentProcessor processor = new EnrichmentProcessor(grace,
                new EnrichmentProcessor.Counters(new SimpleMeterRegistry(), null), new AtomicLong());
        processor.init(context);
        var expire = context.scheduledPunctuators().get(0).getPunctuator();

        context.setCurrentSystemTimeMs(5_000_000 + grace.toMillis() - 1);
        expire.punctuate(context.currentSystemTimeMs());
        assertThat(context.forwarded()).as("still within the grace period since the restart").isEmpty();

        context.setCurrentSystemTimeMs(5_000_000 + grace.toMillis());
        expire.punctuate(context.currentSystemTimeMs());
        assertThat(context.forwarded()).singleElement()
                .satisfies(f -> assertThat(f.childName()).contains(EnrichmentProcessor.INVALID_SINK));
    }
}
