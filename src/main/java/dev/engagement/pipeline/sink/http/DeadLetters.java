package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.sink.SinkRecord;
import dev.engagement.pipeline.topic.Headers;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Predicate;

/** Reading and replaying {@code sink.http.dlq}: what the external API refused, and sending it again. */
public final class DeadLetters {
    public static final String REPLAY_GROUP = "engagement-dlq-replay";

    private final PipelineConfig config;

    public DeadLetters(PipelineConfig config) {
        this.config = config;
    }

    /** One dead letter as an operator sees it. */
    public record Entry(int dlqPartition, long dlqOffset, Instant lastAttempt, String reason, String status,
                        String attempts, String source, String detail, byte[] value) {
    }

    /** Every dead letter from {@code since} on (or all), oldest first, that {@code filter} keeps. */
    public List<Entry> list(Optional<Instant> since, Predicate<Entry> filter, int limit) {
        List<Entry> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = reader(null)) {
            List<TopicPartition> parts = KafkaClients.partitions(consumer, Topics.HTTP_DLQ);
            consumer.assign(parts);
            seek(consumer, parts, since, false);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            while (KafkaClients.behind(consumer, parts, end) && out.size() < limit) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    Entry e = entry(r);
                    if (filter.test(e) && out.size() < limit) {
                        out.add(e);
                    }
                }
            }
        }
        out.sort(Comparator.comparing(Entry::lastAttempt, Comparator.nullsFirst(Comparator.naturalOrder())));
        return out;
    }

    /** What a replay did. */
    public record ReplayReport(long sent, long delivered, long refusedAgain, long batches) {
    }

    /**
     * Sends dead letters again through the http sink's client, retry policy and breaker, and moves
     * the replay group's position past them. Without {@code since} it continues where the last
     * replay stopped; batch keys come from dead-letter offsets, so a repeated replay is idempotent.
     */
    public ReplayReport replay(Optional<Instant> since, boolean dryRun, MeterRegistry registry,
                               java.util.function.Consumer<String> progress) throws Exception {
        return replay(since, dryRun, registry, progress, n -> { }, n -> { });
    }

    /** As above; {@code total} hears how many dead letters there are to replay, {@code sentSoFar} how many went. */
    public ReplayReport replay(Optional<Instant> since, boolean dryRun, MeterRegistry registry,
                               java.util.function.Consumer<String> progress, java.util.function.LongConsumer total,
                               java.util.function.LongConsumer sentSoFar) throws Exception {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        ApiClient client = new ApiClient(config.externalApi());
        ApiBreaker breaker = new ApiBreaker(config.externalApi(), Clock.systemUTC(), registry);
        Deliverer deliverer = new Deliverer(client, breaker, RetryPolicy.of(config.externalApi()), timer,
                Clock.systemUTC(), new HttpMetrics(registry));
        long sent = 0;
        long delivered = 0;
        long refused = 0;
        long batches = 0;
        java.util.Set<String> replayed = new java.util.HashSet<>();
        try (KafkaConsumer<String, byte[]> consumer = reader(REPLAY_GROUP)) {
            List<TopicPartition> parts = KafkaClients.partitions(consumer, Topics.HTTP_DLQ);
            consumer.assign(parts);
            seek(consumer, parts, since, true);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            long waiting = 0;
            for (TopicPartition tp : parts) {
                waiting += Math.max(0, end.get(tp) - consumer.position(tp));
            }
            total.accept(waiting);
            for (TopicPartition tp : parts) {
                List<SinkRecord> pending = new ArrayList<>();
                while (consumer.position(tp) < end.get(tp)) {
                    consumer.pause(parts);
                    consumer.resume(List.of(tp));
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500)).records(tp)) {
                        if (replayed.add(eventId(r.value()))) { // a dead letter written twice is sent once
                            pending.add(new SinkRecord(tp, r.offset(), r.timestamp(), r.key(), r.value(), null));
                        }
                    }
                }
                for (int from = 0; from < pending.size(); from += config.externalApi().batchSize()) {
                    Batch batch = new Batch(tp, pending.subList(from, Math.min(pending.size(),
                            from + config.externalApi().batchSize())));
                    batches++;
                    sent += batch.size();
                    sentSoFar.accept(sent);
                    if (dryRun) {
                        progress.accept("would send batch " + batch.key() + " (" + batch.size() + " events)");
                        continue;
                    }
                    Settlement s = settle(deliverer, breaker, batch);
                    delivered += s.delivered().size();
                    refused += s.deadLetters().size();
                    log(s.deadLetters(), "refused again, stays in " + Topics.HTTP_DLQ);
                    progress.accept("batch " + batch.key() + ": " + s.delivered().size() + " delivered"
                            + (s.deadLetters().isEmpty() ? "" : ", " + s.deadLetters().size() + " refused again ("
                            + s.deadLetters().get(0).detail() + ")"));
                    consumer.commitSync(Map.of(tp, new OffsetAndMetadata(batch.lastOffset() + 1)));
                }
            }
        } finally {
            timer.shutdownNow();
        }
        return new ReplayReport(sent, delivered, refused, batches);
    }

    /** The event id of a dead letter, or its bytes' identity when it has none. */
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DeadLetters.class);
    /** One line per dead letter, up to 20 a second per process; the rest are counted in the next line. */
    private static final dev.engagement.pipeline.EventLog.Limit LINES = new dev.engagement.pipeline.EventLog.Limit(20);

    /** Logs each dead letter with its {@code event_id} and {@code content_id} as fields; {@code what} befell it. */
    static void log(List<Settlement.DeadLetter> letters, String what) {
        for (Settlement.DeadLetter d : letters) {
            if (!LINES.allow()) {
                continue;
            }
            long held = LINES.takeHeld();
            SinkRecord r = d.record();
            Long id = r.event() != null ? Long.valueOf(r.event().eventId()) : idOrNull(r.value());
            LOG.warn("event {} of content {} {}: {} (HTTP {}, {} attempts: {}){}", dev.engagement.pipeline.EventLog.eventId(id),
                    dev.engagement.pipeline.EventLog.contentId(r.key()), what, d.reason(), d.status(), d.attempts(),
                    d.detail(), held == 0 ? "" : "; " + held + " more dead letters were not logged");
        }
    }

    private static Long idOrNull(byte[] value) {
        try {
            return dev.engagement.pipeline.model.EnrichedEvent.parse(value).eventId();
        } catch (dev.engagement.pipeline.model.MalformedRecordException | RuntimeException e) {
            return null;
        }
    }

    private static String eventId(byte[] value) {
        try {
            return "id:" + dev.engagement.pipeline.model.EnrichedEvent.parse(value).eventId();
        } catch (dev.engagement.pipeline.model.MalformedRecordException e) {
            return "bytes:" + (value == null ? "" : new String(value, java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    /** Delivers a batch to the end, waiting out an open breaker instead of giving up. */
    private static Settlement settle(Deliverer deliverer, ApiBreaker breaker, Batch batch) throws Exception {
        Settlement total = new Settlement(List.of(), List.of(), Optional.of(batch));
        while (total.held().isPresent()) {
            total = total.then(deliverer.deliver(total.held().get()).get());
            if (total.held().isPresent()) {
                Thread.sleep(breaker.open() ? 500 : 50);
            }
        }
        return total;
    }

    private KafkaConsumer<String, byte[]> reader(String group) {
        Map<String, Object> props = KafkaClients.reader(config, "dlq-reader");
        if (group != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, group); // to keep the replay's position
        }
        return new KafkaConsumer<>(props);
    }

    private static void seek(KafkaConsumer<String, byte[]> consumer, List<TopicPartition> parts, Optional<Instant> since,
                             boolean fromCommitted) {
        if (since.isPresent()) {
            Map<TopicPartition, Long> query = new HashMap<>();
            parts.forEach(tp -> query.put(tp, since.get().toEpochMilli()));
            Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            for (TopicPartition tp : parts) {
                OffsetAndTimestamp o = found.get(tp);
                consumer.seek(tp, o == null ? end.get(tp) : o.offset());
            }
            return;
        }
        if (fromCommitted) {
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(new java.util.HashSet<>(parts));
            List<TopicPartition> fresh = new ArrayList<>();
            for (TopicPartition tp : parts) {
                OffsetAndMetadata c = committed.get(tp);
                if (c == null) {
                    fresh.add(tp);
                } else {
                    consumer.seek(tp, c.offset());
                }
            }
            consumer.seekToBeginning(fresh);
            return;
        }
        consumer.seekToBeginning(parts);
    }

    static Entry entry(ConsumerRecord<String, byte[]> r) {
        String last = Headers.text(r.headers(), Headers.LAST_ATTEMPT);
        Instant lastAttempt;
        try {
            lastAttempt = last == null ? Instant.ofEpochMilli(r.timestamp()) : Instant.parse(last);
        } catch (RuntimeException e) {
            lastAttempt = Instant.ofEpochMilli(r.timestamp());
        }
        return new Entry(r.partition(), r.offset(), lastAttempt, Headers.text(r.headers(), Headers.REASON),
                Headers.text(r.headers(), Headers.STATUS), Headers.text(r.headers(), Headers.ATTEMPTS),
                Headers.text(r.headers(), Headers.TOPIC) + "-" + Headers.text(r.headers(), Headers.PARTITION) + "@"
                        + Headers.text(r.headers(), Headers.OFFSET),
                Headers.text(r.headers(), Headers.DETAIL), r.value());
    }
}
