package dev.engagement.pipeline.server;

import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.testing.ApiReceiver;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.Sql;
import dev.engagement.pipeline.testing.TestServices;
import dev.engagement.pipeline.testing.TopicReader;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The HTTP surface as a hostile user on the same host, or on another, would try it: write attempts
 * through the warehouse query endpoint (the warehouse is unchanged after each), a browser page of
 * another origin posting text/plain, a DNS-rebound Host, a caller from another address, a wrong
 * bearer token; security headers on every response; and secret canaries searched in logs,
 * /health, /metrics, dead-letter headers, error bodies and --help.
 */
class HostileRequestsIT {
    private static final String PG_USER = "canary_pg_user";
    private static final String PG_PASSWORD = "canary-pg-password-4e1";
    private static final String API_TOKEN = "canary-api-token-77a";
    private static final String ADMIN_TOKEN = "canary-admin-token-0c9f3b";

    private static final List<String> WRITE_ATTEMPTS = List.of(
            "DELETE FROM engagement_events_enriched; COMMIT; SELECT 1",
            "COMMIT; UPDATE pipeline_offsets SET next_offset = 0; SELECT 1",
            "UPDATE pipeline_offsets SET next_offset = 0",
            "ATTACH '/tmp/hostile.duckdb' AS hostile",
            "COPY engagement_events_enriched TO '/tmp/hostile.csv'",
            "SET threads = 1",
            "PRAGMA memory_limit = '1MB'",
            "SELECT * FROM read_text('/etc/hostname')",
            "SELECT * FROM query('DELETE FROM engagement_events_enriched')");

    @Test
    void theHttpSurfaceLetsNothingInAndGivesNoSecretOut() throws Exception {
        try (Sql sql = new Sql(TestServices.superuser())) {
            sql.execute("DO $$ BEGIN CREATE ROLE " + PG_USER + " LOGIN SUPERUSER REPLICATION; "
                    + "EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        }
        try (Scenario s = Scenario.create("hostile", 19001, Map.of("POSTGRES_USER", PG_USER,
                "POSTGRES_PASSWORD", PG_PASSWORD, "EXTERNAL_API_TOKEN", API_TOKEN))) {
            s.receiver.respond(r -> r.events.stream().anyMatch(e -> e.get("event_id").asLong() % 10 == 3)
                    ? ApiReceiver.Reply.status(422) : ApiReceiver.Reply.status(200));
            s.startLoad(200, 0);
            PipelineProcess pipeline = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > 300);
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));

            String digest = digest(s);
            for (String attempt : WRITE_ATTEMPTS) {
                Reply r = post(s.port(), "127.0.0.1:" + s.port(), attempt, Map.of());
                assertThat(r.status).as(attempt + ": " + r.body).isEqualTo(400);
                assertThat(digest(s)).as("the warehouse after " + attempt).isEqualTo(digest);
            }
            assertThat(post(s.port(), "127.0.0.1:" + s.port(), "SELECT count(*) FROM engagement_events_enriched",
                    Map.of()).status).isEqualTo(200);
            Reply crossOrigin = post(s.port(), "127.0.0.1:" + s.port(), "SELECT 1",
                    Map.of("Origin", "http://evil.example", "Content-Type", "text/plain"));
            assertThat(crossOrigin.status).as("a cross-origin text/plain POST").isEqualTo(403);
            Reply rebound = post(s.port(), "evil.example:" + s.port(), "SELECT 1", Map.of());
            assertThat(rebound.status).as("a foreign Host (DNS rebinding)").isEqualTo(403);
            InetAddress other = nonLoopbackAddress();
            if (other != null) {
                Reply remote = post(other, s.port(), other.getHostAddress() + ":" + s.port(), "SELECT 1", Map.of());
                assertThat(remote.status).as("a caller from " + other).isEqualTo(403);
            }
            Reply huge = post(s.port(), "127.0.0.1:" + s.port(), "SELECT '" + "x".repeat(70_000) + "'", Map.of());
            assertThat(huge.status).as("a body over WAREHOUSE_QUERY_MAX_BYTES").isEqualTo(413);

            for (String path : List.of("/", "/dashboard.js", "/health", "/metrics", "/api/stats", "/nope")) {
                Reply r = get(s.port(), path);
                assertThat(r.headers.toLowerCase(java.util.Locale.ROOT)).as(path).contains("x-content-type-options: nosniff")
                        .contains("frame-ancestors 'none'").contains("script-src 'self'");
            }

            await().atMost(Duration.ofSeconds(60)).until(() -> !TopicReader.readAll(s.config, Topics.HTTP_DLQ).isEmpty());
            StringBuilder exposed = new StringBuilder(pipeline.output());
            for (String path : List.of("/health", "/metrics", "/api/dashboard", "/api/content/not-a-uuid", "/nope")) {
                exposed.append(get(s.port(), path).body);
            }
            exposed.append(post(s.port(), "127.0.0.1:" + s.port(), "SELECT * FROM missing_table", Map.of()).body);
            TopicReader.readAll(s.config, Topics.HTTP_DLQ).forEach(r -> {
                for (Header h : r.headers()) {
                    exposed.append(h.key()).append('=').append(new String(h.value(), StandardCharsets.UTF_8));
                }
            });
            for (String[] help : new String[][] {{"--help"}, {"run", "--help"}, {"dlq", "list", "--help"},
                    {"warehouse", "query", "--help"}, {"accept-gap", "--help"}}) {
                PipelineProcess p = s.start(Map.of("ADMIN_TOKEN", ADMIN_TOKEN), help);
                assertThat(p.waitFor(60)).isZero();
                exposed.append(p.output());
            }
            assertThat(exposed.toString()).doesNotContain(PG_PASSWORD).doesNotContain(API_TOKEN)
                    .doesNotContain(ADMIN_TOKEN);
            assertThat(get(s.port(), "/health").body + get(s.port(), "/metrics").body)
                    .as("no user names in /health or /metrics").doesNotContain(PG_USER);
        }
    }

    @Test
    void withAnAdminTokenEveryCallerMustPresentIt() throws Exception {
        try (Scenario s = Scenario.create("admin_token", 19002, Map.of("ADMIN_TOKEN", ADMIN_TOKEN))) {
            s.start(Map.of(), "run", "--components", "warehouse,api");
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            String host = "127.0.0.1:" + s.port();
            assertThat(post(s.port(), host, "SELECT 1", Map.of()).status).as("no token, even from loopback").isEqualTo(401);
            assertThat(post(s.port(), host, "SELECT 1", Map.of("Authorization", "Bearer wrong-token-wrong-token"))
                    .status).isEqualTo(401);
            assertThat(post(s.port(), "pipeline.internal:" + s.port(), "SELECT 42",
                    Map.of("Authorization", "Bearer " + ADMIN_TOKEN)).body).contains("42");
            PipelineProcess cli = s.start(Map.of(), "warehouse", "query", "SELECT 41 + 1 AS answer");
            assertThat(cli.waitFor(60)).as(cli.output()).isZero();
            assertThat(cli.output()).as("warehouse query presents ADMIN_TOKEN").contains("42").doesNotContain(ADMIN_TOKEN);
        }
    }

    @Test
    void boundToLoopbackTheServerIsNotReachableFromAnotherAddress() throws Exception {
        InetAddress other = nonLoopbackAddress();
        org.junit.jupiter.api.Assumptions.assumeTrue(other != null, "this machine has an address besides loopback");
        int port = Ports.free();
        try (Scenario s = Scenario.create("http_bind", 19003, Map.of("HTTP_BIND", "127.0.0.1",
                "HTTP_PORT", Integer.toString(port)))) {
            s.start(Map.of(), "run", "--components", "api");
            s.awaitHealthy(port, Duration.ofSeconds(90));
            assertThat(dev.engagement.pipeline.local.Ports.open(other.getHostAddress(), port))
                    .as("listening on " + other).isFalse();
        }
    }

    private static String digest(Scenario s) throws Exception {
        StringBuilder all = new StringBuilder();
        for (String table : List.of("engagement_events_enriched", "pipeline_offsets", "pipeline_source", "pipeline_store")) {
            all.append(s.warehouseVia(s.port()).query("SELECT coalesce(md5(string_agg(t::VARCHAR, '|' ORDER BY "
                    + "t::VARCHAR)), '') FROM " + table + " t").rows().get(0).get(0));
        }
        return all.toString();
    }

    private static InetAddress nonLoopbackAddress() throws Exception {
        for (NetworkInterface n : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress a : Collections.list(n.getInetAddresses())) {
                if (!a.isLoopbackAddress() && a instanceof java.net.Inet4Address && n.isUp()) {
                    return a;
                }
            }
        }
        return null;
    }

    record Reply(int status, String headers, String body) {
    }

    private static Reply get(int port, String path) throws Exception {
        return exchange(InetAddress.getLoopbackAddress(), port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port
                + "\r\nConnection: close\r\n\r\n", new byte[0]);
    }

    private static Reply post(int port, String host, String sql, Map<String, String> headers) throws Exception {
        return post(InetAddress.getLoopbackAddress(), port, host, sql, headers);
    }

    /** A raw request: the JDK's client will not send a Host header of our choosing. */
    private static Reply post(InetAddress to, int port, String host, String sql, Map<String, String> headers)
            throws Exception {
        byte[] body = sql.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder("POST /api/warehouse/query HTTP/1.1\r\nHost: " + host + "\r\n");
        headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        head.append("Content-Length: ").append(body.length).append("\r\nConnection: close\r\n\r\n");
        return exchange(to, port, head.toString(), body);
    }

    private static Reply exchange(InetAddress to, int port, String head, byte[] body) throws Exception {
        try (Socket socket = new Socket(to, port)) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            try {
                in.transferTo(buf);
            } catch (java.net.SocketException e) {
                // the server closed early (e.g. it refused an oversized body): what came is the answer
            }
            String response = buf.toString(StandardCharsets.UTF_8);
            int split = response.indexOf("\r\n\r\n");
            String headers = split < 0 ? response : response.substring(0, split);
            String status = headers.isEmpty() ? "0" : headers.substring(9, 12);
            List<String> lines = new ArrayList<>(List.of(headers.split("\r\n")));
            return new Reply(Integer.parseInt(status), String.join("\n", lines),
                    split < 0 ? "" : response.substring(split + 4));
        }
    }
}
