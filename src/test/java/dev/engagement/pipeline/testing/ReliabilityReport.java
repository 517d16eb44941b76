package dev.engagement.pipeline.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.model.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Folds what each fault scenario wrote to target/reliability/ (one JSON file per scenario and seed)
 * into the table of docs/RELIABILITY.md: per scenario, the seeds run, events, time from the fault
 * (or restart) to flowing again as min / median / max, and repeats by kind.
 * <pre>java -cp target/test-classes:target/engagement-pipeline.jar \
 *     dev.engagement.pipeline.testing.ReliabilityReport target/reliability</pre>
 */
public final class ReliabilityReport {
    private ReliabilityReport() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/reliability");
        Map<String, List<JsonNode>> byScenario = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                JsonNode n = Json.MAPPER.readTree(f.toFile());
                byScenario.computeIfAbsent(n.path("scenario").asText(f.getFileName().toString()), k -> new ArrayList<>())
                        .add(n);
            }
        }
        System.out.println("| Scenario | Seeds | Valid events | Fault to flow, min / median / max | "
                + "API repeats, same key / new key | CDC repeats | Test time |");
        System.out.println("|---|---|---|---|---|---|---|");
        byScenario.forEach((scenario, runs) -> System.out.println(row(scenario, runs)));
    }

    static String row(String scenario, List<JsonNode> runs) {
        List<Long> seeds = new ArrayList<>();
        List<Long> events = new ArrayList<>();
        List<Long> flow = new ArrayList<>();
        long same = 0;
        long fresh = 0;
        long cdc = 0;
        long seconds = 0;
        for (JsonNode r : runs) {
            seeds.add(r.path("seed").asLong());
            if (r.has("valid_events")) {
                events.add(r.path("valid_events").asLong());
            }
            for (Map.Entry<String, JsonNode> e : r.properties()) {
                if (e.getKey().endsWith("_ms") && (e.getKey().contains("flow") || e.getKey().contains("caught_up")
                        || e.getKey().contains("takeover"))) {
                    if (e.getValue().isArray()) {
                        e.getValue().forEach(v -> flow.add(v.asLong()));
                    } else {
                        flow.add(e.getValue().asLong());
                    }
                }
            }
            same += r.path("api_repeats").path("same_key").asLong();
            fresh += r.path("api_repeats").path("new_key").asLong();
            cdc += r.path("cdc_repeats").asLong();
            seconds += r.path("test_seconds").asLong();
        }
        return "| " + scenario + " | " + seeds.size() + " (" + join(seeds) + ") | " + range(events) + " | "
                + spread(flow) + " | " + same + " / " + fresh + " | " + cdc + " | " + seconds + " s |";
    }

    private static String join(List<Long> values) {
        return String.join(", ", values.stream().map(String::valueOf).toList());
    }

    private static String range(List<Long> v) {
        if (v.isEmpty()) {
            return "-";
        }
        long min = v.stream().mapToLong(Long::longValue).min().orElseThrow();
        long max = v.stream().mapToLong(Long::longValue).max().orElseThrow();
        return min == max ? String.format("%,d", min) : String.format("%,d to %,d", min, max);
    }

    private static String spread(List<Long> ms) {
        if (ms.isEmpty()) {
            return "-";
        }
        List<Long> sorted = ms.stream().sorted().toList();
        return String.format("%.1f / %.1f / %.1f s (%d)", sorted.get(0) / 1000.0, sorted.get(sorted.size() / 2) / 1000.0,
                sorted.get(sorted.size() - 1) / 1000.0, sorted.size());
    }
}
