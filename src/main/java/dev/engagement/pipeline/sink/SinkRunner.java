package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.fault.FaultPoints;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import dev.engagement.pipeline.metrics.Latency;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Drives a {@link TransactionalSink} from {@code engagement.enriched} in its own consumer group:
 * poll, write the whole poll as one atomic batch, repeat. Resumes from the position the sink
 * stored, not from Kafka's committed offsets (those are committed too, but only for lag tooling).
 * While the sink is down the consumer pauses, keeps its group membership, and retries with back-off.
 */
public final class SinkRunner implements Runnable, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SinkRunner.class);

    private final PipelineConfig config;
    private final TransactionalSink sink;
    private String sourceId;
    private volatile String fatal;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Thread thread;
    private volatile boolean closed;

    private final Counter applied;
    private final Counter duplicates;
    private final Counter failures;
    private final Counter fenced;
    private final Counter abandoned;
    private final Counter malformed;
    private final Timer latency;
    private final AtomicLong lag = new AtomicLong();
    private volatile long lastWriteMs;
    private volatile String failure;
    private volatile java.time.Instant failingSince;

    private volatile Batch pending;
    private long retryAtNanos;
    private Duration backoff = Duration.ofMillis(100);

    public SinkRunner(PipelineConfig config, TransactionalSink sink, MeterRegistry registry) {
        this.config = config;
        this.sink = sink;
        String group = "engagement-sink-" + sink.name();
        this.consumer = new KafkaConsumer<>(KafkaClients.consumer(config, group, group));
        this.thread = new Thread(this, "sink-" + sink.name());
        this.applied = Counter.builder("pipeline.sink.events").tag("sink", sink.name())
                .description("Events applied by a sink").register(registry);
        this.duplicates = Counter.builder("pipeline.sink.duplicates").tag("sink", sink.name())
                .description("Events a sink had already applied (source redeliveries), skipped").register(registry);
        this.failures = Counter.builder("pipeline.sink.failures").tag("sink", sink.name())
                .description("Failed batch writes (retried)").register(registry);
        this.fenced = Counter.builder("pipeline.sink.fenced").tag("sink", sink.name())
                .description("Batches refused because another instance took the partitions").register(registry);
        this.abandoned = Counter.builder("pipeline.sink.abandoned").tag("sink", sink.name())
                .description("Events of an unwritten batch dropped because their partitions moved to another "
                        + "instance, which reads them again").register(registry);
        this.malformed = Counter.builder("pipeline.sink.malformed").tag("sink", sink.name())
                .description("Records on engagement.enriched that are not enriched events, skipped").register(registry);
        this.latency = Latency.timer(registry, sink.name());
        Gauge.builder("pipeline.consumer.lag", lag, AtomicLong::doubleValue).tag("group", group)
                .description("Records on engagement.enriched not yet applied by a sink").register(registry);
    }

    public void start() {
        thread.start();
    }

    /** "connected", or what is failing and how much waits for it. */
    public String status() {
        if (fatal != null) {
            return "failed: " + fatal;
        }
        String failing = failure;
        if (failing != null) {
            Batch waiting = pending;
            return "retrying since " + failingSince + ": " + failing
                    + (waiting == null ? "" : "; " + waiting.records.size() + " events waiting");
        }
        return sink.status();
    }

    public long lastWriteMs() {
        return lastWriteMs;
    }

    @Override
    public void run() {
        try {
            sourceId = TopicIds.await(config, Topics.ENRICHED, () -> closed);
            consumer.subscribe(List.of(Topics.ENRICHED), new Rebalance());
            while (!closed && fatal == null) {
                if (pending != null) {
                    consumer.pause(consumer.assignment());
                }
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(100));
                if (pending == null && !records.isEmpty()) {
                    pending = toBatch(records);
                    retryAtNanos = 0;
                }
                if (pending != null && System.nanoTime() >= retryAtNanos) {
                    attempt();
                }
                updateLag();
            }
        } catch (WakeupException e) {
            if (!closed) {
                throw e;
            }
        } catch (RuntimeException e) {
            fatal = e.getMessage();
            LOG.error("{} sink stopped: {}", sink.name(), e.getMessage(), e);
        } finally {
            consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
        }
    }

    private void attempt() {
        Batch batch = pending;
        try {
            FaultPoints.pass(sink.name() + ".before-write");
            TransactionalSink.WriteResult result = batch.records.isEmpty()
                    ? new TransactionalSink.WriteResult(0, 0) : sink.write(batch.records, batch.nextOffsets);
            FaultPoints.pass(sink.name() + ".after-write");
            long now = System.currentTimeMillis();
            for (SinkRecord r : batch.records) {
                latency.record(Math.max(0, now - r.commitTsMs()), TimeUnit.MILLISECONDS);
            }
            applied.increment(result.applied());
            duplicates.increment(result.duplicates());
            lastWriteMs = now;
            if (failure != null) {
                LOG.info("{} sink: writing again after failures since {}", sink.name(), failingSince);
            }
            failure = null;
            pending = null;
            backoff = Duration.ofMillis(100);
            consumer.resume(consumer.assignment());
            Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
            batch.nextOffsets.forEach((tp, off) -> commit.put(tp, new OffsetAndMetadata(off)));
            consumer.commitAsync(commit, null);
        } catch (FencedException e) {
            fenced.increment();
            LOG.warn("{} sink: {}; dropping {} events another instance now owns and rejoining the group",
                    sink.name(), e.getMessage(), batch.records.size());
            pending = null;
            consumer.resume(consumer.assignment());
            consumer.enforceRebalance();
        } catch (Exception e) {
            failures.increment();
            if (failure == null) {
                failingSince = java.time.Instant.now();
            }
            failure = String.valueOf(e.getMessage());
            retryAtNanos = System.nanoTime() + backoff.toNanos();
            LOG.warn("{} sink: write of {} events failed ({}); retrying in {} ms, {} events waiting",
                    sink.name(), batch.records.size(), e.getMessage(), backoff.toMillis(), batch.records.size());
            backoff = Backoff.next(backoff);
        }
    }

    private Batch toBatch(ConsumerRecords<String, byte[]> records) {
        List<SinkRecord> out = new ArrayList<>(records.count());
        Map<TopicPartition, Long> next = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            next.put(tp, r.offset() + 1);
            EnrichedEvent event = EnrichedRecords.parseOrSkip(r, sink.name(), malformed);
            if (event != null) {
                out.add(new SinkRecord(tp, r.offset(), r.timestamp(), event));
            }
        }
        return new Batch(out, next);
    }

    private void updateLag() {
        long total = 0;
        for (TopicPartition tp : consumer.assignment()) {
            OptionalLong l = consumer.currentLag(tp);
            if (l.isPresent()) {
                total += l.getAsLong();
            }
        }
        lag.set(total + (pending == null ? 0 : pending.records.size()));
    }

    @Override
    public void close() {
        closed = true;
        consumer.wakeup();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sink.close();
    }

    private record Batch(List<SinkRecord> records, Map<TopicPartition, Long> nextOffsets) {
        Batch without(Collection<TopicPartition> partitions) {
            List<SinkRecord> kept = records.stream().filter(r -> !partitions.contains(r.partition())).toList();
            Map<TopicPartition, Long> offsets = new HashMap<>(nextOffsets);
            offsets.keySet().removeAll(partitions);
            return new Batch(kept, offsets);
        }
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            dropPending(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            dropPending(partitions);
        }

        private void dropPending(Collection<TopicPartition> partitions) {
            if (pending != null) {
                int before = pending.records.size();
                pending = pending.without(partitions);
                abandoned.increment(before - pending.records.size());
                if (pending.nextOffsets.isEmpty()) {
                    pending = null;
                }
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) {
                return;
            }
            Duration wait = Duration.ofMillis(100);
            while (!closed) {
                try {
                    Map<TopicPartition, OptionalLong> stored = sink.claim(partitions, sourceId);
                    List<TopicPartition> fromStart = new ArrayList<>();
                    stored.forEach((tp, off) -> {
                        if (off.isPresent()) {
                            consumer.seek(tp, off.getAsLong());
                        } else {
                            fromStart.add(tp);
                        }
                    });
                    if (!fromStart.isEmpty()) {
                        consumer.seekToBeginning(fromStart);
                    }
                    LOG.info("{} sink owns partitions {} and resumes from its stored positions {}", sink.name(),
                            partitions.stream().map(TopicPartition::partition).sorted().toList(), stored);
                    return;
                } catch (ForeignStateException e) {
                    fatal = e.getMessage();
                    LOG.error("{} sink refuses to start: {}", sink.name(), e.getMessage());
                    consumer.pause(partitions);
                    return;
                } catch (Exception e) {
                    LOG.warn("{} sink: cannot claim partitions yet ({}); retrying in {} ms", sink.name(),
                            e.getMessage(), wait.toMillis());
                    sleep(wait);
                    wait = Backoff.next(wait);
                }
            }
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
