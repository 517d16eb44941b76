package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.topic.Headers;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import dev.engagement.pipeline.metrics.Latency;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Delivers enriched events to the external API, at least once, in its own consumer group. Records
 * are batched per partition (so each content id's events arrive in order) and partitions are sent
 * in parallel. A batch the API refuses for good, or that exhausts its attempts, goes to
 * {@code sink.http.dlq}. Offsets are committed only after every batch of a poll is settled.
 */
public final class HttpSink implements Runnable, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpSink.class);
    static final String GROUP = "engagement-sink-http";

    private final PipelineConfig.ExternalApi config;
    private final ApiClient client;
    private final KafkaConsumer<String, byte[]> consumer;
    private final KafkaProducer<String, byte[]> dlqProducer;
    private final Thread thread = new Thread(this, "sink-http");
    private volatile boolean closed;
    private volatile String status = "connected";
    private volatile long lastDeliveryMs;

    private final Counter delivered;
    private final Counter retries;
    private final Counter deadLettered;
    private final Timer latency;
    private final MeterRegistry registry;

    public HttpSink(PipelineConfig config, MeterRegistry registry) {
        this.config = config.externalApi();
        this.client = new ApiClient(config.externalApi());
        this.consumer = new KafkaConsumer<>(KafkaClients.consumer(config, GROUP, GROUP));
        this.dlqProducer = new KafkaProducer<>(KafkaClients.producer(config, "sink-http-dlq"));
        this.registry = registry;
        this.delivered = Counter.builder("pipeline.sink.events").tag("sink", "http")
                .description("Events applied by a sink").register(registry);
        this.retries = Counter.builder("pipeline.http.retries").description("Retried POSTs to the external API")
                .register(registry);
        this.deadLettered = Counter.builder("pipeline.http.dlq.records")
                .description("Events sent to sink.http.dlq").register(registry);
        this.latency = Latency.timer(registry, "http");
    }

    public void start() {
        thread.start();
    }

    public String status() {
        return status;
    }

    public long lastDeliveryMs() {
        return lastDeliveryMs;
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(Topics.ENRICHED));
            while (!closed) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(100));
                if (records.isEmpty()) {
                    continue;
                }
                List<CompletableFuture<Void>> lanes = new ArrayList<>();
                Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
                for (TopicPartition tp : records.partitions()) {
                    List<ConsumerRecord<String, byte[]>> part = records.records(tp);
                    lanes.add(deliverInOrder(tp, part));
                    commit.put(tp, new OffsetAndMetadata(part.get(part.size() - 1).offset() + 1));
                }
                CompletableFuture.allOf(lanes.toArray(CompletableFuture[]::new)).join();
                dlqProducer.flush();
                consumer.commitSync(commit);
            }
        } catch (WakeupException e) {
            if (!closed) {
                throw e;
            }
        } catch (RuntimeException e) {
            LOG.error("http sink stopped: {}", e.getMessage(), e);
            status = "stopped: " + e.getMessage();
        } finally {
            consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
        }
    }

    /** Sends one partition's records batch after batch, each only after the previous one settled. */
    private CompletableFuture<Void> deliverInOrder(TopicPartition tp, List<ConsumerRecord<String, byte[]>> records) {
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        for (int from = 0; from < records.size(); from += config.batchSize()) {
            List<ConsumerRecord<String, byte[]>> batch = records.subList(from,
                    Math.min(records.size(), from + config.batchSize()));
            chain = chain.thenCompose(v -> deliver(tp, batch, 1, Instant.now()));
        }
        return chain;
    }

    private CompletableFuture<Void> deliver(TopicPartition tp, List<ConsumerRecord<String, byte[]>> batch, int attempt,
                                            Instant firstAttempt) {
        String key = idempotencyKey(tp, batch);
        return client.post(body(batch), key).thenCompose(outcome -> {
            countRequest(outcome);
            if (outcome.delivered()) {
                long now = System.currentTimeMillis();
                batch.forEach(r -> latency.record(Math.max(0, now - r.timestamp()), TimeUnit.MILLISECONDS));
                delivered.increment(batch.size());
                lastDeliveryMs = now;
                status = "connected";
                return CompletableFuture.completedFuture(null);
            }
            status = "failing: " + outcome.describe();
            if (!outcome.retriable() || attempt >= config.maxAttempts() || closed) {
                String reason = outcome.retriable() ? "retries_exhausted" : "rejected";
                LOG.warn("http sink: batch {} ({} events) {} after {} attempts ({}); sending it to {}", key,
                        batch.size(), reason, attempt, outcome.describe(), Topics.HTTP_DLQ);
                deadLetter(batch, reason, outcome, attempt, firstAttempt);
                return CompletableFuture.completedFuture(null);
            }
            retries.increment();
            Duration wait = outcome.retryAfter().orElse(backoff(attempt));
            return CompletableFuture.supplyAsync(() -> null,
                            CompletableFuture.delayedExecutor(wait.toMillis(), TimeUnit.MILLISECONDS))
                    .thenCompose(v -> deliver(tp, batch, attempt + 1, firstAttempt));
        });
    }

    private void countRequest(ApiClient.Outcome outcome) {
        String statusClass = outcome.status() == 0 ? "error" : (outcome.status() / 100) + "xx";
        Counter.builder("pipeline.http.requests").tag("status_class", statusClass)
                .description("POSTs to the external API by status class").register(registry).increment();
    }

    /** Exponential back-off with full jitter: a random wait up to 100 ms x 2^attempt, capped at 10 s. */
    static Duration backoff(int attempt) {
        long cap = Math.min(10_000, 100L << Math.min(attempt, 20));
        return Duration.ofMillis(ThreadLocalRandom.current().nextLong(cap + 1));
    }

    static String idempotencyKey(TopicPartition tp, List<ConsumerRecord<String, byte[]>> batch) {
        return tp.topic() + "-" + tp.partition() + "-" + batch.get(0).offset() + "-" + batch.get(batch.size() - 1).offset();
    }

    static byte[] body(List<ConsumerRecord<String, byte[]>> batch) {
        int size = 2;
        for (ConsumerRecord<String, byte[]> r : batch) {
            size += r.value().length + 1;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        out.write('[');
        for (int i = 0; i < batch.size(); i++) {
            if (i > 0) {
                out.write(',');
            }
            out.writeBytes(batch.get(i).value());
        }
        out.write(']');
        return out.toByteArray();
    }

    private void deadLetter(List<ConsumerRecord<String, byte[]>> batch, String reason, ApiClient.Outcome outcome,
                            int attempts, Instant firstAttempt) {
        Instant last = Instant.now();
        for (ConsumerRecord<String, byte[]> r : batch) {
            RecordHeaders h = new RecordHeaders();
            h.add(Headers.REASON, Headers.utf8(reason));
            h.add(Headers.STATUS, Headers.utf8(outcome.status()));
            h.add(Headers.DETAIL, Headers.utf8(outcome.describe()));
            h.add(Headers.ATTEMPTS, Headers.utf8(attempts));
            h.add(Headers.FIRST_ATTEMPT, Headers.utf8(firstAttempt));
            h.add(Headers.LAST_ATTEMPT, Headers.utf8(last));
            h.add(Headers.TOPIC, Headers.utf8(r.topic()));
            h.add(Headers.PARTITION, Headers.utf8(r.partition()));
            h.add(Headers.OFFSET, Headers.utf8(r.offset()));
            dlqProducer.send(new ProducerRecord<>(Topics.HTTP_DLQ, null, r.timestamp(), r.key(), r.value(), h));
        }
        deadLettered.increment(batch.size());
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
        dlqProducer.close();
        client.close();
    }
}
