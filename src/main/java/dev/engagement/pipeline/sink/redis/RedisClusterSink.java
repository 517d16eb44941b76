package dev.engagement.pipeline.sink.redis;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.fault.FaultPoints;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.Timestamps;
import dev.engagement.pipeline.sink.ForeignStateException;
import dev.engagement.pipeline.sink.RewindException;
import dev.engagement.pipeline.sink.SinkBatch;
import dev.engagement.pipeline.sink.SinkRecord;
import dev.engagement.pipeline.sink.StoreRefusedException;
import dev.engagement.pipeline.sink.TransactionalSink;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import org.apache.kafka.common.TopicPartition;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Live aggregates on a Redis Cluster, under the same key names as on one Redis. A batch cannot be
 * one script there (its keys lie in many slots, on many nodes), so it is split by hash slot, and
 * each slot's part is one script, atomic on the node that serves the slot, with that slot's own
 * positions ({@code pipeline:redis:slot:{tag}}) and its own de-duplication of event ids. A crash
 * between parts leaves some slots ahead of others; a restart reads again from the lowest position
 * of any slot and every part skips what it holds already, so nothing is lost or counted twice. The
 * parts that are derived from others (rank:engagement and the minutes' ranks take the content
 * totals the content slots answered, stats:global comes last with its own bit per event id and the
 * positions every slot has applied) can be applied again at any time. A slot's state moves with
 * its slot when the cluster is resharded (every key of a part is in the part's slot, declared, so
 * a migrating slot refuses the part whole and it is retried where the slot went); a slot that goes
 * back in time (a failover that lost writes, a node restarted from an old snapshot) is noticed by
 * its position being below what this sink wrote, at the next write or sweep, and read again.
 */
public final class RedisClusterSink implements TransactionalSink {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RedisClusterSink.class);
    private static final String POSITIONS = RedisSink.COMMON + RedisSink.resource("/redis/cluster/positions.lua");
    private static final Script SLOT = new Script(POSITIONS + RedisSink.resource("/redis/cluster/slot.lua"));
    private static final Script RANKS = new Script(POSITIONS + RedisSink.resource("/redis/cluster/ranks.lua"));
    private static final Script STATS = new Script(POSITIONS + RedisSink.resource("/redis/cluster/stats.lua"));
    private static final Script SWEEP = new Script(POSITIONS + RedisSink.resource("/redis/cluster/sweep.lua"));
    static final String COMMITTED = "pipeline:redis:committed:{stats:global}";
    private static final int SEEN_BITS = 20;
    private static final long SEEN_MASK = (1L << SEEN_BITS) - 1;
    private static final long SWEEP_EVERY_MS = 5_000;
    /** Per hash slot a short tag that hashes to it: keys tagged {tag} lie in that slot. */
    static final String[] TAGS = slotTags();

    private final LazyRedis redis;
    private final String display;
    private final long minuteTtlSeconds;
    private final Clock clock;
    /** Per claimed partition, per slot: the position this sink knows the slot holds (-1: none). */
    private final Map<TopicPartition, long[]> expected = new HashMap<>();
    /** Per claimed partition: the position every slot has applied (stats:global's part records it). */
    private final Map<TopicPartition, Long> committed = new HashMap<>();
    private long sweptAtMs;
    private volatile String status = "connected";

    public RedisClusterSink(PipelineConfig.Redis config, Clock clock) {
        this.redis = new LazyRedis(config);
        this.display = config.display();
        this.minuteTtlSeconds = config.minuteTtl().toSeconds();
        this.clock = clock;
    }

    @Override
    public String name() {
        return "redis";
    }

    @Override
    public synchronized String storeId() throws StoreRefusedException {
        requireNoEviction();
        return RedisSink.storeId(redis.sync());
    }

    /** Every master's maxmemory-policy: one that may evict any key is refused, as on one Redis. */
    void requireNoEviction() throws StoreRefusedException {
        for (RedisClusterNode node : redis.servingMasters()) {
            String info = redis.clusterConnection().getConnection(node.getNodeId()).sync().info("memory");
            String policy = RedisSink.infoField(info, "maxmemory_policy");
            if (policy != null && policy.startsWith("allkeys-")) {
                throw new StoreRefusedException("Redis Cluster node " + node.getUri().getHost() + ":"
                        + node.getUri().getPort() + " has maxmemory-policy " + policy + ": it may evict any key, and "
                        + "an evicted aggregate loses counts, an evicted seen mark counts an event twice. Set "
                        + "maxmemory-policy to noeviction on every node");
            }
        }
    }

    @Override
    public synchronized Map<TopicPartition, OptionalLong> claim(Collection<TopicPartition> partitions, String sourceId)
            throws Exception {
        requireNoEviction();
        var sync = redis.sync();
        sync.set("pipeline:redis:source", sourceId, SetArgs.Builder.nx());
        String source = sync.get("pipeline:redis:source");
        if (!sourceId.equals(source)) {
            throw new ForeignStateException("Redis " + display + " holds aggregates built from another "
                    + "engagement.enriched topic (topic id " + source + ", now " + sourceId + "); its counts and "
                    + "positions do not apply here. Point REDIS_CLUSTER_NODES at an empty cluster, or delete the keys "
                    + "content:*, rank:*, stats:global and pipeline:* on every node to rebuild the aggregates from Kafka");
        }
        storeId();
        List<TopicPartition> parts = List.copyOf(partitions);
        String[] fields = parts.stream().map(RedisSink::field).toArray(String[]::new);
        Map<TopicPartition, OptionalLong> resume = new LinkedHashMap<>();
        if (fields.length == 0) {
            return resume;
        }
        var stored = sync.hmget(COMMITTED, fields);
        for (int i = 0; i < parts.size(); i++) {
            var v = stored.get(i);
            if (v.hasValue()) {
                committed.put(parts.get(i), Long.parseLong(v.getValue()));
            } else {
                committed.remove(parts.get(i));
            }
            long[] slots = new long[SlotHash.SLOT_COUNT];
            Arrays.fill(slots, -1);
            expected.put(parts.get(i), slots);
        }
        // every slot's positions, pipelined: the lowest is where a restart must read again from
        var async = redis.async();
        List<RedisFuture<List<io.lettuce.core.KeyValue<String, String>>>> reads = new ArrayList<>(SlotHash.SLOT_COUNT);
        for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
            reads.add(async.hmget(meta(slot), fields));
        }
        for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
            var values = await(reads.get(slot));
            for (int i = 0; i < parts.size(); i++) {
                if (values.get(i).hasValue()) {
                    expected.get(parts.get(i))[slot] = Long.parseLong(values.get(i).getValue());
                }
            }
        }
        for (TopicPartition tp : parts) {
            Long done = committed.get(tp);
            if (done == null) {
                resume.put(tp, OptionalLong.empty()); // no batch of it finished on every slot: from the start
                continue;
            }
            long lowest = done;
            for (long p : expected.get(tp)) {
                if (p >= 0) {
                    lowest = Math.min(lowest, p);
                }
            }
            resume.put(tp, OptionalLong.of(lowest));
        }
        sweptAtMs = clock.millis();
        return resume;
    }

    @Override
    public synchronized WriteResult write(SinkBatch batch) throws Exception {
        Instant now = clock.instant();
        try {
            if (clock.millis() - sweptAtMs > SWEEP_EVERY_MS) {
                sweep(batch);
            }
            Plan plan = plan(batch, now);
            // the content slots, node by node
            Map<String, List<Part>> byNode = new TreeMap<>();
            for (Part part : plan.slots.values()) {
                byNode.computeIfAbsent(nodeOf(part.slot), n -> new ArrayList<>()).add(part);
            }
            Map<TopicPartition, Long> behind = new HashMap<>();
            int node = 0;
            for (List<Part> parts : byNode.values()) {
                if (node++ > 0) {
                    FaultPoints.pass("redis.between-nodes");
                }
                run(parts, behind);
            }
            if (!behind.isEmpty()) {
                throw rewind(behind, batch);
            }
            // what the content slots' totals give: the ranks
            List<Part> ranks = new ArrayList<>();
            for (Part part : plan.slots.values()) {
                part.contribute(plan);
            }
            ranks.add(plan.rank);
            ranks.addAll(plan.minutes.values());
            run(ranks, behind);
            if (!behind.isEmpty()) {
                throw rewind(behind, batch);
            }
            FaultPoints.pass("redis.before-stats");
            List<Object> done = run(List.of(plan.stats), behind).get(0);
            if (!behind.isEmpty()) {
                throw rewind(behind, batch);
            }
            redis.sync().set("pipeline:redis:last_processed", Timestamps.iso(now));
            batch.next().forEach(committed::put);
            status = "connected";
            return new WriteResult(((Long) done.get(1)).intValue(), ((Long) done.get(2)).intValue());
        } catch (RuntimeException | ExecutionException | TimeoutException e) {
            status = "unreachable: " + e.getMessage();
            throw e;
        }
    }

    /**
     * Brings every slot's positions up to the committed ones, noticing on the way a slot that went
     * back in time (it is read again, before this batch).
     */
    private void sweep(SinkBatch batch) throws Exception {
        List<TopicPartition> parts = batch.next().keySet().stream().filter(committed::containsKey).toList();
        if (parts.isEmpty()) {
            sweptAtMs = clock.millis(); // nothing committed yet (a first start): no position to compare or lift
            return;
        }
        List<Part> sweeps = new ArrayList<>(SlotHash.SLOT_COUNT);
        for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
            Part part = new Part(SWEEP, slot, meta(slot));
            for (TopicPartition tp : parts) {
                part.position(tp, expected.get(tp)[slot], committed.get(tp));
            }
            sweeps.add(part);
        }
        Map<TopicPartition, Long> behind = new HashMap<>();
        run(sweeps, behind);
        sweptAtMs = clock.millis();
        if (!behind.isEmpty()) {
            throw rewind(behind, batch);
        }
    }

    /** Sends parts pipelined, awaits them all; REWIND answers are gathered into {@code behind}. */
    private List<List<Object>> run(List<Part> parts, Map<TopicPartition, Long> behind)
            throws ExecutionException, TimeoutException, InterruptedException {
        var async = redis.async();
        loadEverywhere(parts.isEmpty() ? null : parts.get(0).script, false);
        List<RedisFuture<List<Object>>> sent = new ArrayList<>(parts.size());
        for (Part part : parts) {
            sent.add(async.evalsha(part.script.sha, ScriptOutputType.MULTI, part.keyArray(), part.argArray()));
        }
        List<List<Object>> answers = new ArrayList<>(parts.size());
        ExecutionException failed = null;
        for (int i = 0; i < parts.size(); i++) {
            Part part = parts.get(i);
            List<Object> answer;
            try {
                answer = await(sent.get(i));
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof RedisNoScriptException)) {
                    failed = failed == null ? e : failed;
                    answers.add(null);
                    continue;
                }
                // a node restarted (its script cache is gone) or joined: load on every master, send again
                loadEverywhere(part.script, true);
                answer = redis.sync().evalsha(part.script.sha, ScriptOutputType.MULTI, part.keyArray(),
                        part.argArray());
            }
            answers.add(answer);
            if ("REWIND".equals(answer.get(0))) {
                for (int j = 1; j + 1 < answer.size(); j += 2) {
                    TopicPartition tp = part.partitionOf(String.valueOf(answer.get(j)));
                    long stored = (Long) answer.get(j + 1);
                    behind.merge(tp, stored, Math::min);
                    expected.get(tp)[part.slot] = stored; // what the slot holds now: the replay starts there
                }
            } else {
                part.written(answer);
            }
        }
        if (failed != null) {
            throw failed;
        }
        return answers;
    }

    /** SCRIPT LOAD on every master that serves slots and has not had it from this sink (all of them when {@code again}). */
    private void loadEverywhere(Script script, boolean again) {
        if (script == null) {
            return;
        }
        if (again) {
            script.loadedOn.clear();
        }
        for (RedisClusterNode node : redis.servingMasters()) {
            if (script.loadedOn.add(node.getNodeId())) {
                redis.clusterConnection().getConnection(node.getNodeId()).sync().scriptLoad(script.body);
            }
        }
    }

    private RewindException rewind(Map<TopicPartition, Long> behind, SinkBatch batch) {
        LOG.warn("Redis Cluster slots went back in time (a failover that lost writes, or a node restarted from an "
                + "older snapshot): reading again from {}", behind);
        behind.forEach((tp, at) -> committed.computeIfPresent(tp, (k, v) -> Math.min(v, at)));
        return new RewindException(behind, batch.start());
    }

    /** The batch split by slot: per content slot its events, and the rank, minute and stats parts. */
    Plan plan(SinkBatch batch, Instant now) {
        Plan plan = new Plan();
        int rankSlot = SlotHash.getSlot("rank:engagement");
        plan.rank = new Part(RANKS, rankSlot, meta(rankSlot));
        plan.rank.first = "0";
        plan.rank.key("rank:engagement");
        plan.stats = new Part(STATS, SlotHash.getSlot("stats:global"), COMMITTED);
        plan.stats.key("stats:global");
        plan.batchNext = batch.next();
        for (Map.Entry<TopicPartition, Long> e : batch.next().entrySet()) {
            long committedAt = committed.getOrDefault(e.getKey(), -1L);
            plan.stats.position(e.getKey(), committedAt, e.getValue());
            plan.rank.position(e.getKey(), expected.get(e.getKey())[rankSlot], e.getValue());
        }
        for (SinkRecord r : batch.records()) {
            EnrichedEvent e = r.event();
            String contentKey = "content:" + e.contentId();
            int slot = SlotHash.getSlot(contentKey);
            Part part = plan.slots.computeIfAbsent(slot, s -> new Part(SLOT, s, meta(s)));
            part.event(r, e, contentKey, now, batch.next().get(r.partition()));
            plan.stats.statsEvent(e);
        }
        return plan;
    }

    /** As after a claim that found nothing stored for these partitions (for tests of {@link #plan}). */
    void expectNothingFor(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            long[] slots = new long[SlotHash.SLOT_COUNT];
            Arrays.fill(slots, -1);
            expected.put(tp, slots);
        }
    }

    private String nodeOf(int slot) {
        RedisClusterNode node = redis.clusterConnection().getPartitions().getMasterBySlot(slot);
        return node == null ? "?" : node.getNodeId();
    }

    static String meta(int slot) {
        return "pipeline:redis:slot:{" + TAGS[slot] + "}";
    }

    @Override
    public String status() {
        return status;
    }

    @Override
    public void close() {
        redis.close();
    }

    /** What a batch becomes: the content slots' parts, and the parts derived from their answers. */
    final class Plan {
        final Map<Integer, Part> slots = new TreeMap<>();
        Part rank;
        Part stats;
        final Map<String, Part> minutes = new TreeMap<>();
        Map<TopicPartition, Long> batchNext;

        Part minute(String minute, long expireAt) {
            return minutes.computeIfAbsent(minute, m -> {
                String key = "rank:engagement:" + m;
                int slot = SlotHash.getSlot(key);
                Part p = new Part(RANKS, slot, meta(slot));
                p.key(key);
                p.first = Long.toString(expireAt);
                batchNext.forEach((tp, next) -> p.position(tp, expected.get(tp)[slot], next));
                return p;
            });
        }
    }

    /**
     * One script run: its keys (all in {@code slot}), its positions, its entries. A content slot's
     * part is built event by event; its answer gives the ranks' scores.
     */
    final class Part {
        final Script script;
        final int slot;
        /** ARGV[1]: a rank part's expiry, else unused. */
        String first = "";
        private final List<String> keys = new ArrayList<>();
        private final Map<String, Integer> keyIndex = new HashMap<>();
        private final Map<String, TopicPartition> fields = new LinkedHashMap<>();
        private final Map<TopicPartition, Long> next = new LinkedHashMap<>();
        private final List<String> positionArgs = new ArrayList<>();
        /** What follows the positions: a content slot's contents, events and pairs, a rank's entries, stats' events. */
        private final List<String> entries = new ArrayList<>();
        private int entryCount;
        // a content slot's part
        private final Map<String, EnrichedEvent> contents = new LinkedHashMap<>();
        private final Map<String, Integer> contentIndex = new HashMap<>();
        private final Map<String, Pair> pairs = new LinkedHashMap<>();
        private List<Object> answer;

        Part(Script script, int slot, String meta) {
            this.script = script;
            this.slot = slot;
            keys.add(meta);
        }

        int key(String name) {
            return keyIndex.computeIfAbsent(name, k -> {
                keys.add(k);
                return keys.size();
            });
        }

        void position(TopicPartition tp, long expectedAt, long nextAt) {
            if (fields.put(RedisSink.field(tp), tp) == null) {
                positionArgs.add(RedisSink.field(tp));
                positionArgs.add(Long.toString(expectedAt));
                positionArgs.add(Long.toString(nextAt));
                next.put(tp, nextAt);
            }
        }

        TopicPartition partitionOf(String field) {
            return fields.get(field);
        }

        void event(SinkRecord r, EnrichedEvent e, String contentKey, Instant now, long nextAt) {
            position(r.partition(), expected.get(r.partition())[slot], nextAt);
            contents.put(e.contentId(), e);
            int c = contentIndex.computeIfAbsent(e.contentId(), k -> {
                key(contentKey);
                return contentIndex.size() + 1;
            });
            Instant ts = Timestamps.parse(e.eventTs());
            long minuteStart = ts.getEpochSecond() / 60 * 60;
            long ms = e.engagementMs() == null ? 0 : e.engagementMs();
            String minute = "";
            int hour = 0;
            long hourExpiry = 0;
            if (minuteStart + 60 + minuteTtlSeconds > now.getEpochSecond()) {
                minute = Timestamps.minute(ts);
                hour = key("pipeline:minute-ms:{" + contentKey + "}:" + minute.substring(0, 10));
                hourExpiry = ts.getEpochSecond() / 3600 * 3600 + 3600 + 60 + minuteTtlSeconds;
                if (ms > 0) {
                    pairs.putIfAbsent(c + "/" + minute, new Pair(e.contentId(), c, hour, minute,
                            minuteStart + 60 + minuteTtlSeconds));
                }
            }
            entries.add(Integer.toString(key("pipeline:seen:{" + TAGS[slot] + "}:" + (e.eventId() >> SEEN_BITS))));
            entries.add(Long.toString(e.eventId() & SEEN_MASK));
            entries.add(Integer.toString(c));
            entries.add(Integer.toString(e.eventType().ordinal() + 1));
            entries.add(Long.toString(ms));
            entries.add(Timestamps.fixedMillis(ts));
            entries.add(Integer.toString(hour));
            entries.add(minute);
            entries.add(Long.toString(hourExpiry));
            entryCount++;
        }

        void statsEvent(EnrichedEvent e) {
            entries.add(Integer.toString(key("pipeline:seen:{stats:global}:" + (e.eventId() >> SEEN_BITS))));
            entries.add(Long.toString(e.eventId() & SEEN_MASK));
            entries.add(Integer.toString(e.eventType().ordinal() + 1));
            entries.add(e.engagementMs() == null ? "0" : Long.toString(e.engagementMs()));
            entryCount++;
        }

        void rankEntry(String member, long ms) {
            entries.add(member);
            entries.add(RedisSink.seconds(ms));
            entryCount++;
        }

        /** A content slot's answer, turned into the rank's and the minutes' scores. */
        void contribute(Plan plan) {
            int i = 3;
            for (String contentId : contents.keySet()) {
                plan.rank.rankEntry(contentId, (Long) answer.get(i++));
            }
            for (Pair pair : pairs.values()) {
                plan.minute(pair.minute, pair.expireAt).rankEntry(pair.contentId, (Long) answer.get(i++));
            }
        }

        String[] keyArray() {
            return keys.toArray(String[]::new);
        }

        String[] argArray() {
            List<String> out = new ArrayList<>(8 + positionArgs.size() + entries.size());
            out.add(first);
            out.add(Integer.toString(next.size()));
            out.addAll(positionArgs);
            if (script == SLOT) {
                out.add(Integer.toString(contents.size()));
                for (EnrichedEvent e : contents.values()) {
                    out.add(Integer.toString(keyIndex.get("content:" + e.contentId())));
                    out.add(e.contentId());
                    out.add(e.contentTitle() == null ? "" : e.contentTitle());
                    out.add(e.contentType() == null ? "" : e.contentType());
                    out.add(e.contentLengthSeconds() == null ? "" : e.contentLengthSeconds().toString());
                }
            }
            if (script != SWEEP) {
                out.add(Integer.toString(entryCount));
                out.addAll(entries);
            }
            if (script == SLOT) {
                out.add(Integer.toString(pairs.size()));
                for (Pair p : pairs.values()) {
                    out.add(Integer.toString(p.contentIndex));
                    out.add(Integer.toString(p.hourKey));
                    out.add(p.minute);
                }
            }
            return out.toArray(String[]::new);
        }

        /** After an OK answer: the slot now holds these positions. */
        void written(List<Object> ok) {
            this.answer = ok;
            if (script == STATS) {
                return; // its positions are the committed ones, not its slot's
            }
            next.forEach((tp, at) -> {
                long[] slots = expected.get(tp);
                if (slots != null && slots[slot] < at) {
                    slots[slot] = at;
                }
            });
        }
    }

    /** A content's engagement in one minute, to be set in that minute's rank. */
    private record Pair(String contentId, int contentIndex, int hourKey, String minute, long expireAt) {
    }

    /** A script and its SHA-1, computed here; loaded on each master before it is first sent there. */
    static final class Script {
        final String body;
        final String sha;
        /** The nodes this process has loaded it on. */
        final java.util.Set<String> loadedOn = java.util.concurrent.ConcurrentHashMap.newKeySet();

        Script(String body) {
            this.body = body;
            try {
                this.sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
                        .digest(body.getBytes(StandardCharsets.UTF_8)));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static <T> T await(RedisFuture<T> f) throws ExecutionException, TimeoutException, InterruptedException {
        return f.get(10, TimeUnit.SECONDS);
    }

    private static String[] slotTags() {
        String[] tags = new String[SlotHash.SLOT_COUNT];
        int found = 0;
        for (int i = 0; found < tags.length; i++) {
            String tag = Integer.toString(i, 36);
            int slot = SlotHash.getSlot(tag);
            if (tags[slot] == null) {
                tags[slot] = tag;
                found++;
            }
        }
        return tags;
    }
}
