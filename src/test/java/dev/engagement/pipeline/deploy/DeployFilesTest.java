package dev.engagement.pipeline.deploy;

import dev.engagement.pipeline.config.Component;
import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.config.Setting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deploy files, checked without Docker or Kubernetes (neither runs here): every file parses,
 * every variable they set is a setting, the settings they give are valid for the components each
 * container runs, every probed path is a documented endpoint on the port the pipeline listens on,
 * and the image runs the built jar as a non-root user. (SnakeYAML comes with the pipeline's own
 * dependencies.)
 */
class DeployFilesTest {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Set<String> SETTINGS = Arrays.stream(Setting.values()).map(Enum::name).collect(Collectors.toSet());
    /** Settings whose value is a path to a file that must be readable: a temporary file stands in. */
    private static final Set<String> FILE_SETTINGS = Set.of("POSTGRES_SSLROOTCERT", "REDIS_CA_CERT",
            "GOOGLE_APPLICATION_CREDENTIALS", "KAFKA_CLIENT_CONFIG");

    @TempDir
    Path tmp;

    @Test
    void everyKubernetesManifestParsesAndEachContainerHasValidSettingsAndDocumentedProbes() throws Exception {
        List<Map<String, Object>> docs = new ArrayList<>();
        try (Stream<Path> files = Files.list(ROOT.resolve("deploy/k8s"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                for (Object d : new Yaml().loadAll(Files.readString(f))) {
                    assertThat(d).as(f + " holds a mapping per document").isInstanceOf(Map.class);
                    docs.add(map(d));
                }
            }
        }
        Map<String, String> shared = new HashMap<>();
        for (Map<String, Object> d : docs) {
            if ("ConfigMap".equals(d.get("kind"))) {
                shared.putAll(strings(map(d.get("data"))));
            }
            if ("Secret".equals(d.get("kind"))) {
                shared.putAll(strings(map(d.get("stringData"))));
            }
        }
        assertThat(shared.keySet()).as("ConfigMap and Secret keys are settings").isSubsetOf(SETTINGS);
        Set<String> endpoints = documentedEndpoints();
        Set<String> servicePorts = new LinkedHashSet<>();
        int workloads = 0;
        for (Map<String, Object> d : docs) {
            String kind = (String) d.get("kind");
            if ("Service".equals(kind)) {
                for (Object p : list(map(d.get("spec")).get("ports"))) {
                    servicePorts.add((String) map(p).get("name"));
                    assertThat(map(p).get("targetPort")).isEqualTo("http");
                }
            }
            if ("ServiceMonitor".equals(kind)) {
                for (Object e : list(map(d.get("spec")).get("endpoints"))) {
                    assertThat(endpoints).contains((String) map(e).get("path"));
                    assertThat(servicePorts).contains((String) map(e).get("port"));
                }
            }
            if (!"Deployment".equals(kind) && !"StatefulSet".equals(kind)) {
                continue;
            }
            workloads++;
            Map<String, Object> pod = map(map(map(d.get("spec")).get("template")).get("spec"));
            assertThat(map(pod.get("securityContext")).get("runAsNonRoot")).isEqualTo(true);
            for (Object c : list(pod.get("containers"))) {
                Map<String, Object> container = map(c);
                Map<String, String> env = new HashMap<>(shared);
                for (Object e : list(container.get("env"))) {
                    Map<String, Object> var = map(e);
                    String name = (String) var.get("name");
                    assertThat(SETTINGS).as("env " + name + " of " + container.get("name")).contains(name);
                    env.put(name, var.containsKey("value") ? String.valueOf(var.get("value")) : "pod-0");
                }
                Set<Component> components = components(list(container.get("args")).stream().map(String::valueOf).toList());
                ConfigLoader.load(withFiles(env)).requireFor(components);
                int httpPort = Integer.parseInt(env.getOrDefault("HTTP_PORT", Setting.HTTP_PORT.defaultValue()));
                assertThat(list(container.get("ports"))).anySatisfy(p -> {
                    assertThat(map(p).get("name")).isEqualTo("http");
                    assertThat(map(p).get("containerPort")).isEqualTo(httpPort);
                });
                for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
                    if (container.containsKey(probe)) {
                        Map<String, Object> get = map(map(container.get(probe)).get("httpGet"));
                        assertThat(endpoints).as(probe).contains((String) get.get("path"));
                        assertThat(get.get("port")).isEqualTo("http");
                    }
                }
                assertThat(map(container.get("livenessProbe")).toString()).contains("/health/live");
                assertThat(map(container.get("readinessProbe")).toString()).contains("/health/ready");
                assertThat(map(map(container.get("resources")).get("requests"))).containsKeys("cpu", "memory");
            }
        }
        assertThat(workloads).as("the source's Deployment and the stages' StatefulSet").isEqualTo(2);
    }

    @Test
    void composeGivesThePipelineValidSettingsAndPrometheusScrapesItsMetrics() throws Exception {
        Map<String, Object> compose = map(new Yaml().load(Files.readString(ROOT.resolve("deploy/compose.yaml"))));
        Map<String, Object> pipeline = map(map(compose.get("services")).get("pipeline"));
        Map<String, String> env = strings(map(pipeline.get("environment")));
        assertThat(env.keySet()).isSubsetOf(SETTINGS);
        Set<Component> components = components(list(pipeline.get("command")).stream().map(String::valueOf).toList());
        ConfigLoader.load(withFiles(env)).requireFor(components);
        assertThat(list(pipeline.get("ports"))).contains(env.get("HTTP_PORT") + ":" + env.get("HTTP_PORT"));

        Map<String, Object> prometheus = map(new Yaml().load(Files.readString(ROOT.resolve("deploy/prometheus.yml"))));
        Map<String, Object> job = map(list(prometheus.get("scrape_configs")).get(0));
        assertThat(documentedEndpoints()).contains((String) job.get("metrics_path"));
        assertThat(list(map(list(job.get("static_configs")).get(0)).get("targets"))).containsExactly("pipeline:" + env.get("HTTP_PORT"));
        // the alert rules and the Grafana dashboard are the ops/ files, mounted where the configs look
        assertThat(list(prometheus.get("rule_files"))).containsExactly("/etc/prometheus/rules/prometheus-alerts.yml");
        assertThat(list(map(map(compose.get("services")).get("prometheus")).get("volumes")))
                .contains("../ops/prometheus-alerts.yml:/etc/prometheus/rules/prometheus-alerts.yml:ro");
        Map<String, Object> provider = map(list(map(new Yaml().load(Files.readString(
                ROOT.resolve("deploy/grafana/provisioning/dashboards/engagement.yaml")))).get("providers")).get(0));
        String dashboards = (String) map(provider.get("options")).get("path");
        assertThat(list(map(map(compose.get("services")).get("grafana")).get("volumes")))
                .contains("../ops/grafana-dashboard.json:" + dashboards + "/engagement-pipeline.json:ro");
        assertThat(Files.exists(ROOT.resolve("ops/prometheus-alerts.yml"))).isTrue();
        assertThat(Files.exists(ROOT.resolve("ops/grafana-dashboard.json"))).isTrue();
        try (Stream<Path> files = Files.walk(ROOT.resolve("deploy/grafana"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
                assertThat(new Yaml().<Object>load(Files.readString(f))).as(f.toString()).isInstanceOf(Map.class);
            }
        }
    }

    @Test
    void theImageBuildsInStagesAndRunsTheShadedJarAsANonRootUser() throws IOException {
        String docker = Files.readString(ROOT.resolve("Dockerfile"));
        assertThat(Pattern.compile("(?m)^FROM ").matcher(docker).results().count()).as("multi-stage").isGreaterThanOrEqualTo(2);
        Matcher user = Pattern.compile("(?m)^USER (\\S+)").matcher(docker);
        assertThat(user.find()).isTrue();
        assertThat(user.group(1)).doesNotStartWith("root").doesNotStartWith("0");
        assertThat(Files.readString(ROOT.resolve("pom.xml"))).contains("<finalName>engagement-pipeline</finalName>");
        assertThat(docker).contains("COPY --from=build /src/target/engagement-pipeline.jar ");
        Matcher env = Pattern.compile("(?m)^\\s+([A-Z_]+)=").matcher(docker.substring(docker.indexOf("ENV ")));
        List<String> names = new ArrayList<>();
        Matcher first = Pattern.compile("ENV ([A-Z_]+)=").matcher(docker);
        while (first.find()) {
            names.add(first.group(1));
        }
        while (env.find()) {
            names.add(env.group(1));
        }
        assertThat(names).contains("DATA_DIR", "HTTP_PORT");
        assertThat(SETTINGS).containsAll(names);
    }

    /** The endpoints the README documents, as "| `GET /path` |" rows. */
    private static Set<String> documentedEndpoints() throws IOException {
        Set<String> out = new LinkedHashSet<>();
        Matcher m = Pattern.compile("(?m)^\\| `GET (/[a-z/]*)").matcher(Files.readString(ROOT.resolve("README.md")));
        while (m.find()) {
            out.add(m.group(1));
        }
        assertThat(out).contains("/health", "/metrics");
        return out;
    }

    private static Set<Component> components(List<String> args) {
        int i = args.indexOf("--components");
        if (i < 0) {
            return Component.all();
        }
        Set<Component> out = java.util.EnumSet.noneOf(Component.class);
        for (String c : args.get(i + 1).split(",")) {
            out.add(Component.parse(c));
        }
        return out;
    }

    private Map<String, String> withFiles(Map<String, String> env) throws IOException {
        Map<String, String> out = new HashMap<>(env);
        for (String name : FILE_SETTINGS) {
            if (out.containsKey(name)) {
                Path stand = tmp.resolve(name.toLowerCase(java.util.Locale.ROOT));
                Files.writeString(stand, "");
                out.put(name, stand.toString());
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return o == null ? Map.of() : (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        return o == null ? List.of() : (List<Object>) o;
    }

    private static Map<String, String> strings(Map<String, Object> m) {
        Map<String, String> out = new HashMap<>();
        m.forEach((k, v) -> out.put(k, String.valueOf(v)));
        return out;
    }
}
