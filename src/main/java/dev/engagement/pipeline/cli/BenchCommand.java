package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.bench.Benchmark;
import dev.engagement.pipeline.config.Logging;
import dev.engagement.pipeline.model.Json;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measures throughput, latency, backfill speed and memory on this machine.",
                "Brings up a private PostgreSQL, Redis and Kafka broker under --dir, runs the whole pipeline with a "
                        + "stand-in for the external API, and prints (and writes as JSON) what it measured: end-to-end "
                        + "throughput, commit-to-sink latency at a fixed rate, backfill throughput, peak memory."})
final class BenchCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--events", paramLabel = "N", defaultValue = "500000",
            description = "Events for the throughput phase (default: ${DEFAULT-VALUE}).")
    long events;

    @Option(names = "--rate", paramLabel = "N", defaultValue = "5000",
            description = "Events per second for the latency phase (default: ${DEFAULT-VALUE}).")
    int rate;

    @Option(names = "--latency-for", paramLabel = "D", defaultValue = "60s",
            description = "How long the latency phase measures, after 15 s of warm-up (default: ${DEFAULT-VALUE}).")
    String latencyFor;

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "data/bench",
            description = "Where the benchmark's services keep their data (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Override
    public Integer call() throws Exception {
        Options.between(spec, "--events", events, 1000, 100_000_000);
        Options.between(spec, "--rate", rate, 1, 1_000_000);
        Duration window = Options.duration(spec, "--latency-for", latencyFor);
        Files.createDirectories(dir);
        Logging.toFile(dir.resolve("bench.log"));
        Map<String, Object> report = new Benchmark(new Benchmark.Settings(events, rate, Duration.ofSeconds(15), window,
                dir), System.out).run();
        Path json = dir.resolve("result-" + System.currentTimeMillis() + ".json");
        Files.writeString(json, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(report));
        System.out.println("written to " + json);
        return 0;
    }
}
