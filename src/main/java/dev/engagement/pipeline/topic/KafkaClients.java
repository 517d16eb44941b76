package dev.engagement.pipeline.topic;

import dev.engagement.pipeline.config.PipelineConfig;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Client settings shared by every stage: tuned once here, not per call site, each starting from
 * KAFKA_CLIENT_CONFIG (security.protocol, sasl.*, ssl.*). And the few steps of reading a topic
 * outside any consumer group (restart filter, dead-letter tools).
 */
public final class KafkaClients {
    private KafkaClients() {
    }

    /** KAFKA_CLIENT_CONFIG and the servers: what every client of the pipeline starts from. */
    public static Map<String, Object> base(PipelineConfig config) {
        Map<String, Object> p = new HashMap<>(config.kafka().clientConfig());
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, config.kafka().bootstrapServers());
        return p;
    }

    public static Map<String, Object> admin(PipelineConfig config) {
        Map<String, Object> p = base(config);
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafka().bootstrapServers());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        return p;
    }

    /** Idempotent, batched, compressed as {@code KAFKA_COMPRESSION} says: producer CPU is this machine's Kafka limit, so batch well. */
    public static Map<String, Object> producer(PipelineConfig config, String clientId) {
        Map<String, Object> p = base(config);
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafka().bootstrapServers());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, config.kafka().compression());
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 128L * 1024 * 1024);
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Topics.MAX_MESSAGE_BYTES + 1024);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return p;
    }

    /** How long the broker may hold a fetch when nothing is there to read. */
    static final int FETCH_MAX_WAIT_MS = 500;

    /** A read_committed consumer that never commits on its own. */
    public static Map<String, Object> consumer(PipelineConfig config, String groupId, String clientId) {
        Map<String, Object> p = base(config);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafka().bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        // the broker answers a waiting read_committed fetch as soon as a commit marker makes records
        // stable, so the wait costs no latency (one event on an idle pipeline reached Redis as fast with
        // 500 ms as with 20 ms); it only bounds how often an idle consumer asks, and 20 ms made the
        // pipeline's consumers an idle broker's main work (docs/PERFORMANCE.md, "Idle")
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, Integer.getInteger("pipeline.fetch.max.wait.ms", FETCH_MAX_WAIT_MS));
        p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024 * 1024);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 * 1024 * 1024);
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        config.instanceId().ifPresent(id -> p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, groupId + "-" + id));
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(CommonClientConfigs.METADATA_MAX_AGE_CONFIG, 30_000);
        return p;
    }

    /** A read_committed consumer outside any group: it reads what it is assigned, from where it seeks. */
    public static Map<String, Object> reader(PipelineConfig config, String clientId) {
        Map<String, Object> p = consumer(config, clientId, clientId);
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        return p;
    }

    /** A topic's partitions in order; none if the topic does not exist (asking does not create it). */
    public static List<TopicPartition> partitions(Consumer<?, ?> consumer, String topic) {
        List<TopicPartition> out = new ArrayList<>();
        for (PartitionInfo p : consumer.listTopics(Duration.ofSeconds(30)).getOrDefault(topic, List.of())) {
            out.add(new TopicPartition(topic, p.partition()));
        }
        out.sort(Comparator.comparingInt(TopicPartition::partition));
        return out;
    }

    /** Whether any of {@code partitions} is still short of its {@code end} offset. */
    public static boolean behind(Consumer<?, ?> consumer, Collection<TopicPartition> partitions,
                                 Map<TopicPartition, Long> end) {
        return partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp));
    }
}
