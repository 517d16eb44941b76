package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.fault.FaultPoints;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.time.Clock;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/** A {@link TransactionalSink} as a runtime plug-in: each batch is one atomic write, in order. */
public final class StoreSink implements Sink {
    private final TransactionalSink store;
    private final Clock clock;
    private final Map<TopicPartition, OffsetAndMetadata> written = new HashMap<>();
    private Context context;

    public StoreSink(TransactionalSink store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    @Override
    public String name() {
        return store.name();
    }

    @Override
    public String group() throws Exception {
        return "engagement-sink-" + store.name() + "-" + store.storeId();
    }

    @Override
    public void start(Context context) {
        this.context = context;
        written.clear();
    }

    @Override
    public Map<TopicPartition, OptionalLong> open(Collection<TopicPartition> partitions, String sourceId) throws Exception {
        return store.claim(partitions, sourceId);
    }

    @Override
    public void put(SinkBatch batch) throws Exception {
        FaultPoints.pass(store.name() + ".before-write");
        // a batch of nothing but skipped records is written too: its positions must reach the store
        TransactionalSink.WriteResult result = store.write(batch);
        FaultPoints.pass(store.name() + ".after-write");
        long now = clock.millis();
        SinkMetrics m = context.metrics();
        for (SinkRecord r : batch.records()) {
            m.latency.record(Math.max(0, now - r.commitTsMs()), TimeUnit.MILLISECONDS);
        }
        m.applied.increment(result.applied());
        m.duplicates.increment(result.duplicates());
        batch.next().forEach((tp, next) -> written.put(tp, new OffsetAndMetadata(next)));
    }

    /** The positions written, committed to the group for lag tooling only: the store holds the truth. */
    @Override
    public Map<TopicPartition, OffsetAndMetadata> committable() {
        return Map.copyOf(written);
    }

    @Override
    public void close(Collection<TopicPartition> partitions) {
        partitions.forEach(written::remove);
    }

    @Override
    public String status() {
        return store.status();
    }

    @Override
    public void close() {
        store.close();
    }
}
