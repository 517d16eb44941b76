package dev.engagement.pipeline.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.engagement.pipeline.config.Durations;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.config.SecretMasker;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.sink.warehouse.Warehouse;
import dev.engagement.pipeline.telemetry.BacklogWatch;
import dev.engagement.pipeline.telemetry.PipelineView;
import dev.engagement.pipeline.topic.Backlog;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;

/**
 * The pipeline's HTTP surface on the JDK's HTTP server: /health, /metrics, /api/stats,
 * /api/content/{id}, /api/top, /api/dashboard, the dashboard at / and the warehouse query endpoint
 * ({@link WarehouseQueryEndpoint}). Every response carries the security headers of {@link Responses}.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    private static final Pattern UUID_FORM = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final List<String> COUNTS = List.of("events", "play", "pause", "finish", "click", "engagement_ms");

    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(4,
            dev.engagement.pipeline.Threads.daemon("http-api"));
    private final HealthService health;
    private final PrometheusMeterRegistry registry;
    private final RedisQueries redis;
    private final PipelineView view;
    private final BacklogWatch backlog;
    private final Map<String, Asset> assets = new HashMap<>();
    private final WarehouseQueryEndpoint warehouseQuery;

    private record Asset(String type, byte[] body) {
    }

    public ApiServer(PipelineConfig.Http http, HealthService health, PrometheusMeterRegistry registry,
                     RedisQueries redis, PipelineView view, BacklogWatch backlog, Optional<Warehouse> warehouse)
            throws IOException {
        System.setProperty("sun.net.httpserver.nodelay", "true");
        this.health = health;
        this.registry = registry;
        this.redis = redis;
        this.view = view;
        this.backlog = backlog;
        this.warehouseQuery = new WarehouseQueryEndpoint(warehouse, http);
        Asset page = new Asset("text/html; charset=utf-8", resource("/dashboard/index.html"));
        assets.put("/", page);
        assets.put("/index.html", page);
        assets.put("/dashboard.js", new Asset("text/javascript; charset=utf-8", resource("/dashboard/dashboard.js")));
        assets.put("/dashboard.css", new Asset("text/css; charset=utf-8", resource("/dashboard/dashboard.css")));
        this.server = HttpServer.create(new InetSocketAddress(http.bind(), http.port()), 128);
        server.setExecutor(executor);
        server.createContext("/", this::route);
    }

    public void start() {
        server.start();
        LOG.info("dashboard and API on http://{}:{}/", server.getAddress().getHostString(), port());
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void route(HttpExchange ex) throws IOException {
        try (ex) {
            if ("/api/warehouse/query".equals(ex.getRequestURI().getPath())) {
                warehouseQuery.handle(ex);
                return;
            }
            if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().add("Allow", "GET, HEAD");
                json(ex, 405, error("method not allowed"));
                return;
            }
            String path = ex.getRequestURI().getPath();
            Map<String, String> query = query(ex.getRequestURI());
            Asset asset = assets.get(path);
            if (asset != null) {
                send(ex, 200, asset.type(), asset.body());
                return;
            }
            switch (path) {
                case "/health" -> health(ex);
                case "/health/live" -> live(ex);
                case "/health/ready" -> ready(ex);
                case "/metrics" -> send(ex, 200, "text/plain; version=0.0.4; charset=utf-8",
                        registry.scrape().getBytes(StandardCharsets.UTF_8));
                case "/api/stats" -> json(ex, 200, stats());
                case "/api/top" -> top(ex, query);
                case "/api/dashboard" -> json(ex, 200, dashboard());
                default -> {
                    if (path.startsWith("/api/content/")) {
                        content(ex, path.substring("/api/content/".length()));
                    } else {
                        json(ex, 404, error("no such endpoint: " + path));
                    }
                }
            }
        } catch (BadRequest e) {
            json(ex, 400, error(e.getMessage()));
        } catch (RuntimeException e) {
            LOG.warn("{} {} failed: {}", ex.getRequestMethod(), ex.getRequestURI().getPath(), e.getMessage());
            json(ex, 503, error("unavailable: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage())));
        }
    }

    private void health(HttpExchange ex) throws IOException {
        HealthService.Report report = health.report();
        json(ex, report.healthy() ? 200 : 503, healthJson(report));
    }

    /**
     * Liveness: this process answers. It checks no dependency, so a dependency that is down never
     * gets the process restarted (that would not bring the dependency back); every stage retries
     * on its own, and what it cannot do shows in {@code /health/ready} and {@code /health}.
     */
    private void live(HttpExchange ex) throws IOException {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("status", "live");
        json(ex, 200, body);
    }

    /**
     * Readiness: this instance's components can do their job: 200 while every service they use
     * answers ({@code connected}, or {@code degraded}: a sink that retries a batch, the breaker open
     * on a failing API; services this process does not use are {@code not_used}); 503 while one is
     * {@code disconnected} (Kafka, PostgreSQL or Redis unreachable, a sink that cannot work, a
     * partition stopped on a gap). The body is {@code /health}'s with {@code "ready"}.
     */
    private void ready(HttpExchange ex) throws IOException {
        HealthService.Report report = health.report();
        boolean ready = report.ready();
        ObjectNode body = healthJson(report);
        body.put("ready", ready);
        json(ex, ready ? 200 : 503, body);
    }

    static ObjectNode healthJson(HealthService.Report report) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("status", report.status());
        ObjectNode services = body.putObject("services");
        ObjectNode details = Json.MAPPER.createObjectNode();
        report.services().forEach((name, result) -> {
            services.put(name, result.state());
            details.put(name, SecretMasker.scrub(result.detail()));
        });
        body.put("last_processed", report.lastProcessed().map(Instant::toString).orElse(null));
        body.set("details", details);
        body.set("partitions", Json.MAPPER.valueToTree(report.partitions()));
        return body;
    }

    private ObjectNode stats() {
        Map<String, String> raw = redis.stats();
        ObjectNode out = Json.MAPPER.createObjectNode();
        for (String f : COUNTS) {
            out.put(f, Long.parseLong(raw.getOrDefault(f, "0")));
        }
        out.put("engagement_seconds", new BigDecimal(raw.getOrDefault("engagement_seconds", "0")));
        out.put("last_processed", redis.lastProcessed().map(Instant::toString).orElse(null));
        return out;
    }

    private void content(HttpExchange ex, String id) throws IOException {
        if (!UUID_FORM.matcher(id).matches()) {
            throw new BadRequest("content id must be a UUID, but was '" + id + "'");
        }
        Map<String, String> raw = redis.content(id.toLowerCase(java.util.Locale.ROOT));
        if (raw.isEmpty()) {
            json(ex, 404, error("no engagement recorded for content " + id));
            return;
        }
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("content_id", id.toLowerCase(java.util.Locale.ROOT));
        out.put("title", raw.get("title"));
        out.put("type", emptyToNull(raw.get("type")));
        String length = emptyToNull(raw.get("length_seconds"));
        if (length == null) {
            out.putNull("length_seconds");
        } else {
            out.put("length_seconds", Integer.parseInt(length));
        }
        for (String f : COUNTS) {
            out.put(f, Long.parseLong(raw.getOrDefault(f, "0")));
        }
        out.put("engagement_seconds", new BigDecimal(raw.getOrDefault("engagement_seconds", "0")));
        out.put("last_event_ts", raw.get("last_event_ts"));
        json(ex, 200, out);
    }

    private void top(HttpExchange ex, Map<String, String> query) throws IOException {
        Optional<Duration> window = Optional.empty();
        String w = query.get("window");
        if (w != null && !w.isEmpty() && !"all".equals(w)) {
            try {
                Duration d = Durations.parse(w);
                if (d.compareTo(Duration.ofMinutes(1)) < 0 || d.compareTo(Duration.ofHours(24)) > 0) {
                    throw new BadRequest("window must be between 1m and 24h, but was '" + w + "'");
                }
                window = Optional.of(d);
            } catch (IllegalArgumentException e) {
                throw new BadRequest("window " + e.getMessage() + " (or 'all'), but was '" + w + "'");
            }
        }
        int limit = 10;
        if (query.containsKey("limit")) {
            try {
                limit = Integer.parseInt(query.get("limit"));
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > 1000) {
                throw new BadRequest("limit must be an integer between 1 and 1000, but was '" + query.get("limit") + "'");
            }
        }
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("window", window.map(Durations::format).orElse("all"));
        out.set("items", ranked(redis.top(window, limit, Instant.now())));
        json(ex, 200, out);
    }

    private static ArrayNode ranked(List<RedisQueries.Ranked> items) {
        ArrayNode arr = Json.MAPPER.createArrayNode();
        int rank = 1;
        for (RedisQueries.Ranked r : items) {
            ObjectNode item = arr.addObject();
            item.put("rank", rank++);
            item.put("content_id", r.contentId());
            item.put("title", r.title());
            item.put("engagement_seconds", BigDecimal.valueOf(r.engagementSeconds()).setScale(3,
                    java.math.RoundingMode.HALF_UP));
        }
        return arr;
    }

    /**
     * The dashboard's data: the whole pipeline as {@link PipelineView} folds every process's
     * telemetry, the backlog measured from outside the stages, this process's own health and the
     * totals in Redis. Top content comes from {@code /api/top}, for the window the page chooses.
     */
    private ObjectNode dashboard() {
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("now", Instant.now().toString());
        out.set("health", healthJson(health.report()));
        ObjectNode pipeline = view.json();
        pipeline.set("backlog", backlogJson(backlog.last()));
        out.set("pipeline", pipeline);
        try {
            out.set("totals", stats());
        } catch (RuntimeException e) {
            out.put("redis_error", SecretMasker.scrub(e.getMessage()));
        }
        return out;
    }

    static ObjectNode backlogJson(BacklogWatch.Reading r) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        ArrayNode groups = out.putArray("groups");
        for (Backlog.GroupLag g : r.groups()) {
            ObjectNode n = groups.addObject();
            n.put("group", g.group());
            n.put("stage", stageOf(g.group()));
            n.put("state", g.state());
            n.put("lag", g.lag());
        }
        if (r.slot() != null) {
            ObjectNode slot = out.putObject("slot");
            slot.put("name", r.slot().name());
            slot.put("exists", r.slot().exists());
            slot.put("active", r.slot().active());
            slot.put("wal_status", r.slot().walStatus());
            slot.put("lag_bytes", r.slot().lagBytes());
        }
        if (r.deadLetters() >= 0) {
            out.put("dead_letters", r.deadLetters());
        }
        out.put("problem", SecretMasker.scrub(r.problem()));
        return out;
    }

    /** The stage a consumer group belongs to: the processor's, or the sink its name carries. */
    static String stageOf(String group) {
        if (group.startsWith("engagement-sink-")) {
            String rest = group.substring("engagement-sink-".length());
            int dash = rest.indexOf('-');
            return dash < 0 ? rest : rest.substring(0, dash);
        }
        return "processor";
    }

    private static ObjectNode error(String message) {
        return Responses.error(message);
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private static void json(HttpExchange ex, int status, ObjectNode body) throws IOException {
        Responses.json(ex, status, body);
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        Responses.send(ex, status, type, body);
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> out = new HashMap<>();
        String q = uri.getRawQuery();
        if (q == null) {
            return out;
        }
        for (String pair : q.split("&")) {
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            out.put(k, v);
        }
        return out;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = ApiServer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing resource " + name);
            }
            return in.readAllBytes();
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    static final class BadRequest extends RuntimeException {
        BadRequest(String message) {
            super(message);
        }
    }
}
