package dev.engagement.pipeline.server;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.sink.redis.LazyRedis;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.api.sync.RedisCommands;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Read-only queries over the Redis aggregates, for /api and the dashboard. */
public final class RedisQueries implements AutoCloseable {
    private static final DateTimeFormatter MINUTE = DateTimeFormatter.ofPattern("yyyyMMddHHmm").withZone(ZoneOffset.UTC);

    private final LazyRedis connection;

    public RedisQueries(PipelineConfig.Redis config) {
        this.connection = new LazyRedis(config);
    }

    private io.lettuce.core.cluster.api.sync.RedisClusterCommands<String, String> redis() {
        return connection.sync();
    }

    public String ping() {
        return redis().ping();
    }

    public Map<String, String> stats() {
        return redis().hgetall("stats:global");
    }

    public Map<String, String> content(String id) {
        return redis().hgetall("content:" + id);
    }

    public Optional<Instant> lastProcessed() {
        String v = redis().get("pipeline:redis:last_processed");
        return v == null ? Optional.empty() : Optional.of(Instant.parse(v));
    }

    /** Top content by engagement: all time, or over the last {@code window} of event time in whole minutes. */
    public List<Ranked> top(Optional<Duration> window, int limit, Instant now) {
        List<ScoredValue<String>> scored;
        if (window.isEmpty()) {
            scored = redis().zrevrangeWithScores("rank:engagement", 0, limit - 1);
        } else {
            long minutes = Math.max(1, window.get().toMinutes());
            String[] keys = new String[(int) minutes];
            Instant minute = now.truncatedTo(java.time.temporal.ChronoUnit.MINUTES);
            for (int i = 0; i < minutes; i++) {
                keys[i] = "rank:engagement:" + MINUTE.format(minute.minusSeconds(60L * i));
            }
            if (!connection.cluster()) {
                // one command: the minutes' sorted sets summed by Redis, highest first
                scored = new ArrayList<>(redis().zunionWithScores(keys));
                java.util.Collections.reverse(scored);
            } else {
                scored = summedHere(keys);
            }
            if (scored.size() > limit) {
                scored = scored.subList(0, limit);
            }
        }
        // the titles, pipelined: one round trip for the whole list
        var async = connection.async();
        List<io.lettuce.core.RedisFuture<String>> titles = new ArrayList<>(scored.size());
        for (ScoredValue<String> s : scored) {
            titles.add(async.hget("content:" + s.getValue(), "title"));
        }
        List<Ranked> out = new ArrayList<>(scored.size());
        for (int i = 0; i < scored.size(); i++) {
            out.add(new Ranked(scored.get(i).getValue(), get(titles.get(i), "reading titles"), scored.get(i).getScore()));
        }
        return out;
    }

    /**
     * On a Redis Cluster the minutes' keys lie in other slots, so no ZUNION: each minute is read
     * (pipelined, one round trip for the whole window) and summed here.
     */
    private List<ScoredValue<String>> summedHere(String[] keys) {
        var async = connection.async();
        List<io.lettuce.core.RedisFuture<List<ScoredValue<String>>>> reads = new ArrayList<>(keys.length);
        for (String key : keys) {
            reads.add(async.zrangeWithScores(key, 0, -1));
        }
        Map<String, Double> sums = new java.util.HashMap<>();
        for (var read : reads) {
            for (ScoredValue<String> v : get(read, "reading " + keys.length + " minute ranks")) {
                sums.merge(v.getValue(), v.getScore(), Double::sum);
            }
        }
        List<ScoredValue<String>> summed = new ArrayList<>(sums.size());
        sums.forEach((id, score) -> summed.add(ScoredValue.just(score, id)));
        summed.sort(Comparator.comparingDouble((ScoredValue<String> s) -> s.getScore()).reversed());
        return summed;
    }

    private static <T> T get(io.lettuce.core.RedisFuture<T> future, String what) {
        try {
            return future.get(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException(what + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    public record Ranked(String contentId, String title, double engagementSeconds) {
    }

    @Override
    public void close() {
        connection.close();
    }
}
