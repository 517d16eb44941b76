package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.topic.KafkaClients;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Operators' acceptance of a gap: records that expired from a topic before a stage applied them.
 * A stage stops such a partition rather than skip it; accepting writes, in a consumer group of its
 * own that nobody consumes in, the offset below which the loss is accepted (the log start offset
 * at that moment). A running stage sees it within seconds and resumes at the log start.
 */
public final class Gaps {
    private Gaps() {
    }

    public static String acceptanceGroup(String stage) {
        return "engagement-pipeline-accepted-gaps-" + stage;
    }

    /**
     * Accepts the loss of whatever expired from {@code topics} so far for {@code stage}, on the
     * given partitions (all when empty). Returns the accepted offset per partition.
     */
    public static Map<TopicPartition, Long> accept(PipelineConfig config, String stage, Collection<String> topics,
                                                   Set<Integer> partitions) throws Exception {
        try (Admin admin = Admin.create(KafkaClients.admin(config))) {
            Map<TopicPartition, OffsetSpec> query = new HashMap<>();
            var described = admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS);
            described.forEach((topic, d) -> d.partitions().forEach(p -> {
                if (partitions.isEmpty() || partitions.contains(p.partition())) {
                    query.put(new TopicPartition(topic, p.partition()), OffsetSpec.earliest());
                }
            }));
            Map<TopicPartition, Long> accepted = new TreeMap<>(java.util.Comparator
                    .comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
            Map<TopicPartition, OffsetAndMetadata> commit = new LinkedHashMap<>();
            String who = System.getProperty("user.name") + "@" + host() + " at " + Instant.now();
            admin.listOffsets(query).all().get(30, TimeUnit.SECONDS).forEach((tp, info) -> {
                accepted.put(tp, info.offset());
                commit.put(tp, new OffsetAndMetadata(info.offset(), "gap accepted by " + who));
            });
            if (!commit.isEmpty()) {
                admin.alterConsumerGroupOffsets(acceptanceGroup(stage), commit).all().get(30, TimeUnit.SECONDS);
            }
            return accepted;
        }
    }

    /** The stages whose gaps can be accepted, and the topics each reads. */
    public static Map<String, List<String>> stages() {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (String sink : List.of("redis", "warehouse", "http")) {
            out.put(sink, List.of(dev.engagement.pipeline.topic.Topics.ENRICHED));
        }
        out.put("processor", List.of(dev.engagement.pipeline.topic.Topics.CDC_CONTENT,
                dev.engagement.pipeline.topic.Topics.CDC_EVENTS, dev.engagement.pipeline.topic.Topics.ENRICHED));
        return out;
    }

    private static String host() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "unknown-host";
        }
    }
}
