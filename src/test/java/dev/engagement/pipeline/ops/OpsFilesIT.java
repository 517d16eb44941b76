package dev.engagement.pipeline.ops;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.testing.OpsFiles;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The alert rules and the Grafana dashboard as Prometheus's own tool reads them: the rules load,
 * their unit tests pass, every alert is shown firing by a test and has a runbook line in the
 * README, and every metric they name is described in the README. (That each one exists on a
 * running pipeline's /metrics is DashboardIT's check; that two of them fire within a minute on
 * real traffic is AnomalyAlertIT's.)
 */
class OpsFilesIT {

    @Test
    void theRulesLoadAndTheirUnitTestsPass() throws Exception {
        assertThat(OpsFiles.promtoolAvailable()).as("promtool (Debian's prometheus; ./pipeline test installs it)").isTrue();
        OpsFiles.Run check = OpsFiles.run(List.of("/usr/bin/promtool", "check", "rules", OpsFiles.RULES.getFileName().toString()), null);
        assertThat(check.exit()).as(String.join("\n", check.lines())).isZero();
        assertThat(String.join("\n", check.lines())).contains("SUCCESS: " + OpsFiles.alerts().size() + " rules found");
        OpsFiles.Run test = OpsFiles.run(List.of("/usr/bin/promtool", "test", "rules", OpsFiles.RULE_TESTS.getFileName().toString()), null);
        assertThat(test.exit()).as(String.join("\n", test.lines())).isZero();
        assertThat(test.lines()).contains("  SUCCESS");
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyAlertIsShownFiringAndStayingQuietByAUnitTest() throws Exception {
        Map<String, Object> doc = new Yaml().load(Files.readString(OpsFiles.RULE_TESTS));
        Set<String> fired = new TreeSet<>();
        Set<String> quiet = new TreeSet<>();
        for (Object t : (List<Object>) doc.get("tests")) {
            for (Object c : (List<Object>) ((Map<String, Object>) t).get("alert_rule_test")) {
                Map<String, Object> check = (Map<String, Object>) c;
                List<Object> expected = (List<Object>) check.get("exp_alerts");
                (expected == null || expected.isEmpty() ? quiet : fired).add((String) check.get("alertname"));
            }
        }
        assertThat(fired).containsExactlyInAnyOrderElementsOf(OpsFiles.alerts().keySet());
        assertThat(quiet).containsExactlyInAnyOrderElementsOf(OpsFiles.alerts().keySet());
    }

    @Test
    void everyAlertHasARunbookLineAndRoutingLabels() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        String runbooks = readme.substring(readme.indexOf("### Alerts and runbooks"));
        for (var e : OpsFiles.alerts().entrySet()) {
            assertThat(runbooks).as("a runbook line for " + e.getKey()).contains("| `" + e.getKey() + "` |");
            @SuppressWarnings("unchecked")
            Map<String, Object> labels = (Map<String, Object>) e.getValue().get("labels");
            assertThat(labels.get("severity")).as(e.getKey()).isIn("critical", "warning");
            assertThat(labels.get("team")).as(e.getKey()).isIn("pipeline", "integrations", "data");
        }
    }

    @Test
    void theDashboardIsGrafanaJsonAndEveryMetricItNamesIsInTheReadme() throws Exception {
        JsonNode d = Json.MAPPER.readTree(Files.readString(OpsFiles.DASHBOARD));
        assertThat(d.path("uid").asText()).isEqualTo("engagement-pipeline");
        assertThat(d.path("panels")).hasSizeGreaterThan(15);
        for (JsonNode p : d.path("panels")) {
            assertThat(p.path("targets")).as(p.path("title").asText()).isNotEmpty();
            assertThat(p.path("gridPos").path("w").asInt()).isPositive();
            assertThat(p.path("datasource").path("uid").asText()).isEqualTo("${datasource}");
        }
        String readme = Files.readString(Path.of("README.md"));
        String described = readme.substring(readme.indexOf("## Metrics"), readme.indexOf("## Running in production"));
        for (String name : OpsFiles.metricNames()) {
            String base = name.replaceAll("_(bucket|sum|count)$", "");
            if (base.startsWith("pipeline_")) {
                assertThat(described).as(name + " described in the README's metrics").contains("`" + base + "`");
            }
        }
        assertThat(OpsFiles.metricNames()).contains("pipeline_quality_anomalies", "pipeline_group_lag",
                "pipeline_source_slot_lag_bytes", "pipeline_http_breaker_state", "pipeline_http_dlq_records_total");
    }
}
