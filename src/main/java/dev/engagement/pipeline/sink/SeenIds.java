package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.topic.KafkaClients;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The event ids a sink has settled, per partition of {@code engagement.enriched}: the http sink's
 * deliveries ({@code sink.http.delivered}), the BigQuery rows written ({@code sink.bigquery.written}).
 * Kept in a compacted topic so that an event emitted again (a redone snapshot, a backfill, a
 * re-created source position) is recognised and not settled again, by whichever instance owns its
 * partition later. A bit per id, in chunks of 4,096 ids: key {@code <prefix><partition>:<chunk>},
 * value the chunk's 512 bytes. Each record is the whole chunk; a load ORs every version it reads
 * (read_committed: what a transaction aborted is not there), so bits are only ever added.
 */
public final class SeenIds {
    static final int CHUNK_BITS = 12;
    private static final int WORDS = (1 << CHUNK_BITS) / 64;

    private record Chunk(int partition, long index) {
    }

    private final String topic;
    private final String prefix;
    private final Map<Integer, Map<Long, long[]>> byPartition = new HashMap<>();
    private final Set<Chunk> dirty = new LinkedHashSet<>();

    /** Ids kept in {@code topic} under keys that start with {@code prefix} (one store's ids). */
    public SeenIds(String topic, String prefix) {
        this.topic = topic;
        this.prefix = prefix;
    }

    public boolean contains(int partition, long id) {
        Map<Long, long[]> chunks = byPartition.get(partition);
        long[] words = chunks == null ? null : chunks.get(id >> CHUNK_BITS);
        int bit = (int) (id & ((1 << CHUNK_BITS) - 1));
        return words != null && (words[bit >>> 6] & (1L << (bit & 63))) != 0;
    }

    public void add(int partition, long id) {
        long index = id >> CHUNK_BITS;
        long[] words = byPartition.computeIfAbsent(partition, p -> new HashMap<>())
                .computeIfAbsent(index, i -> new long[WORDS]);
        int bit = (int) (id & ((1 << CHUNK_BITS) - 1));
        long mask = 1L << (bit & 63);
        if ((words[bit >>> 6] & mask) == 0) {
            words[bit >>> 6] |= mask;
            dirty.add(new Chunk(partition, index));
        }
    }

    /** The chunks changed since the last call, as records for the topic. */
    public List<ProducerRecord<String, byte[]>> changes() {
        List<ProducerRecord<String, byte[]>> out = new ArrayList<>(dirty.size());
        for (Chunk c : dirty) {
            long[] words = byPartition.get(c.partition()).get(c.index());
            ByteBuffer b = ByteBuffer.allocate(WORDS * 8);
            for (long w : words) {
                b.putLong(w);
            }
            out.add(new ProducerRecord<>(topic, prefix + c.partition() + ":" + c.index(), b.array()));
        }
        dirty.clear();
        return out;
    }

    public void forget(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            byPartition.remove(tp.partition());
            dirty.removeIf(c -> c.partition() == tp.partition());
        }
    }

    /** Reads what was settled for {@code partitions} from the topic, to its end. */
    public void load(Consumer<String, byte[]> reader, Collection<TopicPartition> partitions) {
        Set<Integer> wanted = new java.util.HashSet<>();
        partitions.forEach(tp -> wanted.add(tp.partition()));
        List<TopicPartition> parts = KafkaClients.partitions(reader, topic);
        if (parts.isEmpty()) {
            return;
        }
        reader.assign(parts);
        reader.seekToBeginning(parts);
        Map<TopicPartition, Long> end = reader.endOffsets(parts);
        while (KafkaClients.behind(reader, parts, end)) {
            for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(500))) {
                if (r.key() == null || r.value() == null || r.value().length != WORDS * 8
                        || !r.key().startsWith(prefix)) {
                    continue;
                }
                String key = r.key().substring(prefix.length());
                int colon = key.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                int partition = Integer.parseInt(key.substring(0, colon));
                if (!wanted.contains(partition)) {
                    continue;
                }
                long[] words = byPartition.computeIfAbsent(partition, p -> new HashMap<>())
                        .computeIfAbsent(Long.parseLong(key.substring(colon + 1)), i -> new long[WORDS]);
                ByteBuffer b = ByteBuffer.wrap(r.value());
                for (int i = 0; i < WORDS; i++) {
                    words[i] |= b.getLong();
                }
            }
        }
    }
}
