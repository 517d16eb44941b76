package dev.engagement.pipeline.process;

import dev.engagement.pipeline.sink.Gaps;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The processor's input positions, checked before its stream threads start. The processor reads
 * with {@code auto.offset.reset=none}, so that a position below a topic's first offset (it was away
 * longer than the retention) stops it instead of skipping quietly; this class therefore starts a
 * new application at the first offsets itself, finds the gaps, and moves past those an operator
 * accepted ({@code ./pipeline accept-gap --stage processor}).
 */
final class ProcessorPositions {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessorPositions.class);
    static final List<String> INPUTS = List.of(Topics.CDC_CONTENT, Topics.CDC_EVENTS, Topics.ENRICHED);
    static final String STAGE = "processor";
    /** Longer than the processor's session time-out (10 s), so that a dead member of its own has gone. */
    private static final java.time.Duration GROUP_EMPTY_WAIT = java.time.Duration.ofSeconds(15);

    /** A partition whose committed position expired: offsets {@code from} to {@code to - 1} are gone. */
    record Gap(TopicPartition partition, long from, long to) {
        @Override
        public String toString() {
            return partition.topic() + " partition " + partition.partition() + " offsets " + from + " to " + (to - 1);
        }
    }

    private ProcessorPositions() {
    }

    /** Sets positions where none are, applies accepted gaps, and returns the gaps that remain. */
    static List<Gap> prepare(Admin admin, String group) throws Exception {
        Map<TopicPartition, OffsetSpec> query = new HashMap<>();
        admin.describeTopics(INPUTS).allTopicNames().get(30, TimeUnit.SECONDS).forEach((topic, d) ->
                d.partitions().forEach(p -> query.put(new TopicPartition(topic, p.partition()), OffsetSpec.earliest())));
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> starts =
                admin.listOffsets(query).all().get(30, TimeUnit.SECONDS);
        Map<TopicPartition, OffsetAndMetadata> committed = offsets(admin, group);
        Map<TopicPartition, OffsetAndMetadata> accepted = offsets(admin, Gaps.acceptanceGroup(STAGE));
        Map<TopicPartition, OffsetAndMetadata> init = new TreeMap<>(Comparator.comparing(TopicPartition::toString));
        Map<TopicPartition, Gap> gaps = new TreeMap<>(Comparator.comparing(TopicPartition::toString));
        starts.forEach((tp, info) -> {
            long start = info.offset();
            OffsetAndMetadata c = committed.get(tp);
            if (c == null) {
                init.put(tp, new OffsetAndMetadata(start, "first start of the processor"));
            } else if (c.offset() < start) {
                OffsetAndMetadata a = accepted.get(tp);
                if (a != null && a.offset() >= start) {
                    LOG.warn("processor: gap on {} partition {} accepted by an operator: offsets {} to {} are lost to "
                            + "it; resuming at {}", tp.topic(), tp.partition(), c.offset(), start - 1, start);
                    init.put(tp, new OffsetAndMetadata(start, "gap accepted"));
                } else {
                    gaps.put(tp, new Gap(tp, c.offset(), start));
                }
            }
        });
        if (!init.isEmpty()) {
            setPositions(admin, group, init);
        }
        return List.copyOf(gaps.values());
    }

    /**
     * A group refuses new positions while it has members. Members of this process's own earlier
     * start leave (or time out) within a session, so wait for that, bounded; a group that stays busy
     * has another instance running, which sets the positions itself or stops on the gap too.
     */
    private static void setPositions(Admin admin, String group, Map<TopicPartition, OffsetAndMetadata> init)
            throws Exception {
        long deadline = System.nanoTime() + GROUP_EMPTY_WAIT.toNanos();
        while (true) {
            try {
                admin.alterConsumerGroupOffsets(group, init).all().get(30, TimeUnit.SECONDS);
                LOG.info("processor: positions of a first start set on {} partitions", init.size());
                return;
            } catch (ExecutionException e) {
                if (System.nanoTime() > deadline) {
                    LOG.info("processor: cannot set starting positions of {} partitions now ({}); another instance of "
                            + "the group is running", init.size(), e.getCause().getMessage());
                    return;
                }
                Thread.sleep(500);
            }
        }
    }

    private static Map<TopicPartition, OffsetAndMetadata> offsets(Admin admin, String group) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS)
                .forEach((tp, o) -> {
                    if (o != null) {
                        out.put(tp, o);
                    }
                });
        return out;
    }

    /** Whether a stream thread died because an input position is out of range (or missing). */
    static boolean isPositionLost(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.apache.kafka.clients.consumer.InvalidOffsetException
                    || t.getMessage() != null && t.getMessage().contains("No valid committed offset found")) {
                return true;
            }
        }
        return false;
    }
}
