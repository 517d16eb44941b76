package dev.engagement.pipeline.server;

import com.sun.net.httpserver.HttpExchange;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.sink.warehouse.Warehouse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.regex.Pattern;

/**
 * {@code POST /api/warehouse/query}: one SELECT against the warehouse this process writes, for a
 * person or {@code ./pipeline warehouse query}. Who may ask: with ADMIN_TOKEN set, whoever presents
 * it as a bearer token; else callers on this host, who name this host (a DNS-rebound page names
 * another). A browser page of another origin is refused whatever it sends. The warehouse itself
 * keeps the query read-only; time, rows, body size and concurrent queries are bounded.
 */
final class WarehouseQueryEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(WarehouseQueryEndpoint.class);
    private static final Pattern LOOPBACK_HOST = Pattern.compile("(localhost|127\\.0\\.0\\.1|\\[::1\\])(:\\d{1,5})?");
    private static final int CONCURRENT = 2;

    private final Optional<Warehouse> warehouse;
    private final PipelineConfig.Http http;
    private final Semaphore running = new Semaphore(CONCURRENT);

    WarehouseQueryEndpoint(Optional<Warehouse> warehouse, PipelineConfig.Http http) {
        this.warehouse = warehouse;
        this.http = http;
    }

    void handle(HttpExchange ex) throws IOException {
        if (!"POST".equals(ex.getRequestMethod())) {
            ex.getResponseHeaders().add("Allow", "POST");
            Responses.json(ex, 405, Responses.error("POST the SQL as the request body"));
            return;
        }
        Refusal refusal = refusal(ex);
        if (refusal != null) {
            if (refusal.status == 401) {
                ex.getResponseHeaders().add("WWW-Authenticate", "Bearer");
            }
            LOG.warn("warehouse query from {} refused: {}", ex.getRemoteAddress().getAddress().getHostAddress(),
                    refusal.reason);
            Responses.json(ex, refusal.status, Responses.error(refusal.reason));
            return;
        }
        if (warehouse.isEmpty()) {
            Responses.json(ex, 404, Responses.error("this process does not run the warehouse component"));
            return;
        }
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes(http.queryMaxBytes() + 1);
        }
        if (body.length > http.queryMaxBytes()) {
            Responses.json(ex, 413, Responses.error("the SQL is longer than " + http.queryMaxBytes()
                    + " bytes (WAREHOUSE_QUERY_MAX_BYTES)"));
            return;
        }
        if (!running.tryAcquire()) {
            ex.getResponseHeaders().add("Retry-After", "1");
            Responses.json(ex, 429, Responses.error(CONCURRENT + " warehouse queries are running already"));
            return;
        }
        try {
            Warehouse.QueryResult result = warehouse.get().select(new String(body, StandardCharsets.UTF_8),
                    new Warehouse.QueryLimits(http.queryTimeout(), http.queryMaxRows()));
            Responses.json(ex, 200, result.toJson());
        } catch (Warehouse.RefusedQueryException e) {
            Responses.json(ex, 400, Responses.error("refused: " + e.getMessage()));
        } catch (Exception e) {
            Responses.json(ex, 400, Responses.error(firstLine(e.getMessage())));
        } finally {
            running.release();
        }
    }

    private record Refusal(int status, String reason) {
    }

    /** Null when the caller may query; else why not. */
    private Refusal refusal(HttpExchange ex) {
        String host = ex.getRequestHeaders().getFirst("Host");
        String origin = ex.getRequestHeaders().getFirst("Origin");
        if (origin != null && (host == null || !origin.equalsIgnoreCase("http://" + host))) {
            return new Refusal(403, "requests from another origin (" + origin + ") are refused");
        }
        String site = ex.getRequestHeaders().getFirst("Sec-Fetch-Site");
        if (site != null && !site.equals("same-origin") && !site.equals("none")) {
            return new Refusal(403, "cross-site requests are refused");
        }
        if (!http.adminToken().isEmpty()) {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            return auth != null && sameSecret(auth, "Bearer " + http.adminToken().reveal()) ? null
                    : new Refusal(401, "this endpoint needs ADMIN_TOKEN as a bearer token");
        }
        if (!ex.getRemoteAddress().getAddress().isLoopbackAddress()) {
            return new Refusal(403, "warehouse queries are accepted from this host only (or set ADMIN_TOKEN)");
        }
        if (host == null || !LOOPBACK_HOST.matcher(host.toLowerCase(Locale.ROOT)).matches()) {
            return new Refusal(403, "a request from this host must name it (localhost, 127.0.0.1 or [::1]), not '"
                    + host + "'");
        }
        return null;
    }

    private static boolean sameSecret(String given, String expected) {
        return MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "the query failed";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
