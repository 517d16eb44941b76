package dev.engagement.pipeline.local;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.engagement.pipeline.model.Json;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;

/**
 * A stand-in for the third-party API in the demo: accepts batches with the right bearer token,
 * counts their events (gzip bodies too, for HTTP_SINK_GZIP=true), refuses anything else. Not used when EXTERNAL_API_URL is set.
 */
public final class DemoReceiver implements AutoCloseable {
    private final HttpServer server;
    private final String expectedAuth;
    private final AtomicLong events = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();

    public DemoReceiver(String token) throws IOException {
        this.expectedAuth = "Bearer " + token;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(Executors.newFixedThreadPool(2, dev.engagement.pipeline.Threads.daemon("demo-receiver")));
        server.createContext("/events", this::handle);
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/events";
    }

    public long events() {
        return events.get();
    }

    public long batches() {
        return batches.get();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (!"POST".equals(ex.getRequestMethod())) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            if (!expectedAuth.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.sendResponseHeaders(401, -1);
                return;
            }
            long n = 0;
            boolean gzip = "gzip".equalsIgnoreCase(ex.getRequestHeaders().getFirst("Content-Encoding"));
            try (InputStream in = gzip ? new GZIPInputStream(ex.getRequestBody()) : ex.getRequestBody();
                 JsonParser p = Json.FACTORY.createParser(in)) {
                if (p.nextToken() != JsonToken.START_ARRAY) {
                    ex.sendResponseHeaders(400, -1);
                    return;
                }
                while (p.nextToken() == JsonToken.START_OBJECT) {
                    p.skipChildren();
                    n++;
                }
            } catch (IOException e) {
                ex.sendResponseHeaders(400, -1);
                return;
            }
            events.addAndGet(n);
            batches.incrementAndGet();
            ex.sendResponseHeaders(200, -1);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
