package dev.engagement.pipeline.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.model.Json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PushbackInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.zip.GZIPInputStream;

/**
 * A real HTTP/1.1 server standing in for the external API in tests, on plain sockets so that it
 * knows what the client saw: it records every request and answers by a policy the test sets (a
 * status, headers, or a delay to provoke client time-outs), and counts a request as answered only
 * once its response went out to a client still waiting for it. A batch the client gave up on
 * (it timed out and closed the connection) is not "delivered".
 */
public final class ApiReceiver implements AutoCloseable {
    private final ServerSocket server;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "api-receiver");
        t.setDaemon(true);
        return t;
    });
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private volatile Function<Request, Reply> policy = r -> Reply.status(200);
    private volatile boolean closed;

    public ApiReceiver() throws IOException {
        server = new ServerSocket(0, 256, InetAddress.getLoopbackAddress());
        pool.execute(this::accept);
    }

    public String url() {
        return "http://127.0.0.1:" + server.getLocalPort() + "/events";
    }

    public void respond(Function<Request, Reply> policy) {
        this.policy = policy;
    }

    private void accept() {
        while (!closed) {
            try {
                Socket s = server.accept();
                s.setTcpNoDelay(true);
                open.add(s);
                pool.execute(() -> serve(s));
            } catch (IOException e) {
                if (!closed) {
                    e.printStackTrace();
                }
            }
        }
    }

    /** One connection: requests one after another (keep-alive) until the client closes it. */
    private void serve(Socket socket) {
        try (socket) {
            PushbackInputStream in = new PushbackInputStream(socket.getInputStream(), 1);
            OutputStream out = socket.getOutputStream();
            while (!closed) {
                String requestLine = line(in);
                if (requestLine == null) {
                    return;
                }
                Map<String, List<String>> headers = new LinkedHashMap<>();
                for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
                    int colon = h.indexOf(':');
                    headers.computeIfAbsent(h.substring(0, colon).strip(), k -> new ArrayList<>())
                            .add(h.substring(colon + 1).strip());
                }
                byte[] body = body(in, headers);
                Request request = request(requestLine, headers, body);
                requests.add(request);
                Reply reply = policy.apply(request);
                if (reply.delayMs > 0 && clientLeftWithin(socket, in, reply.delayMs)) {
                    request.answered = -1; // the client gave up: it never learns of an answer
                    return;
                }
                StringBuilder head = new StringBuilder("HTTP/1.1 ").append(reply.status).append(' ')
                        .append(reason(reply.status)).append("\r\nContent-Length: 0\r\n");
                reply.headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
                out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                request.answered = reply.status;
            }
        } catch (IOException e) {
            // the client went away mid-request: nothing was answered
        } finally {
            open.remove(socket);
        }
    }

    /** Waits up to {@code ms}; true when the client closed the connection meanwhile. */
    private static boolean clientLeftWithin(Socket socket, PushbackInputStream in, long ms) throws IOException {
        try {
            socket.setSoTimeout((int) Math.max(1, ms));
            int b = in.read();
            if (b < 0) {
                return true;
            }
            in.unread(b);
            return false;
        } catch (SocketTimeoutException e) {
            return false;
        } finally {
            socket.setSoTimeout(0);
        }
    }

    private static Request request(String requestLine, Map<String, List<String>> headers, byte[] raw) {
        byte[] body = raw;
        if ("gzip".equalsIgnoreCase(first(headers, "Content-Encoding"))) {
            try (InputStream z = new GZIPInputStream(new java.io.ByteArrayInputStream(raw))) {
                body = z.readAllBytes();
            } catch (IOException e) {
                body = raw;
            }
        }
        List<JsonNode> events = new ArrayList<>();
        boolean parsed;
        try {
            Json.MAPPER.readTree(body).forEach(events::add);
            parsed = true;
        } catch (IOException | RuntimeException e) {
            parsed = false;
        }
        return new Request(Instant.now(), requestLine.substring(0, requestLine.indexOf(' ')), Map.copyOf(headers), body,
                events, parsed);
    }

    private static byte[] body(InputStream in, Map<String, List<String>> headers) throws IOException {
        String length = first(headers, "Content-Length");
        if (length != null) {
            return in.readNBytes(Integer.parseInt(length));
        }
        if ("chunked".equalsIgnoreCase(first(headers, "Transfer-Encoding"))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (String size = line(in); size != null; size = line(in)) {
                int n = Integer.parseInt(size.split(";")[0].strip(), 16);
                if (n == 0) {
                    line(in);
                    break;
                }
                out.write(in.readNBytes(n));
                line(in);
            }
            return out.toByteArray();
        }
        return new byte[0];
    }

    private static String first(Map<String, List<String>> headers, String name) {
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            if (e.getKey().equalsIgnoreCase(name)) {
                return e.getValue().get(0);
            }
        }
        return null;
    }

    /** One CRLF-terminated line, or null at the end of the stream. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64);
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                String s = b.toString(StandardCharsets.ISO_8859_1);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
    }

    private static String reason(int status) {
        return switch (status / 100) {
            case 2 -> "OK";
            case 4 -> "Client Error";
            case 5 -> "Server Error";
            default -> "Status";
        };
    }

    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** Event ids of every request whose 2xx answer reached the client. */
    public Set<Long> deliveredEventIds() {
        Set<Long> ids = new TreeSet<>();
        for (Request r : requests) {
            if (r.delivered()) {
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
            if (!r.delivered()) {
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

    /**
     * First deliveries that came after a later event (a higher id) of the same content, as "event 7
     * of content c after 9": the order the API must see per content. Repeats of an id it accepted
     * before are left out, at-least-once allows them. Requests count in the order they arrived, which
     * per content is the order sent: the sink has one batch of a partition in flight at a time.
     */
    public List<String> outOfOrder() {
        Map<String, Long> latest = new java.util.HashMap<>();
        Set<Long> seen = new java.util.HashSet<>();
        List<String> late = new ArrayList<>();
        for (Request r : requests) {
            if (!r.delivered()) {
                continue;
            }
            for (JsonNode e : r.events) {
                long id = e.get("event_id").asLong();
                if (!seen.add(id)) {
                    continue;
                }
                String content = e.path("content_id").asText();
                long highest = latest.merge(content, id, Math::max);
                if (highest != id) {
                    late.add("event " + id + " of content " + content + " after " + highest);
                }
            }
        }
        return late;
    }

    /** How many event deliveries the API accepted, counting repeats. */
    public long deliveredEventCount() {
        return requests.stream().filter(Request::delivered).mapToLong(r -> r.events.size()).sum();
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        pool.shutdownNow();
    }

    public static final class Request {
        public final Instant at;
        public final String method;
        public final Map<String, List<String>> headers;
        public final byte[] body;
        public final List<JsonNode> events;
        public final boolean json;
        /** The status the client received; 0 while being answered, -1 when the client gave up first. */
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
                if (e.getKey().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
                    return e.getValue().get(0);
                }
            }
            return null;
        }

        public int answered() {
            return answered;
        }

        boolean delivered() {
            return answered >= 200 && answered < 300;
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
