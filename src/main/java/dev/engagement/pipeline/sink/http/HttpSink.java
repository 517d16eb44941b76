package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.Threads;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.fault.FaultPoints;
import dev.engagement.pipeline.sink.SeenIds;
import dev.engagement.pipeline.sink.Sink;
import dev.engagement.pipeline.sink.SinkBatch;
import dev.engagement.pipeline.sink.SinkMetrics;
import dev.engagement.pipeline.sink.SinkRecord;
import dev.engagement.pipeline.topic.Headers;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Delivers enriched events to the external API, as a plug-in of the sink runtime. Each partition
 * is a {@link Lane} with one batch in flight, so events of one content id arrive in order while
 * partitions go in parallel. Before a batch goes out, its last offset is committed as metadata
 * beside the partition's settled offset; a restarted sink resends exactly that batch, with the
 * same Idempotency-Key, and counts it as a redelivery. Event ids it settled are kept in
 * {@link SeenIds}, so an event emitted again is not sent again. While the breaker is open every
 * partition is paused: the backlog waits in Kafka, and nothing goes to the dead-letter topic.
 */
public final class HttpSink implements Sink {
    private static final Logger LOG = LoggerFactory.getLogger(HttpSink.class);
    public static final String GROUP = "engagement-sink-http";
    private static final String INFLIGHT = "inflight-last=";
    private static final Duration PROBE_EVERY = Duration.ofMillis(200);

    private final PipelineConfig pipelineConfig;
    private final PipelineConfig.ExternalApi config;
    private final Clock clock;
    private final KafkaProducer<String, byte[]> producer;
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(1,
            Threads.daemon("sink-http-timer"));
    private final ApiBreaker breaker;
    private final Deliverer deliverer;
    private final HttpMetrics metrics;
    private final Map<TopicPartition, Lane> lanes = new HashMap<>();
    private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();
    private final SeenIds delivered = new SeenIds(Topics.HTTP_DELIVERED, "");
    private final AtomicLong dlqSize = new AtomicLong(-1);
    private final Admin admin;
    private Context context;
    private volatile long lastDeliveryMs;
    private volatile ApiClient.Outcome lastFailure;
    private boolean pausedForBreaker;
    private long lastProbeNanos;
    private int probeTurn;

    private record Done(Lane lane, Batch batch, Settlement settlement) {
    }

    public HttpSink(PipelineConfig config, MeterRegistry registry) {
        this(config, registry, Clock.systemUTC());
    }

    HttpSink(PipelineConfig config, MeterRegistry registry, Clock clock) {
        this.pipelineConfig = config;
        this.config = config.externalApi();
        this.clock = clock;
        this.producer = new KafkaProducer<>(KafkaClients.producer(config, "sink-http"));
        this.metrics = new HttpMetrics(registry);
        ApiClient client = new ApiClient(config.externalApi());
        this.breaker = new ApiBreaker(config.externalApi(), clock, registry);
        Api tracked = (body, key) -> client.post(body, key).thenApply(o -> {
            if (o.delivered() || !o.apiDown()) {
                lastFailure = null;
            } else {
                lastFailure = o;
            }
            return o;
        });
        this.deliverer = new Deliverer(tracked, breaker, RetryPolicy.of(this.config), timer, clock, metrics);
        this.admin = Admin.create(KafkaClients.admin(config));
        Gauge.builder("pipeline.http.dlq.size", dlqSize, AtomicLong::doubleValue)
                .description("Records in sink.http.dlq (refreshed every 10 s; -1 until known)").register(registry);
        timer.scheduleWithFixedDelay(this::measureDeadLetters, 0, 10, TimeUnit.SECONDS);
    }

    private void measureDeadLetters() {
        try {
            dlqSize.set(dev.engagement.pipeline.topic.Backlog.records(admin, Topics.HTTP_DLQ));
        } catch (Exception e) {
            LOG.debug("cannot measure {}: {}", Topics.HTTP_DLQ, e.getMessage());
        }
    }

    @Override
    public String name() {
        return "http";
    }

    /** One API, one group: however many instances deliver to it, they share the partitions. */
    @Override
    public String group() {
        return GROUP;
    }

    public ApiBreaker breaker() {
        return breaker;
    }

    public long lastDeliveryMs() {
        return lastDeliveryMs;
    }

    @Override
    public void start(Context context) {
        this.context = context;
        delivered.forget(new ArrayList<>(lanes.keySet()));
        lanes.clear();
    }

    /** Resumes each partition from the group's committed offset, and re-cuts the batch that was in flight. */
    @Override
    public Map<TopicPartition, OptionalLong> open(Collection<TopicPartition> partitions, String sourceId) {
        Map<TopicPartition, OffsetAndMetadata> committed = context.committed(new HashSet<>(partitions));
        try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(
                KafkaClients.reader(pipelineConfig, "sink-http-delivered-reader"))) {
            delivered.load(reader, partitions);
        }
        Map<TopicPartition, OptionalLong> out = new HashMap<>();
        for (TopicPartition tp : partitions) {
            Lane lane = new Lane(tp);
            OffsetAndMetadata c = committed.get(tp);
            if (c != null) {
                lane.committed = c.offset();
                lane.covered = c.offset();
                if (c.metadata() != null && c.metadata().startsWith(INFLIGHT)) {
                    lane.replayUntil = Long.parseLong(c.metadata().substring(INFLIGHT.length()));
                }
            }
            lanes.put(tp, lane);
            out.put(tp, c == null ? OptionalLong.empty() : OptionalLong.of(c.offset()));
        }
        return out;
    }

    @Override
    public void put(SinkBatch batch) {
        long now = System.nanoTime();
        for (SinkRecord r : batch.records()) {
            Lane lane = lanes.get(r.partition());
            if (lane == null) {
                continue;
            }
            if (delivered.contains(r.partition().partition(), r.event().eventId())) {
                context.metrics().duplicates.increment();
                continue;
            }
            lane.add(r, now);
        }
        batch.next().forEach((tp, next) -> {
            Lane lane = lanes.get(tp);
            if (lane != null) {
                lane.cover(next);
            }
        });
    }

    @Override
    public void tick() {
        settle();
        dispatch();
    }

    /** Applies finished deliveries: dead letters and settled ids written (and acknowledged) before offsets move past them. */
    private void settle() {
        List<Done> finished = new ArrayList<>();
        Done d;
        while ((d = done.poll()) != null) {
            if (lanes.get(d.lane.partition) == d.lane) {
                finished.add(d);
            } // else revoked meanwhile: the new owner resends from the committed offset
        }
        if (finished.isEmpty()) {
            return;
        }
        FaultPoints.pass("http.after-delivery"); // the API has them; nothing of it is recorded yet
        List<ProducerRecord<String, byte[]>> out = new ArrayList<>();
        for (Done f : finished) {
            for (Settlement.DeadLetter dl : f.settlement.deadLetters()) {
                out.add(deadLetterRecord(dl));
                delivered.add(f.lane.partition.partition(), dl.record().event().eventId());
            }
            for (SinkRecord r : f.settlement.delivered()) {
                delivered.add(f.lane.partition.partition(), r.event().eventId());
            }
        }
        out.addAll(delivered.changes());
        List<Future<RecordMetadata>> sends = new ArrayList<>(out.size());
        for (ProducerRecord<String, byte[]> r : out) {
            sends.add(producer.send(r));
        }
        producer.flush();
        for (Future<RecordMetadata> s : sends) {
            try {
                s.get();
            } catch (Exception e) {
                throw new IllegalStateException("cannot record settled deliveries in " + Topics.HTTP_DLQ + " and "
                        + Topics.HTTP_DELIVERED + ": " + e.getMessage(), e);
            }
        }
        long nowMs = clock.millis();
        SinkMetrics m = context.metrics();
        for (Done f : finished) {
            Lane lane = f.lane;
            Settlement s = f.settlement;
            for (SinkRecord r : s.delivered()) {
                m.latency.record(Math.max(0, nowMs - r.commitTsMs()), TimeUnit.MILLISECONDS);
            }
            m.applied.increment(s.delivered().size());
            metrics.deadLettered.increment(s.deadLetters().size());
            if (!s.delivered().isEmpty()) {
                lastDeliveryMs = nowMs;
            }
            if (!s.deadLetters().isEmpty()) {
                LOG.warn("http sink: {} events of batch {} went to {} ({})", s.deadLetters().size(), f.batch.key(),
                        Topics.HTTP_DLQ, s.deadLetters().get(0).detail());
                DeadLetters.log(s.deadLetters(), "went to " + Topics.HTTP_DLQ);
            }
            lane.inFlight = null;
            if (s.held().isPresent()) {
                lane.held = s.held().get();
                lane.committed = lane.held.firstOffset();
            } else {
                lane.committed = f.batch.lastOffset() + 1;
            }
            lane.dirty = true;
            lane.settleIdle();
        }
        FaultPoints.pass("http.after-settle"); // recorded as settled, the offsets not committed yet
    }

    /** Pauses every partition while the breaker is open; else only lanes with too much waiting. */
    @Override
    public Set<TopicPartition> full() {
        if (breaker.open()) {
            if (!pausedForBreaker) {
                LOG.warn("http sink paused: {}", status());
                pausedForBreaker = true;
            }
            return Set.copyOf(lanes.keySet());
        }
        if (pausedForBreaker) {
            LOG.info("http sink resumes: breaker {}", ApiBreaker.name(breaker.state()));
            pausedForBreaker = false;
        }
        Set<TopicPartition> full = new HashSet<>();
        for (Lane lane : lanes.values()) {
            if (lane.waiting() > config.batchSize() * 8 || lane.queuedBytes() > Lane.MAX_QUEUED_BYTES) {
                full.add(lane.partition);
            }
        }
        return full;
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
        order.sort(Comparator.comparingInt(l -> l.partition.partition()));
        if (probeOnly && !order.isEmpty()) {
            java.util.Collections.rotate(order, -(probeTurn++ % order.size())); // probes take turns
        }
        for (Lane lane : order) {
            if (probeOnly && (!mayProbe || !sending.isEmpty())) {
                break;
            }
            Batch b = lane.next(config.batchSize(), probeOnly ? 0 : linger, now,
                    r -> delivered.contains(r.partition().partition(), r.event().eventId()));
            if (b != null) {
                lane.inFlight = b;
                sending.add(lane);
                context.metrics().duplicates.increment(b.skipped);
            }
        }
        if (probeOnly && !sending.isEmpty()) {
            lastProbeNanos = now;
        }
        if (sending.isEmpty()) {
            return;
        }
        try {
            context.commitSync(offsets());
            lanes.values().forEach(l -> l.dirty = false);
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

    /** Committed offset per lane, with the last offset of its unsettled batch (in flight, held or to replay) as metadata. */
    private Map<TopicPartition, OffsetAndMetadata> offsets() {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        for (Lane lane : lanes.values()) {
            long offset = lane.committable();
            if (offset < 0) {
                continue;
            }
            long unsettled = lane.unsettledLast();
            String meta = unsettled < 0 ? "" : INFLIGHT + unsettled;
            out.put(lane.partition, new OffsetAndMetadata(offset, meta));
        }
        return out;
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> committable() {
        return offsets();
    }

    @Override
    public long backlog() {
        long total = 0;
        for (Lane lane : lanes.values()) {
            total += lane.waiting();
        }
        return total;
    }

    /** Lets the batches in flight finish, for at most {@code max}, and settles them. */
    @Override
    public void drain(Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        while (lanes.values().stream().anyMatch(l -> l.inFlight != null) && System.nanoTime() < deadline) {
            settle();
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        settle();
    }

    @Override
    public void close(Collection<TopicPartition> partitions) {
        partitions.forEach(lanes::remove);
        delivered.forget(partitions);
    }

    private ProducerRecord<String, byte[]> deadLetterRecord(Settlement.DeadLetter dl) {
        SinkRecord r = dl.record();
        RecordHeaders h = new RecordHeaders();
        h.add(Headers.REASON, Headers.utf8(dl.reason()));
        h.add(Headers.STATUS, Headers.utf8(dl.status()));
        h.add(Headers.DETAIL, Headers.utf8(dev.engagement.pipeline.config.SecretMasker.scrub(dl.detail())));
        h.add(Headers.ATTEMPTS, Headers.utf8(dl.attempts()));
        h.add(Headers.FIRST_ATTEMPT, Headers.utf8(dl.firstAttempt()));
        h.add(Headers.LAST_ATTEMPT, Headers.utf8(dl.lastAttempt()));
        h.add(Headers.TOPIC, Headers.utf8(r.partition().topic()));
        h.add(Headers.PARTITION, Headers.utf8(r.partition().partition()));
        h.add(Headers.OFFSET, Headers.utf8(r.offset()));
        return new ProducerRecord<>(Topics.HTTP_DLQ, null, r.commitTsMs(), r.key(), r.value(), h);
    }

    /**
     * "connected", or the breaker's state with live numbers, e.g. "breaker OPEN for 12 s, last
     * HTTP 503, 4210 events waiting", or "external API refuses the token (401)".
     */
    @Override
    public String status() {
        ApiClient.Outcome failure = lastFailure;
        long waiting = context == null ? 0 : context.metrics().lag();
        if (failure != null && failure.authRefused()) {
            return "external API refuses the token (" + failure.status() + "); sink paused, breaker "
                    + ApiBreaker.name(breaker.state()) + ", " + waiting + " events waiting";
        }
        if (breaker.open()) {
            long secs = breaker.openedAt() == null ? 0 : Duration.between(breaker.openedAt(), Instant.now()).toSeconds();
            return "breaker OPEN for " + secs + " s, last " + (failure == null ? "failure unknown" : failure.describe())
                    + ", " + waiting + " events waiting";
        }
        if (failure != null) {
            return "failing: last " + failure.describe() + ", breaker " + ApiBreaker.name(breaker.state()) + ", "
                    + waiting + " events waiting";
        }
        return "connected";
    }

    @Override
    public void close() {
        timer.shutdownNow();
        admin.close(Duration.ofSeconds(5));
        producer.close(Duration.ofSeconds(5));
    }
}
