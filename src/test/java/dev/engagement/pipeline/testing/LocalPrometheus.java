package dev.engagement.pipeline.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.model.Json;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * Debian's Prometheus server, private to a test: it scrapes one pipeline every second and
 * evaluates ops/prometheus-alerts.yml every second, so a test sees the alerts as an operator's
 * Prometheus would raise them.
 */
public final class LocalPrometheus implements AutoCloseable {
    private static final Path BINARY = Path.of("/usr/bin/prometheus");
    private final Process process;
    private final int port;
    private final HttpClient http = HttpClient.newHttpClient();

    private LocalPrometheus(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    public static boolean available() {
        return Files.isExecutable(BINARY);
    }

    public static LocalPrometheus start(Path dir, int pipelinePort) throws Exception {
        Files.createDirectories(dir);
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, """
                global: {scrape_interval: 1s, evaluation_interval: 1s}
                rule_files: ["%s"]
                scrape_configs:
                  - job_name: engagement-pipeline
                    static_configs: [{targets: ["127.0.0.1:%d"]}]
                """.formatted(OpsFiles.RULES.toAbsolutePath(), pipelinePort));
        int port = Ports.free();
        Process p = new ProcessBuilder(BINARY.toString(), "--config.file=" + config,
                "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        LocalPrometheus prometheus = new LocalPrometheus(p, port);
        try {
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().pollInterval(Duration.ofMillis(200))
                    .until(() -> prometheus.get("/-/ready").statusCode() == 200);
        } catch (RuntimeException | Error e) {
            prometheus.close();
            throw e;
        }
        return prometheus;
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** An alert as Prometheus holds it now: its name, labels and state (pending or firing). */
    public record Alert(String name, String state, JsonNode labels) {
    }

    public List<Alert> alerts() throws Exception {
        List<Alert> out = new ArrayList<>();
        for (JsonNode a : Json.MAPPER.readTree(get("/api/v1/alerts").body()).path("data").path("alerts")) {
            out.add(new Alert(a.path("labels").path("alertname").asText(), a.path("state").asText(), a.path("labels")));
        }
        return out;
    }

    /** The names of the alerts firing now. */
    public List<String> firing() throws Exception {
        return alerts().stream().filter(a -> "firing".equals(a.state())).map(Alert::name).toList();
    }

    /** Whether the pipeline's last scrape succeeded. */
    public boolean scraping() throws Exception {
        JsonNode targets = Json.MAPPER.readTree(get("/api/v1/targets").body()).path("data").path("activeTargets");
        return targets.size() == 1 && "up".equals(targets.get(0).path("health").asText());
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
