package dev.engagement.pipeline.telemetry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.engagement.pipeline.model.Json;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Folds every process's recent snapshots into one view of the pipeline: rates per stage and sink
 * per second (each process's counter differences, summed over processes), latency per stage (the
 * highest of the processes' percentiles: percentiles of different processes cannot be merged
 * exactly, the highest is the honest bound), each service's health (the worst state of the
 * processes that use it), the breakers, dead letters, invalid events by reason and the data-quality
 * watch. A pure function of the snapshots and the time, so it is tested without a broker.
 */
public final class ViewFold {
    /** A process whose last snapshot is older than this is shown as not reporting. */
    public static final long STALE_MS = 5_000;
    /** How far back the series go. */
    public static final int SERIES_SECONDS = 300;
    /** A rate is carried over this many seconds without a snapshot (ticks are not exactly a second apart). */
    private static final int CARRY_SECONDS = 2;
    private static final List<String> SEVERITY = List.of("connected", "degraded", "stalled", "disconnected");

    private ViewFold() {
    }

    /** @param snapshots per instance, oldest first */
    public static ObjectNode fold(Map<String, List<JsonNode>> snapshots, long nowMs) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        List<JsonNode> reporting = new ArrayList<>();
        ArrayNode instances = out.putArray("instances");
        String status = "healthy";
        for (var e : new TreeMap<>(snapshots).entrySet()) {
            List<JsonNode> list = e.getValue();
            if (list.isEmpty()) {
                continue;
            }
            JsonNode last = list.get(list.size() - 1);
            long age = nowMs - last.path("at").asLong();
            boolean fresh = age <= STALE_MS;
            ObjectNode i = instances.addObject();
            i.put("instance", e.getKey());
            i.set("components", last.path("components"));
            i.put("status", fresh ? last.path("status").asText("unknown") : "not_reporting");
            i.put("last_seen_ms_ago", age);
            i.set("partitions", last.path("partitions"));
            if (fresh) {
                reporting.add(last);
                status = worse(status, last.path("status").asText("healthy"));
            } else {
                status = worse(status, "degraded");
            }
        }
        out.put("status", status);
        out.set("services", services(reporting));
        out.set("series", series(snapshots, nowMs));
        out.set("latency_ms", latency(reporting));
        out.set("breakers", breakers(reporting));
        out.set("dead_letters", deadLetters(snapshots, reporting, nowMs));
        out.set("invalid", invalid(snapshots, reporting, nowMs));
        out.set("quality", quality(reporting, snapshots, nowMs));
        String lastProcessed = null;
        for (JsonNode s : reporting) {
            String lp = s.path("last_processed").asText(null);
            if (lp != null && (lastProcessed == null || lp.compareTo(lastProcessed) > 0)) {
                lastProcessed = lp;
            }
        }
        out.put("last_processed", lastProcessed);
        return out;
    }

    private static String worse(String a, String b) {
        List<String> order = List.of("healthy", "degraded", "unhealthy");
        return order.indexOf(b) > order.indexOf(a) ? b : a;
    }

    /** Per service, the worst state among the reporting processes that use it, and who said so. */
    static ObjectNode services(List<JsonNode> reporting) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        Map<String, ObjectNode> byName = new TreeMap<>();
        for (JsonNode s : reporting) {
            for (var e : s.path("services").properties()) {
                String state = e.getValue().path("state").asText();
                if (!SEVERITY.contains(state)) {
                    continue; // not_used
                }
                ObjectNode was = byName.get(e.getKey());
                if (was == null || SEVERITY.indexOf(state) > SEVERITY.indexOf(was.path("state").asText())) {
                    ObjectNode svc = Json.MAPPER.createObjectNode();
                    svc.put("state", state);
                    svc.put("detail", e.getValue().path("detail").asText(""));
                    svc.put("instance", s.path("instance").asText());
                    svc.put("instances", was == null ? 1 : was.path("instances").asInt() + 1);
                    byName.put(e.getKey(), svc);
                } else {
                    was.put("instances", was.path("instances").asInt() + 1);
                }
            }
        }
        for (String name : List.of("kafka", "postgres", "redis", "warehouse", "external_api")) {
            ObjectNode svc = byName.remove(name);
            if (svc == null) {
                svc = Json.MAPPER.createObjectNode();
                svc.put("state", "not_used");
                svc.put("detail", "no process that reports uses it");
                svc.put("instances", 0);
            }
            out.set(name, svc);
        }
        byName.forEach(out::set);
        return out;
    }

    /**
     * One point a second over the last {@link #SERIES_SECONDS}: events per second per counter,
     * summed over processes, and the highest p99 per stage.
     */
    static ArrayNode series(Map<String, List<JsonNode>> snapshots, long nowMs) {
        long last = Math.floorDiv(nowMs, 1000L) - 1;
        long first = last - SERIES_SECONDS + 1;
        TreeMap<Long, double[]> rates = new TreeMap<>();
        TreeMap<Long, Map<String, Double>> p99 = new TreeMap<>();
        int n = Snapshot.COUNTS.size();
        for (List<JsonNode> list : snapshots.values()) {
            TreeMap<Long, double[]> mine = new TreeMap<>();
            TreeMap<Long, JsonNode> latency = new TreeMap<>();
            for (int i = 1; i < list.size(); i++) {
                JsonNode a = list.get(i - 1);
                JsonNode b = list.get(i);
                long dt = b.path("at").asLong() - a.path("at").asLong();
                boolean restarted = b.path("started").asLong() != a.path("started").asLong();
                if (dt <= 0 || dt > 10_000 || restarted) {
                    continue;
                }
                long sec = Math.floorDiv(b.path("at").asLong(), 1000L);
                double[] r = new double[n];
                for (int k = 0; k < n; k++) {
                    String c = Snapshot.COUNTS.get(k);
                    r[k] = Math.max(0, Snapshot.count(b, c) - Snapshot.count(a, c)) * 1000.0 / dt;
                }
                mine.merge(sec, r, (x, y) -> {
                    for (int k = 0; k < n; k++) {
                        x[k] = (x[k] + y[k]) / 2;
                    }
                    return x;
                });
                latency.put(sec, b.path("latency_ms"));
            }
            for (long sec = first; sec <= last; sec++) {
                var at = mine.floorEntry(sec);
                if (at != null && sec - at.getKey() <= CARRY_SECONDS) {
                    double[] sum = rates.computeIfAbsent(sec, k -> new double[n]);
                    for (int k = 0; k < n; k++) {
                        sum[k] += at.getValue()[k];
                    }
                }
                var lat = latency.floorEntry(sec);
                if (lat != null && sec - lat.getKey() <= CARRY_SECONDS) {
                    Map<String, Double> worst = p99.computeIfAbsent(sec, k -> new LinkedHashMap<>());
                    for (var e : lat.getValue().properties()) {
                        worst.merge(e.getKey(), e.getValue().path("p99").asDouble(), Math::max);
                    }
                }
            }
        }
        ArrayNode out = Json.MAPPER.createArrayNode();
        for (long sec = first; sec <= last; sec++) {
            double[] r = rates.get(sec);
            Map<String, Double> l = p99.get(sec);
            if (r == null && l == null) {
                continue;
            }
            ObjectNode point = out.addObject();
            point.put("t", sec * 1000);
            if (r != null) {
                for (int k = 0; k < n; k++) {
                    point.put(Snapshot.COUNTS.get(k), Math.round(r[k] * 10) / 10.0);
                }
            }
            ObjectNode lp = point.putObject("p99_ms");
            if (l != null) {
                l.forEach((stage, v) -> lp.put(stage, Math.round(v)));
            }
        }
        return out;
    }

    static ObjectNode latency(List<JsonNode> reporting) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        for (String stage : Snapshot.STAGES) {
            long p50 = -1;
            long p99 = -1;
            for (JsonNode s : reporting) {
                JsonNode l = s.path("latency_ms").path(stage);
                if (!l.isMissingNode()) {
                    p50 = Math.max(p50, l.path("p50").asLong());
                    p99 = Math.max(p99, l.path("p99").asLong());
                }
            }
            if (p99 >= 0) {
                ObjectNode l = out.putObject(stage);
                l.put("p50", p50);
                l.put("p99", p99);
            }
        }
        return out;
    }

    static ArrayNode breakers(List<JsonNode> reporting) {
        ArrayNode out = Json.MAPPER.createArrayNode();
        for (JsonNode s : reporting) {
            if (s.has("breaker")) {
                ObjectNode b = out.addObject();
                b.put("instance", s.path("instance").asText());
                b.put("state", s.path("breaker").asText());
            }
        }
        return out;
    }

    /** Dead letters: sent by the reporting processes since they started, and in the last five minutes. */
    static ObjectNode deadLetters(Map<String, List<JsonNode>> snapshots, List<JsonNode> reporting, long nowMs) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        double since = 0;
        long inTopic = -1;
        for (JsonNode s : reporting) {
            since += Snapshot.count(s, "http_dlq");
            inTopic = Math.max(inTopic, s.path("dlq_size").asLong(-1));
        }
        out.put("sent_since_start", (long) since);
        out.put("sent_recently", (long) recent(snapshots, nowMs, s -> Snapshot.count(s, "http_dlq")));
        if (inTopic >= 0) {
            out.put("in_topic", inTopic);
        }
        return out;
    }

    /** Invalid events by reason: since the reporting processors started, and in the last five minutes. */
    static ObjectNode invalid(Map<String, List<JsonNode>> snapshots, List<JsonNode> reporting, long nowMs) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        TreeSet<String> reasons = new TreeSet<>();
        for (List<JsonNode> list : snapshots.values()) {
            for (JsonNode s : list) {
                s.path("invalid_by_reason").fieldNames().forEachRemaining(reasons::add);
            }
        }
        ObjectNode total = out.putObject("since_start");
        ObjectNode recent = out.putObject("recently");
        for (String reason : reasons) {
            double sum = 0;
            for (JsonNode s : reporting) {
                sum += s.path("invalid_by_reason").path(reason).asDouble(0);
            }
            total.put(reason, (long) sum);
            recent.put(reason, (long) recent(snapshots, nowMs, s -> s.path("invalid_by_reason").path(reason).asDouble(0)));
        }
        return out;
    }

    /** How much a counter grew over the series' window, summed over processes (restarts counted from zero). */
    private static double recent(Map<String, List<JsonNode>> snapshots, long nowMs,
                                 java.util.function.ToDoubleFunction<JsonNode> counter) {
        long from = nowMs - SERIES_SECONDS * 1000L;
        double sum = 0;
        for (List<JsonNode> list : snapshots.values()) {
            JsonNode prev = null;
            for (JsonNode s : list) {
                if (s.path("at").asLong() < from) {
                    prev = s;
                    continue;
                }
                if (prev != null) {
                    boolean restarted = s.path("started").asLong() != prev.path("started").asLong();
                    double d = restarted ? counter.applyAsDouble(s) : counter.applyAsDouble(s) - counter.applyAsDouble(prev);
                    sum += Math.max(0, d);
                }
                prev = s;
            }
        }
        return sum;
    }

    /** The data-quality watches of the reporting processors: their anomalies, marks and readings, added up. */
    static ObjectNode quality(List<JsonNode> reporting, Map<String, List<JsonNode>> snapshots, long nowMs) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        ArrayNode anomalies = out.putArray("anomalies");
        double rate = 0;
        double baseline = 0;
        boolean anyRate = false;
        boolean allBaselines = true;
        int buckets = Integer.MAX_VALUE;
        int warmup = 0;
        for (JsonNode s : reporting) {
            JsonNode q = s.path("quality");
            if (q.isMissingNode()) {
                continue;
            }
            for (JsonNode a : q.path("anomalies")) {
                ObjectNode copy = a.deepCopy();
                copy.put("instance", s.path("instance").asText());
                anomalies.add(copy);
            }
            if (q.has("rate")) {
                anyRate = true;
                rate += q.path("rate").asDouble();
            }
            if (q.has("rate_baseline")) {
                baseline += q.path("rate_baseline").asDouble();
            } else {
                allBaselines = false;
            }
            buckets = Math.min(buckets, q.path("baseline_buckets").asInt());
            warmup = Math.max(warmup, q.path("warmup_buckets").asInt());
        }
        if (anyRate) {
            out.put("rate", Math.round(rate * 10) / 10.0);
            if (allBaselines) {
                out.put("rate_baseline", Math.round(baseline * 10) / 10.0);
            }
            out.put("baseline_buckets", buckets);
            out.put("warmup_buckets", warmup);
        }
        // marks within the series' window, from every process's latest list, oldest first
        long from = nowMs - SERIES_SECONDS * 1000L;
        List<JsonNode> marks = new ArrayList<>();
        for (List<JsonNode> list : snapshots.values()) {
            if (list.isEmpty()) {
                continue;
            }
            JsonNode last = list.get(list.size() - 1);
            for (JsonNode m : last.path("quality").path("marks")) {
                if (m.path("at").asLong() >= from) {
                    ObjectNode copy = m.deepCopy();
                    copy.put("instance", last.path("instance").asText());
                    marks.add(copy);
                }
            }
        }
        marks.sort(Comparator.comparingLong(m -> m.path("at").asLong()));
        ArrayNode markArray = out.putArray("marks");
        marks.forEach(markArray::add);
        return out;
    }

    /** Drops snapshots older than {@code keepMs} before {@code nowMs}, keeping each list's last one. */
    static void trim(List<JsonNode> list, long nowMs, long keepMs) {
        for (Iterator<JsonNode> it = list.iterator(); it.hasNext() && list.size() > 1; ) {
            if (it.next().path("at").asLong() < nowMs - keepMs) {
                it.remove();
            } else {
                break;
            }
        }
    }
}
