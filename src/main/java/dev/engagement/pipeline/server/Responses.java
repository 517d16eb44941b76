package dev.engagement.pipeline.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.engagement.pipeline.config.SecretMasker;
import dev.engagement.pipeline.model.Json;

import java.io.IOException;
import java.io.OutputStream;

/** How every response of the pipeline's HTTP server goes out: with its security headers, secrets scrubbed. */
final class Responses {
    /**
     * The dashboard loads its script and style from this server and talks only to it; nothing is
     * inline, nothing may frame it.
     */
    static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
            + "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
            + "frame-ancestors 'none'";

    private Responses() {
    }

    static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        var h = ex.getResponseHeaders();
        h.set("Content-Type", type);
        h.set("Cache-Control", "no-store");
        h.set("X-Content-Type-Options", "nosniff");
        h.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        h.set("X-Frame-Options", "DENY");
        h.set("Referrer-Policy", "no-referrer");
        h.set("Cross-Origin-Resource-Policy", "same-origin");
        boolean head = "HEAD".equals(ex.getRequestMethod());
        ex.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    static void json(HttpExchange ex, int status, ObjectNode body) throws IOException {
        send(ex, status, "application/json", Json.MAPPER.writeValueAsBytes(body));
    }

    /** {"error": message}, with any configured secret in it replaced. */
    static ObjectNode error(String message) {
        ObjectNode e = Json.MAPPER.createObjectNode();
        e.put("error", SecretMasker.scrub(message));
        return e;
    }
}
