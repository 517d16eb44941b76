package dev.engagement.pipeline.testing;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.model.Decimals;
import dev.engagement.pipeline.sink.warehouse.Warehouse;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Ground truth: what SQL computes over the valid rows of engagement_events, and where the sinks
 * differ from it. Every end-to-end and fault test ends here.
 */
public final class Oracle {
    /** The rows the pipeline must count: valid by the rules in the README (content exists by the foreign key). */
    public static final String VALID = "content_id IS NOT NULL AND (duration_ms IS NULL OR duration_ms >= 0) "
            + "AND content_id IN (SELECT id FROM content) "
            + "AND (raw_payload IS NULL OR octet_length(raw_payload::text) < 32 * 1024 * 1024)"; // else too_large

    private final PipelineConfig config;

    public Oracle(PipelineConfig config) {
        this.config = config;
    }

    public record Agg(long events, long ms, long play, long pause, long finish, long click) {
    }

    public record Truth(Map<String, Agg> perContent, Set<Long> validIds, Set<Long> invalidIds) {
        public Agg total() {
            long e = 0, ms = 0, pl = 0, pa = 0, f = 0, c = 0;
            for (Agg a : perContent.values()) {
                e += a.events; ms += a.ms; pl += a.play; pa += a.pause; f += a.finish; c += a.click;
            }
            return new Agg(e, ms, pl, pa, f, c);
        }
    }

    public Truth truth() throws SQLException {
        Map<String, Agg> per = new HashMap<>();
        Set<Long> valid = new TreeSet<>();
        Set<Long> invalid = new TreeSet<>();
        try (Connection c = Database.connect(config.postgres()); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT content_id::text, count(*), coalesce(sum(duration_ms), 0), "
                    + "count(*) FILTER (WHERE event_type = 'play'), count(*) FILTER (WHERE event_type = 'pause'), "
                    + "count(*) FILTER (WHERE event_type = 'finish'), count(*) FILTER (WHERE event_type = 'click') "
                    + "FROM engagement_events WHERE " + VALID + " GROUP BY content_id")) {
                while (rs.next()) {
                    per.put(rs.getString(1), new Agg(rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
                            rs.getLong(6), rs.getLong(7)));
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT id, " + VALID + " FROM engagement_events")) {
                while (rs.next()) {
                    (rs.getBoolean(2) ? valid : invalid).add(rs.getLong(1));
                }
            }
        }
        return new Truth(per, valid, invalid);
    }

    /** Every way Redis differs from the truth; empty when it is exact. */
    public List<String> redisMismatches(Truth truth) {
        List<String> out = new ArrayList<>();
        try (var conn = new dev.engagement.pipeline.sink.redis.LazyRedis(config.redis())) {
            var redis = conn.sync(); // one Redis, or every node of a cluster
            for (Map.Entry<String, Agg> e : truth.perContent().entrySet()) {
                Map<String, String> h = redis.hgetall("content:" + e.getKey());
                compare(out, "content:" + e.getKey(), e.getValue(), h);
                String score = redis.zscore("rank:engagement", e.getKey()) == null ? null
                        : BigDecimal.valueOf(redis.zscore("rank:engagement", e.getKey())).toString();
                if (score == null || new BigDecimal(score).compareTo(BigDecimal.valueOf(e.getValue().ms, 3)) != 0) {
                    out.add("rank:engagement " + e.getKey() + ": score " + score + " but SQL says "
                            + Decimals.seconds(e.getValue().ms));
                }
            }
            long contentKeys = conn.keys("content:*").size();
            if (contentKeys != truth.perContent().size()) {
                out.add(contentKeys + " content:* keys but SQL has " + truth.perContent().size() + " contents with events");
            }
            compare(out, "stats:global", truth.total(), redis.hgetall("stats:global"));
        }
        return out;
    }

    private static void compare(List<String> out, String key, Agg want, Map<String, String> h) {
        check(out, key, "events", want.events, h);
        check(out, key, "engagement_ms", want.ms, h);
        check(out, key, "play", want.play, h);
        check(out, key, "pause", want.pause, h);
        check(out, key, "finish", want.finish, h);
        check(out, key, "click", want.click, h);
        String secs = h.get("engagement_seconds");
        if (want.events > 0 && (secs == null || new BigDecimal(secs).compareTo(BigDecimal.valueOf(want.ms, 3)) != 0)) {
            out.add(key + " engagement_seconds=" + secs + " but SQL says " + Decimals.seconds(want.ms));
        }
    }

    private static void check(List<String> out, String key, String field, long want, Map<String, String> h) {
        String got = h.get(field);
        if (want == 0 && got == null) {
            return;
        }
        if (got == null || Long.parseLong(got) != want) {
            out.add(key + " " + field + "=" + got + " but SQL says " + want);
        }
    }

    /** Runs SQL against the warehouse, however the test reaches it. */
    @FunctionalInterface
    public interface WarehouseSql {
        Warehouse.QueryResult query(String sql) throws Exception;
    }

    public static List<String> warehouseMismatches(Truth truth, Warehouse warehouse) throws Exception {
        return warehouseMismatches(truth, sql -> warehouse.select(sql, Warehouse.QueryLimits.GENEROUS));
    }

    /** Differences between the warehouse table and the valid rows: one row per valid event id, no other. */
    public static List<String> warehouseMismatches(Truth truth, WarehouseSql warehouse) throws Exception {
        List<String> out = new ArrayList<>();
        var counts = warehouse.query("SELECT count(*), count(DISTINCT event_id) FROM " + Warehouse.TABLE).rows().get(0);
        long rows = ((Number) counts.get(0)).longValue();
        long distinct = ((Number) counts.get(1)).longValue();
        if (rows != distinct) {
            out.add("warehouse has " + rows + " rows for " + distinct + " event ids");
        }
        Set<Long> ids = new TreeSet<>();
        Warehouse.QueryResult all = warehouse.query("SELECT event_id FROM " + Warehouse.TABLE);
        if (all.truncated()) {
            throw new IllegalStateException("the warehouse answered " + all.rows().size() + " of " + rows
                    + " rows (cut by WAREHOUSE_QUERY_MAX_ROWS): the oracle cannot compare a cut result");
        }
        for (List<Object> r : all.rows()) {
            ids.add(((Number) r.get(0)).longValue());
        }
        if (!ids.equals(truth.validIds())) {
            Set<Long> missing = new TreeSet<>(truth.validIds());
            missing.removeAll(ids);
            Set<Long> extra = new TreeSet<>(ids);
            extra.removeAll(truth.validIds());
            out.add("warehouse event ids differ from SQL: missing " + head(missing) + ", extra " + head(extra));
        }
        return out;
    }

    public static String head(Set<Long> ids) {
        return ids.size() <= 10 ? ids.toString() : ids.stream().limit(10).toList() + "… (" + ids.size() + ")";
    }
}
