package dev.engagement.pipeline.source;

import io.debezium.embedded.KafkaConnectUtil;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.storage.KafkaOffsetBackingStore;
import org.apache.kafka.connect.util.SharedTopicAdmin;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Debezium's offsets in a Kafka topic, like {@link KafkaOffsetBackingStore}, but owning its admin
 * client: the engine's stock wiring hands the store a shared admin that nothing ever closes, which
 * outlives the engine and keeps dialling the broker.
 */
public final class SourceOffsetStore extends KafkaOffsetBackingStore {
    private final AtomicReference<SharedTopicAdmin> admin;

    public SourceOffsetStore() {
        this(new AtomicReference<>());
    }

    private SourceOffsetStore(AtomicReference<SharedTopicAdmin> admin) {
        super(() -> admin.get().get(), () -> "engagement-pipeline-source", KafkaConnectUtil.converterForOffsetStore());
        this.admin = admin;
    }

    @Override
    public void configure(WorkerConfig config) {
        Map<String, Object> props = new HashMap<>();
        // the engine's settings carry KAFKA_CLIENT_CONFIG: its security settings apply here too
        config.originalsStrings().forEach((k, v) -> {
            if (k.startsWith("security.") || k.startsWith("sasl.") || k.startsWith("ssl.")) {
                props.put(k, v);
            }
        });
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.getList(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG));
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "cdc-source-offsets-admin");
        admin.set(new SharedTopicAdmin(props));
        super.configure(config);
    }

    @Override
    public void stop() {
        try {
            super.stop();
        } finally {
            SharedTopicAdmin a = admin.getAndSet(null);
            if (a != null) {
                a.close();
            }
        }
    }
}
