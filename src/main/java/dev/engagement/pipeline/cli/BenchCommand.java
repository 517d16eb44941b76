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
                        + "throughput, commit-to-sink latency at a fixed rate, backfill throughput, peak memory, and the source "
                        + "alone (pg_recvlogical, the native and the Debezium source on the same rows)."})
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

    @Option(names = "--phases", paramLabel = "LIST", defaultValue = "throughput,latency,backfill,source", split = ",",
            description = "Which phases to run, comma-separated: throughput, latency, backfill, source "
                    + "(default: all of them).")
    java.util.List<String> phases;

    @Option(names = "--source-rows", paramLabel = "N", defaultValue = "2000000",
            description = "Rows for the source phase: pg_recvlogical, the native and the Debezium source on the same "
                    + "rows, streaming and snapshot (default: ${DEFAULT-VALUE}).")
    long sourceRows;

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "data/bench",
            description = "Where the benchmark's services keep their data (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Override
    public Integer call() throws Exception {
        Options.between(spec, "--events", events, 1000, 100_000_000);
        Options.between(spec, "--rate", rate, 1, 1_000_000);
        Options.between(spec, "--source-rows", sourceRows, 1000, 100_000_000);
        Duration window = Options.duration(spec, "--latency-for", latencyFor);
        java.util.Set<Benchmark.Phase> chosen = java.util.EnumSet.noneOf(Benchmark.Phase.class);
        for (String p : phases) {
            try {
                chosen.add(Benchmark.Phase.valueOf(p.strip().toUpperCase(java.util.Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--phases: '" + p.strip()
                        + "' is not one of throughput, latency, backfill, source");
            }
        }
        Files.createDirectories(dir);
        Logging.toFile(dir.resolve("bench.log"));
        Map<String, Object> report = new Benchmark(new Benchmark.Settings(events, rate, Duration.ofSeconds(15), window,
                dir, chosen, sourceRows), System.out).run();
        Path json = dir.resolve("result-" + System.currentTimeMillis() + ".json");
        Files.writeString(json, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(report));
        System.out.println("written to " + json);
        return 0;
    }
}
