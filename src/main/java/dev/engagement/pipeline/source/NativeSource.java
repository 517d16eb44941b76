package dev.engagement.pipeline.source;

import dev.engagement.pipeline.Threads;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.fault.FaultPoints;
import dev.engagement.pipeline.metrics.Latency;
import dev.engagement.pipeline.source.pg.Lsn;
import dev.engagement.pipeline.source.pg.PgOutputDecoder;
import dev.engagement.pipeline.source.pg.Relation;
import dev.engagement.pipeline.source.pg.SnapshotCopier;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.TopicAdmin;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.postgresql.replication.ReplicationSlotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Change data capture with the pipeline's own pgoutput reader, exactly once into Kafka.
 *
 * <p>The rows of PostgreSQL transactions and the WAL position after the last of them go to Kafka in
 * one Kafka transaction (many PostgreSQL transactions per Kafka transaction); the position is
 * confirmed to PostgreSQL only after that commit; a restart resumes from the position in Kafka and
 * drops any transaction that committed before it. A first start creates the slot with an exported
 * snapshot and copies the tables inside it, in one Kafka transaction with the slot's consistent
 * point, then streams from that point.
 *
 * <p>Threads: one reads the replication stream (blocking reads, no per-read socket time-out) into a
 * queue; the capture thread decodes, produces and commits; a timer writes heartbeats and reads the
 * slot's state. A process that finds the slot held by another stands by and takes over when it is
 * free; its producer's transactional id fences the one it replaces.
 */
public final class NativeSource implements ChangeSource {
    private static final Logger LOG = LoggerFactory.getLogger(NativeSource.class);
    /** Commit a Kafka transaction at the next PostgreSQL commit once it holds this many rows or is this old. */
    static final int MAX_ROWS_PER_KAFKA_TRANSACTION = 50_000;
    static final long MAX_KAFKA_TRANSACTION_MS = 100;
    private static final long MAX_BACKOFF_MS = 30_000;
    private static final Object END = new Object();

    private final PipelineConfig config;
    private final PipelineConfig.Postgres pg;
    private final SlotMonitor slotMonitor;
    private final Map<String, Counter> records = new ConcurrentHashMap<>();
    private final MeterRegistry registry;
    private final Timer latency;
    private final Counter tooLarge;
    private final Counter skipped;
    private final Counter kafkaTransactions;
    private final AtomicLong slotLag = new AtomicLong(-1);
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(
            Threads.daemon("cdc-source-timer"));
    private final Thread capture;
    private volatile SourceStatus status = new SourceStatus(State.STARTING, "starting", 0);
    private final java.util.concurrent.atomic.AtomicLong restarts = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean closed;
    private volatile boolean fatal;
    private volatile Connection replication;
    private Connection heartbeat;
    private boolean unlimitedWalWarned;

    public NativeSource(PipelineConfig config, MeterRegistry registry) {
        this.config = config;
        this.pg = config.postgres();
        this.registry = registry;
        this.slotMonitor = new SlotMonitor(pg);
        this.latency = Latency.timer(registry, "source");
        this.tooLarge = Counter.builder("pipeline.source.too.large")
                .description("Captured changes larger than Kafka's record limit, sent to engagement.invalid as "
                        + "too_large instead of their CDC topic").register(registry);
        this.skipped = Counter.builder("pipeline.source.repeats")
                .description("PostgreSQL transactions sent again after a restart that were already in Kafka, dropped")
                .register(registry);
        this.kafkaTransactions = Counter.builder("pipeline.source.kafka.transactions")
                .description("Kafka transactions committed by the source (each holds one or more PostgreSQL transactions)")
                .register(registry);
        for (String table : List.of("content", "engagement_events")) {
            records(table);
            Counter.builder("pipeline.source.truncates").tag("table", table)
                    .description("TRUNCATEs of a captured table seen in the WAL (the aggregates keep their counts)")
                    .register(registry);
        }
        Gauge.builder("pipeline.source.slot.lag.bytes", slotLag, AtomicLong::doubleValue)
                .description("WAL written since the replication slot's confirmed position (-1: unknown)").register(registry);
        Gauge.builder("pipeline.source.last.commit.timestamp.seconds", this, s -> s.status.lastCommitTsMs() / 1000.0)
                .description("Commit time of the last captured row").register(registry);
        this.capture = new Thread(this::run, "cdc-source");
        this.capture.setDaemon(true);
    }

    private Counter records(String table) {
        return records.computeIfAbsent(table, t -> Counter.builder("pipeline.source.records").tag("table", t)
                .description("Captured rows written to the CDC topics").register(registry));
    }

    @Override
    public void start() {
        capture.start();
        timers.scheduleWithFixedDelay(this::checkSlot, 1, 5, TimeUnit.SECONDS);
        timers.scheduleWithFixedDelay(this::heartbeat, 5, 5, TimeUnit.SECONDS);
        LOG.info("change data capture (native pgoutput reader) starting from {} (slot {}, publication {})", pg,
                pg.slotName(), pg.publication());
    }

    /** Captures until closed; every failure but a lost slot is retried with back-off, forever. */
    private void run() {
        long backoff = 1000;
        while (!closed) {
            try {
                if (captureOnce()) {
                    backoff = 1000;
                    sleep(1000); // standing by: look again in a second
                }
            } catch (LostSlotException e) {
                fail(e.getMessage());
                return;
            } catch (Throwable e) {
                if (closed) {
                    return;
                }
                if (e instanceof FaultPoints.InjectedCrash crash) {
                    throw crash;
                }
                String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                restarts.incrementAndGet();
                status = new SourceStatus(State.RETRYING, "not capturing, retrying in " + backoff / 1000 + " s: " + why,
                        status.lastCommitTsMs());
                LOG.error("change data capture stopped ({}); retrying in {} s from the last position in Kafka", why,
                        backoff / 1000, e);
                sleep(backoff);
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
            } finally {
                closeReplication();
            }
        }
    }

    /** One capture from the stored position; returns true when another process holds the slot. */
    private boolean captureOnce() throws Exception {
        Optional<SlotMonitor.Slot> slot = slotMonitor.read();
        if (slot.isPresent() && slot.get().active()) {
            standby();
            return true;
        }
        try (Connection c = Database.connect(pg)) {
            Schema.ensurePublication(c, pg.publication());
            warnIfUnlimitedWal(c);
            for (String table : new String[] {"content", "engagement_events"}) {
                requireColumns(SnapshotCopier.describe(c, table));
            }
        }
        TopicAdmin.ensureTopics(config);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerConfig())) {
            producer.initTransactions(); // fences the source this one replaces and aborts what it left open
            Optional<SourcePositions.Position> position = SourcePositions.read(config, pg.slotName());
            long resume;
            if (position.isPresent()) {
                slot = slotMonitor.read();
                if (slot.isEmpty()) {
                    throw new LostSlotException("replication slot '" + pg.slotName() + "' does not exist, but this "
                            + "pipeline has captured from " + pg + " up to " + Lsn.format(position.get().lsn()) + " ("
                            + Topics.SOURCE_POSITION + " says so): the slot was dropped or lost, and the changes "
                            + "committed since cannot be read. Nothing will be captured rather than skip them silently. "
                            + "To capture everything again from a new snapshot, delete the topic "
                            + Topics.SOURCE_POSITION + " and restart; the sinks ignore events they already hold");
                }
                if (slot.get().lost()) {
                    throw new LostSlotException(lostMessage());
                }
                if (slot.get().active()) {
                    standby();
                    return true;
                }
                resume = position.get().lsn();
            } else {
                resume = snapshot(producer, slot);
            }
            stream(producer, resume);
        }
        return false;
    }

    private static void requireColumns(Relation table) {
        List<String> problems = SourceColumns.problems(table);
        if (!problems.isEmpty()) {
            throw new IllegalStateException(SourceColumns.message(table.name(), problems));
        }
    }

    private void standby() {
        if (status.state() != State.STANDBY) {
            LOG.info("replication slot '{}' is held by another process: standing by to take over capture",
                    pg.slotName());
        }
        status = new SourceStatus(State.STANDBY, "standby: another process holds slot " + pg.slotName()
                + " and captures", status.lastCommitTsMs());
    }

    private Map<String, Object> producerConfig() {
        Map<String, Object> p = KafkaClients.producer(config, "cdc-source");
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "engagement-pipeline-source-" + pg.database() + "-" + pg.slotName());
        // a snapshot is one Kafka transaction: the broker's longest (transaction.max.timeout.ms, 15 min by default)
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 900_000);
        // a commit sends whatever waits at once, so lingering costs no latency: it only makes batches bigger
        // (fewer of them to compress and append), which is most of what a row costs here
        p.put(ProducerConfig.LINGER_MS_CONFIG, Integer.getInteger("source.linger", 50));
        return p;
    }

    /**
     * A first start: a new slot whose exported snapshot the tables are copied in, all in one Kafka
     * transaction with the slot's consistent point as the position. A slot without a position (a
     * snapshot that did not finish, or a slot Debezium made) is dropped first: its snapshot is gone.
     */
    private long snapshot(KafkaProducer<String, byte[]> producer, Optional<SlotMonitor.Slot> stale) throws Exception {
        status = new SourceStatus(State.SNAPSHOT, "initial snapshot", status.lastCommitTsMs());
        if (stale.isPresent()) {
            try (Connection c = Database.connect(pg);
                 PreparedStatement ps = c.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
                ps.setString(1, pg.slotName());
                ps.execute();
            }
            LOG.warn("replication slot '{}' existed without a position in {} (a snapshot that did not finish, or "
                    + "another source's slot): dropped it; a new snapshot and the stream start at one point",
                    pg.slotName(), Topics.SOURCE_POSITION);
        }
        replication = Database.replication(pg);
        ReplicationSlotInfo slot = replication.unwrap(PGConnection.class).getReplicationAPI().createReplicationSlot()
                .logical().withSlotName(pg.slotName()).withOutputPlugin("pgoutput").make();
        long lsn = slot.getConsistentPoint().asLong();
        long started = System.currentTimeMillis();
        LOG.info("created replication slot '{}' at {}; copying the tables in its snapshot", pg.slotName(),
                Lsn.format(lsn));
        AtomicReference<Exception> failed = new AtomicReference<>();
        Callback callback = failure(failed);
        producer.beginTransaction();
        long[] copied = new SnapshotCopier(pg).copy(slot.getSnapshotName(), lsn, started, "true", null, null,
                (table, key, envelope, ts) -> {
                    producer.send(OversizedChanges.recordFor(table.topic(), ts, key, envelope, tooLarge), callback);
                }, n -> status = new SourceStatus(State.SNAPSHOT, "initial snapshot: " + n + " events copied",
                        status.lastCommitTsMs()));
        producer.send(SourcePositions.record(pg.slotName(), new SourcePositions.Position(lsn, started)), callback);
        FaultPoints.pass("source.snapshot-before-commit");
        producer.commitTransaction();
        if (failed.get() != null) {
            throw new IllegalStateException("writing the snapshot to Kafka failed: " + failed.get().getMessage(),
                    failed.get());
        }
        records("content").increment(copied[0]);
        records("engagement_events").increment(copied[1]);
        LOG.info("snapshot done: {} content rows and {} events in {} ms; streaming from {}", copied[0], copied[1],
                System.currentTimeMillis() - started, Lsn.format(lsn));
        return lsn;
    }

    private record Message(long lsn, ByteBuffer data) {
    }

    /** Streams from {@code resume} until closed or failed. */
    private void stream(KafkaProducer<String, byte[]> producer, long resume) throws Exception {
        if (replication == null) {
            replication = Database.replication(pg);
        }
        PGReplicationStream stream = replication.unwrap(PGConnection.class).getReplicationAPI().replicationStream()
                .logical().withSlotName(pg.slotName()).withStartPosition(LogSequenceNumber.valueOf(resume))
                .withSlotOption("proto_version", "1").withSlotOption("publication_names", pg.publication())
                .withStatusInterval(1, TimeUnit.SECONDS).withAutomaticFlush(false).start();
        stream.setFlushedLSN(LogSequenceNumber.valueOf(resume));
        stream.setAppliedLSN(LogSequenceNumber.valueOf(resume));
        BlockingQueue<Object> queue = new ArrayBlockingQueue<>(16_384);
        AtomicReference<Throwable> readFailure = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                while (!closed) {
                    ByteBuffer data = stream.read();
                    if (data == null) {
                        continue;
                    }
                    queue.put(new Message(stream.getLastReceiveLSN().asLong(), data));
                }
            } catch (Throwable e) {
                readFailure.set(e);
            } finally {
                queue.offer(END);
            }
        }, "cdc-source-reader");
        reader.setDaemon(true);
        reader.start();
        status = new SourceStatus(State.STREAMING, "streaming from " + Lsn.format(resume), status.lastCommitTsMs());
        LOG.info("change data capture is streaming from {}", Lsn.format(resume));
        Transactions tx = new Transactions(producer, stream, resume);
        PgOutputDecoder decoder = new PgOutputDecoder();
        try {
            while (!closed) {
                Object next = queue.poll(50, TimeUnit.MILLISECONDS);
                if (next == END) {
                    Throwable e = readFailure.get();
                    if (closed) {
                        break;
                    }
                    throw new IllegalStateException("the replication stream ended: "
                            + (e == null ? "closed" : e.getMessage()), e);
                }
                long now = System.currentTimeMillis();
                if (next instanceof Message m) {
                    ByteBuffer b = m.data();
                    decoder.decode(m.lsn(), b.array(), b.arrayOffset() + b.position(), b.remaining(), tx, now);
                }
                tx.commitIfDue(queue.isEmpty(), now);
            }
            tx.commitIfDue(true, System.currentTimeMillis());
        } finally {
            closeReplication();
            reader.join(5000);
        }
    }

    /** Rows into the open Kafka transaction; a commit at a PostgreSQL commit boundary, then the position confirmed. */
    private final class Transactions implements PgOutputDecoder.Handler {
        private final KafkaProducer<String, byte[]> producer;
        private final PGReplicationStream stream;
        private final AtomicReference<Exception> failed = new AtomicReference<>();
        private final Callback callback;
        private final long resume;
        private boolean open;
        private boolean inside;
        private long openedAt;
        private int rows;
        private long end = -1;
        private long endTs;
        /** Per PostgreSQL transaction in the open Kafka transaction: its commit time and its rows. */
        private final long[] commitTimes = new long[4096];
        private final int[] commitRows = new int[4096];
        private int commits;
        private int rowsInTransaction;
        private int contents;
        private int events;

        Transactions(KafkaProducer<String, byte[]> producer, PGReplicationStream stream, long resume) {
            this.producer = producer;
            this.stream = stream;
            this.resume = resume;
            this.callback = failure(failed);
        }

        @Override
        public boolean begin(long finalLsn, long commitTsMs, long xid) {
            if (finalLsn < resume) {
                skipped.increment(); // committed before the position in Kafka: its rows are there already
                return false;
            }
            inside = true;
            return true;
        }

        @Override
        public void relation(Relation relation) {
            requireColumns(relation); // an ALTER TABLE: its rows follow, and are not sent if they lack what is needed
        }

        @Override
        public void change(Relation relation, char op, String key, byte[] envelope, long commitTsMs) {
            if (envelope == null) {
                return; // the heartbeat: its commit moves the position, its rows are not data
            }
            openIfNeeded();
            producer.send(OversizedChanges.recordFor(relation.topic(), commitTsMs, key, envelope, tooLarge), callback);
            FaultPoints.pass("source.stream-row"); // sent inside the open Kafka transaction, nothing committed
            if (relation.isContent()) {
                if (op == 'd' && key != null) {
                    producer.send(new ProducerRecord<String, byte[]>(relation.topic(), null, (Long) commitTsMs, key, null), callback);
                }
                contents++;
            } else {
                events++;
            }
            rows++;
            rowsInTransaction++;
        }

        @Override
        public void commit(long commitLsn, long endLsn, long commitTsMs) {
            inside = false;
            end = endLsn;
            endTs = commitTsMs;
            if (commits < commitTimes.length) {
                commitTimes[commits] = commitTsMs;
                commitRows[commits] = rowsInTransaction;
            }
            rowsInTransaction = 0;
            commits++;
        }

        @Override
        public void truncate(List<Relation> relations, long lsn) {
            for (Relation r : relations) {
                if (r.topic() == null) {
                    continue;
                }
                registry.counter("pipeline.source.truncates", "table", r.name()).increment();
                LOG.warn("TRUNCATE of {} at {}: its rows are gone from PostgreSQL, but the pipeline keeps what it "
                        + "counted from them (Redis, the warehouse and the API are not wiped); the oracle over SQL no "
                        + "longer covers those rows", r.qualifiedName(), Lsn.format(lsn));
            }
        }

        private void openIfNeeded() {
            if (!open) {
                producer.beginTransaction();
                open = true;
                openedAt = System.currentTimeMillis();
            }
        }

        /** Commits at a PostgreSQL commit boundary when the stream is idle, or the transaction is big or old. */
        void commitIfDue(boolean idle, long now) {
            if (inside || end < 0) {
                return;
            }
            if (!idle && rows < MAX_ROWS_PER_KAFKA_TRANSACTION && now - openedAt < MAX_KAFKA_TRANSACTION_MS) {
                return;
            }
            openIfNeeded();
            producer.send(SourcePositions.record(pg.slotName(), new SourcePositions.Position(end, endTs)), callback);
            FaultPoints.pass("source.after-send");
            producer.commitTransaction();
            if (failed.get() != null) {
                throw new IllegalStateException("writing captured changes to Kafka failed: "
                        + failed.get().getMessage(), failed.get());
            }
            FaultPoints.pass("source.after-commit");
            LogSequenceNumber confirmed = LogSequenceNumber.valueOf(end);
            stream.setAppliedLSN(confirmed);
            stream.setFlushedLSN(confirmed);
            long done = System.currentTimeMillis();
            for (int i = 0; i < Math.min(commits, commitTimes.length); i++) {
                long ms = Math.max(0, done - commitTimes[i]);
                for (int r = 0; r < commitRows[i]; r++) { // the histogram is per row, as for every other stage
                    latency.record(ms, TimeUnit.MILLISECONDS);
                }
            }
            kafkaTransactions.increment();
            records("content").increment(contents);
            records("engagement_events").increment(events);
            if (rows > 0 || status.state() != State.STREAMING) {
                status = new SourceStatus(State.STREAMING, "streaming", Math.max(status.lastCommitTsMs(), endTs));
            }
            open = false;
            rows = 0;
            commits = 0;
            contents = 0;
            events = 0;
            end = -1;
        }
    }

    private static Callback failure(AtomicReference<Exception> failed) {
        return (meta, e) -> {
            if (e != null) {
                failed.compareAndSet(null, e);
            }
        };
    }

    /** The heartbeat: a change in this database every few seconds, so that an idle database pins no WAL. */
    private void heartbeat() {
        if (closed || status.state() != State.STREAMING) {
            return;
        }
        try {
            if (heartbeat == null || !heartbeat.isValid(2)) {
                if (heartbeat != null) {
                    heartbeat.close();
                }
                heartbeat = Database.connect(pg);
            }
            try (Statement s = heartbeat.createStatement()) {
                s.execute(Schema.HEARTBEAT_UPSERT);
            }
        } catch (SQLException e) {
            LOG.warn("cannot write the source's heartbeat: {}", e.getMessage());
            heartbeat = null;
        }
    }

    private void checkSlot() {
        if (closed || fatal) {
            return;
        }
        try {
            slotMonitor.watch(status.state() == State.STREAMING, slotLag).ifPresent(this::failFromTimer);
        } catch (Exception e) {
            LOG.warn("cannot read the replication slot's state: {}", e.getMessage());
        }
    }

    private void failFromTimer(String message) {
        fail(message);
        capture.interrupt();
        closeReplication();
    }

    private void warnIfUnlimitedWal(Connection c) throws SQLException {
        if (unlimitedWalWarned) {
            return;
        }
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW max_slot_wal_keep_size")) {
            if (rs.next() && "-1".equals(rs.getString(1))) {
                unlimitedWalWarned = true;
                LOG.warn("PostgreSQL {} has max_slot_wal_keep_size=-1 (unlimited): while capture is down, the slot "
                        + "keeps every WAL segment and can fill the disk. Set a limit (ALTER SYSTEM SET "
                        + "max_slot_wal_keep_size = '50GB'); past it the slot is lost and capture stops loudly", pg);
            }
        }
    }

    private String lostMessage() {
        return SlotMonitor.lostMessage(pg.slotName());
    }

    private void fail(String message) {
        fatal = true;
        closed = true;
        status = new SourceStatus(State.FAILED, message, status.lastCommitTsMs());
        LOG.error("change data capture failed: {}", message);
    }

    private void closeReplication() {
        Connection c = replication;
        replication = null;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                LOG.debug("closing the replication connection: {}", e.getMessage());
            }
        }
    }

    private void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    @Override
    public long restarts() {
        return restarts.get();
    }

    @Override
    public SourceStatus status() {
        return SlotMonitor.withLag(status, slotLag.get());
    }

    public long slotLagBytes() {
        return slotLag.get();
    }

    @Override
    public void close() {
        boolean wasFatal = fatal;
        closed = true;
        timers.shutdownNow();
        try {
            capture.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeReplication();
        try {
            if (heartbeat != null) {
                heartbeat.close();
            }
        } catch (SQLException ignored) {
            // stopping
        }
        if (!wasFatal && !fatal) {
            status = new SourceStatus(State.STOPPED, "stopped", status.lastCommitTsMs());
        }
    }

    /** The slot is gone or invalidated: capture cannot go on without losing changes. Not retried. */
    static final class LostSlotException extends Exception {
        LostSlotException(String message) {
            super(message);
        }
    }
}
