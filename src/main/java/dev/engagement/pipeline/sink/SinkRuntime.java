package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.fault.FaultPoints;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The one consume, write, commit loop for every sink (after Kafka Connect's WorkerSinkTask): it
 * polls {@code engagement.enriched} in the sink's consumer group, parses each record once, hands
 * batches to the {@link Sink}, and owns everything around that: claiming partitions (never inside
 * the rebalance callback, so a slow store cannot stall the group), pausing, retrying a failed write
 * with back-off, rewinding when the store went back in time, stopping a partition whose unapplied
 * records expired, committing, lag, and supervision: a session that dies is started again with
 * back-off, and the sink shows "failed" until it recovers.
 */
public final class SinkRuntime implements Runnable, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SinkRuntime.class);
    static final Duration POLL = Duration.ofMillis(100);
    static final Duration COMMIT_EVERY = Duration.ofMillis(200);
    static final Duration GAP_CHECK_EVERY = Duration.ofSeconds(5);
    /** A session that ran this long without dying resets the restart back-off. */
    static final Duration HEALTHY_AFTER = Duration.ofSeconds(10);

    /** The Kafka the runtime needs beyond its consumer, behind a seam for tests. */
    public interface Kafka {
        Consumer<String, byte[]> consumer(String group);

        /** The topic's id; throws while the topic does not exist. */
        String topicId(String topic) throws Exception;

        /** Per partition, the offset below which an operator accepted that {@code stage} never applies what expired. */
        Map<TopicPartition, Long> acceptedGaps(String stage) throws Exception;
    }

    private final Sink sink;
    private final Kafka kafka;
    private final Retry retry;
    private final Retry restartRetry;
    private final Clock clock;
    private final SinkMetrics metrics;
    private final Thread thread;
    private final Object stopSignal = new Object();
    private volatile boolean closed;
    private volatile Session session;
    private volatile String failure;
    private volatile Instant failedSince;
    private volatile long lastWriteMs;

    private final MeterRegistry registry;

    public SinkRuntime(Sink sink, Kafka kafka, MeterRegistry registry, Clock clock) {
        this(sink, kafka, registry, clock, null);
    }

    /** @param sleeper how waits pass; null: real time, cut short when the runtime is closed */
    SinkRuntime(Sink sink, Kafka kafka, MeterRegistry registry, Clock clock, Retry.Sleeper sleeper) {
        if (sleeper == null) {
            sleeper = d -> {
                synchronized (stopSignal) {
                    if (!closed) {
                        stopSignal.wait(Math.max(1, d.toMillis()));
                    }
                }
            };
        }
        this.sink = sink;
        this.kafka = kafka;
        this.clock = clock;
        this.retry = Retry.standard(clock, sleeper);
        this.restartRetry = new Retry(Duration.ofSeconds(1), Duration.ofSeconds(30), clock, sleeper);
        this.metrics = new SinkMetrics(registry, sink.name());
        this.registry = registry;
        this.thread = new Thread(this, "sink-" + sink.name());
    }

    public void start() {
        thread.start();
    }

    public String name() {
        return sink.name();
    }

    public long lastWriteMs() {
        return lastWriteMs;
    }

    /**
     * "connected", "failed: ..." when the sink cannot work (a dead session, a refused store, a
     * stopped partition), or what it is retrying, with live numbers.
     */
    public String status() {
        String f = failure;
        if (f != null) {
            return "failed since " + failedSince + ": " + f;
        }
        Session s = session;
        return s == null ? "starting" : s.status();
    }

    /** The consumer group of the running session; null until its store named it. */
    public String group() {
        Session s = session;
        return s == null ? null : s.group;
    }

    /** Sessions that died and were started again since this process started. */
    public long restarts() {
        return (long) metrics.restarts.count();
    }

    /** The partitions of engagement.enriched this instance's sink holds (claimed from its store), in order. */
    public List<Integer> partitions() {
        Session s = session;
        return s == null ? List.of() : s.held;
    }

    /** Supervision: one session at a time; one that dies is replaced after a back-off. */
    @Override
    public void run() {
        Retry.Schedule restarts = restartRetry.schedule();
        while (!closed) {
            Session s = new Session();
            session = s;
            Instant began = clock.instant();
            Throwable died = null;
            try {
                s.run();
            } catch (VirtualMachineError e) {
                throw e;
            } catch (Throwable e) {
                died = e;
            } finally {
                s.close();
            }
            if (died == null || closed) {
                continue;
            }
            if (Duration.between(began, clock.instant()).compareTo(HEALTHY_AFTER) >= 0) {
                restarts.succeeded();
            }
            String why = Retry.describe(died);
            failure = why;
            failedSince = clock.instant();
            metrics.restarts.increment();
            Duration wait = restarts.failed(died);
            if (died instanceof StoreRefusedException) {
                LOG.error("{} sink refuses its store: {}; checking again in {} s", sink.name(), why, wait.toSeconds());
            } else {
                LOG.error("{} sink stopped: {}; starting it again in {} ms", sink.name(), why, wait.toMillis(), died);
            }
            try {
                restartRetry.sleeper().sleep(wait);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                break;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        synchronized (stopSignal) {
            stopSignal.notifyAll();
        }
        Session s = session;
        if (s != null) {
            s.wakeup();
        }
        try {
            thread.join(Duration.ofSeconds(30).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sink.close();
    }

    /** A new session for this runtime's sink (tests drive one turn by turn). */
    Session newSession() {
        Session s = new Session();
        session = s;
        return s;
    }

    SinkMetrics metrics() {
        return metrics;
    }

    private enum State { UNCLAIMED, OWNED, GAP, STALE }

    /** One assigned partition, as this runtime sees it. */
    private static final class Part {
        final TopicPartition tp;
        State state = State.UNCLAIMED;
        /** OWNED or GAP: the next offset the store holds. */
        long position;
        /** GAP: the first offset still in the log (what was below it expired unapplied); -1: the log was truncated. */
        long gapTo;

        Part(TopicPartition tp) {
            this.tp = tp;
        }
    }

    /** One consumer's life: from subscribing until it is closed or dies. */
    final class Session implements Sink.Context {
        private final Map<TopicPartition, Part> parts = new TreeMap<>(
                java.util.Comparator.comparingInt(TopicPartition::partition));
        private final Retry.Schedule claims = retry.schedule();
        /** The partitions this session owned before the last rebalance took them. */
        private final Set<TopicPartition> ownedBefore = new HashSet<>();
        private final Retry.Schedule writes = retry.schedule();
        private Consumer<String, byte[]> consumer;
        private io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics clientMetrics;
        private volatile String group;
        private String sourceId;
        private SinkBatch pending;
        private Map<TopicPartition, OffsetAndMetadata> lastCommitted = Map.of();
        private Instant lastCommitAt = Instant.MIN;
        private Instant lastGapCheck = Instant.MIN;
        private Instant healthySince;
        private volatile String statusLine = "starting";
        /** The partitions of engagement.enriched this session has claimed, as of its last turn. */
        private volatile List<Integer> held = List.of();

        void run() throws Exception {
            init();
            try {
                while (!closed) {
                    turn();
                }
            } catch (WakeupException e) {
                if (!closed) {
                    throw e;
                }
            }
            drainAndCommit();
        }

        /** Names the store, waits for the input topic, subscribes. */
        void init() throws Exception {
            group = retry.until("the " + sink.name() + " sink's store", sink::group, () -> closed,
                    StoreRefusedException.class);
            if (group == null) {
                return;
            }
            sourceId = retry.until("topic " + Topics.ENRICHED, () -> kafka.topicId(Topics.ENRICHED), () -> closed);
            if (sourceId == null) {
                return;
            }
            metrics.lagGauge(group);
            consumer = kafka.consumer(group);
            clientMetrics = new io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics(consumer);
            clientMetrics.bindTo(registry); // kafka_consumer_*: lag, fetch rates, rebalances of this sink's consumer
            sink.start(this);
            consumer.subscribe(List.of(Topics.ENRICHED), new Rebalance());
            healthySince = clock.instant();
        }

        /** One turn of the loop: claim, watch gaps, flow control, poll, write, let the sink work, commit. */
        void turn() throws Exception {
            try {
                FaultPoints.pass(sink.name() + ".loop");
                step();
            } finally {
                statusLine = describe();
                held = parts.values().stream().filter(p -> p.state != State.UNCLAIMED)
                        .map(p -> p.tp.partition()).toList();
            }
        }

        private void step() throws Exception {
            claimDue();
            watchGaps();
            flowControl();
            ConsumerRecords<String, byte[]> records;
            try {
                records = consumer.poll(POLL);
            } catch (OffsetOutOfRangeException e) {
                outOfRange(e.offsetOutOfRangePartitions());
                return;
            } catch (NoOffsetForPartitionException e) {
                // a partition not claimed yet has no position: it waits paused until its claim seeks
                List<TopicPartition> unclaimed = e.partitions().stream().filter(tp -> !owned(tp)).toList();
                consumer.seekToBeginning(unclaimed);
                return;
            }
            if (!records.isEmpty()) {
                if (pending == null) {
                    pending = batchOf(records);
                } else {
                    // paused partitions return nothing; should anything come anyway, read it again later
                    for (TopicPartition tp : records.partitions()) {
                        consumer.seek(tp, records.records(tp).get(0).offset());
                    }
                }
            }
            if (pending != null && writes.due()) {
                write();
            }
            sink.tick();
            commit(false);
            updateLag();
            if (failure != null && !writes.failing() && !claims.failing()
                    && Duration.between(healthySince, clock.instant()).compareTo(Duration.ofSeconds(5)) >= 0) {
                LOG.info("{} sink is working again after failing since {}", sink.name(), failedSince);
                failure = null;
            }
        }

        private boolean owned(TopicPartition tp) {
            Part p = parts.get(tp);
            return p != null && p.state == State.OWNED;
        }

        private SinkBatch batchOf(ConsumerRecords<String, byte[]> records) {
            List<SinkRecord> out = new ArrayList<>(records.count());
            Map<TopicPartition, Long> start = new HashMap<>();
            Map<TopicPartition, Long> next = new HashMap<>();
            for (TopicPartition tp : records.partitions()) {
                Part p = parts.get(tp);
                if (p == null || p.state != State.OWNED) {
                    continue; // not ours to write: its claim seeks it to the stored position first
                }
                List<ConsumerRecord<String, byte[]>> rs = records.records(tp);
                start.put(tp, p.position);
                next.put(tp, rs.get(rs.size() - 1).offset() + 1);
                for (ConsumerRecord<String, byte[]> r : rs) {
                    EnrichedEvent event = EnrichedRecords.parseOrSkip(r, sink.name(), metrics.malformed);
                    if (event != null) {
                        out.add(new SinkRecord(tp, r.offset(), r.timestamp(), r.key(), r.value(), event));
                    }
                }
            }
            return next.isEmpty() ? null : new SinkBatch(out, start, next);
        }

        private void write() throws Exception {
            SinkBatch batch = pending;
            try {
                sink.put(batch);
                batch.next().forEach((tp, n) -> {
                    Part p = parts.get(tp);
                    if (p != null) {
                        p.position = n;
                    }
                });
                pending = null;
                lastWriteMs = clock.millis();
                if (writes.failing()) {
                    LOG.info("{} sink: writing again after failures since {}", sink.name(), writes.failingSince());
                }
                writes.succeeded();
            } catch (FencedException e) {
                metrics.fenced.increment();
                LOG.warn("{} sink: {}; dropping {} events another instance now owns and rejoining the group",
                        sink.name(), e.getMessage(), batch.records().size());
                for (TopicPartition tp : batch.next().keySet()) {
                    Part p = parts.get(tp);
                    if (p != null) {
                        p.state = State.STALE;
                    }
                }
                pending = null;
                writes.succeeded();
                consumer.enforceRebalance();
            } catch (RewindException e) {
                pending = null;
                writes.succeeded();
                rewind(batch, e.stored());
            } catch (StoreRefusedException e) {
                throw e;
            } catch (Exception e) {
                metrics.failures.increment();
                boolean first = !writes.failing();
                Duration wait = writes.failed(e);
                if (first) {
                    LOG.warn("{} sink: write of {} events failed ({}); retrying in {} ms", sink.name(),
                            batch.records().size(), Retry.describe(e), wait.toMillis(), e);
                } else {
                    LOG.warn("{} sink: write of {} events failed again ({}); retrying in {} ms", sink.name(),
                            batch.records().size(), Retry.describe(e), wait.toMillis());
                }
            }
        }

        /** The store stands behind the batch: every partition of it is read again from where the store is. */
        private void rewind(SinkBatch batch, Map<TopicPartition, Long> stored) {
            for (TopicPartition tp : batch.next().keySet()) {
                Part p = parts.get(tp);
                if (p == null) {
                    continue;
                }
                Long at = stored.get(tp);
                if (at == null) {
                    consumer.seek(tp, batch.start().get(tp));
                    continue;
                }
                metrics.rewinds.increment();
                LOG.warn("{} sink: the store went back in time on partition {}: it holds position {} but this "
                                + "instance had written up to {}; reading again from {} (what was lost is applied again)",
                        sink.name(), tp.partition(), at, batch.start().get(tp), at);
                resume(p, at);
            }
        }

        /** Seeks a partition to where its store stands, unless what lies between expired from the log. */
        private void resume(Part p, long position) {
            resume(p, position, consumer.beginningOffsets(List.of(p.tp)).get(p.tp));
        }

        private void resume(Part p, long position, long logStart) {
            p.position = position;
            if (position < logStart) {
                gap(p, logStart);
                return;
            }
            consumer.seek(p.tp, position);
            p.state = State.OWNED;
        }

        private void gap(Part p, long logStart) {
            p.state = State.GAP;
            p.gapTo = logStart;
            LOG.error("{} sink stops partition {} of {}: offsets {} to {} expired from the topic before this sink "
                            + "applied them ({} records); nothing is skipped silently. Accept the loss with "
                            + "'./pipeline accept-gap --stage {}' and refill it with './pipeline backfill'",
                    sink.name(), p.tp.partition(), p.tp.topic(), p.position, logStart - 1, logStart - p.position,
                    sink.name());
            updateGaps();
        }

        private void outOfRange(Map<TopicPartition, Long> fetchOffsets) {
            Map<TopicPartition, Long> starts = consumer.beginningOffsets(fetchOffsets.keySet());
            fetchOffsets.forEach((tp, offset) -> {
                Part p = parts.get(tp);
                if (p == null) {
                    return;
                }
                if (offset < starts.get(tp)) {
                    p.position = offset;
                    gap(p, starts.get(tp));
                } else {
                    p.state = State.GAP;
                    p.gapTo = -1;
                    LOG.error("{} sink stops partition {}: the log ends below offset {}, which the store holds as "
                            + "its position; records it applied were removed from Kafka (an unclean leader "
                            + "election?). New records there would be skipped, so the partition stays stopped until "
                            + "its store's position is reset", sink.name(), tp.partition(), offset);
                    updateGaps();
                }
            });
        }

        private void claimDue() throws Exception {
            List<TopicPartition> due = parts.values().stream().filter(p -> p.state == State.UNCLAIMED)
                    .map(p -> p.tp).toList();
            if (due.isEmpty() || !claims.due()) {
                return;
            }
            Map<TopicPartition, OptionalLong> stored;
            try {
                stored = sink.open(due, sourceId);
            } catch (StoreRefusedException e) {
                throw e;
            } catch (Exception e) {
                Duration wait = claims.failed(e);
                LOG.warn("{} sink: cannot claim partitions {} yet ({}); trying again in {} ms", sink.name(),
                        numbers(due), Retry.describe(e), wait.toMillis());
                return;
            }
            claims.succeeded();
            healthySince = clock.instant();
            Map<TopicPartition, Long> starts = consumer.beginningOffsets(due);
            Map<TopicPartition, Long> resumed = new LinkedHashMap<>();
            for (TopicPartition tp : due) {
                Part p = parts.get(tp);
                resume(p, stored.getOrDefault(tp, OptionalLong.empty()).orElse(0), starts.get(tp));
                resumed.put(tp, p.position);
            }
            LOG.info("{} sink owns partitions {} and resumes from its stored positions {}", sink.name(),
                    numbers(parts.keySet()), resumed);
            if (!ownedBefore.isEmpty() && !ownedBefore.containsAll(due)) {
                FaultPoints.pass(sink.name() + ".after-takeover"); // it took partitions another instance had
            }
        }

        /** While partitions are stopped for a gap: has an operator accepted it since? */
        private void watchGaps() {
            List<Part> gaps = parts.values().stream().filter(p -> p.state == State.GAP && p.gapTo >= 0).toList();
            Instant now = clock.instant();
            if (gaps.isEmpty() || Duration.between(lastGapCheck, now).compareTo(GAP_CHECK_EVERY) < 0) {
                return;
            }
            lastGapCheck = now;
            Map<TopicPartition, Long> accepted;
            Map<TopicPartition, Long> starts;
            try {
                accepted = kafka.acceptedGaps(sink.name());
                starts = consumer.beginningOffsets(gaps.stream().map(p -> p.tp).toList());
            } catch (Exception e) {
                LOG.warn("{} sink: cannot read accepted gaps: {}", sink.name(), Retry.describe(e));
                return;
            }
            for (Part p : gaps) {
                long logStart = starts.get(p.tp);
                if (accepted.getOrDefault(p.tp, -1L) >= logStart) {
                    LOG.warn("{} sink: gap on partition {} accepted by an operator: offsets {} to {} are lost to this "
                            + "sink; resuming at {}", sink.name(), p.tp.partition(), p.position, logStart - 1, logStart);
                    consumer.seek(p.tp, logStart); // the store stays at its position: the next write follows it
                    p.state = State.OWNED;
                } else {
                    p.gapTo = logStart;
                }
            }
            updateGaps();
        }

        private void updateGaps() {
            metrics.gapRecords.set(parts.values().stream().filter(p -> p.state == State.GAP && p.gapTo >= 0)
                    .mapToLong(p -> p.gapTo - p.position).sum());
        }

        /** Reads only partitions that are claimed and that the sink has room for; none while a write waits. */
        private void flowControl() {
            Set<TopicPartition> assigned = consumer.assignment();
            Set<TopicPartition> pause = new HashSet<>();
            if (pending != null) {
                pause.addAll(assigned);
            } else {
                for (TopicPartition tp : assigned) {
                    if (!owned(tp)) {
                        pause.add(tp);
                    }
                }
                for (TopicPartition tp : sink.full()) {
                    if (assigned.contains(tp)) {
                        pause.add(tp);
                    }
                }
            }
            Set<TopicPartition> resume = new HashSet<>(consumer.paused());
            resume.removeAll(pause);
            resume.retainAll(assigned);
            consumer.pause(pause);
            consumer.resume(resume);
        }

        private void commit(boolean sync) {
            Map<TopicPartition, OffsetAndMetadata> c = new HashMap<>(sink.committable());
            c.keySet().retainAll(consumer.assignment());
            Instant now = clock.instant();
            if (c.isEmpty() || c.equals(lastCommitted)
                    || !sync && Duration.between(lastCommitAt, now).compareTo(COMMIT_EVERY) < 0) {
                return;
            }
            if (sync) {
                consumer.commitSync(c, Duration.ofSeconds(10));
            } else {
                consumer.commitAsync(c, (offsets, error) -> {
                    if (error != null) {
                        LOG.debug("{} sink: offset commit failed: {}", sink.name(), error.getMessage());
                    }
                });
            }
            lastCommitted = c;
            lastCommitAt = now;
        }

        private void updateLag() {
            long total = sink.backlog() + (pending == null ? 0 : pending.records().size());
            for (TopicPartition tp : consumer.assignment()) {
                OptionalLong l = consumer.currentLag(tp);
                if (l.isPresent()) {
                    total += l.getAsLong();
                }
            }
            metrics.lag.set(total);
        }

        private String describe() {
            List<String> stopped = new ArrayList<>();
            for (Part p : parts.values()) {
                if (p.state == State.GAP) {
                    stopped.add(p.gapTo < 0 ? "partition " + p.tp.partition() + " (log truncated below position "
                            + p.position + ")" : "partition " + p.tp.partition() + " offsets " + p.position + " to "
                            + (p.gapTo - 1));
                }
            }
            if (!stopped.isEmpty()) {
                return "failed: records expired from " + Topics.ENRICHED + " before this sink applied them, on "
                        + String.join(", ", stopped) + " (stopped; ./pipeline accept-gap --stage " + sink.name()
                        + " accepts the loss)";
            }
            if (writes.failing()) {
                return "retrying since " + writes.failingSince() + ": " + writes.lastError()
                        + (pending == null ? "" : "; " + pending.records().size() + " events waiting");
            }
            if (claims.failing()) {
                return "cannot claim partitions since " + claims.failingSince() + ": " + claims.lastError();
            }
            return null;
        }

        /** What the runtime itself has to say (as of its last turn), else the sink's own status, live. */
        String status() {
            String own = statusLine;
            return own != null ? own : sink.status();
        }

        void wakeup() {
            Consumer<String, byte[]> c = consumer;
            if (c != null) {
                c.wakeup();
            }
        }

        /** A clean end: let the sink finish what is in flight, and commit where it got to. */
        private void drainAndCommit() {
            if (consumer == null) {
                return;
            }
            try {
                sink.drain(Duration.ofSeconds(10));
                try {
                    commit(true);
                } catch (WakeupException e) {
                    commit(true); // the wake-up that ended the loop came after its last poll
                }
            } catch (RuntimeException e) {
                LOG.warn("{} sink: final commit failed ({}); what was not committed is read again", sink.name(),
                        e.getMessage());
            }
        }

        void close() {
            if (consumer == null) {
                return;
            }
            sink.close(new ArrayList<>(parts.keySet()));
            parts.clear();
            try {
                consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
            } catch (RuntimeException e) {
                LOG.debug("{} sink: closing its consumer: {}", sink.name(), e.getMessage());
            }
            consumer = null;
            if (clientMetrics != null) {
                clientMetrics.close();
                clientMetrics = null;
            }
        }

        // Sink.Context

        @Override
        public SinkMetrics metrics() {
            return metrics;
        }

        @Override
        public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions) {
            Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
            consumer.committed(partitions, Duration.ofSeconds(30)).forEach((tp, o) -> {
                if (o != null) {
                    out.put(tp, o);
                }
            });
            return out;
        }

        @Override
        public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
            consumer.commitSync(offsets, Duration.ofSeconds(10));
            lastCommitted = new HashMap<>(offsets);
            lastCommitAt = clock.instant();
        }

        @Override
        public org.apache.kafka.clients.consumer.ConsumerGroupMetadata groupMetadata() {
            return consumer.groupMetadata();
        }

        private void forget(Collection<TopicPartition> partitions) {
            List<TopicPartition> owned = partitions.stream().filter(this::owned).toList();
            if (!owned.isEmpty()) {
                ownedBefore.clear();
                ownedBefore.addAll(owned);
            }
            sink.close(partitions);
            partitions.forEach(parts::remove);
            if (pending != null) {
                int before = pending.records().size();
                pending = pending.without(partitions);
                metrics.abandoned.increment(before - pending.records().size());
                if (pending.isEmpty()) {
                    pending = null;
                    writes.succeeded();
                }
            }
            updateGaps();
        }

        private final class Rebalance implements ConsumerRebalanceListener {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                Map<TopicPartition, OffsetAndMetadata> mine = new HashMap<>(sink.committable());
                mine.keySet().retainAll(partitions);
                try {
                    if (!mine.isEmpty()) {
                        consumer.commitSync(mine, Duration.ofSeconds(10));
                    }
                } catch (RuntimeException e) {
                    LOG.warn("{} sink: commit on revocation failed ({})", sink.name(), e.getMessage());
                }
                forget(partitions);
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
                forget(partitions);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                for (TopicPartition tp : partitions) {
                    parts.put(tp, new Part(tp));
                }
                for (Part p : parts.values()) {
                    if (p.state == State.STALE) {
                        p.state = State.UNCLAIMED; // still ours after the rebalance: claim it afresh
                    }
                }
                consumer.pause(partitions); // nothing is read before the claim says where to start
                if (!partitions.isEmpty()) {
                    claims.succeeded();
                }
            }
        }
    }

    static String numbers(Collection<TopicPartition> partitions) {
        return partitions.stream().map(TopicPartition::partition).sorted().map(String::valueOf)
                .collect(Collectors.joining(", ", "[", "]"));
    }
}
