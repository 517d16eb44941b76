package dev.engagement.pipeline.topic;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * What waits in Kafka, measured from outside any consumer: the records a topic holds, and how far
 * each consumer group is behind the end of what it reads. Offsets count records, and also the
 * marker a transaction leaves, so a transactional topic at rest may show one record per partition.
 */
public final class Backlog {
    private static final long WAIT_S = 10;

    private Backlog() {
    }

    /** A group and the records it has not read yet; {@code state} is Kafka's (stable, empty, ...). */
    public record GroupLag(String group, String state, long lag) {
        public boolean active() {
            return !"empty".equals(state) && !"dead".equals(state);
        }
    }

    /** Records in {@code topic} now: its end offsets less its first offsets, over every partition. */
    public static long records(Admin admin, String topic) throws Exception {
        var partitions = admin.describeTopics(List.of(topic)).allTopicNames().get(WAIT_S, TimeUnit.SECONDS)
                .get(topic).partitions();
        Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (var p : partitions) {
            TopicPartition tp = new TopicPartition(topic, p.partition());
            earliest.put(tp, OffsetSpec.earliest());
            latest.put(tp, OffsetSpec.latest());
        }
        long size = 0;
        for (var e : admin.listOffsets(latest).all().get(WAIT_S, TimeUnit.SECONDS).values()) {
            size += e.offset();
        }
        for (var e : admin.listOffsets(earliest).all().get(WAIT_S, TimeUnit.SECONDS).values()) {
            size -= e.offset();
        }
        return size;
    }

    /** The lag of every consumer group whose id {@code wanted} accepts, active groups first. */
    public static List<GroupLag> groups(Admin admin, Predicate<String> wanted) throws Exception {
        Map<String, String> states = new HashMap<>();
        for (GroupListing g : admin.listGroups(ListGroupsOptions.forConsumerGroups()).all().get(WAIT_S, TimeUnit.SECONDS)) {
            if (wanted.test(g.groupId())) {
                states.put(g.groupId(), g.groupState().map(GroupState::toString).orElse("unknown")
                        .toLowerCase(java.util.Locale.ROOT));
            }
        }
        if (states.isEmpty()) {
            return List.of();
        }
        Map<String, ListConsumerGroupOffsetsSpec> specs = new HashMap<>();
        states.keySet().forEach(g -> specs.put(g, new ListConsumerGroupOffsetsSpec()));
        Map<String, Map<TopicPartition, OffsetAndMetadata>> committed = admin.listConsumerGroupOffsets(specs).all()
                .get(WAIT_S, TimeUnit.SECONDS);
        Set<TopicPartition> partitions = new HashSet<>();
        committed.values().forEach(m -> partitions.addAll(m.keySet()));
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        partitions.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
        Map<TopicPartition, Long> ends = new HashMap<>();
        if (!latest.isEmpty()) {
            admin.listOffsets(latest).all().get(WAIT_S, TimeUnit.SECONDS).forEach((tp, info) -> ends.put(tp, info.offset()));
        }
        List<GroupLag> out = new ArrayList<>();
        states.forEach((group, state) -> {
            long lag = 0;
            for (var e : committed.getOrDefault(group, Map.of()).entrySet()) {
                if (e.getValue() != null && ends.containsKey(e.getKey())) {
                    lag += Math.max(0, ends.get(e.getKey()) - e.getValue().offset());
                }
            }
            out.add(new GroupLag(group, state, lag));
        });
        out.sort(Comparator.comparing((GroupLag g) -> !g.active()).thenComparing(GroupLag::group));
        return out;
    }
}
