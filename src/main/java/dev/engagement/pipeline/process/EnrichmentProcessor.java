package dev.engagement.pipeline.process;

import dev.engagement.pipeline.model.CdcCodec;
import dev.engagement.pipeline.model.CdcEvent;
import dev.engagement.pipeline.model.ChangeOp;
import dev.engagement.pipeline.model.ContentRow;
import dev.engagement.pipeline.model.EngagementRow;
import dev.engagement.pipeline.model.InvalidReason;
import dev.engagement.pipeline.model.InvalidRecords;
import dev.engagement.pipeline.model.MalformedRecordException;
import dev.engagement.pipeline.EventLog;
import dev.engagement.pipeline.quality.QualityWatch;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import dev.engagement.pipeline.metrics.Latency;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Validates and enriches captured events against captured content, both read from co-partitioned
 * CDC topics (key = content id). An event whose content has not arrived waits in a state store, in
 * arrival order, until the content arrives or the grace period ends ({@code unknown_content}).
 * All state lives in changelogged stores, so exactly-once processing covers it.
 */
final class EnrichmentProcessor implements Processor<String, byte[], String, byte[]> {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(EnrichmentProcessor.class);
    /** One line per invalid event, up to 20 a second per process; the rest are counted in the next line. */
    private static final EventLog.Limit INVALID_LINES = new EventLog.Limit(20);
    static final String ENRICHED_SINK = "enriched-sink";
    /** Marks the enriched records as the processor's own, so that its guard need not parse them again. */
    private static final org.apache.kafka.common.header.Headers ORIGIN = dev.engagement.pipeline.topic.Headers.processorOrigin();
    static final String INVALID_SINK = "invalid-sink";

    private final Duration grace;
    private final Counters counters;
    private final AtomicLong pendingGauge;

    private ProcessorContext<String, byte[]> context;
    private KeyValueStore<String, byte[]> contentStore;
    private KeyValueStore<String, byte[]> pendingStore;
    /** Content rows by id; {@link #DELETED_ROW} marks a deleted one. A read-through copy of the store. */
    private final Map<String, ContentRow> contents = new HashMap<>();
    /** How many events wait per content id; an event for such an id waits too, to keep their order. */
    private final Map<String, Integer> pendingCounts = new HashMap<>();
    private long pendingTotal;
    /** When this task (re)started: time the processor was down is not time an event waited. */
    private long startedAt;
    /**
     * Records after a quiet spell (none for {@link #QUIET_MS}) are committed at once rather than at
     * the next commit interval: an event on an idle pipeline then reaches the sinks in tens of
     * milliseconds, while under load, where records never pause that long, commits stay one per
     * interval (each commit is a transaction on the broker and a batch in every sink: committing
     * every 20 ms instead of 100 cost a third of the COPY throughput, docs/PERFORMANCE.md "Idle").
     */
    static final long QUIET_MS = 100;
    /** How long after a quiet spell records still ask for a commit at once: a burst's first batches. */
    static final long BURST_HEAD_MS = 20;
    private static final boolean QUIET_COMMIT = !Boolean.getBoolean("pipeline.no.quiet.commit");

    /**
     * When the processor last took a record, over all its tasks (one per partition, all on one
     * stream thread): quiet is when none of them had one, so that a trickle spread over the
     * partitions does not make every record a commit: a burst starts at most once per
     * {@link #QUIET_MS}, and only its first {@link #BURST_HEAD_MS} ask for commits.
     */
    static final class QuietSpell {
        long lastRecordMs;
        long burstStartMs;
    }

    private static final ContentRow DELETED_ROW = new ContentRow(null, null, null, null, null, null);

    EnrichmentProcessor(Duration grace, Counters counters, AtomicLong pendingGauge) {
        this.grace = grace;
        this.counters = counters;
        this.pendingGauge = pendingGauge;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        this.context = context;
        this.startedAt = context.currentSystemTimeMs();
        this.contentStore = context.getStateStore(EnrichmentTopology.CONTENT_STORE);
        this.pendingStore = context.getStateStore(EnrichmentTopology.PENDING_STORE);
        try (KeyValueIterator<String, byte[]> it = contentStore.all()) {
            while (it.hasNext()) {
                KeyValue<String, byte[]> kv = it.next();
                contents.put(kv.key, kv.value.length == 0 ? DELETED_ROW : ContentCodec.decode(kv.value));
            }
        }
        try (KeyValueIterator<String, byte[]> it = pendingStore.all()) {
            while (it.hasNext()) {
                addPending(PendingKey.contentId(it.next().key), 1);
            }
        }
        Duration every = grace.dividedBy(4);
        if (every.compareTo(Duration.ofSeconds(1)) > 0) {
            every = Duration.ofSeconds(1);
        }
        if (every.toMillis() < 10) {
            every = Duration.ofMillis(10);
        }
        context.schedule(every, PunctuationType.WALL_CLOCK_TIME, this::expirePending);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        long now = context.currentSystemTimeMs();
        QuietSpell quiet = counters.quiet;
        if (now - quiet.lastRecordMs >= QUIET_MS) {
            quiet.burstStartMs = now;
        }
        quiet.lastRecordMs = now;
        RecordMetadata meta = context.recordMetadata().orElseThrow();
        if (Topics.CDC_CONTENT.equals(meta.topic())) {
            onContent(record, meta);
        } else {
            dev.engagement.pipeline.fault.FaultPoints.pass("processor.event"); // inside an open transaction
            onEvent(record, meta);
        }
        if (now - quiet.burstStartMs <= BURST_HEAD_MS && QUIET_COMMIT) {
            context.commit();
        }
    }

    private void onEvent(Record<String, byte[]> record, RecordMetadata meta) {
        CdcEvent<EngagementRow> change;
        try {
            change = CdcCodec.readEvent(record.value());
        } catch (MalformedRecordException e) {
            invalid(record, meta.topic(), meta.partition(), meta.offset(), InvalidReason.MALFORMED, e.getMessage(),
                    null, record.key());
            return;
        }
        Validation validation = Validator.validate(change);
        if (validation instanceof Validation.Invalid invalid) {
            EngagementRow row = change.row();
            invalid(record, meta.topic(), meta.partition(), meta.offset(), invalid.reason(), invalid.detail(),
                    row == null ? null : row.id(), row == null ? null : row.contentId());
            return;
        }
        Validation.Valid valid = (Validation.Valid) validation;
        String contentId = valid.row().contentId();
        ContentRow content = pendingTotal > 0 && pendingCounts.containsKey(contentId) ? null : contents.get(contentId);
        if (content == DELETED_ROW) {
            invalid(record, meta.topic(), meta.partition(), meta.offset(), InvalidReason.UNKNOWN_CONTENT,
                    "content " + contentId + " was deleted", valid.row().id(), contentId);
        } else if (content == null) {
            pend(contentId, record, meta);
        } else {
            enriched(record, valid, content);
        }
    }

    private void onContent(Record<String, byte[]> record, RecordMetadata meta) {
        if (record.value() == null) {
            return; // compaction tombstone after a delete, which was handled already
        }
        CdcEvent<ContentRow> change;
        try {
            change = CdcCodec.readContent(record.value());
        } catch (MalformedRecordException e) {
            invalid(record, meta.topic(), meta.partition(), meta.offset(), InvalidReason.MALFORMED, e.getMessage(),
                    null, record.key());
            return;
        }
        ContentRow row = change.row();
        if (row.id() == null) {
            invalid(record, meta.topic(), meta.partition(), meta.offset(), InvalidReason.MALFORMED,
                    "content row has no id", null, null);
            return;
        }
        if (change.op() == ChangeOp.DELETE) {
            contents.put(row.id(), DELETED_ROW);
            contentStore.put(row.id(), ContentCodec.DELETED);
            releasePending(row.id(), null);
        } else {
            row = withUnchangedValues(row, contents.get(row.id()));
            contents.put(row.id(), row);
            contentStore.put(row.id(), ContentCodec.encode(row));
            releasePending(row.id(), row);
        }
    }

    /**
     * An UPDATE that left a large (TOASTed) text column alone carries a placeholder for it, not the
     * value: the value is the one this processor holds from the row's earlier change.
     */
    static ContentRow withUnchangedValues(ContentRow row, ContentRow held) {
        boolean slug = CdcCodec.UNCHANGED_TOAST.equals(row.slug());
        boolean title = CdcCodec.UNCHANGED_TOAST.equals(row.title());
        boolean type = CdcCodec.UNCHANGED_TOAST.equals(row.contentType());
        if (!slug && !title && !type || held == null || held == DELETED_ROW) {
            return row;
        }
        return new ContentRow(row.id(), slug ? held.slug() : row.slug(), title ? held.title() : row.title(),
                type ? held.contentType() : row.contentType(), row.lengthSeconds(), row.publishTs());
    }

    /** Emits the events waiting for a content id, in arrival order: enriched, or unknown_content if it is gone. */
    private void releasePending(String contentId, ContentRow content) {
        if (!pendingCounts.containsKey(contentId)) {
            return;
        }
        List<KeyValue<String, byte[]>> waiting = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = pendingStore.prefixScan(PendingKey.prefix(contentId),
                new org.apache.kafka.common.serialization.StringSerializer())) {
            while (it.hasNext()) {
                waiting.add(it.next());
            }
        }
        for (KeyValue<String, byte[]> kv : waiting) {
            emitPending(kv, content, "content " + contentId + " was deleted");
        }
    }

    private void expirePending(long now) {
        if (pendingTotal == 0) {
            return;
        }
        List<KeyValue<String, byte[]>> expired = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = pendingStore.all()) {
            while (it.hasNext()) {
                KeyValue<String, byte[]> kv = it.next();
                long waitingSince = Math.max(PendingValue.arrivedAt(kv.value), startedAt);
                if (waitingSince + grace.toMillis() <= now) {
                    expired.add(kv);
                }
            }
        }
        for (KeyValue<String, byte[]> kv : expired) {
            emitPending(kv, null, "content " + PendingKey.contentId(kv.key) + " did not arrive within "
                    + grace.toMillis() + " ms");
        }
    }

    private void emitPending(KeyValue<String, byte[]> kv, ContentRow content, String unknownDetail) {
        pendingStore.delete(kv.key);
        addPending(PendingKey.contentId(kv.key), -1);
        byte[] original = PendingValue.payload(kv.value);
        Record<String, byte[]> record = new Record<>(PendingKey.contentId(kv.key), original,
                PendingValue.timestamp(kv.value));
        if (content == null) {
            invalid(record, Topics.CDC_EVENTS, PendingValue.partition(kv.value), PendingKey.offset(kv.key),
                    InvalidReason.UNKNOWN_CONTENT, unknownDetail, null, record.key());
            return;
        }
        try {
            Validation validation = Validator.validate(CdcCodec.readEvent(original));
            enriched(record, (Validation.Valid) validation, content);
        } catch (MalformedRecordException | ClassCastException e) {
            throw new IllegalStateException("a pending event no longer validates", e);
        }
    }

    private void pend(String contentId, Record<String, byte[]> record, RecordMetadata meta) {
        pendingStore.put(PendingKey.of(contentId, meta.offset()),
                PendingValue.of(context.currentSystemTimeMs(), record.timestamp(), meta.partition(), record.value()));
        addPending(contentId, 1);
    }

    private void addPending(String contentId, int delta) {
        pendingCounts.merge(contentId, delta, (a, b) -> a + b == 0 ? null : a + b);
        pendingTotal += delta;
        pendingGauge.addAndGet(delta); // shared by every task: each adds its own changes
    }

    @Override
    public void close() {
        pendingGauge.addAndGet(-pendingTotal); // the task moves elsewhere, with its waiting events
    }

    private void enriched(Record<String, byte[]> record, Validation.Valid valid, ContentRow content) {
        Instant now = Instant.ofEpochMilli(context.currentSystemTimeMs());
        byte[] json = Enricher.enrich(valid, content, now).toJson();
        context.forward(new Record<>(valid.row().contentId(), json, record.timestamp(), ORIGIN), ENRICHED_SINK);
        counters.enriched.increment();
        if (counters.quality != null) {
            counters.quality.valid(valid.row().contentId(), content.contentType(), valid.row().durationMs(),
                    content.lengthSeconds(), now.toEpochMilli() - record.timestamp());
        }
        counters.latency.record(Math.max(0, now.toEpochMilli() - record.timestamp()), TimeUnit.MILLISECONDS);
    }

    /** {@code eventId} and {@code contentId}: what is known of the event, for the log (either may be null). */
    private void invalid(Record<String, byte[]> record, String topic, int partition, long offset,
                         InvalidReason reason, String detail, Long eventId, String contentId) {
        Instant now = Instant.ofEpochMilli(context.currentSystemTimeMs());
        byte[] value = InvalidRecords.value(reason, detail, topic, partition, offset, record.value(), now);
        context.forward(new Record<>(record.key(), value, record.timestamp(),
                InvalidRecords.headers(reason, topic, partition, offset)), INVALID_SINK);
        counters.invalid.get(reason).increment();
        if (Topics.CDC_EVENTS.equals(topic) && counters.quality != null) {
            counters.quality.invalid(reason, now.toEpochMilli() - record.timestamp());
        }
        if (INVALID_LINES.allow()) {
            if (eventId == null && Topics.CDC_EVENTS.equals(topic) && reason == InvalidReason.UNKNOWN_CONTENT) {
                eventId = idOf(record.value());
            }
            long held = INVALID_LINES.takeHeld();
            LOG.info("invalid {} {} of content {} to {}: {} ({}){}", Topics.CDC_EVENTS.equals(topic) ? "event" : "row",
                    EventLog.eventId(eventId), EventLog.contentId(contentId), Topics.INVALID, reason.wire(), detail,
                    held == 0 ? "" : "; " + held + " more invalid rows were not logged");
        }
    }

    private static Long idOf(byte[] original) {
        try {
            EngagementRow row = CdcCodec.readEvent(original).row();
            return row == null ? null : row.id();
        } catch (MalformedRecordException | RuntimeException e) {
            return null;
        }
    }

    /** Pending-store key: content id, then the event's offset in fixed-width hex, so a prefix scan is in order. */
    static final class PendingKey {
        private PendingKey() {
        }

        static String of(String contentId, long offset) {
            return prefix(contentId) + String.format("%016x", offset);
        }

        static String prefix(String contentId) {
            return contentId + '|';
        }

        static String contentId(String key) {
            return key.substring(0, key.lastIndexOf('|'));
        }

        static long offset(String key) {
            return Long.parseUnsignedLong(key.substring(key.lastIndexOf('|') + 1), 16);
        }
    }

    /** Pending-store value: arrival wall time, record timestamp, source partition, then the original bytes. */
    static final class PendingValue {
        private static final int HEADER = 8 + 8 + 4;

        private PendingValue() {
        }

        static byte[] of(long arrivedAt, long timestamp, int partition, byte[] payload) {
            return ByteBuffer.allocate(HEADER + payload.length).putLong(arrivedAt).putLong(timestamp)
                    .putInt(partition).put(payload).array();
        }

        static long arrivedAt(byte[] v) {
            return ByteBuffer.wrap(v).getLong(0);
        }

        static long timestamp(byte[] v) {
            return ByteBuffer.wrap(v).getLong(8);
        }

        static int partition(byte[] v) {
            return ByteBuffer.wrap(v).getInt(16);
        }

        static byte[] payload(byte[] v) {
            return java.util.Arrays.copyOfRange(v, HEADER, v.length);
        }
    }

    /** Meters shared by every task's processor. */
    static final class Counters {
        final Counter enriched;
        final Timer latency;
        final Map<InvalidReason, Counter> invalid = new EnumMap<>(InvalidReason.class);
        /** The data-quality watch the events are shown to; null where none runs (topology tests). */
        final QualityWatch quality;
        /** Shared by the processor's tasks: when the last of them took a record. */
        final QuietSpell quiet = new QuietSpell();

        Counters(MeterRegistry registry, QualityWatch quality) {
            this.quality = quality;
            latency = Latency.timer(registry, "processor");
            enriched = Counter.builder("pipeline.processor.records").tag("outcome", "enriched")
                    .tag("reason", "none").description("Events the processor published, by outcome")
                    .register(registry);
            for (InvalidReason reason : InvalidReason.values()) {
                if (reason == InvalidReason.TOO_LARGE) {
                    continue; // the source's, for changes that never reached the processor
                }
                invalid.put(reason, Counter.builder("pipeline.processor.records").tag("outcome", "invalid")
                        .tag("reason", reason.wire()).description("Events the processor published, by outcome")
                        .register(registry));
            }
        }
    }
}
