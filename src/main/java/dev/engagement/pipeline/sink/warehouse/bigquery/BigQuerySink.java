package dev.engagement.pipeline.sink.warehouse.bigquery;

import com.google.protobuf.ByteString;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.fault.FaultPoints;
import dev.engagement.pipeline.sink.FencedException;
import dev.engagement.pipeline.sink.ForeignStateException;
import dev.engagement.pipeline.sink.RewindException;
import dev.engagement.pipeline.sink.SeenIds;
import dev.engagement.pipeline.sink.Sink;
import dev.engagement.pipeline.sink.SinkBatch;
import dev.engagement.pipeline.sink.SinkMetrics;
import dev.engagement.pipeline.sink.SinkRecord;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Writes enriched events to BigQuery through the Storage Write API, exactly once, as a plug-in of
 * the sink runtime.
 *
 * <p>Each partition of {@code engagement.enriched} writes to a COMMITTED stream of its own at
 * explicit row offsets. Its <em>anchor</em> {@code (K, stream, base, skip)} says: of the events kept
 * from Kafka offset K on, the first {@code skip} are already in the table through earlier streams,
 * and the next go to {@code stream} from row offset {@code base}. The anchor is the metadata of the
 * partition's committed offset K; it is committed in one Kafka transaction with the ids the batch
 * wrote ({@code sink.bigquery.written}, for events emitted twice) through
 * {@code sendOffsetsToTransaction}, so the group refuses it from a member that lost the partition.
 * Which events are kept (those whose id was not written before, in offset order) depends only on
 * the log and those ids, so a replay from K makes the same rows at the same offsets.
 *
 * <p>A new owner first finalizes the anchor's stream: no earlier owner can append to it any more,
 * and its row count says how many rows after {@code base} were written without their commit. Those
 * are skipped on the replay, and the rest go to a new stream, whose anchor is committed before any
 * row goes to it. Within a session the sink knows each stream's end; an answer it did not get is
 * settled by the offset errors: ALREADY_EXISTS gives the stream's end (rows below it are there, a
 * partly overlapping append resends the tail), OUT_OF_RANGE a gap to resend from, and when the end
 * is not known the stream is finalized to learn it and replaced. A stream finalized or gone is
 * replaced the same way.
 */
public final class BigQuerySink implements Sink {
    private static final Logger LOG = LoggerFactory.getLogger(BigQuerySink.class);
    private static final String ANCHOR = "bq1";
    private static final Duration APPEND_TIMEOUT = Duration.ofSeconds(30);

    private final PipelineConfig config;
    private final PipelineConfig.Warehouse warehouse;
    private final BigQueryRest rest;
    private final StorageWrite write;
    private final Clock clock;
    private final int maxRequestBytes;
    private final Map<TopicPartition, Part> parts = new HashMap<>();
    private String storeKey;
    private SeenIds seen;
    private KafkaProducer<String, byte[]> producer;
    private Context context;
    /** The topic id of engagement.enriched, kept in every anchor. */
    private String sourceId;
    private byte[] buffer = new byte[64 * 1024];
    /** A transaction's outcome is unknown: what is held in memory is re-read from Kafka before the next write. */
    private boolean reclaim;
    private volatile String status = "connected";

    /** Where one partition stands: its committed anchor, and what this session appended beyond it. */
    private static final class Part {
        final TopicPartition tp;
        /** Kafka offset of the anchor; -1 until the first batch says where the partition starts. */
        long k = -1;
        /** The stream the committed anchor names (rows may go to it); null until one is anchored. */
        String stream;
        long base;
        long skip;
        /** The stream's end as this session knows it: rows below it are in the table. */
        long end;
        /** An append's answer was lost: rows beyond {@code end} may be there too (the next append says). */
        boolean uncertain;
        StorageWrite.Connection connection;

        Part(TopicPartition tp) {
            this.tp = tp;
        }


        void disconnect() {
            if (connection != null) {
                connection.close();
                connection = null;
            }
        }
    }

    static String anchor(String sourceId, String stream, long base, long skip) {
        return ANCHOR + " " + sourceId + " " + stream + " " + base + " " + skip;
    }

    public BigQuerySink(PipelineConfig config, Clock clock) throws Exception {
        this.config = config;
        this.warehouse = config.warehouse();
        GoogleAuth auth = GoogleAuth.of(warehouse);
        this.rest = new BigQueryRest(warehouse, auth);
        this.write = new StorageWrite(warehouse, auth);
        this.clock = clock;
        this.maxRequestBytes = warehouse.appendMaxBytes();
    }

    @Override
    public String name() {
        return "warehouse";
    }

    /** The table's identity: its name and creation time, so a table dropped and made again starts afresh. */
    @Override
    public String group() throws Exception {
        if (storeKey == null) {
            var table = rest.ensureTable();
            String created = table.path("creationTime").asText("0");
            storeKey = (warehouse.bigQueryTableName() + "-" + created).replaceAll("[^A-Za-z0-9._\\-]", "_");
            seen = new SeenIds(Topics.BIGQUERY_WRITTEN, storeKey + "/");
            LOG.info("warehouse sink writes BigQuery table {} through the Storage Write API", warehouse.bigQueryTableName());
        }
        return "engagement-sink-bigquery-" + storeKey;
    }

    @Override
    public void start(Context context) {
        this.context = context;
        parts.values().forEach(Part::disconnect);
        parts.clear();
        reclaim = false;
    }

    private KafkaProducer<String, byte[]> producer() {
        if (producer == null) {
            Map<String, Object> p = KafkaClients.producer(config, "sink-bigquery");
            String instance = config.instanceId().orElse(UUID.randomUUID().toString());
            // stable per instance: a restarted process aborts what its predecessor left open at once
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "engagement-sink-bigquery-" + storeKey + "-" + instance);
            p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 30_000);
            p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
            producer = new KafkaProducer<>(p);
            producer.initTransactions();
        }
        return producer;
    }

    @Override
    public Map<TopicPartition, OptionalLong> open(Collection<TopicPartition> partitions, String sourceId) throws Exception {
        this.sourceId = sourceId;
        Map<TopicPartition, OffsetAndMetadata> committed = context.committed(new HashSet<>(partitions));
        seen.forget(partitions);
        try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(KafkaClients.reader(config, "sink-bigquery-written"))) {
            seen.load(reader, partitions);
        }
        Map<TopicPartition, OptionalLong> out = new HashMap<>();
        for (TopicPartition tp : partitions) {
            Part part = claim(tp, committed.get(tp), sourceId);
            Part old = parts.put(tp, part);
            if (old != null) {
                old.disconnect();
            }
            out.put(tp, part.k < 0 ? OptionalLong.empty() : OptionalLong.of(part.k));
        }
        Map<Integer, String> from = new java.util.TreeMap<>();
        out.forEach((tp, o) -> from.put(tp.partition(), o.isPresent() ? Long.toString(o.getAsLong()) : "start"));
        LOG.debug("warehouse sink: BigQuery table {}: partitions resume from offsets {}", warehouse.bigQueryTableName(), from);
        return out;
    }

    /** Reads a partition's anchor and fences its stream: finalized, and the rows written past the anchor counted. */
    private Part claim(TopicPartition tp, OffsetAndMetadata committed, String sourceId) throws Exception {
        Part part = new Part(tp);
        if (committed == null || committed.metadata() == null || !committed.metadata().startsWith(ANCHOR + " ")) {
            return part; // nothing written for this partition yet
        }
        String[] a = committed.metadata().split(" ");
        if (a.length != 5) {
            throw new IllegalStateException("unreadable BigQuery anchor of " + tp + ": " + committed.metadata());
        }
        if (!a[1].equals(sourceId)) {
            throw new ForeignStateException("the BigQuery sink's positions for " + warehouse.bigQueryTableName()
                    + " were built from another " + Topics.ENRICHED + " topic (id " + a[1] + ", now " + sourceId
                    + "); refusing to resume from them");
        }
        part.k = committed.offset();
        String stream = a[2];
        long base = Long.parseLong(a[3]);
        long skip = Long.parseLong(a[4]);
        long end;
        try {
            end = write.finalizeStream(stream);
        } catch (StorageWrite.OutcomeException e) {
            if (e.outcome instanceof StorageWrite.NotFound) {
                throw new IllegalStateException("BigQuery write stream " + stream + " of partition " + tp.partition()
                        + " is gone, so the rows it took after its last commit cannot be counted; "
                        + "the partition waits (see docs/RELIABILITY.md, BigQuery)");
            }
            throw retryLater("finalizing the stream of partition " + tp.partition(), e.outcome);
        }
        if (end < base) {
            throw new IllegalStateException("BigQuery write stream " + stream + " holds " + end + " rows but "
                    + base + " were committed through it: the table lost rows; the partition waits");
        }
        part.skip = skip + (end - base);
        part.stream = null; // a new stream, anchored before its first row
        if (end > base) {
            LOG.info("warehouse sink: partition {}: {} rows were written to BigQuery after the last commit; "
                    + "they are skipped on the replay from offset {}", tp.partition(), end - base, part.k);
        }
        return part;
    }

    @Override
    public void put(SinkBatch batch) throws Exception {
        if (reclaim) {
            reclaimOwned();
        }
        Map<TopicPartition, List<SinkRecord>> byPartition = new LinkedHashMap<>();
        for (TopicPartition tp : batch.next().keySet()) {
            Part part = parts.get(tp);
            if (part == null) {
                throw new FencedException("partition " + tp + " is not this sink's");
            }
            long start = batch.start().get(tp);
            if (part.k >= 0 && part.k != start) {
                throw new RewindException(Map.of(tp, part.k), Map.of(tp, start));
            }
            byPartition.put(tp, new ArrayList<>());
        }
        for (SinkRecord r : batch.records()) {
            byPartition.get(r.partition()).add(r);
        }
        // which events are new: in offset order, an id written before (or earlier in the batch) is a duplicate
        Map<TopicPartition, List<SinkRecord>> kept = new HashMap<>();
        int duplicates = 0;
        for (var e : byPartition.entrySet()) {
            int p = e.getKey().partition();
            Set<Long> inBatch = new HashSet<>();
            List<SinkRecord> k = new ArrayList<>(e.getValue().size());
            for (SinkRecord r : e.getValue()) {
                long id = r.event().eventId();
                if (seen.contains(p, id) || !inBatch.add(id)) {
                    duplicates++;
                } else {
                    k.add(r);
                }
            }
            kept.put(e.getKey(), k);
        }
        FaultPoints.pass("warehouse.before-write");
        int applied = 0;
        for (var e : kept.entrySet()) {
            Part part = parts.get(e.getKey());
            if (part.k < 0) {
                part.k = batch.start().get(e.getKey());
            }
            applied += appendAll(part, e.getValue());
        }
        FaultPoints.pass("warehouse.after-write");
        commit(batch, kept);
        status = "connected";
        long now = clock.millis();
        SinkMetrics m = context.metrics();
        for (List<SinkRecord> rs : kept.values()) {
            for (SinkRecord r : rs) {
                m.latency.record(Math.max(0, now - r.commitTsMs()), TimeUnit.MILLISECONDS);
            }
        }
        m.applied.increment(applied);
        m.duplicates.increment(duplicates);
    }

    /**
     * Appends the kept events of one partition that are not in the table yet. Kept event j (from
     * the anchor's offset) belongs at row {@code base + j - skip} of the stream; rows below the
     * stream's known end are there already. Returns how many rows this call appended.
     */
    private int appendAll(Part part, List<SinkRecord> kept) throws Exception {
        int appended = 0;
        int j = 0; // index into kept of the first row not known to be in the table
        while (true) {
            if (part.stream == null) {
                rotate(part, 0);
            }
            long first = part.base - part.skip; // row offset of kept event 0
            j = (int) Math.max(0, Math.min(kept.size(), part.end - first));
            if (j >= kept.size()) {
                return appended;
            }
            // the next request: rows from j, under the request size limit
            List<ByteString> rows = new ArrayList<>();
            int bytes = 0;
            int i = j;
            while (i < kept.size()) {
                var event = kept.get(i).event();
                int need = BigQueryTable.maxRowBytes(event);
                if (buffer.length < need) {
                    buffer = new byte[Math.max(need, buffer.length * 2)];
                }
                ByteString row = BigQueryTable.row(event, buffer);
                if (!rows.isEmpty() && bytes + row.size() + 16 > maxRequestBytes) {
                    break;
                }
                rows.add(row);
                bytes += row.size() + 16;
                i++;
            }
            long offset = first + j;
            if (part.connection == null || part.connection.broken()) {
                part.disconnect();
                part.connection = write.connect(part.stream);
            }
            StorageWrite.Outcome outcome = part.connection.append(offset, rows, APPEND_TIMEOUT);
            if (outcome instanceof StorageWrite.Appended a) {
                part.end = offset + rows.size();
                part.uncertain = false;
                appended += rows.size();
                if (i < kept.size()) {
                    FaultPoints.pass("warehouse.between-requests");
                }
            } else if (outcome instanceof StorageWrite.AlreadyExists x) {
                if (x.expected() >= 0) {
                    LOG.info("warehouse sink: partition {}: rows from {} are in stream {} up to {} already; "
                            + "appending the rest", part.tp.partition(), offset, part.stream, x.expected());
                    part.end = x.expected();
                    part.uncertain = false;
                } else {
                    replace(part, "its end is not known (" + x.message() + ")");
                }
            } else if (outcome instanceof StorageWrite.OutOfRange x) {
                if (x.expected() >= part.base) {
                    LOG.warn("warehouse sink: partition {}: stream {} ends at {}, before {}: resending from there",
                            part.tp.partition(), part.stream, x.expected(), offset);
                    part.end = x.expected();
                    part.uncertain = false;
                } else if (x.expected() >= 0) {
                    throw new IllegalStateException("BigQuery write stream " + part.stream + " ends at row "
                            + x.expected() + " but " + part.base + " were committed through it: the table "
                            + "lost rows; the partition waits");
                } else {
                    replace(part, "its end is not known (" + x.message() + ")");
                }
            } else if (outcome instanceof StorageWrite.Finalized x) {
                replace(part, "it was finalized (" + x.message() + ")");
            } else if (outcome instanceof StorageWrite.NotFound x) {
                if (part.uncertain) {
                    throw new IllegalStateException("BigQuery write stream " + part.stream + " is gone and the "
                            + "outcome of its last append is unknown; the partition waits");
                }
                rotate(part, part.end);
            } else if (outcome instanceof StorageWrite.Transient x) {
                // the rows may have gone in (an answer lost); resending from the known end settles it
                part.uncertain |= !x.code().equals("RESOURCE_EXHAUSTED");
                part.disconnect();
                throw retryLater("appending to partition " + part.tp.partition() + "'s stream", x);
            } else if (outcome instanceof StorageWrite.Refused x) {
                part.disconnect();
                throw retryLater("appending to partition " + part.tp.partition() + "'s stream", x);
            }
        }
    }

    /** The stream takes no more rows: finalize it (idempotent) to learn its end, and go on in a new one. */
    private void replace(Part part, String why) throws Exception {
        LOG.warn("warehouse sink: partition {}: replacing write stream {}: {}", part.tp.partition(), part.stream, why);
        long end;
        try {
            end = write.finalizeStream(part.stream);
        } catch (StorageWrite.OutcomeException e) {
            if (e.outcome instanceof StorageWrite.NotFound && !part.uncertain) {
                end = part.end;
            } else if (e.outcome instanceof StorageWrite.NotFound) {
                throw new IllegalStateException("BigQuery write stream " + part.stream + " is gone and the outcome "
                        + "of its last append is unknown; the partition waits");
            } else {
                throw retryLater("finalizing partition " + part.tp.partition() + "'s stream", e.outcome);
            }
        }
        rotate(part, end);
    }

    /**
     * Goes on in a new stream. {@code end} rows of the current stream are in the table (0 when there
     * is none yet); the new anchor counts them as skipped and is committed before any row goes to
     * the new stream.
     */
    private void rotate(Part part, long end) throws Exception {
        long skip = part.skip;
        if (part.stream != null) {
            skip = part.skip + Math.max(0, end - part.base);
        }
        part.disconnect();
        String stream;
        try {
            stream = write.createStream();
        } catch (StorageWrite.OutcomeException e) {
            throw retryLater("creating a write stream", e.outcome);
        }
        // the anchor goes to Kafka first: only a stream it names ever takes rows
        transaction(Map.of(part.tp, new OffsetAndMetadata(part.k, anchor(sourceId, stream, 0, skip))), List.of());
        part.stream = stream;
        part.base = 0;
        part.skip = skip;
        part.end = 0;
        part.uncertain = false;
    }

    /** One Kafka transaction: the ids written, and each partition's new anchor as its committed offset. */
    private void commit(SinkBatch batch, Map<TopicPartition, List<SinkRecord>> kept) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> anchors = new HashMap<>();
        Map<TopicPartition, long[]> after = new HashMap<>();
        for (var e : kept.entrySet()) {
            Part part = parts.get(e.getKey());
            long n = e.getValue().size();
            long base = n <= part.skip ? part.base : part.base + (n - part.skip);
            long skip = Math.max(0, part.skip - n);
            long next = batch.next().get(e.getKey());
            after.put(e.getKey(), new long[] {next, base, skip});
            anchors.put(e.getKey(), new OffsetAndMetadata(next, anchor(sourceId, part.stream, base, skip)));
        }
        List<ProducerRecord<String, byte[]>> ids;
        for (var e : kept.entrySet()) {
            for (SinkRecord r : e.getValue()) {
                seen.add(e.getKey().partition(), r.event().eventId());
            }
        }
        ids = seen.changes();
        transaction(anchors, ids);
        for (var e : after.entrySet()) {
            Part part = parts.get(e.getKey());
            part.k = e.getValue()[0];
            part.base = e.getValue()[1];
            part.skip = e.getValue()[2];
        }
    }

    private void transaction(Map<TopicPartition, OffsetAndMetadata> offsets, List<ProducerRecord<String, byte[]>> records)
            throws Exception {
        KafkaProducer<String, byte[]> p = producer();
        try {
            p.beginTransaction();
            for (ProducerRecord<String, byte[]> r : records) {
                p.send(r);
            }
            p.sendOffsetsToTransaction(offsets, context.groupMetadata());
            p.commitTransaction();
        } catch (ProducerFencedException | FencedInstanceIdException | CommitFailedException e) {
            dropProducer();
            reclaim = true;
            throw new FencedException("the group gave the partitions to another member (" + e.getMessage() + ")");
        } catch (KafkaException e) {
            if (e.getCause() instanceof CommitFailedException || e instanceof RebalanceInProgressException
                    || e.getCause() instanceof FencedInstanceIdException) {
                dropProducer();
                reclaim = true;
                throw new FencedException("the group refused the commit (" + e.getMessage() + ")");
            }
            try {
                p.abortTransaction();
            } catch (RuntimeException abort) {
                dropProducer();
            }
            reclaim = true; // the ids marked in memory may not be in Kafka: read them again
            throw e;
        }
    }

    private void dropProducer() {
        if (producer != null) {
            try {
                producer.close(Duration.ofSeconds(2));
            } catch (RuntimeException e) {
                LOG.debug("closing the BigQuery sink's producer: {}", e.getMessage());
            }
            producer = null;
        }
    }

    /** After a transaction of unknown outcome: claim the partitions again from what Kafka holds. */
    private void reclaimOwned() throws Exception {
        List<TopicPartition> owned = new ArrayList<>(parts.keySet());
        reclaim = false;
        if (owned.isEmpty()) {
            return;
        }
        LOG.info("warehouse sink: reading its positions of partitions {} again after an unfinished commit", owned);
        Map<TopicPartition, Long> stored = new HashMap<>();
        open(owned, sourceId).forEach((tp, o) -> o.ifPresent(at -> stored.put(tp, at)));
        throw new RewindException(stored, Map.of());
    }

    private Exception retryLater(String what, StorageWrite.Outcome outcome) {
        String reason;
        if (outcome instanceof StorageWrite.Transient t) {
            reason = t.code() + ": " + t.message();
        } else if (outcome instanceof StorageWrite.Refused r) {
            reason = r.code() + ": " + r.message();
        } else {
            reason = outcome.toString();
        }
        status = "waiting: BigQuery answered " + reason + " (" + what + "); retrying with back-off";
        return new java.io.IOException("BigQuery " + what + ": " + reason);
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> committable() {
        return Map.of(); // the anchors are committed inside the sink's own transactions
    }

    @Override
    public void close(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            Part p = parts.remove(tp);
            if (p != null) {
                p.disconnect();
            }
        }
        if (seen != null) {
            seen.forget(partitions);
        }
    }

    @Override
    public String status() {
        return status;
    }

    @Override
    public void close() {
        parts.values().forEach(Part::disconnect);
        dropProducer();
        write.close();
    }
}
