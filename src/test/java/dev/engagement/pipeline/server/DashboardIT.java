package dev.engagement.pipeline.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.local.LocalRedis;
import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.testing.Browser;
import dev.engagement.pipeline.testing.Chromium;
import dev.engagement.pipeline.testing.OpsFiles;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.TestServices;
import io.lettuce.core.ScoredValue;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The dashboard in headless Chromium, served by a process that runs no stage at all (api only),
 * while another process runs every stage: what it shows of the pipeline comes from the others'
 * telemetry. Its numbers are checked against /api/stats, Redis and /metrics, a sink is shown
 * unhealthy while Redis is stopped, and text keeps its size on a wide screen. The same run checks
 * that every metric ops/prometheus-alerts.yml and ops/grafana-dashboard.json name exists.
 */
class DashboardIT {
    private static final Pattern NUMBER = Pattern.compile("(captured|enriched|Redis|warehouse|external API) ([0-9.,]+)");

    @Test
    void showsTheWholePipelineFromAProcessThatRunsNoStage() throws Exception {
        assertThat(Chromium.available()).as("Debian's chromium (./pipeline test installs it)").isTrue();
        try (LocalRedis redis = LocalRedis.start(TestServices.fresh("dashboard-redis"), Ports.free());
             Scenario s = Scenario.create("dashboard", 14001, Map.of("REDIS_URL", redis.url(),
                     "QUALITY_BUCKET", "5s", "QUALITY_BASELINE_BUCKETS", "4"))) {
            int stagesPort = Ports.free();
            s.start(Map.of("HTTP_PORT", Integer.toString(stagesPort)), "run", "--components",
                    "source,processor,redis,warehouse,http,api");
            s.start(Map.of("DATA_DIR", s.dir.resolve("api-only").toString()), "run", "--components", "api");
            s.awaitHealthy(stagesPort, Duration.ofSeconds(90));
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            s.startLoad(40, 2);
            await().atMost(Duration.ofSeconds(90)).until(() -> s.redisEvents() > 300);

            try (Browser b = Browser.launch(s.dir.resolve("browser"))) {
                b.open("http://127.0.0.1:" + s.port() + "/", 1400, 1000);
                // the api-only process draws every stage's throughput, from the other process's telemetry
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    Map<String, Double> now = rates(b.text("rate-desc"));
                    assertThat(now.keySet()).contains("captured", "enriched", "Redis", "warehouse", "external API");
                    assertThat(now.values()).allMatch(v -> v > 0);
                });
                assertThat(b.eval("document.querySelectorAll('#rate-chart polyline').length").asInt()).isGreaterThanOrEqualTo(5);
                assertThat(b.eval("[...document.querySelectorAll('#rate-chart text')].some(t => /^\\d\\d:\\d\\d:\\d\\d$/.test(t.textContent))")
                        .asBoolean()).as("a time axis").isTrue();
                assertThat(b.eval("[...document.querySelectorAll('#instances li')].map(li => li.dataset.instance).length").asInt())
                        .isEqualTo(2);
                assertThat(b.text("instances")).contains("source, processor, redis, warehouse, http, api").contains("api");
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    assertThat(b.text("lag")).contains("processor").contains("redis").contains("warehouse").contains("http");
                    assertThat(b.text("slot")).contains("active").contains("slot_dashboard_");
                    assertThat(b.text("breakers")).contains("closed");
                    assertThat(b.text("latency")).contains("Redis").contains("processor").contains("source");
                    assertThat(b.text("quality-summary")).contains("Event rate");
                });
                Path shots = Path.of("target", "screenshots");
                Files.createDirectories(shots);
                Files.write(shots.resolve("dashboard.png"), b.screenshot());

                s.stopLoad();
                s.awaitExact(stagesPort, Duration.ofSeconds(120));
                JsonNode stats = Json.MAPPER.readTree(s.get(s.port(), "/api/stats").body());
                await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                        assertThat(b.text("k-events").replace(",", "")).isEqualTo(stats.path("events").asText()));
                double invalid = s.metric(stagesPort, "pipeline_processor_records_total", "outcome=\"invalid\"");
                await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(
                        b.eval("[...document.querySelectorAll('#invalid tr[data-reason]')].map(r => Number(r.cells[2]"
                                + ".textContent.replace(/,/g, ''))).reduce((a, v) => a + v, 0)").asDouble())
                        .as("invalid events by reason add up to the processor's count").isEqualTo(invalid));

                // the top list of the last 10 minutes of event time, as SQL sums it over the source
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    Map<String, Double> truth = new java.util.HashMap<>();
                    try (dev.engagement.pipeline.testing.Sql sql = new dev.engagement.pipeline.testing.Sql(s.config.postgres())) {
                        for (Object[] row : sql.rows("SELECT content_id::text, sum(coalesce(duration_ms, 0)) / 1000.0 "
                                + "FROM engagement_events WHERE " + dev.engagement.pipeline.testing.Oracle.VALID
                                + " AND event_ts >= date_trunc('minute', now()) - interval '9 minutes' "
                                + "GROUP BY content_id ORDER BY 2 DESC LIMIT 10")) {
                            truth.put((String) row[0], ((Number) row[1]).doubleValue());
                        }
                    }
                    JsonNode top = Json.MAPPER.readTree(s.get(s.port(), "/api/top?window=10m&limit=10").body());
                    Map<String, Double> shown = new java.util.HashMap<>();
                    double previous = Double.MAX_VALUE;
                    for (JsonNode item : top.path("items")) {
                        double seconds = item.path("engagement_seconds").asDouble();
                        assertThat(seconds).as("highest first").isLessThanOrEqualTo(previous);
                        previous = seconds;
                        shown.put(item.path("content_id").asText(), seconds);
                    }
                    assertThat(shown.keySet()).isEqualTo(truth.keySet());
                    shown.forEach((id, seconds) -> assertThat(seconds).as(id).isCloseTo(truth.get(id),
                            org.assertj.core.data.Offset.offset(0.001)));
                    assertThat(list(b.eval("[...document.querySelectorAll('#top tr[data-content]')].map(r => r.dataset.content)")))
                            .as("the page's default window, 10 minutes").containsExactlyInAnyOrderElementsOf(truth.keySet());
                });

                // the top list, all time, as Redis ranks it
                b.eval("(s => { s.value = 'all'; s.dispatchEvent(new Event('change')); })(document.getElementById('top-window'))");
                List<ScoredValue<String>> ranked;
                try (var c = new dev.engagement.pipeline.sink.redis.LazyRedis(s.config.redis())) {
                    ranked = c.sync().zrevrangeWithScores("rank:engagement", 0, 9);
                }
                List<String> ids = ranked.stream().map(ScoredValue::getValue).toList();
                assertThat(ids).hasSize(10);
                await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                    assertThat(b.eval("document.getElementById('top').dataset.window").asText()).isEqualTo("all");
                    assertThat(list(b.eval("[...document.querySelectorAll('#top tr[data-content]')].map(r => r.dataset.content)")))
                            .isEqualTo(ids);
                });
                List<String> seconds = list(b.eval("[...document.querySelectorAll('#top tr[data-content]')].map(r => r.dataset.seconds)"));
                for (int i = 0; i < ids.size(); i++) {
                    assertThat(Double.parseDouble(seconds.get(i))).isCloseTo(ranked.get(i).getScore(),
                            org.assertj.core.data.Offset.offset(0.001));
                }

                // text keeps its size on a wide screen: charts are drawn at their own pixel size
                double narrowText = b.eval("document.querySelector('#rate-chart text').getBoundingClientRect().height").asDouble();
                b.resize(2560, 1200);
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(b.eval(
                        "(s => Math.abs(s.viewBox.baseVal.width - s.getBoundingClientRect().width))(document.getElementById('rate-chart'))")
                        .asDouble()).isLessThan(2));
                assertThat(b.eval("document.querySelector('#rate-chart text').getBoundingClientRect().height").asDouble())
                        .isCloseTo(narrowText, org.assertj.core.data.Offset.offset(1.0));
                assertThat(b.eval("getComputedStyle(document.querySelector('main')).maxWidth").asText()).isEqualTo("1680px");
                b.resize(1400, 1000);

                // every key figure shows whole, with its unit, at any width (a p99 of "2,412.5 ms" was
                // cut to "2,412 …" at 1,400 px): long figures put in each card, none wider than its box
                for (int[] size : new int[][] {{1400, 1000}, {360, 800}, {900, 800}, {2560, 1200}}) {
                    b.resize(size[0], size[1]);
                    assertThat(b.eval("[...document.querySelectorAll('.kpi .value')].map(v => { const was = v.textContent;"
                            + " v.textContent = v.classList.contains('small') ? '23:59:59' : '12,412.5 ms';"
                            + " const cut = v.scrollWidth > v.clientWidth + 0.5 || v.getBoundingClientRect().right"
                            + " > v.parentElement.getBoundingClientRect().right;"
                            + " v.textContent = was; return cut ? v.id : null; }).filter(x => x).join(',')").asText())
                            .as("key figures cut at %d px", size[0]).isEmpty();
                }
                b.resize(1400, 1000);

                assertThat(b.failedRequests()).as("every request answered while the services are up").isEmpty();

                // a sink shown unhealthy while Redis is stopped, by word and symbol, and healthy when it returns
                assertThat(service(b, "redis")).isEqualTo("connected");
                redis.stop();
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    assertThat(service(b, "redis")).isEqualTo("disconnected");
                    assertThat(b.eval("document.querySelector('#services [data-service=redis] .state').textContent").asText())
                            .isEqualTo("✕ disconnected");
                    assertThat(b.text("status")).isIn("✕ unhealthy", "▲ degraded");
                });
                Files.write(shots.resolve("dashboard-redis-down.png"), b.screenshot());
                redis.start();
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    assertThat(service(b, "redis")).isEqualTo("connected");
                    assertThat(b.text("status")).isEqualTo("✓ healthy");
                });
                assertThat(b.problems()).as("no script error, no console error, no CSP violation").isEmpty();
            }

            // every metric the alert rules and the Grafana dashboard name is on /metrics of the running pipeline
            String metrics = s.get(stagesPort, "/metrics").body() + s.get(s.port(), "/metrics").body();
            Set<String> exported = new TreeSet<>();
            for (String line : metrics.split("\n")) {
                if (!line.isEmpty() && !line.startsWith("#")) {
                    exported.add(line.split("[{ ]", 2)[0]);
                }
            }
            Set<String> named = OpsFiles.metricNames();
            assertThat(named).as("metrics named by the ops files").hasSizeGreaterThan(15);
            List<String> missing = new ArrayList<>();
            for (String name : named) {
                if (!exported.contains(name)) {
                    missing.add(name);
                }
            }
            assertThat(missing).as("named in ops/ but not on /metrics").isEmpty();
            assertThat(OpsFiles.promtool("check", "metrics", metrics)).as("promtool on the pipeline's own metrics")
                    .noneMatch(line -> line.startsWith("pipeline_"));
        }
    }

    private static String service(Browser b, String name) throws Exception {
        return b.eval("(e => e ? e.dataset.state : null)(document.querySelector('#services [data-service=" + name + "]'))")
                .asText();
    }

    private static List<String> list(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    /** The rates a chart's description gives for its series now. */
    private static Map<String, Double> rates(String description) {
        Map<String, Double> out = new java.util.LinkedHashMap<>();
        Matcher m = NUMBER.matcher(description == null ? "" : description);
        while (m.find()) {
            out.put(m.group(1), Double.parseDouble(m.group(2).replace(",", "")));
        }
        return out;
    }
}
