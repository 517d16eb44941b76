package dev.engagement.pipeline.telemetry;

import dev.engagement.pipeline.Threads;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Watches whether each stage this process runs makes progress ({@link StageProgress}), every few
 * seconds, and says so in {@code pipeline_stage_stalled{stage}}, {@code pipeline_stage_restarts_total{stage}}
 * and, through {@link #stalled}, in /health. A Kafka stage is judged from outside its consumer, as
 * the broker sees its group: its position is the sum of the group's committed offsets over its
 * inputs (a partition never committed counts from its first offset), and what waits is the records
 * past them up to the last stable offset, less one a partition for a transaction's marker. So a
 * stage that never gets to commit, loops, or hangs is seen the same way as one that is slow.
 */
public final class ProgressWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProgressWatch.class);
    static final Duration EVERY = Duration.ofSeconds(5);
    private static final long WAIT_S = 10;

    /** A stage read from Kafka: {@code group} (null while not known yet) reads {@code inputs}. */
    private record KafkaStage(String stage, Supplier<String> group, List<String> inputs, LongSupplier restarts) {
    }

    private final Admin admin;
    private final MeterRegistry registry;
    private final Clock clock;
    private final StageProgress progress;
    private final List<KafkaStage> kafkaStages = new ArrayList<>();
    private final Map<String, Supplier<StageProgress.Sample>> otherStages = new HashMap<>();
    private final Map<String, String> stalled = new ConcurrentHashMap<>();
    private final Map<String, List<TopicPartition>> partitions = new HashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Threads.daemon("progress-watch"));
    private final RepeatedProblem problem = new RepeatedProblem();

    public ProgressWatch(Admin admin, Duration stallAfter, MeterRegistry registry, Clock clock) {
        this.admin = admin;
        this.registry = registry;
        this.clock = clock;
        this.progress = new StageProgress(stallAfter);
    }

    /** Watches a stage that consumes {@code inputs} in the consumer group {@code group}. */
    public ProgressWatch kafkaStage(String stage, Supplier<String> group, List<String> inputs, LongSupplier restarts) {
        kafkaStages.add(new KafkaStage(stage, group, List.copyOf(inputs), restarts));
        bind(stage, restarts);
        return this;
    }

    /** Watches a stage that samples itself (the source: it waits while it should capture and cannot). */
    public ProgressWatch stage(String stage, Supplier<StageProgress.Sample> sample) {
        otherStages.put(stage, sample);
        bind(stage, () -> sample.get().restarts());
        return this;
    }

    private void bind(String stage, LongSupplier restarts) {
        Gauge.builder("pipeline.stage.stalled", stalled, m -> m.containsKey(stage) ? 1 : 0).tag("stage", stage)
                .description("1 while the stage is stalled: its input waits and its position has not moved for "
                        + "STALL_AFTER, or it keeps restarting").register(registry);
        FunctionCounter.builder("pipeline.stage.restarts", restarts, LongSupplier::getAsLong).tag("stage", stage)
                .description("Times the stage (a stream thread, a sink session, the capture) was restarted after a failure")
                .register(registry);
    }

    public void start() {
        timer.scheduleWithFixedDelay(this::sample, EVERY.toMillis(), EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Why {@code stage} is stalled, if it is. */
    public Optional<String> stalled(String stage) {
        return Optional.ofNullable(stalled.get(stage));
    }

    void sample() {
        long now = clock.millis();
        try {
            otherStages.forEach((stage, sampler) -> judge(stage, sampler.get(), now));
            if (kafkaStages.isEmpty()) {
                return;
            }
            Map<String, StageProgress.Sample> samples = sampleKafka();
            samples.forEach((stage, s) -> judge(stage, s, now));
            problem.clear();
        } catch (Exception e) {
            // Kafka away: /health says so through its own check; positions are judged again once it answers
            problem.log(e);
        }
    }

    private void judge(String stage, StageProgress.Sample sample, long now) {
        Optional<String> why = progress.observe(stage, sample, now);
        if (why.isPresent()) {
            if (stalled.put(stage, why.get()) == null) {
                LOG.error("stage {} is stalled: {}", stage, why.get());
            }
        } else if (stalled.remove(stage) != null) {
            LOG.info("stage {} makes progress again", stage);
        }
    }

    private Map<String, StageProgress.Sample> sampleKafka() throws Exception {
        Map<String, KafkaStage> byGroup = new HashMap<>();
        for (KafkaStage k : kafkaStages) {
            String group = k.group().get();
            if (group != null) {
                byGroup.put(group, k);
            }
        }
        if (byGroup.isEmpty()) {
            return Map.of();
        }
        Map<String, ListConsumerGroupOffsetsSpec> specs = new HashMap<>();
        byGroup.keySet().forEach(g -> specs.put(g, new ListConsumerGroupOffsetsSpec()));
        Map<String, Map<TopicPartition, OffsetAndMetadata>> committed = admin.listConsumerGroupOffsets(specs).all()
                .get(WAIT_S, TimeUnit.SECONDS);
        Map<TopicPartition, OffsetSpec> first = new HashMap<>();
        Map<TopicPartition, OffsetSpec> last = new HashMap<>();
        for (KafkaStage k : byGroup.values()) {
            for (TopicPartition tp : partitionsOf(k.inputs())) {
                first.put(tp, OffsetSpec.earliest());
                last.put(tp, OffsetSpec.latest());
            }
        }
        Map<TopicPartition, Long> starts = new HashMap<>();
        admin.listOffsets(first).all().get(WAIT_S, TimeUnit.SECONDS).forEach((tp, i) -> starts.put(tp, i.offset()));
        Map<TopicPartition, Long> ends = new HashMap<>();
        admin.listOffsets(last, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all()
                .get(WAIT_S, TimeUnit.SECONDS).forEach((tp, i) -> ends.put(tp, i.offset()));
        Map<String, StageProgress.Sample> out = new HashMap<>();
        for (Map.Entry<String, KafkaStage> e : byGroup.entrySet()) {
            KafkaStage k = e.getValue();
            Map<TopicPartition, OffsetAndMetadata> c = committed.getOrDefault(e.getKey(), Map.of());
            long position = 0;
            long waiting = 0;
            for (TopicPartition tp : partitionsOf(k.inputs())) {
                OffsetAndMetadata o = c.get(tp);
                long at = Math.max(o == null ? 0 : o.offset(), starts.getOrDefault(tp, 0L));
                position += at;
                waiting += Math.max(0, ends.getOrDefault(tp, at) - at - 1);
            }
            out.put(k.stage(), new StageProgress.Sample(position, waiting, k.restarts().getAsLong()));
        }
        return out;
    }

    private List<TopicPartition> partitionsOf(List<String> topics) throws Exception {
        List<String> unknown = topics.stream().filter(t -> !partitions.containsKey(t)).toList();
        if (!unknown.isEmpty()) {
            admin.describeTopics(unknown).allTopicNames().get(WAIT_S, TimeUnit.SECONDS).forEach((topic, d) ->
                    partitions.put(topic, d.partitions().stream().map(p -> new TopicPartition(topic, p.partition())).toList()));
        }
        List<TopicPartition> out = new ArrayList<>();
        topics.forEach(t -> out.addAll(partitions.getOrDefault(t, List.of())));
        return out;
    }

    /** Logs that Kafka could not be read once, not every five seconds. */
    private static final class RepeatedProblem {
        private boolean logged;

        void log(Exception e) {
            if (!logged) {
                LOG.warn("progress watch: cannot read the stages' positions from Kafka now ({}); trying again every {} s",
                        e.getCause() != null ? e.getCause().getMessage() : e.getMessage(), EVERY.toSeconds());
                logged = true;
            }
        }

        void clear() {
            logged = false;
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
