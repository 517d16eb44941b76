package dev.engagement.pipeline.process;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Properties;

/**
 * Runs {@link EnrichmentTopology} with Kafka Streams under {@code exactly_once_v2}: input offsets,
 * state-store changes and output records commit in one Kafka transaction. A stream thread that
 * dies of an unexpected error is replaced and resumes from the last commit, never skipping input.
 */
public final class StreamProcessor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StreamProcessor.class);
    public static final String APPLICATION_ID = "engagement-processor";

    private final KafkaStreams streams;

    public StreamProcessor(PipelineConfig config, MeterRegistry registry) {
        this.streams = new KafkaStreams(EnrichmentTopology.build(config.processor().contentGracePeriod(), registry),
                properties(config));
        streams.setUncaughtExceptionHandler(e -> {
            LOG.error("stream processor thread failed; replacing it, it resumes from the last commit: {}",
                    e.getMessage(), e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.setStateListener((now, before) -> LOG.info("stream processor {} -> {}", before, now));
    }

    static Properties properties(PipelineConfig config) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, APPLICATION_ID);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafka().bootstrapServers());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        p.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().resolve("streams").toAbsolutePath().toString());
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) config.kafka().replicationFactor());
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        // never wait for an empty input partition: an event that comes before its content waits in
        // the pending store anyway, and waiting costs Streams a formatted diagnostic per partition
        p.put(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, -1L);
        p.put("processing.exception.handler.global.enabled", "true");
        p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), "lz4");
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

    public void start() {
        streams.start();
    }

    public KafkaStreams.State state() {
        return streams.state();
    }

    @Override
    public void close() {
        streams.close(Duration.ofSeconds(30));
    }
}
