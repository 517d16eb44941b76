package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.fault.FaultPoints;
import dev.engagement.pipeline.sink.EnrichedRecords;
import dev.engagement.pipeline.topic.Headers;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Delivers enriched events to the external API at least once, in its own consumer group. Each
 * partition is a {@link Lane} with one batch in flight, so events of one content id arrive in
 * order while partitions go in parallel. Before a batch goes out, its last offset is committed as
 * metadata beside the partition's settled offset; a restarted sink resends exactly that batch,
 * with the same Idempotency-Key, and counts it as a redelivery. While the breaker is open every
 * partition is paused: the backlog waits in Kafka, and nothing goes to the dead-letter topic.
 */
public final class HttpSink implements Runnable, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpSink.class);
    public static final String GROUP = "engagement-sink-http";
    private static final String INFLIGHT = "inflight-last=";
    private static final Duration PROGRESS_COMMIT_EVERY = Duration.ofMillis(200);

    private final PipelineConfig.ExternalApi config;
    private final KafkaConsumer<String, byte[]> consumer;
    private final KafkaProducer<String, byte[]> dlq;
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(1,
            dev.engagement.pipeline.Threads.daemon("sink-http-timer"));
    private final ApiClient client;
    private final ApiBreaker breaker;
    private final Deliverer deliverer;
    private final HttpMetrics metrics;
    private final Thread thread = new Thread(this, "sink-http");
    private final Map<TopicPartition, Lane> lanes = new HashMap<>();
    private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();
    private final AtomicLong waiting = new AtomicLong();
    private final AtomicLong dlqSize = new AtomicLong(-1);
    private final org.apache.kafka.clients.admin.Admin admin;
    private volatile boolean closed;
    private volatile long lastDeliveryMs;
    private volatile ApiClient.Outcome lastFailure;
    private boolean pausedForBreaker;
    private long lastProgressCommitNanos;
    private long lastProbeNanos;
    private int probeTurn;
    private static final Duration PROBE_EVERY = Duration.ofMillis(200);

    private record Done(Lane lane, Batch batch, Settlement settlement) {
    }

    public HttpSink(PipelineConfig config, MeterRegistry registry) {
        this(config, registry, Clock.systemUTC());
    }

    HttpSink(PipelineConfig config, MeterRegistry registry, Clock clock) {
        this.config = config.externalApi();
        this.consumer = new KafkaConsumer<>(KafkaClients.consumer(config, GROUP, GROUP));
        this.dlq = new KafkaProducer<>(KafkaClients.producer(config, "sink-http-dlq"));
        this.metrics = new HttpMetrics(registry);
        this.client = new ApiClient(config.externalApi());
        this.breaker = new ApiBreaker(config.externalApi(), clock, registry);
        Api tracked = (body, key) -> client.post(body, key).thenApply(o -> {
            lastFailure = o.delivered() || !o.retriable() ? null : o;
            return o;
        });
        this.deliverer = new Deliverer(tracked, breaker, RetryPolicy.of(this.config), timer, clock, metrics);
        Gauge.builder("pipeline.consumer.lag", waiting, AtomicLong::doubleValue).tag("group", GROUP)
                .description("Records on engagement.enriched not yet applied by a sink").register(registry);
        this.admin = org.apache.kafka.clients.admin.Admin.create(KafkaClients.admin(config));
        Gauge.builder("pipeline.http.dlq.size", dlqSize, AtomicLong::doubleValue)
                .description("Records in sink.http.dlq (refreshed every 10 s; -1 until known)").register(registry);
        timer.scheduleWithFixedDelay(this::measureDeadLetters, 0, 10, TimeUnit.SECONDS);
    }

    private void measureDeadLetters() {
        try {
            var partitions = admin.describeTopics(List.of(Topics.HTTP_DLQ)).allTopicNames().get(10, TimeUnit.SECONDS)
                    .get(Topics.HTTP_DLQ).partitions();
            Map<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> earliest = new HashMap<>();
            Map<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new HashMap<>();
            for (var p : partitions) {
                TopicPartition tp = new TopicPartition(Topics.HTTP_DLQ, p.partition());
                earliest.put(tp, org.apache.kafka.clients.admin.OffsetSpec.earliest());
                latest.put(tp, org.apache.kafka.clients.admin.OffsetSpec.latest());
            }
            long size = 0;
            for (var e : admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).entrySet()) {
                size += e.getValue().offset();
            }
            for (var e : admin.listOffsets(earliest).all().get(10, TimeUnit.SECONDS).entrySet()) {
                size -= e.getValue().offset();
            }
            dlqSize.set(size);
        } catch (Exception e) {
            LOG.debug("cannot measure {}: {}", Topics.HTTP_DLQ, e.getMessage());
        }
    }

    public void start() {
        thread.start();
    }

    public ApiBreaker breaker() {
        return breaker;
    }

    public long lastDeliveryMs() {
        return lastDeliveryMs;
    }

    /** "connected", or the breaker's state with live numbers, e.g. "breaker OPEN for 12 s, last HTTP 503, 4210 events waiting". */
    public String status() {
        ApiClient.Outcome failure = lastFailure;
        if (breaker.open()) {
            long secs = breaker.openedAt() == null ? 0
                    : Duration.between(breaker.openedAt(), java.time.Instant.now()).toSeconds();
            return "breaker OPEN for " + secs + " s, last " + (failure == null ? "failure unknown" : failure.describe())
                    + ", " + waiting.get() + " events waiting";
        }
        if (failure != null) {
            return "failing: last " + failure.describe() + ", breaker " + ApiBreaker.name(breaker.state()) + ", "
                    + waiting.get() + " events waiting";
        }
        return "connected";
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(Topics.ENRICHED), new Rebalance());
            while (!closed) {
                settle();
                flowControl();
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(10));
                long now = System.nanoTime();
                for (ConsumerRecord<String, byte[]> r : records) {
                    accept(r, now);
                }
                dispatch();
                updateWaiting();
            }
        } catch (WakeupException e) {
            if (!closed) {
                throw e;
            }
        } catch (RuntimeException e) {
            LOG.error("http sink stopped: {}", e.getMessage(), e);
        } finally {
            drainAndClose();
        }
    }

    private void accept(ConsumerRecord<String, byte[]> r, long now) {
        Lane lane = lanes.get(new TopicPartition(r.topic(), r.partition()));
        if (lane == null) {
            return;
        }
        if (EnrichedRecords.parseOrSkip(r, "http", metrics.malformed) == null) {
            if (lane.idle()) {
                lane.committed = r.offset() + 1;
                lane.dirty = true;
            }
            return;
        }
        lane.add(r, now);
    }

    /** Applies finished deliveries: dead letters written (and acknowledged) before offsets move past them. */
    private void settle() {
        Done d;
        List<Done> finished = new ArrayList<>();
        while ((d = done.poll()) != null) {
            finished.add(d);
        }
        if (finished.isEmpty()) {
            return;
        }
        List<Future<RecordMetadata>> sends = new ArrayList<>();
        for (Done f : finished) {
            for (Settlement.DeadLetter dl : f.settlement.deadLetters()) {
                sends.add(dlq.send(deadLetterRecord(dl)));
            }
        }
        if (!sends.isEmpty()) {
            dlq.flush();
            for (Future<RecordMetadata> s : sends) {
                try {
                    s.get();
                } catch (Exception e) {
                    throw new IllegalStateException("cannot write to " + Topics.HTTP_DLQ + ": " + e.getMessage(), e);
                }
            }
        }
        long nowMs = System.currentTimeMillis();
        for (Done f : finished) {
            Lane lane = f.lane;
            Settlement s = f.settlement;
            for (ConsumerRecord<String, byte[]> r : s.delivered()) {
                metrics.latency.record(Math.max(0, nowMs - r.timestamp()), TimeUnit.MILLISECONDS);
            }
            metrics.delivered.increment(s.delivered().size());
            metrics.deadLettered.increment(s.deadLetters().size());
            if (!s.delivered().isEmpty()) {
                lastDeliveryMs = nowMs;
            }
            if (!s.deadLetters().isEmpty()) {
                LOG.warn("http sink: {} events of batch {} went to {} ({})", s.deadLetters().size(), f.batch.key(),
                        Topics.HTTP_DLQ, s.deadLetters().get(0).detail());
            }
            if (lanes.get(lane.partition) != lane) {
                continue; // revoked meanwhile: the new owner resends from the committed offset
            }
            lane.inFlight = null;
            if (s.held().isPresent()) {
                lane.held = s.held().get();
                lane.committed = lane.held.firstOffset();
            } else {
                lane.committed = f.batch.lastOffset() + 1;
            }
            lane.dirty = true;
        }
        FaultPoints.pass("http.after-delivery");
    }

    /** Pauses every partition while the breaker is open; else pauses only lanes with too much waiting. */
    private void flowControl() {
        if (breaker.open()) {
            if (!pausedForBreaker) {
                LOG.warn("http sink paused: {}", status());
                pausedForBreaker = true;
            }
            consumer.pause(consumer.assignment());
            return;
        }
        if (pausedForBreaker) {
            LOG.info("http sink resumes: breaker {}", ApiBreaker.name(breaker.state()));
            pausedForBreaker = false;
        }
        List<TopicPartition> pause = new ArrayList<>();
        List<TopicPartition> resume = new ArrayList<>();
        for (Lane lane : lanes.values()) {
            (lane.waiting() > config.batchSize() * 8 ? pause : resume).add(lane.partition);
        }
        consumer.pause(pause);
        consumer.resume(resume);
    }

    /** Cuts the batches that are due, records them as in flight in Kafka, then sends them. */
    private void dispatch() {
        long now = System.nanoTime();
        long linger = config.linger().toNanos();
        // while the breaker is open nothing goes out, but one probe once its wait is over
        boolean probeOnly = breaker.open();
        boolean mayProbe = probeOnly && breaker.readyToProbe() && now - lastProbeNanos > PROBE_EVERY.toNanos();
        List<Lane> sending = new ArrayList<>();
        List<Lane> order = new ArrayList<>(lanes.values());
        order.sort(java.util.Comparator.comparingInt(l -> l.partition.partition()));
        if (probeOnly && !order.isEmpty()) {
            java.util.Collections.rotate(order, -(probeTurn++ % order.size())); // probes take turns
        }
        for (Lane lane : order) {
            if (probeOnly && (!mayProbe || !sending.isEmpty())) {
                break;
            }
            Batch b = lane.next(config.batchSize(), probeOnly ? 0 : linger, now);
            if (b != null) {
                lane.inFlight = b;
                sending.add(lane);
            }
        }
        if (probeOnly && !sending.isEmpty()) {
            lastProbeNanos = now;
        }
        boolean progress = lanes.values().stream().anyMatch(l -> l.dirty);
        if (sending.isEmpty()) {
            if (progress && now - lastProgressCommitNanos > PROGRESS_COMMIT_EVERY.toNanos()) {
                consumer.commitAsync(offsets(), null);
                lanes.values().forEach(l -> l.dirty = false);
                lastProgressCommitNanos = now;
            }
            return;
        }
        try {
            consumer.commitSync(offsets(), Duration.ofSeconds(10));
            lanes.values().forEach(l -> l.dirty = false);
            lastProgressCommitNanos = now;
        } catch (RuntimeException e) {
            LOG.warn("http sink: cannot record batches as in flight ({}); sending them later", e.getMessage());
            for (Lane lane : sending) {
                lane.held = lane.inFlight;
                lane.inFlight = null;
            }
            return;
        }
        for (Lane lane : sending) {
            Batch b = lane.inFlight;
            if (b.redelivery) {
                metrics.redeliveries.increment(b.size());
                LOG.info("http sink: resending batch {} ({} events) that was in flight when the last owner stopped",
                        b.key(), b.size());
            }
            deliverer.deliver(b).whenComplete((settlement, error) -> {
                if (error != null) {
                    LOG.error("http sink: delivering batch {} failed unexpectedly; holding it", b.key(), error);
                    done.add(new Done(lane, b, Settlement.held(b)));
                } else {
                    done.add(new Done(lane, b, settlement));
                }
            });
        }
    }

    /** Committed offset per lane, with the in-flight batch's last offset as metadata. */
    private Map<TopicPartition, OffsetAndMetadata> offsets() {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        for (Lane lane : lanes.values()) {
            long offset = lane.committed;
            if (lane.inFlight != null) {
                offset = lane.committed >= 0 ? Math.min(lane.committed, lane.inFlight.firstOffset())
                        : lane.inFlight.firstOffset();
            }
            if (offset < 0) {
                continue;
            }
            String meta = lane.inFlight == null ? "" : INFLIGHT + lane.inFlight.lastOffset();
            out.put(lane.partition, new OffsetAndMetadata(offset, meta));
        }
        return out;
    }

    private ProducerRecord<String, byte[]> deadLetterRecord(Settlement.DeadLetter dl) {
        ConsumerRecord<String, byte[]> r = dl.record();
        RecordHeaders h = new RecordHeaders();
        h.add(Headers.REASON, Headers.utf8(dl.reason()));
        h.add(Headers.STATUS, Headers.utf8(dl.status()));
        h.add(Headers.DETAIL, Headers.utf8(dl.detail()));
        h.add(Headers.ATTEMPTS, Headers.utf8(dl.attempts()));
        h.add(Headers.FIRST_ATTEMPT, Headers.utf8(dl.firstAttempt()));
        h.add(Headers.LAST_ATTEMPT, Headers.utf8(dl.lastAttempt()));
        h.add(Headers.TOPIC, Headers.utf8(r.topic()));
        h.add(Headers.PARTITION, Headers.utf8(r.partition()));
        h.add(Headers.OFFSET, Headers.utf8(r.offset()));
        return new ProducerRecord<>(Topics.HTTP_DLQ, null, r.timestamp(), r.key(), r.value(), h);
    }

    private void updateWaiting() {
        long total = 0;
        for (Lane lane : lanes.values()) {
            total += lane.waiting();
            OptionalLong lag = consumer.currentLag(lane.partition);
            if (lag.isPresent()) {
                total += lag.getAsLong();
            }
        }
        waiting.set(total);
    }

    private void drainAndClose() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try {
            while (lanes.values().stream().anyMatch(l -> l.inFlight != null) && System.nanoTime() < deadline) {
                settle();
                Thread.sleep(10);
            }
            settle();
            consumer.commitSync(offsets(), Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.warn("http sink: final commit failed ({}); the unsettled batches will be sent again", e.getMessage());
        } finally {
            consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
        }
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
        timer.shutdownNow();
        admin.close(Duration.ofSeconds(5));
        dlq.close(Duration.ofSeconds(5));
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            Map<TopicPartition, OffsetAndMetadata> all = offsets();
            Map<TopicPartition, OffsetAndMetadata> mine = new HashMap<>();
            for (TopicPartition tp : partitions) {
                if (all.containsKey(tp)) {
                    mine.put(tp, all.get(tp));
                }
            }
            try {
                if (!mine.isEmpty()) {
                    consumer.commitSync(mine, Duration.ofSeconds(10));
                }
            } catch (RuntimeException e) {
                LOG.warn("http sink: commit on revocation failed ({})", e.getMessage());
            }
            partitions.forEach(lanes::remove);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            partitions.forEach(lanes::remove);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) {
                return;
            }
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(new java.util.HashSet<>(partitions),
                    Duration.ofSeconds(30));
            for (TopicPartition tp : partitions) {
                Lane lane = new Lane(tp);
                OffsetAndMetadata c = committed.get(tp);
                if (c != null) {
                    lane.committed = c.offset();
                    if (c.metadata() != null && c.metadata().startsWith(INFLIGHT)) {
                        lane.replayUntil = Long.parseLong(c.metadata().substring(INFLIGHT.length()));
                    }
                }
                lanes.put(tp, lane);
            }
            LOG.info("http sink owns partitions {}", partitions.stream().map(TopicPartition::partition).sorted().toList());
        }
    }
}
