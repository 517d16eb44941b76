package dev.engagement.pipeline.process;

import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.state.StoreBuilder;

import java.util.Map;

/**
 * A store that holds nothing and says it is persistent. Kafka Streams keeps its process id (and
 * with it the transactional id of its producer) across restarts only when the topology has a
 * persistent store; with a stable transactional id a restarted processor fences a killed one's
 * open transaction at once, instead of read_committed readers waiting for it to time out. This
 * store buys that without a RocksDB per task: after a kill -9 Streams wipes and rebuilds
 * persistent stores, which for RocksDB costs seconds of restart and for this one nothing. It is
 * never written, so there is nothing to lose, restore or checkpoint.
 */
final class ProcessIdentityStore implements StateStore {
    static final String NAME = "process-identity";
    private volatile boolean open;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void init(StateStoreContext context, StateStore root) {
        context.register(root, (key, value) -> { });
        open = true;
    }

    @Override
    public void close() {
        open = false;
    }

    @Override
    public boolean persistent() {
        return true;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    static StoreBuilder<ProcessIdentityStore> builder() {
        return new StoreBuilder<>() {
            @Override
            public StoreBuilder<ProcessIdentityStore> withCachingEnabled() {
                return this;
            }

            @Override
            public StoreBuilder<ProcessIdentityStore> withCachingDisabled() {
                return this;
            }

            @Override
            public StoreBuilder<ProcessIdentityStore> withLoggingEnabled(Map<String, String> config) {
                return this;
            }

            @Override
            public StoreBuilder<ProcessIdentityStore> withLoggingDisabled() {
                return this;
            }

            @Override
            public ProcessIdentityStore build() {
                return new ProcessIdentityStore();
            }

            @Override
            public Map<String, String> logConfig() {
                return Map.of();
            }

            @Override
            public boolean loggingEnabled() {
                return false;
            }

            @Override
            public String name() {
                return NAME;
            }
        };
    }
}
