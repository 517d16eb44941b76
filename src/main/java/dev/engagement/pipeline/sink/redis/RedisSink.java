package dev.engagement.pipeline.sink.redis;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.Timestamps;
import dev.engagement.pipeline.sink.FencedException;
import dev.engagement.pipeline.sink.ForeignStateException;
import dev.engagement.pipeline.sink.RewindException;
import dev.engagement.pipeline.sink.SinkBatch;
import dev.engagement.pipeline.sink.SinkRecord;
import dev.engagement.pipeline.sink.StoreRefusedException;
import dev.engagement.pipeline.sink.TransactionalSink;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import org.apache.kafka.common.TopicPartition;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * Live aggregates in Redis. Each batch is one script run: aggregates, per-event
 * de-duplication, the fencing check, the check that Redis still stands where the batch starts, and
 * the Kafka positions change together or not at all. Engagement is summed as integer
 * milliseconds; seconds and scores are derived from them. A Redis that may evict keys is refused.
 */
public final class RedisSink implements TransactionalSink {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RedisSink.class);
    /** Shared by the scripts of both sinks: event types, seconds from milliseconds. */
    static final String COMMON = resource("/redis/common.lua");
    private static final String APPLY = COMMON + resource("/redis/apply-batch.lua");
    private static final String CLAIM = resource("/redis/claim.lua");
    static final String STORE_KEY = "pipeline:redis:store";
    /** pipeline:seen:{id >> 20} holds a bit per id: 2^20 ids, 128 KiB, per key. */
    private static final int SEEN_BITS = 20;
    private static final long SEEN_MASK = (1L << SEEN_BITS) - 1;

    private final LazyRedis redis;
    private final String display;
    private final long minuteTtlSeconds;
    private final Clock clock;
    private final Map<TopicPartition, String> epochs = new HashMap<>();
    private String applySha;
    private String claimSha;
    private String storeId;
    private String warnedPolicy;
    private long policyCheckedAtMs;
    private static final long POLICY_CHECK_EVERY_MS = 30_000;
    private volatile String status = "connected";

    public RedisSink(PipelineConfig.Redis config, Clock clock) {
        this.redis = new LazyRedis(config);
        this.display = config.display();
        this.minuteTtlSeconds = config.minuteTtl().toSeconds();
        this.clock = clock;
    }

    @Override
    public String name() {
        return "redis";
    }

    /** The id kept in Redis under pipeline:redis:store (created on first use), after checking the eviction policy. */
    @Override
    public synchronized String storeId() throws StoreRefusedException {
        requireNoEviction();
        storeId = storeId(redis.sync());
        return storeId;
    }

    /** The id under pipeline:redis:store, created there on first use (standalone or cluster alike). */
    static String storeId(io.lettuce.core.cluster.api.sync.RedisClusterCommands<String, String> redis) {
        redis.set(STORE_KEY, java.util.UUID.randomUUID().toString().replace("-", "").substring(0, 12),
                io.lettuce.core.SetArgs.Builder.nx());
        return redis.get(STORE_KEY);
    }

    /**
     * An evicting Redis breaks the promise: an evicted seen bit counts an event twice, an evicted
     * hash loses counts, evicted positions rewind. allkeys-* is refused; volatile-* only evicts
     * keys with a time to live, which here are the per-minute ranks: a warning.
     */
    void requireNoEviction() throws StoreRefusedException {
        policyCheckedAtMs = clock.millis();
        String policy;
        try {
            policy = infoField(redis.sync().info("memory"), "maxmemory_policy");
        } catch (io.lettuce.core.RedisCommandExecutionException e) {
            if (!Objects.equals(warnedPolicy, "?")) {
                LOG.warn("Redis {} does not answer INFO ({}): its maxmemory-policy cannot be checked; it must be "
                        + "noeviction, or keys the sink relies on may be evicted", display, e.getMessage());
                warnedPolicy = "?";
            }
            return;
        }
        if (policy != null && policy.startsWith("allkeys-")) {
            throw new StoreRefusedException("Redis " + display + " has maxmemory-policy " + policy + ": it may evict "
                    + "any key, and an evicted aggregate loses counts, an evicted seen mark counts an event twice, an "
                    + "evicted position applies events again. Set maxmemory-policy to noeviction (CONFIG SET "
                    + "maxmemory-policy noeviction, or in redis.conf) and give Redis the memory it needs");
        }
        if (policy != null && policy.startsWith("volatile-") && !policy.equals(warnedPolicy)) {
            LOG.warn("Redis {} has maxmemory-policy {}: under memory pressure it may evict the per-minute "
                    + "per-minute rank:engagement:* sets before their time; noeviction keeps them", display, policy);
            warnedPolicy = policy;
        }
    }

    static String infoField(String info, String field) {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1).strip();
            }
        }
        return null;
    }

    @Override
    public synchronized Map<TopicPartition, OptionalLong> claim(Collection<TopicPartition> partitions, String sourceId)
            throws StoreRefusedException {
        requireNoEviction();
        List<String> args = new ArrayList<>();
        args.add(sourceId);
        args.add(storeId == null ? storeId() : storeId);
        partitions.stream().map(RedisSink::field).forEach(args::add);
        List<Object> reply = eval(true, args);
        if ("FOREIGN".equals(reply.get(0))) {
            throw new ForeignStateException("Redis " + display + " holds aggregates built from another "
                    + "engagement.enriched topic (topic id " + reply.get(1) + ", now " + sourceId + "); its counts and "
                    + "positions do not apply here. Point REDIS_URL at an empty Redis, or delete the keys content:*, "
                    + "rank:*, stats:global and pipeline:* to rebuild the aggregates from Kafka");
        }
        Map<TopicPartition, OptionalLong> stored = new LinkedHashMap<>();
        int i = 1;
        for (TopicPartition tp : partitions) {
            epochs.put(tp, String.valueOf(reply.get(i)));
            long offset = (Long) reply.get(i + 1);
            stored.put(tp, offset < 0 ? OptionalLong.empty() : OptionalLong.of(offset));
            i += 2;
        }
        return stored;
    }

    @Override
    public synchronized WriteResult write(SinkBatch sinkBatch) throws FencedException, RewindException,
            StoreRefusedException {
        if (clock.millis() - policyCheckedAtMs > POLICY_CHECK_EVERY_MS) {
            requireNoEviction(); // someone may have changed it since the claim
        }
        Map<String, TopicPartition> byField = new HashMap<>();
        List<String> args = encode(sinkBatch, epochs, clock.instant(), minuteTtlSeconds, byField);

        List<Object> reply = eval(false, args);
        if ("FENCED".equals(reply.get(0))) {
            throw new FencedException("partition " + reply.get(1) + " is now owned by another instance");
        }
        if ("REWIND".equals(reply.get(0))) {
            Map<TopicPartition, Long> stored = new HashMap<>();
            for (int i = 1; i + 1 < reply.size(); i += 2) {
                stored.put(byField.get(String.valueOf(reply.get(i))), Long.parseLong(String.valueOf(reply.get(i + 1))));
            }
            throw new RewindException(stored, sinkBatch.start());
        }
        status = "connected";
        return new WriteResult(((Long) reply.get(1)).intValue(), ((Long) reply.get(2)).intValue());
    }

    /**
     * The apply script's arguments for a batch: the partitions' fields, epochs and positions, then
     * per content its metadata, per minute its expiry, per event its id, content, type, engagement
     * and time. {@code byField} receives each partition's field. Package-visible for its JMH benchmark.
     */
    static List<String> encode(SinkBatch sinkBatch, Map<TopicPartition, String> epochs, Instant now,
                               long minuteTtlSeconds, Map<String, TopicPartition> byField) throws FencedException {
        List<SinkRecord> batch = sinkBatch.records();
        Map<TopicPartition, Long> nextOffsets = sinkBatch.next();
        List<String> args = new ArrayList<>(16 + batch.size() * 6);
        args.add(Integer.toString(nextOffsets.size()));
        for (Map.Entry<TopicPartition, Long> e : nextOffsets.entrySet()) {
            String epoch = epochs.get(e.getKey());
            if (epoch == null) {
                throw new FencedException("partition " + e.getKey() + " was never claimed by this instance");
            }
            args.add(field(e.getKey()));
            byField.put(field(e.getKey()), e.getKey());
            args.add(epoch);
            args.add(Long.toString(sinkBatch.start().get(e.getKey())));
            args.add(Long.toString(e.getValue()));
        }
        args.add(Timestamps.iso(now));

        Map<String, Integer> contentIndex = new LinkedHashMap<>();
        Map<String, EnrichedEvent> latest = new HashMap<>();
        Map<String, Integer> minuteIndex = new LinkedHashMap<>();
        List<Long> minuteExpiry = new ArrayList<>();
        List<String> events = new ArrayList<>(batch.size() * 7);
        for (SinkRecord r : batch) {
            EnrichedEvent e = r.event();
            int c = contentIndex.computeIfAbsent(e.contentId(), k -> contentIndex.size() + 1);
            latest.put(e.contentId(), e);
            Instant ts = Timestamps.parse(e.eventTs());
            long minuteStart = ts.getEpochSecond() / 60 * 60;
            long expireAt = minuteStart + 60 + minuteTtlSeconds;
            int m = 0;
            if (expireAt > now.getEpochSecond()) {
                m = minuteIndex.computeIfAbsent(Timestamps.minute(ts), k -> {
                    minuteExpiry.add(expireAt);
                    return minuteIndex.size() + 1;
                });
            }
            events.add(Long.toString(e.eventId() >> SEEN_BITS)); // in Java: Lua would lose ids above 2^53
            events.add(Long.toString(e.eventId() & SEEN_MASK));
            events.add(Integer.toString(c));
            events.add(Integer.toString(e.eventType().ordinal() + 1));
            events.add(e.engagementMs() == null ? "0" : Long.toString(e.engagementMs()));
            events.add(Integer.toString(m));
            events.add(Timestamps.fixedMillis(ts));
        }
        args.add(Integer.toString(contentIndex.size()));
        for (String contentId : contentIndex.keySet()) {
            EnrichedEvent e = latest.get(contentId);
            args.add(contentId);
            args.add(nullToEmpty(e.contentTitle()));
            args.add(nullToEmpty(e.contentType()));
            args.add(e.contentLengthSeconds() == null ? "" : e.contentLengthSeconds().toString());
        }
        args.add(Integer.toString(minuteIndex.size()));
        int mi = 0;
        for (String minute : minuteIndex.keySet()) {
            args.add(minute);
            args.add(Long.toString(minuteExpiry.get(mi++)));
        }
        args.add(Integer.toString(batch.size()));
        args.addAll(events);
        return args;
    }

    private List<Object> eval(boolean claim, List<String> args) {
        String[] argv = args.toArray(String[]::new);
        try {
            try {
                return redis.sync().evalsha(claim ? claimSha() : applySha(), ScriptOutputType.MULTI, new String[0], argv);
            } catch (RedisNoScriptException e) {
                // Redis restarted (its script cache is gone): load again once
                applySha = null;
                claimSha = null;
                return redis.sync().evalsha(claim ? claimSha() : applySha(), ScriptOutputType.MULTI, new String[0], argv);
            }
        } catch (RuntimeException e) {
            status = "unreachable: " + e.getMessage();
            throw e;
        }
    }

    private String applySha() {
        if (applySha == null) {
            applySha = redis.sync().scriptLoad(APPLY);
        }
        return applySha;
    }

    private String claimSha() {
        if (claimSha == null) {
            claimSha = redis.sync().scriptLoad(CLAIM);
        }
        return claimSha;
    }

    @Override
    public String status() {
        return status;
    }

    @Override
    public void close() {
        redis.close();
    }

    /** Seconds from integer milliseconds, as the scripts write them: 1500 is "1.5", 1000 is "1.0". */
    static String seconds(long ms) {
        long s = Math.floorDiv(ms, 1000);
        long r = ms - s * 1000;
        if (r == 0) {
            return s + ".0";
        }
        String frac = String.format("%03d", r).replaceAll("0+$", "");
        return s + "." + frac;
    }

    static String field(TopicPartition tp) {
        return tp.topic() + ":" + tp.partition();
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }

    static String resource(String name) {
        try (InputStream in = RedisSink.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
