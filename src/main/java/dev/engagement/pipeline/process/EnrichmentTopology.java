package dev.engagement.pipeline.process;

import dev.engagement.pipeline.quality.QualityWatch;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The processor's topology as a pure function of its settings: called by the pipeline and by the
 * topology tests alike.
 */
public final class EnrichmentTopology {
    public static final String CONTENT_STORE = "content";
    public static final String PENDING_STORE = "pending-events";

    private EnrichmentTopology() {
    }

    public static Topology build(Duration contentGracePeriod, MeterRegistry registry) {
        return build(contentGracePeriod, registry, null);
    }

    /** {@code quality}: the data-quality watch every valid and invalid event is shown to, or null. */
    public static Topology build(Duration contentGracePeriod, MeterRegistry registry, QualityWatch quality) {
        EnrichmentProcessor.Counters counters = new EnrichmentProcessor.Counters(registry, quality);
        AtomicLong pending = new AtomicLong();
        Gauge.builder("pipeline.processor.pending.events", pending, AtomicLong::doubleValue)
                .description("Events waiting for their content row").register(registry);

        Topology topology = new Topology();
        topology.addSource("content-source", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(),
                Topics.CDC_CONTENT);
        topology.addSource("events-source", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(),
                Topics.CDC_EVENTS);
        topology.addProcessor("enrich", () -> new EnrichmentProcessor(contentGracePeriod, counters, pending),
                "content-source", "events-source");
        // in memory, restored from their changelogs; the processor keeps a copy of the content rows
        // for lookups anyway. ProcessIdentityStore keeps Streams' process id across restarts.
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(CONTENT_STORE),
                Serdes.String(), Serdes.ByteArray()), "enrich");
        topology.addStateStore(ProcessIdentityStore.builder(), "enrich");
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(PENDING_STORE),
                Serdes.String(), Serdes.ByteArray()), "enrich");
        topology.addSink(EnrichmentProcessor.ENRICHED_SINK, Topics.ENRICHED, Serdes.String().serializer(),
                Serdes.ByteArray().serializer(), "enrich");
        topology.addSource("enriched-guard-source", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(),
                Topics.ENRICHED);
        Counter guarded = Counter.builder("pipeline.processor.records").tag("outcome", "invalid")
                .tag("reason", "malformed_enriched").description("Events the processor published, by outcome")
                .register(registry);
        topology.addProcessor("enriched-guard", () -> new EnrichedGuard(guarded), "enriched-guard-source");
        topology.addSink(EnrichmentProcessor.INVALID_SINK, Topics.INVALID, Serdes.String().serializer(),
                Serdes.ByteArray().serializer(), "enrich", "enriched-guard");
        return topology;
    }
}
