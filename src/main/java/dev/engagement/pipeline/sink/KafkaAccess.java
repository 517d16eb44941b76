package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.topic.KafkaClients;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** {@link SinkRuntime.Kafka} on a real cluster. */
public final class KafkaAccess implements SinkRuntime.Kafka, AutoCloseable {
    private final PipelineConfig config;
    private final Admin admin;

    public KafkaAccess(PipelineConfig config) {
        this.config = config;
        this.admin = Admin.create(KafkaClients.admin(config));
    }

    /**
     * A sink's consumer: positions come from the sink's store and are always set by a seek, so a
     * position out of range is an error to report (a gap), never something to reset quietly.
     */
    @Override
    public Consumer<String, byte[]> consumer(String group) {
        Map<String, Object> props = KafkaClients.consumer(config, group, group);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        return new KafkaConsumer<>(props);
    }

    @Override
    public String topicId(String topic) throws Exception {
        return admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic).topicId()
                .toString();
    }

    @Override
    public Map<TopicPartition, Long> acceptedGaps(String stage) throws Exception {
        Map<TopicPartition, Long> out = new HashMap<>();
        admin.listConsumerGroupOffsets(Gaps.acceptanceGroup(stage)).partitionsToOffsetAndMetadata()
                .get(10, TimeUnit.SECONDS).forEach((tp, o) -> {
                    if (o != null) {
                        out.put(tp, o.offset());
                    }
                });
        return out;
    }

    @Override
    public void close() {
        admin.close();
    }
}
