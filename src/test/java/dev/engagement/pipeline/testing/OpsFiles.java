package dev.engagement.pipeline.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.model.Json;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The operations files (ops/): the alert rules, their unit tests, the Grafana dashboard, and promtool. */
public final class OpsFiles {
    public static final Path RULES = Path.of("ops", "prometheus-alerts.yml");
    public static final Path RULE_TESTS = Path.of("ops", "prometheus-alerts.test.yml");
    public static final Path DASHBOARD = Path.of("ops", "grafana-dashboard.json");
    private static final Path PROMTOOL = Path.of("/usr/bin/promtool");
    /** A metric name in PromQL: a name our exporters produce (Prometheus's own {@code up} aside). */
    private static final Pattern METRIC = Pattern.compile("\\b((?:pipeline|kafka|jvm|process|system|resilience4j)_[a-zA-Z0-9_]+)\\b");

    private OpsFiles() {
    }

    /** Each alert's name and expression, in file order. */
    @SuppressWarnings("unchecked")
    public static Map<String, Map<String, Object>> alerts() throws IOException {
        Map<String, Object> doc = new Yaml().load(Files.readString(RULES));
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        for (Object g : (List<Object>) doc.get("groups")) {
            for (Object r : (List<Object>) ((Map<String, Object>) g).get("rules")) {
                Map<String, Object> rule = (Map<String, Object>) r;
                out.put((String) rule.get("alert"), rule);
            }
        }
        return out;
    }

    /** Every PromQL expression of the dashboard's panels and annotations. */
    public static List<String> dashboardExpressions() throws IOException {
        JsonNode d = Json.MAPPER.readTree(Files.readString(DASHBOARD));
        List<String> out = new ArrayList<>();
        for (JsonNode p : d.path("panels")) {
            for (JsonNode t : p.path("targets")) {
                out.add(t.path("expr").asText());
            }
        }
        for (JsonNode a : d.path("annotations").path("list")) {
            if (a.has("expr")) {
                out.add(a.path("expr").asText());
            }
        }
        return out;
    }

    /** The metric names the alert rules and the dashboard use. */
    public static Set<String> metricNames() throws IOException {
        Set<String> out = new TreeSet<>();
        List<String> exprs = new ArrayList<>(dashboardExpressions());
        for (Map<String, Object> rule : alerts().values()) {
            exprs.add(String.valueOf(rule.get("expr")));
        }
        for (String e : exprs) {
            Matcher m = METRIC.matcher(e);
            while (m.find()) {
                out.add(m.group(1));
            }
        }
        return out;
    }

    /** promtool with these arguments (the last one, if {@code stdin} is given, is fed to it); its output lines. */
    public static List<String> promtool(String a, String b, String stdin) throws Exception {
        return run(List.of(PROMTOOL.toString(), a, b), stdin).lines;
    }

    public record Run(int exit, List<String> lines) {
    }

    public static Run run(List<String> command, String stdin) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(Path.of("ops").toFile()).redirectErrorStream(true);
        Process p = pb.start();
        if (stdin != null) {
            try (var in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        } else {
            p.getOutputStream().close();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(command + " did not finish in 120 s");
        }
        return new Run(p.exitValue(), out.lines().toList());
    }

    public static boolean promtoolAvailable() {
        return Files.isExecutable(PROMTOOL);
    }
}
