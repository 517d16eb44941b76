package dev.engagement.pipeline.telemetry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The whole pipeline as whichever process serves the dashboard sees it: every process's snapshots
 * from {@code pipeline.telemetry} (the last five minutes of them, read again at start), this
 * process's own straight from its publisher, folded by {@link ViewFold}.
 */
public final class PipelineView implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PipelineView.class);
    static final long KEEP_MS = ViewFold.SERIES_SECONDS * 1000L + 10_000;
    /** Bounds on what a foreign writer to the topic could make this process hold. */
    static final int MAX_INSTANCES = 200;
    static final int MAX_SNAPSHOT_BYTES = 256 * 1024;

    private final PipelineConfig config;
    private final String instance;
    private final Clock clock;
    private final Map<String, List<JsonNode>> snapshots = new HashMap<>();
    private final Thread reader;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private volatile boolean closed;

    public PipelineView(PipelineConfig config, String instance, Clock clock) {
        this.config = config;
        this.instance = instance;
        this.clock = clock;
        this.reader = new Thread(this::read, "telemetry-view");
        reader.setDaemon(true);
    }

    public void start() {
        reader.start();
    }

    /** A snapshot from any process; older than the one held for that process, it is dropped. */
    public void accept(JsonNode snapshot) {
        String id = snapshot.path("instance").asText(null);
        long at = snapshot.path("at").asLong(-1);
        if (id == null || at < 0) {
            return;
        }
        long now = clock.millis();
        synchronized (snapshots) {
            if (!snapshots.containsKey(id) && snapshots.size() >= MAX_INSTANCES) {
                return;
            }
            List<JsonNode> list = snapshots.computeIfAbsent(id, k -> new ArrayList<>());
            if (!list.isEmpty() && list.get(list.size() - 1).path("at").asLong() >= at) {
                return;
            }
            list.add(snapshot);
            ViewFold.trim(list, now, KEEP_MS);
            snapshots.values().removeIf(l -> l.get(l.size() - 1).path("at").asLong() < now - KEEP_MS);
        }
    }

    /** The folded view now. */
    public ObjectNode json() {
        Map<String, List<JsonNode>> copy = new HashMap<>();
        synchronized (snapshots) {
            snapshots.forEach((k, v) -> copy.put(k, new ArrayList<>(v)));
        }
        return ViewFold.fold(copy, clock.millis());
    }

    private void read() {
        while (!closed) {
            try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(properties())) {
                consumer = c;
                TopicPartition tp = new TopicPartition(Topics.TELEMETRY, 0);
                c.assign(List.of(tp));
                OffsetAndTimestamp from = c.offsetsForTimes(Map.of(tp, clock.millis() - KEEP_MS),
                        Duration.ofSeconds(10)).get(tp);
                if (from == null) {
                    c.seekToEnd(List.of(tp));
                } else {
                    c.seek(tp, from.offset());
                }
                while (!closed) {
                    for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                        if (r.value() == null || r.value().length > MAX_SNAPSHOT_BYTES) {
                            continue;
                        }
                        try {
                            accept(Json.MAPPER.readTree(r.value()));
                        } catch (java.io.IOException | RuntimeException e) {
                            LOG.debug("telemetry: skipping a record that is not a snapshot at offset {}", r.offset());
                        }
                    }
                }
            } catch (WakeupException | InterruptException e) {
                return;
            } catch (RuntimeException e) {
                if (closed) {
                    return;
                }
                LOG.debug("telemetry view: {}; reading again in 2 s", e.toString());
                try {
                    Thread.sleep(2000); // back-off before a new consumer: Kafka is away
                } catch (InterruptedException ie) {
                    return;
                }
            } finally {
                consumer = null;
            }
        }
    }

    private Map<String, Object> properties() {
        Map<String, Object> p = KafkaClients.reader(config, "telemetry-view-" + instance);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 1000); // other processes report once a second
        return p;
    }

    @Override
    public void close() {
        closed = true;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        reader.interrupt();
        try {
            reader.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
