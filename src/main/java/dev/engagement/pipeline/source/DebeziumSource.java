package dev.engagement.pipeline.source;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import dev.engagement.pipeline.metrics.Latency;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.fault.FaultPoints;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Change data capture with the Debezium embedded engine on PostgreSQL's pgoutput plugin: an initial
 * snapshot, then streaming. Each batch is written to Kafka and acknowledged before Debezium may
 * commit its position, so nothing is lost. Debezium is at-least-once after a crash: the changes it
 * sends again are dropped by {@link RestartFilter}, and the sinks recognise any other repeat by event id.
 */
public final class DebeziumSource implements ChangeSource {
    private static final Logger LOG = LoggerFactory.getLogger(DebeziumSource.class);
    static final String TOPIC_PREFIX = "pipeline";
    static final String ENGINE_NAME = "engagement-pipeline-source";

    private final PipelineConfig config;
    private final KafkaProducer<String, byte[]> producer;
    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> new Thread(r, "cdc-source"));
    private final Counter contentRecords;
    private final Counter eventRecords;
    private final Timer latency;
    /** Row schemas already checked, by identity (Debezium reuses one per table version). */
    private final Map<org.apache.kafka.connect.data.Schema, Boolean> checkedSchemas =
            java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());
    private volatile SourceStatus status = new SourceStatus(State.STARTING, "starting", 0);
    private DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;
    private final SlotMonitor slotMonitor;
    private final AtomicLong slotLag = new AtomicLong(-1);
    private final ScheduledExecutorService monitor = Executors.newSingleThreadScheduledExecutor(
            dev.engagement.pipeline.Threads.daemon("cdc-slot-monitor"));
    private volatile boolean closed;
    private volatile boolean fatal;
    private volatile RestartFilter restartFilter = RestartFilter.none();
    private final Counter repeats;
    private final Counter tooLarge;

    public DebeziumSource(PipelineConfig config, MeterRegistry registry) {
        this.config = config;
        this.producer = new KafkaProducer<>(KafkaClients.producer(config, "cdc-source"));
        this.contentRecords = Counter.builder("pipeline.source.records").tag("table", "content")
                .description("Captured rows written to the CDC topics").register(registry);
        this.eventRecords = Counter.builder("pipeline.source.records").tag("table", "engagement_events")
                .description("Captured rows written to the CDC topics").register(registry);
        this.latency = Latency.timer(registry, "source");
        this.slotMonitor = new SlotMonitor(config.postgres());
        this.repeats = Counter.builder("pipeline.source.repeats")
                .description("Changes Debezium emitted again after a restart that were already in Kafka, not written twice")
                .register(registry);
        this.tooLarge = Counter.builder("pipeline.source.too.large")
                .description("Captured changes larger than Kafka's record limit, sent to engagement.invalid as "
                        + "too_large instead of their CDC topic").register(registry);
        Gauge.builder("pipeline.source.slot.lag.bytes", slotLag, AtomicLong::doubleValue)
                .description("WAL written since the replication slot's confirmed position (-1: unknown)").register(registry);
        Gauge.builder("pipeline.source.last.commit.timestamp.seconds", this, s -> s.status.lastCommitTsMs() / 1000.0)
                .description("Commit time of the last captured row").register(registry);
    }

    Properties engineProperties() {
        PipelineConfig.Postgres pg = config.postgres();
        Properties p = new Properties();
        // security settings reach the engine's own Kafka clients (the offset store) from the top level
        config.kafka().clientConfig().forEach(p::setProperty);
        p.setProperty("name", ENGINE_NAME);
        p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        p.setProperty("offset.storage", SourceOffsetStore.class.getName());
        p.setProperty("offset.storage.topic", Topics.SOURCE_OFFSETS);
        p.setProperty("offset.storage.partitions", "1");
        p.setProperty("offset.storage.replication.factor", Short.toString(config.kafka().replicationFactor()));
        p.setProperty("offset.flush.interval.ms", "1000");
        p.setProperty("offset.flush.timeout.ms", "10000");
        p.setProperty("bootstrap.servers", config.kafka().bootstrapServers());
        p.setProperty("database.hostname", pg.host());
        p.setProperty("database.port", Integer.toString(pg.port()));
        p.setProperty("database.user", pg.user());
        p.setProperty("database.password", pg.password().reveal());
        p.setProperty("database.dbname", pg.database());
        p.setProperty("database.sslmode", pg.sslMode().wire());
        pg.sslRootCert().ifPresent(cert -> p.setProperty("database.sslrootcert", cert.toAbsolutePath().toString()));
        p.setProperty("topic.prefix", TOPIC_PREFIX);
        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", pg.slotName());
        p.setProperty("publication.name", pg.publication());
        p.setProperty("publication.autocreate.mode", "filtered");
        p.setProperty("table.include.list", "public.content,public.engagement_events,public." + Schema.HEARTBEAT_TABLE);
        p.setProperty("heartbeat.interval.ms", "5000");
        p.setProperty("heartbeat.action.query", Schema.HEARTBEAT_UPSERT);
        p.setProperty("snapshot.mode", "initial");
        p.setProperty("decimal.handling.mode", "string");
        p.setProperty("tombstones.on.delete", "true");
        p.setProperty("max.batch.size", "8192");
        p.setProperty("max.queue.size", "65536");
        p.setProperty("poll.interval.ms", "20");
        p.setProperty("status.update.interval.ms", "1000");
        p.setProperty("errors.max.retries", "-1");
        p.setProperty("errors.retry.delay.initial.ms", "500");
        p.setProperty("errors.retry.delay.max.ms", "10000");
        return p;
    }

    @Override
    public void start() {
        Optional<SlotMonitor.Slot> slot = readSlot();
        if (slot.isEmpty() && capturedBefore()) {
            fail("replication slot '" + config.postgres().slotName() + "' does not exist, but this pipeline has captured "
                    + "from " + config.postgres() + " before (" + Topics.SOURCE_OFFSETS + " or " + Topics.CDC_EVENTS
                    + " say so): the slot "
                    + "was dropped or lost, and the changes committed since the last capture cannot be read. Nothing "
                    + "will be captured rather than skip them silently. To capture everything again from a new "
                    + "snapshot, delete the topic " + Topics.SOURCE_OFFSETS + " and restart; the sinks ignore events "
                    + "they already hold");
            return;
        }
        slot.filter(SlotMonitor.Slot::lost).ifPresent(s -> fail(lostMessage()));
        if (status.state() == State.FAILED) {
            return;
        }
        restartFilter = RestartFilter.load(config, ENGINE_NAME);
        if (slot.isPresent() && !restartFilter.positionStored()) {
            dropStaleSlot(slot.get());
        }
        startEngine();
        monitor.scheduleWithFixedDelay(this::checkSlot, 5, 5, TimeUnit.SECONDS);
        LOG.info("change data capture starting from {} (slot {}, publication {})", config.postgres(),
                config.postgres().slotName(), config.postgres().publication());
    }

    private void startEngine() {
        engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(engineProperties())
                .notifying(this::handleBatch)
                .using((success, message, error) -> {
                    if (closed || fatal) {
                        return;
                    }
                    if (!success) {
                        // not a lost slot (that is fatal, above): start again from the committed position
                        status = new SourceStatus(State.STARTING, "restarting after: " + message, status.lastCommitTsMs());
                        LOG.error("change data capture stopped ({}); restarting in 5 s from its last committed position",
                                message, error);
                        monitor.schedule(this::restart, 5, TimeUnit.SECONDS);
                    }
                })
                .build();
        executor.execute(engine);
    }

    /**
     * Refuses a batch with rows of a table that lacks a column the pipeline needs (the engine stops
     * and starts again in 5 s, with the reason in /health): its rows would become wrong events.
     * Each row schema is checked once.
     */
    private void requireColumns(String table, org.apache.kafka.connect.data.Schema row) {
        if (checkedSchemas.containsKey(row)) {
            return;
        }
        List<String> problems = SourceColumns.problems(table, row);
        if (!problems.isEmpty()) {
            String message = SourceColumns.message(table, problems);
            LOG.error("change data capture refuses a change: {}", message);
            throw new IllegalStateException(message);
        }
        if (checkedSchemas.size() > 1_000) {
            checkedSchemas.clear(); // bounded, whatever a connector does with its schema objects
        }
        checkedSchemas.put(row, Boolean.TRUE);
    }

    private void restart() {
        if (closed || fatal) {
            return;
        }
        closeEngine();
        restartFilter = RestartFilter.load(config, ENGINE_NAME);
        startEngine();
    }

    private void checkSlot() {
        if (closed || fatal) {
            return;
        }
        try {
            slotMonitor.watch(status.state() == State.STREAMING, slotLag).ifPresent(this::fail);
        } catch (Exception e) {
            LOG.warn("cannot read the replication slot's state: {}", e.getMessage());
        }
    }

    private String lostMessage() {
        return SlotMonitor.lostMessage(config.postgres().slotName());
    }

    private void fail(String message) {
        fatal = true;
        status = new SourceStatus(State.FAILED, message, status.lastCommitTsMs());
        LOG.error("change data capture failed: {}", message);
        new Thread(this::closeEngine, "cdc-source-stop").start();
    }

    /**
     * No stored position means Debezium snapshots again; streaming would then start from the slot's
     * old position, before the new snapshot, and overlap it. A slot of ours without a position (the
     * last run stopped before its first offset commit) is dropped so that the new slot and the new
     * snapshot start at the same point.
     */
    private void dropStaleSlot(SlotMonitor.Slot slot) {
        if (slot.active()) {
            LOG.warn("replication slot '{}' is in use by another process; leaving it", config.postgres().slotName());
            return;
        }
        try (java.sql.Connection c = dev.engagement.pipeline.db.Database.connect(config.postgres());
             java.sql.PreparedStatement ps = c.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
            ps.setString(1, config.postgres().slotName());
            ps.execute();
            LOG.warn("replication slot '{}' existed without a stored capture position (the last run stopped before "
                    + "its first commit); dropped it so that a new snapshot and the stream start at the same point",
                    config.postgres().slotName());
        } catch (java.sql.SQLException e) {
            LOG.warn("cannot drop the stale replication slot '{}': {}", config.postgres().slotName(), e.getMessage());
        }
    }

    private Optional<SlotMonitor.Slot> readSlot() {
        try {
            return slotMonitor.read();
        } catch (Exception e) {
            LOG.warn("cannot read the replication slot's state: {}", e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Whether this pipeline has captured before: then a missing slot means lost changes. Debezium's
     * position topic exists (it is made when capture first starts; deleting it is how an operator
     * asks for a new snapshot) and holds a position, or the CDC topic holds changes (a process
     * stopped before its first position was stored has captured too).
     */
    private boolean capturedBefore() {
        try (Admin admin = Admin.create(KafkaClients.admin(config))) {
            var topics = admin.listTopics().names().get(10, TimeUnit.SECONDS);
            if (!topics.contains(Topics.SOURCE_OFFSETS)) {
                return false;
            }
            Map<TopicPartition, OffsetSpec> ends = new java.util.HashMap<>();
            ends.put(new TopicPartition(Topics.SOURCE_OFFSETS, 0), OffsetSpec.latest());
            if (topics.contains(Topics.CDC_EVENTS)) {
                admin.describeTopics(List.of(Topics.CDC_EVENTS)).allTopicNames().get(10, TimeUnit.SECONDS)
                        .get(Topics.CDC_EVENTS).partitions()
                        .forEach(p -> ends.put(new TopicPartition(Topics.CDC_EVENTS, p.partition()), OffsetSpec.latest()));
            }
            for (var end : admin.listOffsets(ends).all().get(10, TimeUnit.SECONDS).values()) {
                if (end.offset() > 0) {
                    return true;
                }
            }
            return false;
        } catch (Exception e) {
            throw new IllegalStateException("cannot tell whether this pipeline has captured before: " + e.getMessage(), e);
        }
    }

    private void handleBatch(List<RecordChangeEvent<SourceRecord>> batch,
                             DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer)
            throws InterruptedException {
        List<Future<RecordMetadata>> sends = new ArrayList<>(batch.size());
        long lastCommitTs = status.lastCommitTsMs();
        State state = status.state();
        int contents = 0;
        int events = 0;
        for (RecordChangeEvent<SourceRecord> change : batch) {
            SourceRecord record = change.record();
            String topic = record.topic();
            boolean isContent = Topics.CDC_CONTENT.equals(topic);
            if (!isContent && !Topics.CDC_EVENTS.equals(topic)) {
                continue; // heartbeats and other connector records are not data
            }
            Struct value = (Struct) record.value();
            if (value == null) {
                if (isContent && record.key() instanceof Struct key) {
                    sends.add(producer.send(new ProducerRecord<>(topic, String.valueOf(key.get("id")), null)));
                }
                continue;
            }
            requireColumns(isContent ? "content" : "engagement_events", value.schema().field("after").schema());
            if (restartFilter.repeat(topic, value)) {
                repeats.increment();
                continue;
            }
            Struct source = value.getStruct("source");
            long ts = source.getInt64("ts_ms");
            lastCommitTs = Math.max(lastCommitTs, ts);
            String snapshot = source.getString("snapshot");
            // the snapshot's last row ("last") ends it: streaming follows
            state = snapshot == null || "false".equals(snapshot) || "last".equals(snapshot) ? State.STREAMING
                    : State.SNAPSHOT;
            String key = keyOf(value, isContent ? "id" : "content_id");
            sends.add(producer.send(OversizedChanges.recordFor(topic, ts, key, EnvelopeWriter.write(value), tooLarge)));
            if (isContent) {
                contents++;
            } else {
                events++;
            }
        }
        producer.flush();
        FaultPoints.pass("source.after-send");
        long now = System.currentTimeMillis();
        for (Future<RecordMetadata> send : sends) {
            try {
                send.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("writing captured changes to Kafka failed: " + e.getCause().getMessage(),
                        e.getCause());
            }
        }
        int complete = completeGroups(batch);
        for (int i = 0; i < batch.size(); i++) {
            RecordChangeEvent<SourceRecord> change = batch.get(i);
            if (change.record().value() instanceof Struct v && v.schema().field("source") != null
                    && !State.SNAPSHOT.equals(state)) {
                latency.record(Math.max(0, now - v.getStruct("source").getInt64("ts_ms")), TimeUnit.MILLISECONDS);
            }
            if (i < complete) {
                committer.markProcessed(change);
            }
        }
        committer.markBatchFinished();
        contentRecords.increment(contents);
        eventRecords.increment(events);
        if (fatal || closed) {
            return;
        }
        if (state != status.state() || lastCommitTs != status.lastCommitTsMs()) {
            if (state != status.state()) {
                LOG.info("change data capture is now {}", state == State.SNAPSHOT ? "snapshotting existing rows"
                        : "streaming changes");
            }
            status = new SourceStatus(state, state == State.SNAPSHOT ? "initial snapshot" : "streaming", lastCommitTs);
        }
    }

    /**
     * How many leading records of a batch Debezium may store as processed. Every row of a COPY or a
     * multi-row INSERT comes from one WAL record and shares its LSN, and Debezium 3.6 treats a stored
     * LSN as fully processed: storing a position inside such a group would make a restart skip the
     * group's remaining rows. So the trailing group of streamed records stays unmarked until a record
     * with another LSN follows (a heartbeat does within seconds); after a crash the whole group comes
     * again, and {@link RestartFilter} drops the rows already written.
     */
    static int completeGroups(List<RecordChangeEvent<SourceRecord>> batch) {
        int end = batch.size();
        if (end == 0) {
            return 0;
        }
        Object trailing = streamedLsn(batch.get(end - 1).record());
        if (trailing == null) {
            return end;
        }
        int i = end;
        while (i > 0 && trailing.equals(streamedLsn(batch.get(i - 1).record()))) {
            i--;
        }
        return i;
    }

    /** The stored position's LSN of a streamed record; null for snapshot reads. */
    private static Object streamedLsn(SourceRecord record) {
        Map<String, ?> offset = record.sourceOffset();
        if (offset == null || Boolean.TRUE.equals(offset.get("snapshot"))) {
            return null;
        }
        return offset.get("lsn");
    }

    private static String keyOf(Struct envelope, String field) {
        Struct row = envelope.getStruct("after");
        if (row == null) {
            row = envelope.getStruct("before");
        }
        if (row == null || row.schema().field(field) == null) {
            return null;
        }
        Object v = row.get(field);
        return v == null ? null : v.toString();
    }

    @Override
    public SourceStatus status() {
        return SlotMonitor.withLag(status, slotLag.get());
    }

    /** WAL bytes the slot holds back, or -1 before the first reading. */
    public long slotLagBytes() {
        return slotLag.get();
    }

    private synchronized void closeEngine() {
        try {
            if (engine != null) {
                engine.close();
                engine = null;
            }
        } catch (IOException e) {
            LOG.warn("closing the change data capture engine: {}", e.getMessage());
        }
    }

    @Override
    public void close() {
        closed = true;
        monitor.shutdownNow();
        closeEngine();
        executor.shutdown();
        try {
            if (!executor.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close();
        if (!fatal) {
            status = new SourceStatus(State.STOPPED, "stopped", status.lastCommitTsMs());
        }
    }
}
