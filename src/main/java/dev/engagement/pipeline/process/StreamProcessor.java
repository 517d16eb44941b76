package dev.engagement.pipeline.process;

import dev.engagement.pipeline.Threads;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.quality.QualityWatch;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import dev.engagement.pipeline.RepeatedFailures;
import dev.engagement.pipeline.sink.Retry;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs {@link EnrichmentTopology} with Kafka Streams under {@code exactly_once_v2}: input offsets,
 * state-store changes and output records commit in one Kafka transaction. A stream thread that
 * dies of an unexpected error stops the client, and a new one resumes from the last commit, never
 * skipping input.
 * An input position that expired (the processor was away longer than a topic's retention) is never
 * skipped quietly: the processor stops, says which partitions and offsets are gone, and starts
 * again once an operator accepts the gap.
 */
public final class StreamProcessor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StreamProcessor.class);
    public static final String APPLICATION_ID = "engagement-processor";
    private static final Duration GAP_CHECK_EVERY = Duration.ofSeconds(5);

    private final PipelineConfig config;
    private final MeterRegistry registry;
    private final Admin admin;
    private final ScheduledExecutorService watch = Executors.newSingleThreadScheduledExecutor(
            Threads.daemon("processor-gap-watch"));
    private final AtomicLong gapRecords = new AtomicLong();
    private final AtomicLong restarts = new AtomicLong();
    /** A client that ran this long without failing starts the back-off over. */
    private static final Duration HEALTHY_AFTER = Duration.ofMinutes(1);
    private final Retry.Schedule restartSchedule = new Retry(Duration.ofSeconds(1), Duration.ofSeconds(30),
            java.time.Clock.systemUTC(), Retry.THREAD_SLEEP).schedule();
    private java.time.Instant restartedAt = java.time.Instant.MIN;
    private final RepeatedFailures failures = new RepeatedFailures(LOG, Duration.ofMinutes(1));
    private volatile KafkaStreams streams;
    private io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics streamsMetrics;
    private volatile List<ProcessorPositions.Gap> gaps = List.of();
    private volatile boolean closed;
    private final QualityWatch quality;
    private List<Integer> watchedPartitions = List.of();

    public StreamProcessor(PipelineConfig config, MeterRegistry registry) {
        this.config = config;
        this.registry = registry;
        this.admin = Admin.create(KafkaClients.admin(config));
        this.quality = new QualityWatch(config.processor().qualityBucket(), config.processor().qualityBaselineBuckets(),
                registry, java.time.Clock.systemUTC());
        Gauge.builder("pipeline.processor.gap.records", gapRecords, AtomicLong::doubleValue)
                .description("Records that expired from the processor's input topics before it processed them, "
                        + "while it is stopped until the gap is accepted").register(registry);
    }

    static final int COMMIT_INTERVAL_MS = 100;

    static Properties properties(PipelineConfig config) {
        Properties p = new Properties();
        p.putAll(config.kafka().clientConfig()); // security settings, for every client Streams makes
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, APPLICATION_ID);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafka().bootstrapServers());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        p.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().resolve("streams").toAbsolutePath().toString());
        // under load; after a quiet spell the processor asks for a commit at once (EnrichmentProcessor)
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, COMMIT_INTERVAL_MS);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) config.kafka().replicationFactor());
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        // never wait for an empty input partition: an event that comes before its content waits in
        // the pending store anyway, and waiting costs Streams a formatted diagnostic per partition
        p.put(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, -1L);
        p.put("processing.exception.handler.global.enabled", "true");
        // a position out of range is a gap to report, never a reason to start over quietly; the
        // first start sets its positions explicitly (ProcessorPositions)
        p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "none");
        p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), config.kafka().compression());
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 256 * 1024);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), Topics.MAX_MESSAGE_BYTES + 1024);
        // after a kill -9 the dead instance's open transaction blocks read_committed readers until the
        // broker aborts it: keep that short (the transaction itself lasts one 100 ms commit interval)
        p.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 10_000);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 5000);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG), Topics.MAX_MESSAGE_BYTES + 1024);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10_000);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 1_000);
        config.instanceId().ifPresent(id ->
                p.put(StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG), APPLICATION_ID + "-" + id));
        return p;
    }

    /**
     * Every start checks the processor's positions before the stream threads start: it sets those
     * missing (a first start, or a group whose committed offsets were lost), and stops on a gap. The
     * local state in DATA_DIR is first checked against the Kafka it was built from
     * ({@link KafkaBinding}): built from another cluster or from topics since re-created, it is
     * dropped and the processor starts fresh on the Kafka of now, which is exact because its stores
     * live in that Kafka's changelogs; nothing of the old cluster is trusted.
     */
    public void start() {
        quality.start();
        // its baselines are of this instance's share of the events: a new share starts them again
        watch.scheduleWithFixedDelay(this::watchPartitions, 1, 1, TimeUnit.SECONDS);
        bindLocalState();
        if (!startIfNoGaps()) {
            watchGaps();
        }
    }

    private void bindLocalState() {
        Path streamsDir = config.stateDir().resolve("streams");
        Path app = streamsDir.resolve(APPLICATION_ID);
        try {
            KafkaBinding now = KafkaBinding.of(admin, ProcessorPositions.INPUTS);
            Optional<KafkaBinding> then = KafkaBinding.read(streamsDir);
            List<String> differences = then.map(b -> b.differences(now)).orElse(List.of());
            if (Files.exists(app) && (then.isEmpty() || !differences.isEmpty())) {
                LOG.warn("processor: its local state in {} was built from another Kafka ({}); it is dropped and the "
                        + "processor starts fresh on {}: positions from this cluster's group, stores from its changelogs",
                        app, then.isEmpty() ? "no record of which" : String.join("; ", differences),
                        config.kafka().bootstrapServers());
                deleteTree(app);
            }
            now.write(streamsDir);
        } catch (Exception e) {
            throw new IllegalStateException("cannot check the processor's local state in " + app + " against Kafka "
                    + config.kafka().bootstrapServers() + ": " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Sets missing positions and starts the stream threads, unless an input position expired. */
    private synchronized boolean startIfNoGaps() {
        if (closed) {
            return true;
        }
        List<ProcessorPositions.Gap> found;
        try {
            found = ProcessorPositions.prepare(admin, APPLICATION_ID);
        } catch (Exception e) {
            throw new IllegalStateException("cannot read the processor's input positions: " + e.getMessage(), e);
        }
        gaps = found;
        gapRecords.set(found.stream().mapToLong(g -> g.to() - g.from()).sum());
        if (!found.isEmpty()) {
            LOG.error("processor stops: records expired from its input topics before it processed them: {}; nothing "
                    + "is skipped silently. Accept the loss with './pipeline accept-gap --stage processor' and refill "
                    + "it with './pipeline backfill'", found);
            return false;
        }
        startStreams();
        return true;
    }

    private synchronized void startStreams() {
        if (closed) {
            return;
        }
        KafkaStreams s = new KafkaStreams(EnrichmentTopology.build(config.processor().contentGracePeriod(), registry,
                quality), properties(config));
        s.setUncaughtExceptionHandler(e -> {
            restarts.incrementAndGet();
            if (ProcessorPositions.isPositionLost(e)) {
                failures.log("stream processor: an input position is missing or no longer in its topic; setting the "
                        + "positions of a first start, or stopping to report a gap", e, false);
                watch.schedule(this::afterPositionLost, 0, TimeUnit.MILLISECONDS);
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            }
            // a new client, not a replaced thread: a replacement thread takes the next thread index and
            // with it a new transactional id, so the open transaction of the failed one is never
            // fenced; it blocks every read_committed reader and every stable offset fetch until the
            // broker times it out, or for good when the broker lost track of it (BrokerRestartIT after a
            // broker kill -9, KAFKA-20785). A new client's thread 1 has the failed thread's id and
            // aborts that transaction in initTransactions.
            long wait = restartWaitMs(e);
            failures.log("stream processor thread failed; starting the processor again in " + wait
                    + " ms, from the last commit", e, true);
            watch.schedule(this::restartAfterFailure, wait, TimeUnit.MILLISECONDS);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        s.setStateListener((now, before) -> LOG.info("stream processor {} -> {}", before, now));
        streams = s;
        closeStreamsMetrics();
        streamsMetrics = new io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics(s);
        streamsMetrics.bindTo(registry); // kafka_stream_*, kafka_consumer_*, kafka_producer_* of its clients
        s.start();
    }

    private void watchPartitions() {
        List<Integer> now = partitions();
        if (!now.equals(watchedPartitions)) {
            watchedPartitions = now;
            quality.reset("the processor's partitions are now " + now);
        }
    }

    /** The data-quality watch over the events this instance processes. */
    public QualityWatch quality() {
        return quality;
    }

    /** Runs once a stream thread failed: close the client (it stays in its group, as a static member), start a new one. */
    private void restartAfterFailure() {
        KafkaStreams s = streams;
        if (s != null) {
            s.close(Duration.ofSeconds(30));
        }
        if (!startIfNoGaps()) {
            watchGaps();
        }
    }

    /** Runs once the stream threads stopped on a lost position: close them, then watch for acceptance. */
    private void afterPositionLost() {
        KafkaStreams s = streams;
        if (s != null) {
            // leave the group: a member that stays (static membership keeps it for a session time-out)
            // makes the group refuse the positions that the next start must set
            s.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                    .withTimeout(Duration.ofSeconds(30)));
        }
        if (!startIfNoGaps()) {
            watchGaps();
        }
    }

    /** While stopped for a gap: every few seconds, has an operator accepted it? */
    private void watchGaps() {
        if (closed) {
            return;
        }
        watch.schedule(() -> {
            try {
                if (startIfNoGaps()) {
                    LOG.info("processor starts again: its gaps were accepted");
                    return;
                }
            } catch (RuntimeException e) {
                LOG.warn("processor: {}", e.getMessage());
            }
            watchGaps();
        }, GAP_CHECK_EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The stream threads' state; null while stopped for a gap before they ever started. */
    /** The partitions of the event topic whose tasks run here (active, not standby), in order. */
    public List<Integer> partitions() {
        KafkaStreams k = streams;
        if (k == null) {
            return List.of();
        }
        try {
            return k.metadataForLocalThreads().stream().flatMap(t -> t.activeTasks().stream())
                    .flatMap(task -> task.topicPartitions().stream())
                    .filter(tp -> tp.topic().equals(dev.engagement.pipeline.topic.Topics.CDC_EVENTS))
                    .map(org.apache.kafka.common.TopicPartition::partition).sorted().toList();
        } catch (IllegalStateException e) {
            return List.of(); // not running (yet, or any more)
        }
    }

    /** The topics the processor reads, in its group {@link #APPLICATION_ID}. */
    public static List<String> inputs() {
        return ProcessorPositions.INPUTS;
    }

    /** Stream threads replaced or restarted since this process started: a crash loop counts up here. */
    public long restarts() {
        return restarts.get();
    }

    public KafkaStreams.State state() {
        KafkaStreams s = streams;
        return s == null ? null : s.state();
    }

    /** Empty when it runs, else why it is stopped (the gaps, with partitions and offsets). */
    public String stoppedFor() {
        List<ProcessorPositions.Gap> g = gaps;
        return g.isEmpty() ? "" : "records expired from its input topics before it processed them: " + g
                + " (stopped; ./pipeline accept-gap --stage processor accepts the loss)";
    }

    /**
     * How long to wait before the next client after {@code failure}: the project's one back-off, 1 s
     * doubling to 30 s while failures follow one another; a client that ran a minute since its start
     * begins again at 1 s.
     */
    private synchronized long restartWaitMs(Throwable failure) {
        java.time.Instant now = java.time.Instant.now();
        if (Duration.between(restartedAt, now).compareTo(HEALTHY_AFTER) > 0) {
            restartSchedule.succeeded();
        }
        Duration wait = restartSchedule.failed(failure);
        restartedAt = now.plus(wait);
        return wait.toMillis();
    }

    private void closeStreamsMetrics() {
        if (streamsMetrics != null) {
            streamsMetrics.close();
            streamsMetrics = null;
        }
    }

    @Override
    public void close() {
        closed = true;
        watch.shutdownNow();
        quality.close();
        closeStreamsMetrics();
        KafkaStreams s = streams;
        if (s != null) {
            s.close(Duration.ofSeconds(30));
        }
        admin.close(Duration.ofSeconds(5));
    }
}
