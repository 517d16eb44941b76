package dev.engagement.pipeline.telemetry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.engagement.pipeline.config.SecretMasker;
import dev.engagement.pipeline.metrics.Latency;
import dev.engagement.pipeline.metrics.Meters;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.quality.Anomaly;
import dev.engagement.pipeline.quality.QualityWatch;
import dev.engagement.pipeline.server.HealthService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.time.Instant;
import java.util.List;

/**
 * What one process tells the others about itself once a second, on {@code pipeline.telemetry}:
 * its counters (cumulative since it started), its latency percentiles, its health, its breaker and
 * its data-quality watch. Whichever process serves the dashboard folds every process's snapshots
 * into the whole pipeline's view ({@link PipelineView}). Health details are scrubbed of secrets,
 * as on /health.
 */
public final class Snapshot {
    /** Stages whose commit-to-stage latency is reported, in the pipeline's order. */
    public static final List<String> STAGES = List.of("source", "processor", "redis", "warehouse", "http");
    /** The counters every snapshot carries, by the name the dashboard uses. */
    public static final List<String> COUNTS = List.of("source", "enriched", "invalid", "redis", "warehouse", "http",
            "http_dlq");
    private static final int MARKS_SENT = 50;

    private Snapshot() {
    }

    /** Everything one process knows of itself. */
    public record Sources(String instance, List<String> components, long startedMs, MeterRegistry registry,
                         HealthService.Report health, QualityWatch quality) {
    }

    public static ObjectNode of(Sources s, long nowMs) {
        MeterRegistry r = s.registry();
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("v", 1);
        out.put("instance", s.instance());
        out.put("at", nowMs);
        out.put("started", s.startedMs());
        ArrayNode components = out.putArray("components");
        s.components().forEach(components::add);

        ObjectNode counts = out.putObject("counts");
        counts.put("source", Meters.count(r, "pipeline.source.records", "table", "engagement_events"));
        counts.put("enriched", Meters.count(r, "pipeline.processor.records", "outcome", "enriched"));
        counts.put("invalid", Meters.count(r, "pipeline.processor.records", "outcome", "invalid"));
        for (String sink : List.of("redis", "warehouse", "http")) {
            counts.put(sink, Meters.count(r, "pipeline.sink.events", "sink", sink));
        }
        counts.put("http_dlq", Meters.count(r, "pipeline.http.dlq.records", null, null));
        ObjectNode byReason = out.putObject("invalid_by_reason");
        for (Counter c : r.find("pipeline.processor.records").tag("outcome", "invalid").counters()) {
            String reason = c.getId().getTag("reason");
            if (reason != null) {
                byReason.put(reason, byReason.path(reason).asDouble(0) + c.count());
            }
        }
        ObjectNode failures = out.putObject("sink_failures");
        for (Counter c : r.find("pipeline.sink.failures").counters()) {
            failures.put(c.getId().getTag("sink"), c.count());
        }

        ObjectNode latency = out.putObject("latency_ms");
        for (String stage : STAGES) {
            double p99 = Latency.percentileMs(r, stage, 0.99);
            if (!Double.isNaN(p99)) {
                ObjectNode l = latency.putObject(stage);
                l.put("p50", Math.round(Latency.percentileMs(r, stage, 0.5)));
                l.put("p99", Math.round(p99));
            }
        }

        Gauge breaker = r.find("pipeline.http.breaker.state").gauge();
        if (breaker != null) {
            int code = (int) breaker.value();
            out.put("breaker", code == 1 ? "open" : code == 2 ? "half_open" : "closed");
        }
        Gauge dlq = r.find("pipeline.http.dlq.size").gauge();
        if (dlq != null && dlq.value() >= 0) {
            out.put("dlq_size", (long) dlq.value());
        }
        Gauge slot = r.find("pipeline.source.slot.lag.bytes").gauge();
        if (slot != null && slot.value() >= 0) {
            out.put("slot_lag_bytes", (long) slot.value());
        }

        HealthService.Report h = s.health();
        if (h != null) {
            out.put("status", h.status());
            ObjectNode services = out.putObject("services");
            h.services().forEach((name, result) -> {
                ObjectNode svc = services.putObject(name);
                svc.put("state", result.state());
                svc.put("detail", SecretMasker.scrub(result.detail()));
            });
            out.put("last_processed", h.lastProcessed().map(Instant::toString).orElse(null));
            out.set("partitions", Json.MAPPER.valueToTree(h.partitions()));
        }

        QualityWatch q = s.quality();
        if (q != null) {
            ObjectNode quality = out.putObject("quality");
            var readings = q.readings();
            putFinite(quality, "rate", readings.get("rate"));
            putFinite(quality, "rate_baseline", readings.get("rate_baseline"));
            putFinite(quality, "over100", readings.get("over100"));
            putFinite(quality, "over100_baseline", readings.get("over100_baseline"));
            quality.put("baseline_buckets", readings.getOrDefault("folded", 0.0).intValue());
            quality.put("warmup_buckets", q.warmupBuckets());
            ArrayNode active = quality.putArray("anomalies");
            for (Anomaly a : q.active()) {
                ObjectNode n = active.addObject();
                n.put("kind", a.kind().wire());
                n.put("subject", a.subject());
                n.put("detail", a.detail());
                n.put("since", a.sinceMs());
            }
            ArrayNode marks = quality.putArray("marks");
            List<QualityWatch.Mark> all = q.marks();
            for (QualityWatch.Mark m : all.subList(Math.max(0, all.size() - MARKS_SENT), all.size())) {
                ObjectNode n = marks.addObject();
                n.put("at", m.atMs());
                n.put("kind", m.kind().wire());
                n.put("subject", m.subject());
                n.put("raised", m.raised());
                n.put("detail", m.detail());
            }
        }
        return out;
    }

    private static void putFinite(ObjectNode node, String field, Double value) {
        if (value != null && Double.isFinite(value)) {
            node.put(field, value);
        }
    }

    /** A counter of a snapshot, 0 when absent. */
    static double count(JsonNode snapshot, String name) {
        return snapshot.path("counts").path(name).asDouble(0);
    }
}
