package dev.engagement.pipeline.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.engagement.pipeline.model.Json;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.zip.GZIPInputStream;

/**
 * A real HTTP server standing in for the external API in tests. It records every request and answers
 * by a policy the test sets: an HTTP status, headers, or a delay (to provoke client time-outs).
 */
public final class ApiReceiver implements AutoCloseable {
    private final HttpServer server;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private volatile Function<Request, Reply> policy = r -> Reply.status(200);

    public ApiReceiver() throws IOException {
        System.setProperty("sun.net.httpserver.nodelay", "true");
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 256);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", this::handle);
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/events";
    }

    public void respond(Function<Request, Reply> policy) {
        this.policy = policy;
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            byte[] body;
            try (InputStream in = "gzip".equalsIgnoreCase(ex.getRequestHeaders().getFirst("Content-Encoding"))
                    ? new GZIPInputStream(ex.getRequestBody()) : ex.getRequestBody()) {
                body = in.readAllBytes();
            }
            List<JsonNode> events = new ArrayList<>();
            boolean parsed;
            try {
                Json.MAPPER.readTree(body).forEach(events::add);
                parsed = true;
            } catch (IOException e) {
                parsed = false;
            }
            Request request = new Request(Instant.now(), ex.getRequestMethod(), Map.copyOf(ex.getRequestHeaders()), body,
                    events, parsed);
            Reply reply = policy.apply(request);
            request.answered = reply.status;
            requests.add(request);
            if (reply.delayMs > 0) {
                try {
                    Thread.sleep(reply.delayMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            reply.headers.forEach((k, v) -> ex.getResponseHeaders().add(k, v));
            ex.sendResponseHeaders(reply.status, -1);
        }
    }

    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** Event ids of every request answered 2xx. */
    public Set<Long> deliveredEventIds() {
        Set<Long> ids = new TreeSet<>();
        for (Request r : requests) {
            if (r.answered >= 200 && r.answered < 300) {
                r.events.forEach(e -> ids.add(e.get("event_id").asLong()));
            }
        }
        return ids;
    }

    /**
     * Accepted events seen before, split by whether the repeat carried the key of an earlier accepted
     * request for that event (a resend the API can recognise) or a new key.
     */
    public Map<String, Long> repeats() {
        Map<Long, Set<String>> keysById = new java.util.HashMap<>();
        long sameKey = 0;
        long newKey = 0;
        for (Request r : requests) {
            if (r.answered < 200 || r.answered >= 300) {
                continue;
            }
            String key = r.header("Idempotency-Key");
            for (JsonNode e : r.events) {
                Set<String> keys = keysById.computeIfAbsent(e.get("event_id").asLong(), k -> new java.util.HashSet<>());
                if (!keys.isEmpty()) {
                    if (keys.contains(key)) {
                        sameKey++;
                    } else {
                        newKey++;
                    }
                }
                keys.add(key);
            }
        }
        return Map.of("same_key", sameKey, "new_key", newKey);
    }

    /** How many event deliveries the API accepted, counting repeats. */
    public long deliveredEventCount() {
        return requests.stream().filter(r -> r.answered >= 200 && r.answered < 300).mapToLong(r -> r.events.size()).sum();
    }

    @Override
    public void close() {
        server.stop(0);
    }

    public static final class Request {
        public final Instant at;
        public final String method;
        public final Map<String, List<String>> headers;
        public final byte[] body;
        public final List<JsonNode> events;
        public final boolean json;
        volatile int answered;

        Request(Instant at, String method, Map<String, List<String>> headers, byte[] body, List<JsonNode> events,
                boolean json) {
            this.at = at;
            this.method = method;
            this.headers = headers;
            this.body = body;
            this.events = events;
            this.json = json;
        }

        public String header(String name) {
            for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) {
                    return e.getValue().get(0);
                }
            }
            return null;
        }

        public int answered() {
            return answered;
        }
    }

    public record Reply(int status, Map<String, String> headers, long delayMs) {
        public static Reply status(int status) {
            return new Reply(status, Map.of(), 0);
        }

        public static Reply withHeader(int status, String name, String value) {
            return new Reply(status, Map.of(name, value), 0);
        }

        public static Reply delayed(int status, long delayMs) {
            return new Reply(status, Map.of(), delayMs);
        }
    }
}
