package dev.engagement.pipeline.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.TestServices;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The shipped jar, run as a user runs it. */
class CommandsIT {

    @Test
    void badConfigurationFailsAtStartListingEveryProblemAndNoSecret() throws Exception {
        Path dir = TestServices.fresh("bad-config");
        try (PipelineProcess p = PipelineProcess.start(Map.of("POSTGRES_PORT", "fivefourthreetwo", "WAREHOUSE", "oracle",
                "EXTERNAL_API_TOKEN", "tok en-s3cr3t-value", "HTTP_PORT", "0"), dir, "run")) {
            assertThat(p.waitFor(60)).isEqualTo(78);
            assertThat(p.output()).contains("invalid configuration (4 problems)").contains("POSTGRES_PORT")
                    .contains("WAREHOUSE").contains("EXTERNAL_API_TOKEN").contains("HTTP_PORT")
                    .doesNotContain("s3cr3t");
        }
    }

    @Test
    void generateReportsItsProgressWithTotalRateAndTimeLeftEveryFewSecondsWhenNotOnATerminal() throws Exception {
        Path dir = TestServices.fresh("generate-progress");
        Map<String, String> env = Map.of("POSTGRES_HOST", TestServices.postgres().host(),
                "POSTGRES_PORT", Integer.toString(TestServices.postgres().port()), "POSTGRES_DB", "generate_progress",
                "POSTGRES_USER", "postgres", "DATA_DIR", dir.resolve("data").toString());
        try (PipelineProcess init = PipelineProcess.start(env, dir, "db", "init")) {
            assertThat(init.waitFor(120)).isZero();
        }
        try (PipelineProcess generate = PipelineProcess.start(env, dir, "generate", "--count", "600", "--rate", "80",
                "--content", "5")) {
            assertThat(generate.waitFor(120)).isZero();
            assertThat(generate.output()).containsPattern("generate: [0-9,]+ of 600 events \\(\\d+ %\\), [0-9,]+/s, \\d+:\\d\\d left")
                    .contains("600 events written").doesNotContain("\r").doesNotContain("\033[K");
        }
    }

    @Test
    void demoShowsEventsFlowingWithinTwoMinutesAndStopsCleanly() throws Exception {
        Path dir = TestServices.fresh("demo");
        int port = Ports.free();
        HttpClient http = HttpClient.newHttpClient();
        try (PipelineProcess demo = PipelineProcess.start(Map.of("HTTP_PORT", Integer.toString(port)), dir, "demo",
                "--rate", "100")) {
            long started = System.nanoTime();
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + "/api/stats")).build(), HttpResponse.BodyHandlers.ofString());
                return Json.MAPPER.readTree(r.body()).get("events").asLong() > 100;
            });
            System.out.printf("demo: events flowing after %.1f s%n", (System.nanoTime() - started) / 1e9);
            HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains("engagement-pipeline").contains("/dashboard.js");
            HttpResponse<String> script = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/dashboard.js")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(script.statusCode()).isEqualTo(200);
            assertThat(script.body()).contains("/api/dashboard");
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                JsonNode dash = Json.MAPPER.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + port + "/api/dashboard")).build(), HttpResponse.BodyHandlers.ofString()).body());
                assertThat(dash.get("health").get("status").asText()).as(dash.get("health").toString()).isEqualTo("healthy");
                assertThat(dash.path("pipeline").path("instances")).hasSize(1);
                assertThat(dash.path("pipeline").path("series").size()).isPositive();
            });

            assertThat(demo.terminate(90)).isIn(0, 143);
            assertThat(demo.output()).contains("Dashboard: http://localhost:" + port).contains("stopped cleanly");
        }
    }
}
