package dev.engagement.pipeline.telemetry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.engagement.pipeline.Threads;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Sends this process's {@link Snapshot} to {@code pipeline.telemetry} once a second, and hands it
 * to this process's own view at once (so the dashboard shows its own process even while Kafka is
 * down). Best effort: a snapshot that cannot be sent is dropped, the next one says it all again.
 */
public final class TelemetryPublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TelemetryPublisher.class);
    private static final long WARN_EVERY_MS = 60_000;

    private final Supplier<Snapshot.Sources> sources;
    private final Consumer<ObjectNode> local;
    private final Clock clock;
    private final KafkaProducer<String, byte[]> producer;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(Threads.daemon("telemetry"));
    private volatile long lastWarnMs;

    public TelemetryPublisher(PipelineConfig config, String instance, Supplier<Snapshot.Sources> sources,
                              Consumer<ObjectNode> local, Clock clock) {
        this.sources = sources;
        this.local = local;
        this.clock = clock;
        Map<String, Object> p = KafkaClients.producer(config, "telemetry-" + instance);
        p.put(ProducerConfig.ACKS_CONFIG, "1");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 4L * 1024 * 1024);
        // never hold the tick while the broker is away: the snapshot is dropped instead
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 500);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 5000);
        this.producer = new KafkaProducer<>(p);
    }

    public void start() {
        // the first after 2 s: a process that starts needs its CPU for its stages first
        timer.scheduleWithFixedDelay(this::publish, 2, 1, TimeUnit.SECONDS);
    }

    void publish() {
        try {
            Snapshot.Sources s = sources.get();
            ObjectNode snapshot = Snapshot.of(s, clock.millis());
            local.accept(snapshot);
            producer.send(new ProducerRecord<>(Topics.TELEMETRY, s.instance(), Json.MAPPER.writeValueAsBytes(snapshot)),
                    (meta, e) -> {
                        if (e != null) {
                            warn(e);
                        }
                    });
        } catch (Exception e) {
            warn(e);
        }
    }

    private void warn(Exception e) {
        long now = clock.millis();
        if (now - lastWarnMs >= WARN_EVERY_MS) {
            lastWarnMs = now;
            LOG.warn("telemetry: cannot send this process's snapshot to {} ({}); other processes' dashboards miss it "
                    + "until Kafka answers", Topics.TELEMETRY, e.toString());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        producer.close(java.time.Duration.ofSeconds(2));
    }
}
