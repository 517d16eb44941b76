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
import org.apache.kafka.clients.producer.KafkaProducer;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Change data capture with the Debezium embedded engine on PostgreSQL's pgoutput plugin: an initial
 * snapshot, then streaming. Each batch is written to Kafka and acknowledged before Debezium may
 * commit its position, so nothing is lost; what is written twice after a crash (Debezium is
 * at-least-once) the sinks recognise by event id.
 */
public final class DebeziumSource implements ChangeSource {
    private static final Logger LOG = LoggerFactory.getLogger(DebeziumSource.class);
    static final String TOPIC_PREFIX = "pipeline";

    private final PipelineConfig config;
    private final KafkaProducer<String, byte[]> producer;
    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> new Thread(r, "cdc-source"));
    private final Counter contentRecords;
    private final Counter eventRecords;
    private final Timer latency;
    private volatile SourceStatus status = new SourceStatus(State.STARTING, "starting", 0);
    private DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;

    public DebeziumSource(PipelineConfig config, MeterRegistry registry) {
        this.config = config;
        this.producer = new KafkaProducer<>(KafkaClients.producer(config, "cdc-source"));
        this.contentRecords = Counter.builder("pipeline.source.records").tag("table", "content")
                .description("Captured rows written to the CDC topics").register(registry);
        this.eventRecords = Counter.builder("pipeline.source.records").tag("table", "engagement_events")
                .description("Captured rows written to the CDC topics").register(registry);
        this.latency = Latency.timer(registry, "source");
        Gauge.builder("pipeline.source.last.commit.timestamp.seconds", this, s -> s.status.lastCommitTsMs() / 1000.0)
                .description("Commit time of the last captured row").register(registry);
    }

    Properties engineProperties() {
        PipelineConfig.Postgres pg = config.postgres();
        Properties p = new Properties();
        p.setProperty("name", "engagement-pipeline-source");
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
        p.setProperty("topic.prefix", TOPIC_PREFIX);
        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", pg.slotName());
        p.setProperty("publication.name", pg.publication());
        p.setProperty("publication.autocreate.mode", "filtered");
        p.setProperty("table.include.list", "public.content,public.engagement_events");
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
        engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(engineProperties())
                .notifying(this::handleBatch)
                .using((success, message, error) -> {
                    if (!success) {
                        status = new SourceStatus(State.FAILED, message, status.lastCommitTsMs());
                        LOG.error("change data capture stopped: {}", message, error);
                    } else if (status.state() != State.FAILED) {
                        status = new SourceStatus(State.STOPPED, "stopped", status.lastCommitTsMs());
                    }
                })
                .build();
        executor.execute(engine);
        LOG.info("change data capture starting from {} (slot {}, publication {})", config.postgres(),
                config.postgres().slotName(), config.postgres().publication());
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
            Struct source = value.getStruct("source");
            long ts = source.getInt64("ts_ms");
            lastCommitTs = Math.max(lastCommitTs, ts);
            String snapshot = source.getString("snapshot");
            state = snapshot == null || "false".equals(snapshot) ? State.STREAMING
                    : "last".equals(snapshot) ? State.STREAMING : State.SNAPSHOT;
            String key = keyOf(value, isContent ? "id" : "content_id");
            sends.add(producer.send(new ProducerRecord<>(topic, null, ts, key, EnvelopeWriter.write(value))));
            if (isContent) {
                contents++;
            } else {
                events++;
            }
        }
        producer.flush();
        long now = System.currentTimeMillis();
        for (Future<RecordMetadata> send : sends) {
            try {
                send.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("writing captured changes to Kafka failed: " + e.getCause().getMessage(),
                        e.getCause());
            }
        }
        for (RecordChangeEvent<SourceRecord> change : batch) {
            if (change.record().value() instanceof Struct v && v.schema().field("source") != null
                    && !State.SNAPSHOT.equals(state)) {
                latency.record(Math.max(0, now - v.getStruct("source").getInt64("ts_ms")), TimeUnit.MILLISECONDS);
            }
            committer.markProcessed(change);
        }
        committer.markBatchFinished();
        contentRecords.increment(contents);
        eventRecords.increment(events);
        if (state != status.state() || lastCommitTs != status.lastCommitTsMs()) {
            if (state != status.state()) {
                LOG.info("change data capture is now {}", state == State.SNAPSHOT ? "snapshotting existing rows"
                        : "streaming changes");
            }
            status = new SourceStatus(state, state == State.SNAPSHOT ? "initial snapshot" : "streaming", lastCommitTs);
        }
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
        return status;
    }

    @Override
    public void close() {
        try {
            if (engine != null) {
                engine.close();
            }
        } catch (IOException e) {
            LOG.warn("closing the change data capture engine: {}", e.getMessage());
        }
        executor.shutdown();
        try {
            if (!executor.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close();
        if (status.state() != State.FAILED) {
            status = new SourceStatus(State.STOPPED, "stopped", status.lastCommitTsMs());
        }
    }
}
